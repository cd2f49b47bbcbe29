"""``corespond audit``: verify the audit log, and sign its head."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console

from corespond.audit import chain
from corespond.db.engine import session_factory, unit_of_work

app = typer.Typer(
    no_args_is_help=True,
    help="The tamper-evident audit log: `verify` walks the chain, `checkpoint` signs its head.",
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
