"""``corespond ingest``: import agency exports, and look at what was quarantined."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from typer.core import TyperGroup

from corespond.config import get_settings
from corespond.db.engine import session_factory, unit_of_work
from corespond.ingest import repository, service
from corespond.ingest.masking import mask_identifiers
from corespond.ingest.schemas import IngestReport
from corespond.linkage.matcher import IncrementalSummary, NoModel, link_new
from corespond.sources.base import ReadOptions, SourceError
from corespond.sources.plan import plan_exports
from corespond.sources.registry import ADAPTER_PATHS

console = Console(stderr=True, soft_wrap=True)  # a path in an error is never broken
MAX_FILE_ROWS = 12
"""A run with more files than this is shown as one line (``--json`` still lists each file)."""


class _PathsByDefault(TyperGroup):
    """``corespond ingest PATH...`` runs ``files``; ``quarantine`` and ``runs`` are named."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in {"--help", "-h"}:
            args = ["files", *args]
        return super().parse_args(ctx, args)


app = typer.Typer(
    cls=_PathsByDefault,
    no_args_is_help=True,
    help=(
        "Import agency exports: `corespond ingest PATH...` (files or folders; the format is "
        "detected). A folder with a jurisdiction.yaml imports every source it declares. "
        "See docs/data-formats.md."
    ),
)


