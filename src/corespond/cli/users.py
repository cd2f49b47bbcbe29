"""``corespond users``: add users, lock and unlock them, reset their second factor, link them to
their agency's identity provider, issue tokens."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from sqlalchemy import select

from corespond import models
from corespond.access import tokens, users
from corespond.access.passwords import WeakPassword
from corespond.access.roles import Role
from corespond.db.engine import unit_of_work

console = Console(stderr=True, soft_wrap=True)
ADMIN = "cli"
app = typer.Typer(
    no_args_is_help=True,
    help=f"Users and API tokens. Roles: {', '.join(role.value for role in Role)}.",
)


def _fail(message: str) -> None:
    console.print(f"[red]error:[/] {escape(message)}")
    raise typer.Exit(2)


@app.command("add")
def add(
    username: str,
    roles: Annotated[str, typer.Option("--roles", help="Comma-separated roles.")],
    agency: Annotated[
        str | None, typer.Option("--agency", help="The agency's key in the jurisdiction file.")
    ] = None,
    name: Annotated[str, typer.Option("--name", help="Display name.")] = "",
    password: Annotated[
        str, typer.Option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
    ] = "",
) -> None:
    """Add a user; prints the TOTP secret to enrol in an authenticator app (shown once)."""
    try:
        with unit_of_work() as session:
            agency_id = None
            if agency:
                agency_id = session.scalar(
                    select(models.Agency.id).where(models.Agency.source_key == agency)
                )
                if agency_id is None:
                    _fail(f"no agency with key {agency!r} (import the jurisdiction file first)")
            new = users.add_user(
                session, username=username, display_name=name, roles=roles,
                password=password, agency_id=agency_id, by=ADMIN,
            )  # fmt: skip
            uri = new.provisioning_uri()
    except (users.UserError, WeakPassword) as exc:
        _fail(str(exc))
    Console().print(f"Added {username}. Enrol this in an authenticator app (shown once):\n{uri}")


@app.command("lock")
def lock(username: str) -> None:
    """Lock a user out at once (their sessions end on their next request)."""
    _admin(lambda session: users.lock(session, username, by=ADMIN), f"Locked {username}.")


@app.command("unlock")
def unlock(username: str) -> None:
    """Unlock a user (after 5 failed sign-ins, or a lock by an administrator)."""
    _admin(lambda session: users.unlock(session, username, by=ADMIN), f"Unlocked {username}.")


@app.command("reset-mfa")
def reset_mfa(username: str) -> None:
    """Give a user a new TOTP secret; the old authenticator stops working."""
    try:
        with unit_of_work() as session:
            uri = users.reset_mfa(session, username, by=ADMIN).provisioning_uri()
    except users.UserError as exc:
        _fail(str(exc))
    Console().print(f"New second factor for {username} (shown once):\n{uri}")


@app.command("link-oidc")
def link_oidc(
    username: str,
    subject: Annotated[
        str | None,
        typer.Option("--subject", help="The user's 'sub' at their agency's identity provider."),
    ] = None,
    unlink: Annotated[
        bool, typer.Option("--unlink", help="Remove the link (password and TOTP again).")
    ] = False,
) -> None:
    """Link a user to their agency's identity provider; they then sign in only through it."""
    if (subject is None) == (not unlink):
        _fail("give --subject SUB, or --unlink")
    _admin(
        lambda session: users.link_oidc(session, username, subject=subject, by=ADMIN),
        f"Unlinked {username}." if unlink else f"Linked {username} to {subject}.",
    )


@app.command("token")
def token(
    username: str,
    scopes: Annotated[str, typer.Option("--scopes", help=f"Of: {', '.join(tokens.SCOPES)}.")],
    name: Annotated[str, typer.Option("--name", help="What the client is.")] = "api client",
    days: Annotated[int, typer.Option("--days", min=1, max=365)] = 90,
) -> None:
    """Issue a scoped API token acting for a user (shown once)."""
    try:
        with unit_of_work() as session:
            user = users.get_user(session, username)
            secret = tokens.issue(
                session, user, name=name, scopes=scopes.replace(",", " ").split(), days=days,
                by=ADMIN,
            )  # fmt: skip
    except (users.UserError, ValueError) as exc:
        _fail(str(exc))
    Console().print(f"Token for {username} (shown once; send as 'Authorization: Bearer …'):")
    typer.echo(secret)


def _admin(action, done: str) -> None:  # type: ignore[no-untyped-def]
    try:
        with unit_of_work() as session:
            action(session)
    except users.UserError as exc:
        _fail(str(exc))
    Console().print(done)
