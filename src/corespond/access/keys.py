"""Key rotation: re-encrypt every encrypted field under the new field key, and recompute SSN
blind indexes under a new blind-index key. One transaction: all or nothing.

The new keys are the configured ones; the old ones are given for the rotation only.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from corespond import models
from corespond.access.users import TOTP_CONTEXT
from corespond.audit.chain import record
from corespond.crypto import FieldCipher, ssn_status
from corespond.ingest.service import QUARANTINE_CONTEXT
from corespond.ingest.tables import SSN_CONTEXT
from corespond.sources.parse import digits

ENCRYPTED = (
    (models.PersonRecord, "ssn_encrypted", SSN_CONTEXT),
    (models.QuarantinedRow, "raw_encrypted", QUARANTINE_CONTEXT),
    (models.User, "totp_secret_encrypted", TOTP_CONTEXT),
)


@dataclass
class Rotated:
    values: int = 0
    blind_indexes: int = 0


def rotate(
    session: Session, *, old_field_key: str, old_blind_index_key: str | None = None
) -> Rotated:
    """Re-encrypt from ``old_field_key`` to the configured key; with ``old_blind_index_key``,
    recompute SSN blind indexes under the configured blind-index key too.

    Raises:
        corespond.crypto.DecryptionError: a value does not open under the old key (nothing
            is changed: the transaction rolls back).
    """
    new = FieldCipher.from_settings()
    old = FieldCipher(base64.b64decode(old_field_key), new.index_key)
    done = Rotated()
    for model, column, context in ENCRYPTED:
        for row in session.scalars(select(model).where(getattr(model, column).is_not(None))):
            plain = old.decrypt(getattr(row, column), context=context)
            setattr(row, column, new.encrypt(plain, context=context))
            done.values += 1
            if model is models.PersonRecord and old_blind_index_key is not None:
                ssn = digits(plain)
                row.ssn_blind_index = (  # type: ignore[attr-defined]
                    new.blind_index(ssn, context=SSN_CONTEXT)
                    if ssn and ssn_status(ssn) == "valid"
                    else None
                )
                done.blind_indexes += 1
    record(
        session, action="admin.keys_rotated", actor="cli",
        detail={"values": done.values, "blind_indexes": done.blind_indexes},
    )  # fmt: skip
    return done
