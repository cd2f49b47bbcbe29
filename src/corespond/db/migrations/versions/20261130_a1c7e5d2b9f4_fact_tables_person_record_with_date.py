"""fact tables: index person_record_id with the fact's date (a person's recent facts)

The responder brief reads a person's contacts in the 90 days before a call: with the record
and the date in one index, the database reads only those, not every fact of a frequent
utilizer's hundreds of records. The composite index serves what the record's own index did.

Revision ID: a1c7e5d2b9f4
Revises: fe2ba82698b3
Create Date: 2026-11-30 07:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "a1c7e5d2b9f4"
down_revision: str | None = "fe2ba82698b3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DATED = (
    ("hospital_encounter", "started_at"),
    ("treatment_encounter", "started_at"),
    ("arrest", "arrested_at"),
    ("use_of_force", "occurred_at"),
    ("involuntary_hold", "started_at"),
    ("enrollment", "entry_date"),
    ("enrollment_exit", "exit_date"),
    ("service", "provided_on"),
    ("referral", "referred_on"),
    ("case_note", "written_at"),
)


def upgrade() -> None:
    for table, when in DATED:
        op.create_index(f"ix_{table}_person_record_id_{when}", table, ["person_record_id", when])
        op.drop_index(f"ix_{table}_person_record_id", table_name=table)


def downgrade() -> None:
    for table, when in DATED:
        op.create_index(f"ix_{table}_person_record_id", table, ["person_record_id"])
        op.drop_index(f"ix_{table}_person_record_id_{when}", table_name=table)
