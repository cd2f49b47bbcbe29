"""``corespond keys``: rotate the encryption keys."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from corespond.db.engine import unit_of_work

app = typer.Typer(no_args_is_help=True, help="Encryption keys.")


@app.command("rotate")
def rotate_keys(
    old_field_key: Annotated[
        str,
        typer.Option(
            "--old-field-key",
            prompt=True,
            hide_input=True,
            help="The field encryption key the store is encrypted with now.",
        ),
    ],
    old_blind_index_key: Annotated[
        str | None,
        typer.Option(
            "--old-blind-index-key",
            help="Also move SSN blind indexes from this key to the new one.",
        ),
    ] = None,
) -> None:
    """Re-encrypt every encrypted field under CORESPOND_FIELD_ENCRYPTION_KEY (set the new key
    first, give the old one here). All or nothing."""
    from corespond.access.keys import rotate
    from corespond.crypto import DecryptionError

    try:
        with unit_of_work() as session:
            done = rotate(
                session, old_field_key=old_field_key, old_blind_index_key=old_blind_index_key
            )
    except (DecryptionError, ValueError) as exc:
        Console(stderr=True).print(f"[red]error:[/] nothing was changed: {escape(str(exc))}")
        raise typer.Exit(2) from None
    Console().print(
        f"Re-encrypted {done.values:,} values; recomputed {done.blind_indexes:,} blind indexes."
    )
