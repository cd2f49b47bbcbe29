"""``corespond audit``: verify the audit log, sign its head, and the weekly review."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from corespond.audit import chain
from corespond.db.engine import session_factory, unit_of_work

app = typer.Typer(
    no_args_is_help=True,
    help=(
        "The tamper-evident audit log: `verify` walks the chain, `checkpoint` signs its head, "
        "`review` lists what an auditor reviews each week, `archive` exports events past the "
        "six-year retention window to a signed file, `verify-archive` checks one."
    ),
)


@app.command("verify")
def verify(
    public_key: Annotated[
        str | None,
        typer.Option(
            "--public-key",
            help="Hex Ed25519 public key to trust for checkpoints (default: the configured key's).",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Check every event and checkpoint; exit 1 at the first sign of tampering."""
    with session_factory()() as session:
        result = chain.verify(session, public_key_hex=public_key)
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "ok": result.ok,
                    "events": result.events,
                    "checkpoints": result.checkpoints,
                    "problem": result.problem,
                    "seq": result.seq,
                }
            )
        )
    elif result.ok:
        Console().print(
            f"[green]The audit log is intact:[/] {result.events:,} events, "
            f"{result.checkpoints:,} signed checkpoints."
        )
    else:
        Console(stderr=True, soft_wrap=True).print(
            f"[red]The audit log was tampered with:[/] {result.problem}"
        )
    if not result.ok:
        raise typer.Exit(1)


@app.command("checkpoint")
def checkpoint() -> None:
    """Sign the chain's head now (also done every CORESPOND_AUDIT_CHECKPOINT_EVERY events)."""
    with unit_of_work() as session:
        mark = chain.checkpoint(session)
    if mark is None:
        Console().print("The audit log is empty: nothing to sign.")
    else:
        Console().print(f"Signed the head at event {mark.seq:,} ({mark.hash[:16]}…).")


