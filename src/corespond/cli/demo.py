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
