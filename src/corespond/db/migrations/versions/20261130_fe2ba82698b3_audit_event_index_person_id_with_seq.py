"""audit_event: index person_id with seq (a person's events newest first)

Revision ID: fe2ba82698b3
Revises: d84a62ab7395
Create Date: 2026-11-30 00:47:04.419586
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "fe2ba82698b3"
down_revision: str | None = "d84a62ab7395"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain index operations: the audit log is append-only (triggers refuse updates and
    # deletes), so it must never be copied into a new table the way batch mode might.
    op.create_index("ix_audit_event_person_id_seq", "audit_event", ["person_id", "seq"])
    op.drop_index("ix_audit_event_person_id", table_name="audit_event")


def downgrade() -> None:
    op.create_index("ix_audit_event_person_id", "audit_event", ["person_id"])
    op.drop_index("ix_audit_event_person_id_seq", table_name="audit_event")
