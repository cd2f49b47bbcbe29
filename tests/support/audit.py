"""Writing audit events, verifying the chain, and tampering with it as a database owner could."""

from __future__ import annotations

from sqlalchemy import Engine, text

from corespond.audit import chain, immutability
from corespond.db.engine import session_factory, unit_of_work


def write_events(count: int, *, start: int = 0) -> None:
    with unit_of_work() as session:
        for n in range(start, start + count):
            chain.record(
                session,
                action="person.read",
                actor=f"user:{n % 3}",
                person_id=n,
                categories=["identity", "safety"],
                purpose="care_coordination",
                legal_basis=f"consent:{n}",
            )


def tamper(engine: Engine, *statements: str) -> None:
    """Edit the audit tables as someone who can set the triggers aside (a database owner)."""
    dialect = engine.dialect.name
    with engine.begin() as connection:
        if dialect == "postgresql":
            connection.execute(text("SET LOCAL session_replication_role = replica"))
        else:
            for statement in immutability.drop_statements(dialect):
                connection.execute(text(statement))
        for statement in statements:
            connection.execute(text(statement))
        if dialect != "postgresql":
            for statement in immutability.create_statements(dialect):
                connection.execute(text(statement))


def verify() -> chain.Verification:
    with session_factory()() as session:
        return chain.verify(session)
