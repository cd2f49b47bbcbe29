"""Appending to the hash-chained audit log, signing its head, and verifying it.

Each event's hash is SHA-256 over the previous event's hash and the event's canonical JSON
(sorted keys, no spaces, UTC timestamps to the microsecond), its place in the chain included.
Appends are serialized (an advisory lock on PostgreSQL; SQLite's single writer), so concurrent
writers still make one unbroken chain. The chain alone cannot catch someone who rewrites it
from the start or cuts off its tail; signed checkpoints of the head can, with a key the
database never holds.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import event as orm_events
from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import Session, SessionTransaction

from corespond.audit.signing import Signer, verify_signature
from corespond.config import get_settings
from corespond.models import AuditArchive, AuditCheckpoint, AuditEvent
from corespond.models.base import utcnow

GENESIS = "0" * 64
"""The previous hash of the first event."""
LOCK_KEY = 0x636F7265  # "core": the PostgreSQL advisory lock that serializes appends
CHUNK = 5_000


def record(
    session: Session,
    *,
    action: str,
    actor: str = "system",
    outcome: str = "success",
    agency_id: int | None = None,
    person_id: int | None = None,
    categories: Iterable[str] = (),
    purpose: str | None = None,
    legal_basis: str | None = None,
    recipient_agency_id: int | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Append an event in ``session``'s transaction: it commits, or rolls back, with the work
    it records. Use a writing session (``unit_of_work``)."""
    record_many(session, [Entry(
        action=action, actor=actor, outcome=outcome, agency_id=agency_id, person_id=person_id,
        categories=tuple(categories), purpose=purpose, legal_basis=legal_basis,
        recipient_agency_id=recipient_agency_id, detail=detail,
    )])  # fmt: skip


@dataclass(frozen=True)
class Entry:
    """One event to append (``record``'s arguments)."""

    action: str
    actor: str = "system"
    outcome: str = "success"
    agency_id: int | None = None
    person_id: int | None = None
    categories: tuple[str, ...] = ()
    purpose: str | None = None
    legal_basis: str | None = None
    recipient_agency_id: int | None = None
    detail: dict[str, Any] | None = None


_HEAD = select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)


def record_many(session: Session, entries: list[Entry]) -> None:
    """Append events in order, in one write (a page's access decisions): plain rows, inserted
    at once (no objects for the session to track: a brief's decisions are a dozen events)."""
    if not entries:
        return
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
    connection = session.connection()
    head = connection.execute(_HEAD).first()
    seq, previous = (head.seq, head.hash) if head else (0, GENESIS)
    first = seq + 1
    rows = []
    for entry in entries:
        seq += 1
        row = {
            "seq": seq,
            "at": utcnow(),
            "actor": entry.actor,
            "agency_id": entry.agency_id,
            "action": entry.action,
            "outcome": entry.outcome,
            "person_id": entry.person_id,
            "categories": ",".join(sorted(set(entry.categories))) or None,
            "purpose": entry.purpose,
            "legal_basis": entry.legal_basis,
            "recipient_agency_id": entry.recipient_agency_id,
            "detail": json.dumps(entry.detail, sort_keys=True, separators=(",", ":"))
            if entry.detail else None,
            "prev_hash": previous,
        }  # fmt: skip
        row["hash"] = previous = _hash(row)
        rows.append(row)
    connection.execute(insert(AuditEvent), rows)
    every = get_settings().audit_checkpoint_every
    if every and (first - 1) // every != seq // every:
        checkpoint(session)  # the batch reached a multiple of ``every``: sign the head


PENDING = "corespond.audit.pending"
"""Where a session holds the events ``record_at_commit`` keeps for its commit."""


def record_at_commit(session: Session, entries: Iterable[Entry]) -> None:
    """Append these events when ``session`` commits, with every other event so kept, in one
    write: one read of the chain's head and one insert for a request's many access decisions,
    and on PostgreSQL the lock that serializes appends is held only while committing. The
    events belong to the transaction as ``record``'s do: a rollback drops them with the work
    they record. They are stamped when appended (a few milliseconds after the decisions), so
    that the chain's times run in its order."""
    kept: list[Entry] = session.info.setdefault(PENDING, [])
    kept.extend(entries)


@orm_events.listens_for(Session, "before_commit")
def _append_kept(session: Session) -> None:
    kept = session.info.pop(PENDING, None)
    if kept:
        record_many(session, kept)


@orm_events.listens_for(Session, "after_transaction_end")
def _drop_kept(session: Session, transaction: SessionTransaction) -> None:
    """The transaction ended without a commit (rolled back, or its session closed): what it
    kept goes with it. A savepoint's end leaves its transaction's events kept."""
    if transaction.parent is None:
        session.info.pop(PENDING, None)


def event_hash(event: AuditEvent) -> str:
    return _hash({name: getattr(event, name) for name in (*HASHED, "prev_hash")})


HASHED = (
    "seq", "at", "actor", "agency_id", "action", "outcome", "person_id", "categories",
    "purpose", "legal_basis", "recipient_agency_id", "detail",
)  # fmt: skip
"""The fields an event's hash covers (with the previous event's hash)."""


def _hash(event: dict[str, Any]) -> str:
    payload = {name: event[name] for name in HASHED}
    payload["at"] = _timestamp(event["at"])
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256((event["prev_hash"] + canonical).encode()).hexdigest()


def checkpoint(session: Session) -> AuditCheckpoint | None:
    """Sign the chain's head now (None when the log is empty)."""
    head = session.execute(_HEAD).first()
    if head is None:
        return None
    signer = Signer.from_settings()
    signed_at = utcnow()
    mark = AuditCheckpoint(
        seq=head.seq,
        hash=head.hash,
        signed_at=signed_at,
        public_key=signer.public_key_hex,
        signature=signer.sign(checkpoint_message(head.seq, head.hash, signed_at)),
    )
    session.add(mark)
    session.flush()
    return mark


