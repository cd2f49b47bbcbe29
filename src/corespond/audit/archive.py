"""Archiving the audit log's oldest events into a signed file that verifies on its own.

HIPAA keeps its documentation, the audit log and the accounting of disclosures among it, six
years (45 CFR 164.316(b)(2)(i), 164.528); Part 2 accounts for disclosures over three years
(42 CFR 2.24); CJIS keeps audit records at least one year (AU-11). So events younger than six
years are never archived. An archive holds a contiguous stretch of the chain, from the first
event not archived before up to the last event before the chosen date:

- a header line (``{"type": "header", ...}``): the format, the range and the hash the first
  event follows;
- one line per event (``{"type": "event", ...}``), every field the hash covers, with the event's
  previous hash and hash;
- a signed checkpoint line (``{"type": "checkpoint", ...}``): the range, the last hash, the
  SHA-256 of the event lines, signed with the audit key (Ed25519).

The rows stay in the log (the database refuses to delete them); the archive is also recorded,
signed, in ``audit_archive``, so that once an operator removes archived rows (docs/deployment.md)
``corespond audit verify`` still verifies the live log from the archive's last hash.

Example:
    >>> with unit_of_work() as session:  # doctest: +SKIP
    ...     made = archive(session, before=datetime(2019, 1, 1), out=Path("audit-2018.jsonl"))
    >>> verify_archive(Path("audit-2018.jsonl")).ok  # doctest: +SKIP
    True
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from corespond.audit.chain import ARCHIVE_FORMAT as FORMAT
from corespond.audit.chain import CHUNK, GENESIS, archive_message, event_hash, record
from corespond.audit.signing import Signer, verify_signature
from corespond.models import AuditArchive, AuditEvent
from corespond.models.base import utcnow

RETENTION = timedelta(days=6 * 365 + 2)
"""Six years, leap days included: nothing younger is archived (HIPAA 164.316(b)(2)(i))."""
FIELDS = (
    "seq", "at", "actor", "agency_id", "action", "outcome", "person_id", "categories",
    "purpose", "legal_basis", "recipient_agency_id", "detail", "prev_hash", "hash",
)  # fmt: skip


class ArchiveError(Exception):
    """The archive cannot be made as asked; the message says why."""


def archive(
    session: Session,
    *,
    before: datetime,
    out: Path,
    by: str = "cli",
    now: datetime | None = None,
) -> AuditArchive:
    """Write the events before ``before`` (naive UTC) not archived yet to ``out``, sign it,
    and record it, with an ``audit.archived`` event by ``by``, in ``session``'s transaction."""
    now = now or utcnow()
    limit = now - RETENTION
    if before > limit:
        raise ArchiveError(
            f"events after {limit:%Y-%m-%d} are inside the six-year retention window "
            "(HIPAA 164.316(b)(2)(i)); archive before that date or earlier"
        )
    if out.exists():
        raise ArchiveError(f"{out} already exists; an archive is never overwritten")
    previous = session.scalars(
        select(AuditArchive).order_by(AuditArchive.last_seq.desc()).limit(1)
    ).first()
    first = previous.last_seq + 1 if previous else 1
    prev_hash = previous.last_hash if previous else GENESIS
    # A contiguous stretch of the chain: up to the first event at or after ``before``.
    boundary = session.scalar(
        select(func.min(AuditEvent.seq)).where(AuditEvent.seq >= first, AuditEvent.at >= before)
    )
    last = (
        boundary - 1
        if boundary is not None
        else session.scalar(select(func.max(AuditEvent.seq))) or 0
    )
    if last < first:
        raise ArchiveError(f"no event before {before:%Y-%m-%d} is left to archive")
    digest = hashlib.sha256()
    head_hash, count = prev_hash, 0
    partial = out.with_name(out.name + ".partial")
    try:
        with partial.open("w", encoding="utf-8") as handle:
            header = {"type": "header", "format": FORMAT, "first_seq": first, "last_seq": last,
                      "prev_hash": prev_hash, "before": before.isoformat()}  # fmt: skip
            handle.write(_line(header))
            for event in _events(session, first, last):
                problem = _broken(event, first + count, head_hash)
                if problem:
                    raise ArchiveError(f"the live log is not intact, nothing archived: {problem}")
                line = _line({"type": "event", **_fields(event)})
                digest.update(line.encode())
                handle.write(line)
                head_hash, count = event.hash, count + 1
            if count != last - first + 1:
                raise ArchiveError(
                    f"events {first}-{last} are not all in the log ({count} found): "
                    "run `corespond audit verify`"
                )
            signer = Signer.from_settings()
            signed_at = utcnow()
            message = archive_message(
                first, last, prev_hash, head_hash, count, digest.hexdigest(), before, signed_at
            )
            checkpoint = {"type": "checkpoint", "first_seq": first, "last_seq": last,
                          "prev_hash": prev_hash, "last_hash": head_hash, "events": count,
                          "digest": digest.hexdigest(), "before": before.isoformat(),
                          "signed_at": signed_at.isoformat(), "public_key": signer.public_key_hex,
                          "signature": signer.sign(message)}  # fmt: skip
            handle.write(_line(checkpoint))
        os.replace(partial, out)
    finally:
        partial.unlink(missing_ok=True)
    made = AuditArchive(
        first_seq=first, last_seq=last, prev_hash=prev_hash, last_hash=head_hash, events=count,
        digest=digest.hexdigest(), before=before, file_name=str(out)[-400:],
        signed_at=signed_at, public_key=signer.public_key_hex,
        signature=checkpoint["signature"],
    )  # fmt: skip
    session.add(made)
    session.flush()
    record(
        session, action="audit.archived", actor=by,
        detail={"archive": made.id, "first_seq": first, "last_seq": last, "events": count,
                "digest": made.digest, "before": before.isoformat(), "file": out.name},
    )  # fmt: skip
    return made


