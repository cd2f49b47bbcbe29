"""``corespond db``: the database schema."""

from __future__ import annotations

import typer
from rich.console import Console

from corespond.config import get_settings
from corespond.db import migrate
from corespond.db.engine import get_engine

app = typer.Typer(help="Create or upgrade the database schema.", no_args_is_help=True)
console = Console()


@app.command()
def upgrade(revision: str = typer.Argument("head", help="Migration to upgrade to.")) -> None:
    """Create the tables, or bring them up to date (safe to run at any time)."""
    migrate.upgrade(get_engine(), revision)
    console.print(f"[green]Database is at {revision}[/]: {_safe_url()}")


@app.command()
def downgrade(
    revision: str = typer.Argument(..., help="Migration to go back to ('base': none)."),
) -> None:
    """Undo migrations down to REVISION."""
    migrate.downgrade(get_engine(), revision)
    console.print(f"Database is at {revision}: {_safe_url()}")


def _safe_url() -> str:
    from sqlalchemy.engine import make_url

    return make_url(get_settings().database_url).render_as_string(hide_password=True)
