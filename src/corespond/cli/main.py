"""``corespond``: the command line. Each command is a thin call into a service."""

from __future__ import annotations

import typer

from corespond.cli import (
    agreements,
    audit,
    db,
    demo,
    dispatch,
    ingest,
    keys,
    link,
    outcomes,
    serve,
    users,
)

app = typer.Typer(
    name="corespond",
    help=(
        "corespond brings police, fire/EMS, behavioural-health and homeless-services records "
        "together for co-response programs.\n\n"
        "Start with `corespond db upgrade`, then `corespond ingest FOLDER`, then "
        "`corespond link run`, then `corespond serve`. `corespond demo city` makes a synthetic "
        "city to try it on."
    ),
    no_args_is_help=True,
    rich_markup_mode="markdown",
)
app.add_typer(db.app, name="db")
app.add_typer(ingest.app, name="ingest")
app.add_typer(link.app, name="link")
app.add_typer(users.app, name="users")
app.add_typer(agreements.app, name="agreements")
app.add_typer(keys.app, name="keys")
app.add_typer(audit.app, name="audit")
app.add_typer(demo.app, name="demo")
app.add_typer(dispatch.app, name="dispatch")
app.add_typer(outcomes.app, name="outcomes")
app.command("serve")(serve.serve)