@app.command("files")
def files(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders to import.")],
    format: Annotated[
        str | None,
        typer.Option("--format", "-f", help=f"Force a format: {', '.join(ADAPTER_PATHS)}."),
    ] = None,
    source: Annotated[
        str | None, typer.Option("--source", "-s", help="Source-system name for these rows.")
    ] = None,
    mapping: Annotated[
        Path | None, typer.Option("--mapping", help="YAML mapping for --format mapped-csv.")
    ] = None,
    timezone: Annotated[
        str | None, typer.Option("--timezone", help="IANA zone of times without an offset.")
    ] = None,
    encoding: Annotated[str, typer.Option("--encoding", help="Text encoding of CSV files.")] = (
        "utf-8-sig"
    ),
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Import files or folders (the default command: `corespond ingest PATH...`)."""
    zone = None
    if timezone:
        try:
            zone = ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise typer.BadParameter(f"unknown time zone {timezone!r}") from None
    options = ReadOptions(encoding=encoding, mapping=mapping)
    try:
        tasks = plan_exports(
            paths,
            format=format,
            source=source,
            options=options,
            timezone=zone,
            default_timezone=get_settings().timezone,
        )
    except SourceError as exc:
        console.print(f"[red]error:[/] {escape(str(exc))}")
        raise typer.Exit(2) from None

    report = IngestReport()
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,} rows"),
        TimeElapsedColumn(),
        console=console,
        disable=as_json,
        transient=False,
    ) as bar:
        for task in tasks:
            label = f"{task.source} [dim]({task.format}: {task.path.name})[/]"
            row_count = bar.add_task(label, total=None)

            def advance(rows: int, row_count: Any = row_count) -> None:
                bar.advance(row_count, rows)

            try:
                with unit_of_work() as session:
                    summary = service.run(session, task, progress=advance)
            except (SourceError, OSError, UnicodeError) as exc:
                with unit_of_work() as session:
                    summary = service.record_failure(session, task, str(exc))
            bar.update(row_count, total=summary.read, completed=summary.read)
            report.add(summary)

    if report.stored:
        with unit_of_work() as session:
            repository.refresh_statistics(session)
    linked = _link_new_records()
    if as_json:
        output = report.model_dump(exclude={"runs": {"__all__": {"files"}}})
        output["linkage"] = asdict(linked) if linked else None
        typer.echo(json.dumps(output, indent=2))
    else:
        _print_report(report)
        if linked and linked.records:
            Console().print(
                f"Linked {linked.records:,} new person records: {linked.linked:,} to known "
                f"persons, {linked.new_persons:,} new persons ({linked.review:,} worth a review)."
            )
    if any(summary.status == "failed" for summary in report.runs):
        raise typer.Exit(1)


def _link_new_records() -> IncrementalSummary | None:
    """Link the person records this import brought, if linkage has run before (else None)."""
    try:
        with unit_of_work() as session:
            return link_new(session)
    except NoModel:
        return None


def _print_report(report: IngestReport) -> None:
    out = Console()
    table = Table(title="Ingest", show_lines=False)
    for column in ("source", "file", "read", "stored", "unchanged", "quarantined"):
        table.add_column(column, justify="right" if column not in {"source", "file"} else "left")
    for summary in report.runs:
        if summary.status == "failed":
            table.add_row(
                escape(summary.source),
                f"[red]failed: {escape(summary.error or '')}[/]",
                "",
                "",
                "",
                "",
            )
        if len(summary.files) > MAX_FILE_ROWS:
            table.add_row(
                escape(summary.source),
                f"{len(summary.files):,} files",
                f"{summary.read:,}",
                f"{summary.stored:,}",
                f"{summary.unchanged:,}",
                f"[yellow]{summary.quarantined:,}[/]" if summary.quarantined else "0",
            )
            continue
        for counts in summary.files:
            table.add_row(
                escape(summary.source),
                escape(Path(counts.path).name),
                f"{counts.read:,}",
                f"{counts.stored:,}",
                f"{counts.unchanged:,}",
                f"[yellow]{counts.quarantined:,}[/]" if counts.quarantined else "0",
            )
    table.add_row(
        "[b]total[/]",
        "",
        f"[b]{report.read:,}",
        f"[b]{report.stored:,}",
        f"[b]{report.unchanged:,}",
        f"[b]{report.quarantined:,}",
    )
    out.print(table)
    if report.quarantined:
        out.print("See the quarantined rows with [b]corespond ingest quarantine[/].")


@app.command()
def quarantine(
    run: Annotated[int | None, typer.Option("--run", help="Only this ingest run.")] = None,
    source: Annotated[str | None, typer.Option("--source", help="Only this source.")] = None,
    limit: Annotated[int, typer.Option("--limit", help="At most this many rows.")] = 50,
    raw: Annotated[bool, typer.Option("--raw", help="Show each row's text verbatim.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON lines.")] = False,
) -> None:
    """List rows that were not stored, with the reason (and, with --raw, their text)."""
    with session_factory()() as session:
        rows = repository.list_quarantine(session, run_id=run, source=source, limit=limit)
        if as_json:
            for row, source_name in rows:
                typer.echo(
                    json.dumps(
                        {
                            "id": row.id,
                            "run": row.ingest_run_id,
                            "source": source_name,
                            "file": row.file,
                            "locator": row.locator,
                            "reason": row.reason,
                            "raw": service.quarantined_text(row),
                        }
                    )
                )
            return
        table = Table(title="Quarantined rows")
        for column in ("run", "source", "file", "where", "reason"):
            table.add_column(column)
        if raw:
            table.add_column("text")
        for row, source_name in rows:
            cells = [
                str(row.ingest_run_id),
                source_name,
                Path(row.file).name,
                row.locator,
                mask_identifiers(row.reason),
            ]
            if raw:
                cells.append(service.quarantined_text(row))
            cells = [escape(cell) for cell in cells]
            table.add_row(*cells)
        Console().print(table if rows else "Nothing is quarantined.")


@app.command()
def runs(limit: Annotated[int, typer.Option("--limit")] = 20) -> None:
    """List recent ingest runs with their counts."""
    with session_factory()() as session:
        table = Table(title="Ingest runs")
        for column in (
            "run",
            "source",
            "format",
            "status",
            "started",
            "read",
            "stored",
            "unchanged",
            "quarantined",
            "seconds",
        ):
            table.add_column(column)
        for ledger, source_name in repository.list_runs(session, limit=limit):
            table.add_row(
                str(ledger.id),
                escape(source_name),
                ledger.format,
                ledger.status,
                f"{ledger.started_at:%Y-%m-%d %H:%M:%S}",
                f"{ledger.read:,}",
                f"{ledger.stored:,}",
                f"{ledger.unchanged:,}",
                f"{ledger.quarantined:,}",
                f"{ledger.seconds or 0:.1f}",
            )
        Console().print(table)
