"""Alembic environment: runs migrations on the configured database (or the given connection)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from corespond.db.engine import create_db_engine
from corespond.models import Base

config = context.config
target_metadata = Base.metadata


def run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    run(connection)
else:
    engine = create_db_engine(url=config.get_main_option("sqlalchemy.url") or None)
    with engine.connect() as new_connection:
        run(new_connection)
    engine.dispose()