@app.command("review")
def review(
    week: Annotated[
        datetime | None,
        typer.Option(
            "--week",
            formats=["%Y-%m-%d"],
            help="First day of the week (local). Default: the last seven days.",
        ),
    ] = None,
    agency: Annotated[
        str | None,
        typer.Option("--agency", help="Agency id, key or name. Default: every agency."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the review as JSON.")] = False,
) -> None:
    """What an auditor reviews for a week (CJIS AU-6; HIPAA 164.308(a)(1)(ii)(D)): emergency
    access and whether it was reviewed, serious-threat disclosures, denied decisions, failed
    sign-ins and lockouts, administrative changes, and users with unusually many reads."""
    from corespond.access.repository import agency_ids_by_name
    from corespond.audit.review import week_window, weekly_review

    window = week_window(week.date() if week else None)
    with unit_of_work() as session:
        agency_id = None
        if agency is not None:
            known = agency_ids_by_name(session)
            agency_id = int(agency) if agency.isdigit() else known.get(agency.strip().lower())
            if agency_id is None or agency_id not in known.values():
                Console(stderr=True).print(f"[red]error:[/] no agency {escape(agency)!r}")
                raise typer.Exit(2)
        found = weekly_review(session, agency_id=agency_id, window=window)
        chain.record(
            session, action="audit.review_read", actor="cli", agency_id=agency_id,
            purpose="audit",
            detail={"start": window.start.isoformat(), "end": window.end.isoformat()},
        )  # fmt: skip
    if as_json:
        typer.echo(found.model_dump_json(indent=2))
        return
    console = Console()
    console.print(
        f"[bold]Weekly review of {escape(found.agency)}[/], "
        f"{found.start:%Y-%m-%d %H:%M} to {found.end:%Y-%m-%d %H:%M} UTC"
    )
    console.print("[bold]Emergency access[/]" if found.break_glass or found.serious_threats
                  else "No emergency access was opened.")  # fmt: skip
    for item in [*found.break_glass, *found.serious_threats]:
        reviewed = f"reviewed by {escape(item.reviewed_by or '')}" if item.reviewed else (
            "[red]not reviewed[/]"
        )  # fmt: skip
        console.print(
            f"  {item.kind.replace('_', ' ')} #{item.id} by {escape(item.user)} for person "
            f"{item.person_id}, opened {item.opened_at:%Y-%m-%d %H:%M} UTC, {item.reads} read(s), "
            f"{reviewed}\n    reason: {escape(item.reason)}"
        )
    if found.older_unreviewed:
        console.print(f"[red]{found.older_unreviewed} earlier opening(s) still not reviewed.[/]")
    for title, rows in (
        (f"Denied decisions ({found.denied_total})", found.denied),
        ("Failed sign-ins and lockouts", found.sign_in_failures),
        ("Administrative changes", found.admin_changes),
    ):
        table = Table("event", "at (UTC)", "who", "action", "person", title=title)
        table.add_column("detail", overflow="fold")
        for event in rows:
            table.add_row(
                str(event.seq), f"{event.at:%Y-%m-%d %H:%M}", escape(event.user or event.actor),
                f"{event.action} ({event.outcome})", str(event.person_id or ""),
                escape(json.dumps(event.detail, sort_keys=True)),
            )  # fmt: skip
        console.print(table)
    title = (
        f"Reads of person data (unusual: over {found.unusual_factor}x the others' median "
        f"and over {found.unusual_floor})"
    )
    reads = Table("user", "reads", "people", "others' median", "", title=title)
    for row in found.person_reads:
        reads.add_row(
            escape(row.user or row.actor), str(row.reads), str(row.persons),
            f"{row.others_median:g}", "[red]unusual[/]" if row.unusual else "",
        )  # fmt: skip
    console.print(reads)


@app.command("archive")
def archive(
    before: Annotated[
        datetime,
        typer.Option(
            "--before",
            formats=["%Y-%m-%d"],
            help="Archive the events before this day (UTC midnight); at least six years ago.",
        ),
    ],
    out: Annotated[Path, typer.Option("--out", help="The archive file to write (JSON lines).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Export the events before --before not archived yet into a signed, verifiable file.

    Refuses anything inside the six-year retention window (HIPAA 164.316(b)(2)(i)). The events
    stay in the log; docs/deployment.md says how an operator may then remove them.
    """
    from corespond.audit.archive import ArchiveError
    from corespond.audit.archive import archive as make_archive

    try:
        with unit_of_work() as session:
            made = make_archive(session, before=before, out=out)
    except ArchiveError as exc:
        Console(stderr=True, soft_wrap=True).print(f"[red]error:[/] {escape(str(exc))}")
        raise typer.Exit(2) from None
    if as_json:
        typer.echo(
            json.dumps(
                {"file": str(out), "first_seq": made.first_seq, "last_seq": made.last_seq,
                 "events": made.events, "last_hash": made.last_hash, "digest": made.digest}
            )
        )  # fmt: skip
        return
    Console(soft_wrap=True).print(
        f"Archived events {made.first_seq:,}-{made.last_seq:,} ({made.events:,}) to "
        f"{escape(str(out))}, signed; the last hash is {made.last_hash[:16]}…"
    )


@app.command("verify-archive")
def verify_archive(
    path: Annotated[Path, typer.Argument(help="A file made by `corespond audit archive`.")],
    public_key: Annotated[
        str | None,
        typer.Option("--public-key", help="Hex Ed25519 public key to trust (default: configured)."),
    ] = None,
    offline: Annotated[
        bool, typer.Option("--offline", help="Check the file alone, not against the store.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Check an archive: every hash, the chain, its signature, and (unless --offline) that the
    store recorded it and the live log goes on from its last hash. Exit 1 if anything is wrong."""
    from corespond.audit.archive import verify_archive as check_archive

    if offline:
        result = check_archive(path, public_key_hex=public_key)
    else:
        with session_factory()() as session:
            result = check_archive(path, public_key_hex=public_key, session=session)
    if as_json:
        typer.echo(
            json.dumps(
                {"ok": result.ok, "events": result.events, "first_seq": result.first_seq,
                 "last_seq": result.last_seq, "problem": result.problem}
            )
        )  # fmt: skip
    elif result.ok:
        Console().print(
            f"[green]The archive is intact:[/] events {result.first_seq:,}-{result.last_seq:,}."
        )
    else:
        Console(stderr=True, soft_wrap=True).print(
            f"[red]The archive does not verify:[/] {escape(result.problem or '')}"
        )
    if not result.ok:
        raise typer.Exit(1)
