"""``corespond demo``: the synthetic city to try corespond on."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

app = typer.Typer(help="Build the synthetic demo city.", no_args_is_help=True)


@app.command()
def city(
    out: Annotated[
        Path, typer.Option("--out", help="Folder to write the city's exports to.")
    ] = Path("var/demo-city"),
    people: Annotated[int, typer.Option("--people", min=50, help="Population size.")] = 2000,
    years: Annotated[int, typer.Option("--years", min=1, max=10, help="Years of history.")] = 1,
    seed: Annotated[int, typer.Option("--seed", help="Same seed, same city.")] = 7,
) -> None:
    """Generate a synthetic city: every agency's exports in its own format, plus the truth.

    The result imports with `corespond ingest OUT`. OUT/truth/ holds which source record is
    which (synthetic) person; it is never imported.
    """
    from corespond.demo.city import CityParams, build_city

    params = CityParams(people=people, years=years, seed=seed)
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
    ) as bar:
        tasks: dict[str, TaskID] = {}

        def progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done, total=total)

        summary = build_city(params, out, progress=progress)
    Console().print(f"[green]City written to {out}[/]")
    Console().print(summary)


@app.command()
def users() -> None:
    """Create one user per role with public demo credentials, and print them (demo mode only).

    Each needs a TOTP code too: `corespond demo code USERNAME` prints the current one, or add
    the printed secret to an authenticator app.
    """
    from corespond.access.demo_users import NotDemoMode, seed
    from corespond.db.engine import unit_of_work

    try:
        with unit_of_work() as session:
            made = seed(session)
    except NotDemoMode as exc:
        Console(stderr=True).print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from None
    typer.echo("Demo users (public credentials, demo mode only): username, password, TOTP secret")
    for user in made:
        typer.echo(
            f"  {user.username:<22} {user.password:<32} {user.totp_secret}  "
            f"({user.role.value}, {user.agency or '-'})"
        )
    Console().print("Current code for a user: corespond demo code USERNAME")


@app.command()
def code(username: str) -> None:
    """Print a demo user's current TOTP code (demo mode only)."""
    from corespond.access import users as accounts
    from corespond.config import Mode, get_settings
    from corespond.db.engine import session_factory

    if get_settings().mode is not Mode.DEMO:
        Console(stderr=True).print("[red]error:[/] demo codes are shown only in demo mode")
        raise typer.Exit(2)
    with session_factory()() as session:
        try:
            user = accounts.get_user(session, username)
        except accounts.UserError as exc:
            Console(stderr=True).print(f"[red]error:[/] {exc}")
            raise typer.Exit(2) from None
        if not user.username.startswith("demo-"):
            Console(stderr=True).print("[red]error:[/] only demo users' codes are shown")
            raise typer.Exit(2)
        typer.echo(accounts.current_code(user))