@dataclass
class ArchiveCheck:
    events: int
    first_seq: int | None = None
    last_seq: int | None = None
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None


def verify_archive(
    path: Path, *, public_key_hex: str | None = None, session: Session | None = None
) -> ArchiveCheck:
    """Check an archive file on its own (every hash, the chain, the digest, the signature by
    ``public_key_hex``, by default the configured key's), and, given a ``session``, that the
    store recorded it and the live log goes on from its last hash."""
    try:
        return _verify_archive(path, public_key_hex, session)
    except (ValueError, KeyError, TypeError) as exc:
        return ArchiveCheck(0, problem=f"{path} is malformed: {exc}")


def _verify_archive(
    path: Path, public_key_hex: str | None, session: Session | None
) -> ArchiveCheck:
    trusted = public_key_hex or Signer.from_settings().public_key_hex
    lines = _read(path)
    header = next(lines, None)
    if not header or header.get("type") != "header" or header.get("format") != FORMAT:
        return ArchiveCheck(0, problem=f"{path} is not a corespond audit archive ({FORMAT})")
    first, previous = header["first_seq"], header["prev_hash"]
    digest, count, mark = hashlib.sha256(), 0, None
    for item in lines:
        if item.get("type") == "checkpoint":
            mark = item
            break
        event = _event(item)
        problem = _broken(event, first + count, previous)
        if problem:
            return ArchiveCheck(count, first, None, problem)
        digest.update(_line(item).encode())
        previous, count = event.hash, count + 1
    if mark is None or next(lines, None) is not None:
        return ArchiveCheck(count, first, None, "the archive's signed checkpoint is not its end")
    expected = {"first_seq": first, "last_seq": first + count - 1, "prev_hash": header["prev_hash"],
                "last_hash": previous, "events": count, "digest": digest.hexdigest()}  # fmt: skip
    wrong = [key for key, value in expected.items() if mark.get(key) != value]
    if wrong:
        problem = f"the checkpoint does not match the events: {', '.join(wrong)}"
        return ArchiveCheck(count, first, None, problem)
    message = archive_message(
        first, mark["last_seq"], mark["prev_hash"], previous, count, mark["digest"],
        datetime.fromisoformat(mark["before"]), datetime.fromisoformat(mark["signed_at"]),
    )  # fmt: skip
    if mark.get("public_key") != trusted or not verify_signature(
        trusted, message, mark["signature"]
    ):
        return ArchiveCheck(count, first, None, "the checkpoint is not signed by the audit key")
    check = ArchiveCheck(count, first, mark["last_seq"])
    if session is not None:
        check.problem = _against_store(session, mark)
    return check


def _against_store(session: Session, mark: dict[str, Any]) -> str | None:
    recorded = session.scalars(
        select(AuditArchive).where(AuditArchive.signature == mark["signature"])
    ).first()
    if recorded is None:
        return "the store has no record of this archive"
    following = session.scalars(
        select(AuditEvent).where(AuditEvent.seq == mark["last_seq"] + 1)
    ).first()
    if following is not None and following.prev_hash != mark["last_hash"]:
        return f"event {following.seq} in the store does not follow the archive's last event"
    archived = session.scalars(select(AuditEvent).where(AuditEvent.seq == mark["last_seq"])).first()
    if archived is not None and archived.hash != mark["last_hash"]:
        return f"event {archived.seq} in the store differs from the archive's"
    return None


def _events(session: Session, first: int, last: int) -> Iterator[AuditEvent]:
    start = first
    while start <= last:
        chunk = list(
            session.scalars(
                select(AuditEvent)
                .where(AuditEvent.seq >= start, AuditEvent.seq <= last)
                .order_by(AuditEvent.seq)
                .limit(CHUNK)
            )
        )
        if not chunk:
            return
        yield from chunk
        start = chunk[-1].seq + 1


def _broken(event: AuditEvent, expected_seq: int, previous: str) -> str | None:
    if event.seq != expected_seq:
        return f"event {expected_seq} is missing (the next is {event.seq})"
    if event.prev_hash != previous:
        return f"event {event.seq} does not follow event {event.seq - 1}"
    if event_hash(event) != event.hash:
        return f"event {event.seq} was altered after it was written"
    return None


def _fields(event: AuditEvent) -> dict[str, Any]:
    found = {name: getattr(event, name) for name in FIELDS}
    found["at"] = event.at.isoformat(timespec="microseconds")
    return found


def _event(item: dict[str, Any]) -> AuditEvent:
    values = {name: item.get(name) for name in FIELDS}
    values["at"] = datetime.fromisoformat(str(values["at"]))
    return AuditEvent(**values)


def _line(item: dict[str, Any]) -> str:
    return json.dumps(item, sort_keys=True, separators=(",", ":"), ensure_ascii=False) + "\n"


def _read(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                yield json.loads(line)
