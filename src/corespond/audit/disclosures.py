"""The accounting of disclosures: which agency saw what about a person, when, why, and on what
basis, read from the audit log.

HIPAA 164.528 gives a person the right to an accounting of disclosures over the past six
years; 42 CFR 2.24 (as amended in 2024) three years for Part 2 records disclosed with consent.
A disclosure here is a permitted access decision for a user of one agency on facts held by
another.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from corespond import models
from corespond.models.base import utcnow

HIPAA_WINDOW = timedelta(days=6 * 365 + 2)
PART2_WINDOW = timedelta(days=3 * 365 + 1)
PART2 = "substance_use_part2"


@dataclass(frozen=True)
class Disclosure:
    at: datetime
    recipient_agency: str
    owner_agency: str
    categories: str
    purpose: str
    legal_basis: str
    actor: str
    event: int


def accounting(
    session: Session, person_id: int, *, now: datetime | None = None, limit: int | None = None
) -> list[Disclosure]:
    """Disclosures of the person's facts, newest first, within the legal windows (the newest
    ``limit`` of them if given: a page shows the latest, the export gives all)."""
    now = now or utcnow()
    agencies = dict(session.execute(select(models.Agency.id, models.Agency.name)).all())
    event = models.AuditEvent
    rows = session.execute(
        select(
            event.seq,
            event.at,
            event.actor,
            event.categories,
            event.purpose,
            event.legal_basis,
            event.recipient_agency_id,
            event.detail,
        )  # plain rows: a person's log is thousands of events, most of them no disclosure
        .where(
            event.person_id == person_id,
            event.action == "access.decision",
            event.outcome == "allow",
            event.at >= now - HIPAA_WINDOW,
        )
        .order_by(event.seq.desc())
        .execution_options(yield_per=200)
    )
    found: list[Disclosure] = []
    with rows:  # closed when enough are found (the rest stay unread)
        for row in rows:
            if limit is not None and len(found) >= limit:
                break
            owner = json.loads(row.detail or "{}").get("owner")
            if owner is None or owner == row.recipient_agency_id:
                continue  # the agency's own records: a use, not a disclosure
            if row.categories == PART2 and row.at < now - PART2_WINDOW:
                continue
            found.append(
                Disclosure(
                    at=row.at,
                    recipient_agency=agencies.get(row.recipient_agency_id or 0, "unknown agency"),
                    owner_agency=agencies.get(owner, "unknown agency"),
                    categories=row.categories or "",
                    purpose=(row.purpose or "").replace("_", " "),
                    legal_basis=row.legal_basis or "",
                    actor=row.actor,
                    event=row.seq,
                )
            )
    return found


def as_csv(disclosures: list[Disclosure]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["date_utc", "recipient", "disclosed_by", "categories", "purpose",
                     "legal_basis", "user", "audit_event"])  # fmt: skip
    for item in disclosures:
        writer.writerow([item.at.isoformat(timespec="seconds"), item.recipient_agency,
                         item.owner_agency, item.categories, item.purpose, item.legal_basis,
                         item.actor, item.event])  # fmt: skip
    return out.getvalue()
