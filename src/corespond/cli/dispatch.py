"""``corespond dispatch``: replay a CAD export as a live feed."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from corespond.config import get_settings
from corespond.sources.base import SourceError

console = Console(stderr=True, soft_wrap=True)
app = typer.Typer(
    no_args_is_help=True,
    help="Live CAD incidents: `corespond dispatch replay` sends an export as a live feed.",
)
TOKEN_VARIABLE = "CORESPOND_API_TOKEN"


@app.command("replay")
def replay_command(
    source: Annotated[
        Path, typer.Argument(help="A CAD CSV export, or EIDO JSON (file or folder).")
    ],
    speed: Annotated[
        float,
        typer.Option("--speed", min=0.0, help="Times faster than the calls came in (0: at once)."),
    ] = 60.0,
    url: Annotated[
        str | None,
        typer.Option(
            "--url",
            help="A running server (e.g. http://127.0.0.1:8000) to send to, with an API token "
            f"of a dispatcher (scope dispatch:intake) in {TOKEN_VARIABLE}. Without it, "
            "incidents go straight into the store as the --user would send them.",
        ),
    ] = None,
    user: Annotated[
        str | None,
        typer.Option("--user", help="Without --url: the dispatcher the incidents come from."),
    ] = None,
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="Only the first N.")] = None,
) -> None:
    """Send a CAD export's incidents, in the order they came in, as a live feed."""
    from corespond.dispatch import replay

    try:
        feed = replay.read_feed(source, ZoneInfo(get_settings().timezone), limit=limit)
    except SourceError as exc:
        console.print(f"[red]error:[/] {escape(str(exc))}")
        raise typer.Exit(2) from None
    send = _http_sender(url) if url else _store_sender(user)
    columns = (TextColumn("replaying"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console) as bar:
        task = bar.add_task("replay", total=len(feed))
        summary = replay.replay(
            feed, send, speed=speed, progress=lambda n: bar.update(task, advance=n)
        )
    console.print(
        f"sent {summary.sent} in {summary.seconds:.1f} s: {summary.created} new, "
        f"{summary.updated} updates or repeats, {summary.refused} refused"
    )
    if summary.refused:
        raise typer.Exit(1)


def _http_sender(url: str) -> Any:
    import httpx2

    token = os.environ.get(TOKEN_VARIABLE)
    if not token:
        console.print(f"[red]error:[/] set {TOKEN_VARIABLE} to a dispatcher's API token")
        raise typer.Exit(2)
    client = httpx2.Client(
        base_url=url.rstrip("/"), headers={"Authorization": f"Bearer {token}"}, timeout=30.0
    )

    def send(document: dict[str, Any]) -> int:
        answer = client.post("/api/v1/dispatch/incidents", json=document)
        if answer.status_code >= 300:
            console.print(f"[yellow]refused ({answer.status_code}):[/] {escape(answer.text[:300])}")
        return answer.status_code

    return send


def _store_sender(username: str | None) -> Any:
    from sqlalchemy import select

    from corespond import models
    from corespond.db.engine import unit_of_work
    from corespond.dispatch import live, service

    if not username:
        console.print("[red]error:[/] name the sending dispatcher with --user (or use --url)")
        raise typer.Exit(2)
    with unit_of_work() as session:
        user_id = session.scalar(select(models.User.id).where(models.User.username == username))
    if user_id is None:
        console.print(f"[red]error:[/] no user {escape(username)!r}")
        raise typer.Exit(2)

    def send(document: dict[str, Any]) -> int:
        try:
            with unit_of_work() as session:
                received = service.receive(session, user_id=user_id, message=document, form="eido")
                incident_id, created, changed = (
                    received.incident.id,
                    received.created,
                    received.changed,
                )
        except service.DispatchError as exc:
            console.print(f"[yellow]refused:[/] {escape(str(exc))}")
            return exc.status_code
        if changed:
            live.publish(incident_id, "created" if created else "updated")
        return 201 if created else 200

    return send
