"""``corespond agreements``: record, list and end sharing agreements between agencies."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from corespond.access.agreements import KINDS, AgreementError, agreements, end_agreement
from corespond.access.agreements import record_agreement as record_one
from corespond.db.engine import session_factory, unit_of_work

console = Console(stderr=True, soft_wrap=True)
ADMIN = "cli"
app = typer.Typer(
    no_args_is_help=True,
    help=(
        "Sharing agreements between agencies, which policy decisions rely on. "
        f"Kinds: {', '.join(KINDS)} (minimal_view: each sees the other's identity, 'known to "
        "program' and cautions; dispatch: the dispatch centre's call data is seen by the agency "
        "it dispatches for)."
    ),
)


def _fail(message: str) -> None:
    console.print(f"[red]error:[/] {escape(message)}")
    raise typer.Exit(2)


def _day(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        _fail(f"{option}: not a date in YYYY-MM-DD form ({value!r})")
    raise AssertionError  # unreachable: _fail exits


@app.command("add")
def add(
    agency_a: Annotated[str, typer.Argument(help="First agency's key (for dispatch: the centre).")],
    agency_b: Annotated[str, typer.Argument(help="Second agency's key.")],
    name: Annotated[str, typer.Option("--name", help="The agreement (document) it records.")],
    kind: Annotated[str, typer.Option("--kind", help=f"One of {', '.join(KINDS)}.")] = KINDS[0],
    starts: Annotated[str, typer.Option("--starts", help="YYYY-MM-DD (default: today).")] = "",
    ends: Annotated[str | None, typer.Option("--ends", help="YYYY-MM-DD, if it ends.")] = None,
) -> None:
    """Record an agreement between two agencies (keys as in the jurisdiction file)."""
    starts_on = _day(starts, "--starts") if starts else date.today()
    assert starts_on is not None
    try:
        with unit_of_work() as session:
            agreement = record_one(
                session, name=name, kind=kind, agency_a=agency_a, agency_b=agency_b,
                starts_on=starts_on, ends_on=_day(ends, "--ends"), by=ADMIN,
            )  # fmt: skip
            number = agreement.id
    except AgreementError as exc:
        _fail(str(exc))
    console.print(f"recorded agreement #{number} ({kind}) between {agency_a} and {agency_b}")


@app.command("end")
def end(
    agreement_id: int,
    on: Annotated[str, typer.Option("--on", help="YYYY-MM-DD (default: today).")] = "",
) -> None:
    """End an agreement: decisions stop relying on it after that day."""
    day = _day(on, "--on") if on else date.today()
    assert day is not None
    try:
        with unit_of_work() as session:
            end_agreement(session, agreement_id, on=day, by=ADMIN)
    except AgreementError as exc:
        _fail(str(exc))
    console.print(f"agreement #{agreement_id} ends on {day.isoformat()}")


@app.command("list")
def list_(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Every agreement, newest first."""
    with session_factory()() as session:
        found = agreements(session)
    if as_json:
        rows = [
            {**vars(a), "starts_on": a.starts_on.isoformat(),
             "ends_on": a.ends_on.isoformat() if a.ends_on else None}
            for a in found
        ]  # fmt: skip
        typer.echo(json.dumps(rows, indent=2))
        return
    table = Table("#", "kind", "between", "and", "from", "until", "name")
    for a in found:
        table.add_row(
            str(a.id), a.kind, a.agency_a, a.agency_b, a.starts_on.isoformat(),
            a.ends_on.isoformat() if a.ends_on else "", a.name,
        )  # fmt: skip
    Console(soft_wrap=True).print(table)
