"""``corespond outcomes``: keep the call facts current, evaluate the program, write reports."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from corespond.config import get_settings

console = Console(stderr=True, soft_wrap=True)
app = typer.Typer(
    no_args_is_help=True,
    help="Outcome metrics and evaluation: refresh the facts, evaluate, report.",
)

FromOption = Annotated[
    datetime | None, typer.Option("--from", formats=["%Y-%m-%d"], help="First day (YYYY-MM-DD).")
]
ToOption = Annotated[
    datetime | None, typer.Option("--to", formats=["%Y-%m-%d"], help="Last day (YYYY-MM-DD).")
]


def _definitions() -> Any:
    from corespond.outcomes.definitions import DefinitionsError, load_definitions

    try:
        return load_definitions(get_settings().outcome_definitions)
    except (DefinitionsError, OSError) as error:
        console.print(f"[red]error:[/] {escape(str(error))}")
        raise typer.Exit(2) from None


@app.command("refresh")
def refresh_command(
    full: Annotated[
        bool, typer.Option("--full", help="Rebuild every call's facts, not only the new ones.")
    ] = False,
) -> None:
    """Bring the call facts up to date with what has been imported (or rebuild them all)."""
    from corespond.db.engine import session_factory, unit_of_work
    from corespond.outcomes import service

    definitions = _definitions()
    with unit_of_work(session_factory(write=True)) as session:
        done = service.refresh(session, definitions, full=full)
    what = "all calls" if done.full else f"{done.runs} new ingest run(s)"
    console.print(f"call facts: {done.calls:,} call(s) rebuilt from {what}")


@app.command("evaluate")
def evaluate_command(
    start: FromOption = None,
    end: ToOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the results as JSON.")] = False,
) -> None:
    """Evaluate the program: difference-in-differences, time series, P1 equivalence."""
    from corespond.db.engine import session_factory, unit_of_work
    from corespond.outcomes import service

    definitions = _definitions()
    try:
        with unit_of_work(session_factory(write=True)) as session:
            service.refresh(session, definitions)
            result = service.evaluate(
                session, definitions, start=start.date() if start else None,
                end=end.date() if end else None,
            )  # fmt: skip
    except (service.EvaluationError, ValueError) as error:
        console.print(f"[red]error:[/] {escape(str(error))}")
        raise typer.Exit(2) from None
    if as_json:
        json.dump(service.evaluation_json(result), sys.stdout, indent=2)
        sys.stdout.write("\n")
        return
    for finding in result.findings:
        typer.echo(f"- {finding}")
    typer.echo(f"\nMethod: {result.method}")


@app.command("report")
def report_command(
    out: Annotated[Path, typer.Option("--out", help="Where to write the PDF.")],
    start: FromOption = None,
    end: ToOption = None,
) -> None:
    """Write the council report (PDF): findings, metrics, charts, method."""
    from corespond.db.engine import session_factory, unit_of_work
    from corespond.outcomes import service, views

    definitions = _definitions()
    try:
        with unit_of_work(session_factory(write=True)) as session:
            service.refresh(session, definitions)
            views.write_report(
                session, definitions, out, start=start.date() if start else None,
                end=end.date() if end else None,
            )  # fmt: skip
    except (service.EvaluationError, ValueError) as error:
        console.print(f"[red]error:[/] {escape(str(error))}")
        raise typer.Exit(2) from None
    console.print(f"report: {out} ({out.stat().st_size / 1000:,.0f} kB)")
