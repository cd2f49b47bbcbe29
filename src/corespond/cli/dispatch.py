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
SHOWN_REJECTIONS = 10
"""Skipped rows named one by one before the count alone is given."""


@app.command("replay")
def replay_command(
    source: Annotated[
        Path,
        typer.Argument(exists=True, help="A CAD CSV export, or EIDO JSON (file or folder)."),
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
    for rejection in feed.rejections[:SHOWN_REJECTIONS]:
        console.print(
            f"[yellow]skipped[/] {escape(rejection.file)} {escape(rejection.locator)}: "
            f"{escape(rejection.reason)}"
        )
    send = _http_sender(url) if url else _store_sender(user)
    columns = (TextColumn("replaying"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console) as bar:
        task = bar.add_task("replay", total=len(feed.items))
        summary = replay.replay(
            feed.items, send, speed=speed, progress=lambda n: bar.update(task, advance=n)
        )
    skipped = f"; {len(feed.rejections)} rows skipped" if feed.rejections else ""
    console.print(
        f"sent {summary.sent} in {summary.seconds:.1f} s: {summary.created} new, "
        f"{summary.updated} updates or repeats, {summary.refused} refused{skipped}"
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
        try:
            answer = client.post("/api/v1/dispatch/incidents", json=document)
        except httpx2.TransportError as exc:
            console.print(f"[red]error:[/] cannot reach {escape(url)}: {escape(str(exc))}")
            raise typer.Exit(2) from None
        if answer.status_code in {401, 403}:  # every later document would be refused too
            console.print(
                f"[red]error:[/] the server refused the token ({answer.status_code}): "
                f"{escape(answer.text[:300])}"
            )
            raise typer.Exit(2)
        if answer.status_code >= 300:
            console.print(f"[yellow]refused ({answer.status_code}):[/] {escape(answer.text[:300])}")
        return answer.status_code

    return send


def _store_sender(username: str | None) -> Any:
    from corespond.access import users
    from corespond.access.roles import Role
    from corespond.db.engine import unit_of_work
    from corespond.dispatch import live, service

    if not username:
        console.print("[red]error:[/] name the sending dispatcher with --user (or use --url)")
        raise typer.Exit(2)
    with unit_of_work() as session:
        try:
            user = users.get_user(session, username)
        except users.UserError as exc:
            console.print(f"[red]error:[/] {escape(str(exc))}")
            raise typer.Exit(2) from None
        user_id, roles = user.id, users.roles_of(user)
    if Role.DISPATCHER not in roles:  # as the intake API requires
        console.print(f"[red]error:[/] {escape(username)!r} is not a dispatcher")
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