def checkpoint_message(seq: int, head_hash: str, signed_at: datetime) -> bytes:
    return f"corespond-audit|{seq}|{head_hash}|{_timestamp(signed_at)}".encode()


ARCHIVE_FORMAT = "corespond-audit-archive/1"


def archive_message(
    first: int,
    last: int,
    prev_hash: str,
    last_hash: str,
    events: int,
    digest: str,
    before: datetime,
    signed_at: datetime,
) -> bytes:
    """What an archive's checkpoint signs (``audit.archive``)."""
    return (
        f"{ARCHIVE_FORMAT}|{first}|{last}|{prev_hash}|{last_hash}|{events}|{digest}|"
        f"{before.isoformat()}|{signed_at.isoformat()}"
    ).encode()


def archive_signed_by(mark: AuditArchive, public_key_hex: str) -> bool:
    """Is the archive record signed by this key, and unaltered?"""
    message = archive_message(
        mark.first_seq, mark.last_seq, mark.prev_hash, mark.last_hash, mark.events, mark.digest,
        mark.before, mark.signed_at,
    )  # fmt: skip
    return mark.public_key == public_key_hex and verify_signature(
        public_key_hex, message, mark.signature
    )


@dataclass
class Verification:
    events: int
    checkpoints: int
    problem: str | None = None
    """The first thing found wrong, in words; None when the log is intact."""
    seq: int | None = None
    """Where: the place in the chain of the first event found wrong."""

    @property
    def ok(self) -> bool:
        return self.problem is None


def verify(session: Session, *, public_key_hex: str | None = None) -> Verification:
    """Walk the chain from the start; report the first altered, deleted, inserted or reordered
    event, and a tail cut off before the last signed checkpoint.

    Checkpoints must carry a valid signature by ``public_key_hex`` (by default, the key of the
    configured signing key): a checkpoint the attacker signed with another key proves nothing.
    """
    trusted = public_key_hex or Signer.from_settings().public_key_hex
    marks = list(session.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.seq)))
    for mark in marks:
        message = checkpoint_message(mark.seq, mark.hash, mark.signed_at)
        if mark.public_key != trusted or not verify_signature(trusted, message, mark.signature):
            return Verification(
                0, len(marks), f"checkpoint {mark.id} is not signed by the audit key", mark.seq
            )
    signed = {mark.seq: mark.hash for mark in marks}
    expected_seq, previous, count = 1, GENESIS, 0
    last_seq = 0
    anchor = _archive_anchor(session, trusted)
    if isinstance(anchor, str):
        return Verification(0, len(marks), anchor, 1)
    if anchor is not None:
        expected_seq, previous, last_seq = anchor.last_seq + 1, anchor.last_hash, anchor.last_seq
    while True:
        events = list(
            session.scalars(
                select(AuditEvent)
                .where(AuditEvent.seq >= expected_seq)
                .order_by(AuditEvent.seq)
                .limit(CHUNK)
            )
        )
        if not events:
            break
        for event in events:
            problem = _check(event, expected_seq, previous)
            if problem:
                return Verification(count, len(marks), problem, expected_seq)
            if event.seq in signed and signed[event.seq] != event.hash:
                problem = f"event {event.seq} differs from its signed checkpoint: chain rewritten"
                return Verification(count, len(marks), problem, event.seq)
            previous, expected_seq, last_seq = event.hash, event.seq + 1, event.seq
            count += 1
    if marks and last_seq < marks[-1].seq:
        return Verification(
            count, len(marks),
            f"the log ends at event {last_seq}, but a signed checkpoint covers up to event "
            f"{marks[-1].seq}: events {last_seq + 1}-{marks[-1].seq} were removed",
            last_seq + 1,
        )  # fmt: skip
    return Verification(count, len(marks))


def _archive_anchor(session: Session, trusted: str) -> AuditArchive | str | None:
    """Where the live log may start, if archived rows were removed: after an archive.

    Archives must be signed by the audit key and follow one another from the genesis hash. The
    live log starts from an archive's last hash only when its first event is the one after that
    archive; while archived rows are still there, the walk starts at event 1 and they are
    checked like any other. Returns a problem in words, or the archive, or None.
    """
    archives = list(session.scalars(select(AuditArchive).order_by(AuditArchive.first_seq)))
    previous_last, previous_hash = 0, GENESIS
    for mark in archives:
        if not archive_signed_by(mark, trusted):
            return f"archive record {mark.id} is not signed by the audit key"
        if mark.first_seq != previous_last + 1 or mark.prev_hash != previous_hash:
            return f"archive record {mark.id} does not follow the archive before it"
        previous_last, previous_hash = mark.last_seq, mark.last_hash
    first = session.scalar(select(func.min(AuditEvent.seq)))
    if first is None or first == 1:
        return None
    return next((mark for mark in archives if mark.last_seq + 1 == first), None)


def _check(event: AuditEvent, expected_seq: int, previous: str) -> str | None:
    if event.seq != expected_seq:
        return (
            f"event {expected_seq} is missing (the next is {event.seq}): "
            f"{event.seq - expected_seq} event(s) deleted"
        )
    if event.prev_hash != previous:
        return (
            f"event {event.seq} does not follow event {event.seq - 1}: "
            "inserted, reordered or replaced"
        )
    if event_hash(event) != event.hash:
        return f"event {event.seq} was altered after it was written"
    return None


def _timestamp(value: datetime) -> str:
    return value.replace(tzinfo=None).isoformat(timespec="microseconds")
