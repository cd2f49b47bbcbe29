"""``corespond link``: turn person records into persons, or link a one-off CSV."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from corespond.config import get_settings
from corespond.db.engine import unit_of_work
from corespond.linkage import service
from corespond.linkage.csvlink import CsvLinkError, link_csv

console = Console(stderr=True, soft_wrap=True)
app = typer.Typer(
    no_args_is_help=True,
    help=(
        "Entity resolution: which person records are the same person. `corespond link run` "
        "links every record in the store; `corespond link csv` links a spreadsheet. "
        "See docs/linkage.md."
    ),
)

Threshold = Annotated[
    float | None,
    typer.Option(
        "--threshold",
        min=0.0,
        max=1.0,
        help="Link pairs at or above this match probability (default CORESPOND_LINK_THRESHOLD).",
    ),
]


class BackendChoice(StrEnum):
    duckdb = "duckdb"
    spark = "spark"


BackendOption = Annotated[
    BackendChoice,
    typer.Option(
        "--backend",
        help="Where Splink scores pairs: duckdb (this process) or spark (CORESPOND_SPARK_MASTER).",
    ),
]
ReviewThreshold = Annotated[
    float | None,
    typer.Option(
        "--review-threshold",
        min=0.0,
        max=1.0,
        help="Send pairs from here up to --threshold to review (default "
        "CORESPOND_REVIEW_THRESHOLD).",
    ),
]


def _spinner(disable: bool) -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=console,
        disable=disable,
    )


@app.command("run")
def run(
    retrain: Annotated[
        bool, typer.Option("--retrain", help="Train a new model instead of reusing the latest.")
    ] = False,
    threshold: Threshold = None,
    review_threshold: ReviewThreshold = None,
    backend: BackendOption = BackendChoice.duckdb,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Link every person record in the store into persons (ids stay stable across runs)."""
    with _spinner(as_json) as bar:
        task = bar.add_task("linking", total=None)
        try:
            with unit_of_work() as session:
                summary = service.run(
                    session,
                    retrain=retrain,
                    link_threshold=threshold,
                    review_threshold=review_threshold,
                    backend=backend.value,  # type: ignore[arg-type]
                    progress=lambda step: bar.update(task, description=step),
                )
        except service.LinkageError as exc:
            console.print(f"[red]error:[/] {escape(str(exc))}")
            raise typer.Exit(2) from None
    if as_json:
        typer.echo(summary.model_dump_json(indent=2))
        return
    table = Table(title=f"Linkage run {summary.run_id} (model v{summary.model_version})")
    table.add_column("")
    table.add_column("", justify="right")
    for name, value in summary.model_dump().items():
        if name not in {"run_id", "model_version"}:
            table.add_row(name.replace("_", " "), f"{value:,}")
    Console().print(table)


@app.command("csv")
def csv_command(
    source: Annotated[Path, typer.Argument(help="CSV of person rows.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Where to write the result CSV.")],
    threshold: Threshold = None,
    review_threshold: ReviewThreshold = None,
    backend: BackendOption = BackendChoice.duckdb,
    encoding: Annotated[str, typer.Option("--encoding", help="Text encoding.")] = "utf-8-sig",
) -> None:
    """Link a CSV of person rows; write record_id, person_id, match_probability.

    Columns read (any may be empty): record_id, first_name, middle_name, last_name, dob, sex,
    ssn, phone, address, city, state, zip.
    """
    settings = get_settings()
    link_at = threshold if threshold is not None else settings.link_threshold
    review_at = review_threshold if review_threshold is not None else settings.review_threshold
    if not 0 < review_at < link_at < 1:
        console.print(
            f"[red]error:[/] need 0 < review threshold ({review_at}) < threshold ({link_at}) < 1"
        )
        raise typer.Exit(2)
    with _spinner(False) as bar:
        bar.add_task(f"linking {source.name}", total=None)
        try:
            result = link_csv(
                source,
                out,
                link_threshold=link_at,
                review_threshold=review_at,
                encoding=encoding,
                backend=backend.value,  # type: ignore[arg-type]
            )
        except CsvLinkError as exc:
            console.print(f"[red]error:[/] {escape(str(exc))}")
            raise typer.Exit(2) from None
    for problem in result.problems[:20]:
        console.print(f"[yellow]warning:[/] {escape(problem)}")
    summary = {
        "rows": result.rows,
        "persons": result.persons,
        "unlinkable": result.unlinkable,
        "warnings": len(result.problems),
        "out": str(out),
    }
    typer.echo(json.dumps(summary))
