"""Database triggers that refuse to change or delete audit rows (CJIS AU-9).

The migration installs them; only someone who can drop triggers (a database superuser or the
schema owner acting deliberately) can get around them, and the chain and its signed
checkpoints then show what they did.
"""

from __future__ import annotations

TABLES = ("audit_event", "audit_checkpoint")


def create_statements(dialect: str) -> list[str]:
    if dialect == "postgresql":
        statements = [
            "CREATE OR REPLACE FUNCTION corespond_audit_immutable() RETURNS trigger "
            "LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION "
            "'audit records cannot be changed or deleted (%)', TG_OP; END $$"
        ]
        for table in TABLES:
            statements += [
                f"CREATE TRIGGER {table}_immutable BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION corespond_audit_immutable()",
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION corespond_audit_immutable()",
            ]
        return statements
    return [
        f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} BEGIN "
        f"SELECT RAISE(ABORT, 'audit records cannot be changed or deleted'); END"
        for table in TABLES
        for verb in ("UPDATE", "DELETE")
    ]


def drop_statements(dialect: str) -> list[str]:
    if dialect == "postgresql":
        return [
            *(f"DROP TRIGGER IF EXISTS {table}_{kind} ON {table}"
              for table in TABLES for kind in ("immutable", "no_truncate")),
            "DROP FUNCTION IF EXISTS corespond_audit_immutable()",
        ]  # fmt: skip
    return [
        f"DROP TRIGGER IF EXISTS {table}_no_{verb}"
        for table in TABLES
        for verb in ("update", "delete")
    ]
