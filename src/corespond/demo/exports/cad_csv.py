"""Write canonical call records as a Seattle-style CAD export: ``calls.csv`` and ``names.csv``.

The reader is :mod:`corespond.sources.cad_csv`; ``docs/data-formats.md`` has the columns.
Records must come in the generator's order: a ``CallIn``, then its ``UnitResponseIn``\\ s and its
``PersonRecordIn`` + ``CallPersonIn`` pairs, then the next ``CallIn``. Only the current call is
held in memory. Records of kinds a CAD export does not carry (cautions, say) are skipped, so the
same stream can feed the EIDO writer.

What does not survive a round trip (the reader rebuilds or cannot see it):

- ``UnitResponseIn.source_key`` and ``CallPersonIn.source_key`` are rebuilt by the reader's
  rules (:func:`~corespond.sources.cad_csv.unit_response_key`,
  :func:`~corespond.sources.cad_csv.call_person_key`); build them the same way to compare.
- ``CallIn.agency_key`` and ``notes``; ``call_source`` ``other`` (written blank); an empty
  ``place``; times below the second.
- Person fields the names file has no column for: suffix, aliases, ethnicity, SSN, height,
  weight, hair, eyes, description, address unit; ``sex`` other than male, female, unknown, x.
- Wall-clock times in the hour repeated when clocks go back read as the first of the two.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from contextlib import ExitStack
from datetime import date, datetime, tzinfo
from pathlib import Path
from typing import Protocol
from zoneinfo import ZoneInfo

from corespond.sources.cad_csv import (
    CALL_COLUMNS,
    CALL_FILE_COLUMNS,
    CALL_SOURCES,
    NAME_COLUMNS,
    NAME_FILE_COLUMNS,
    PLACE_COLUMNS,
    RESPONDER_TYPES,
    ROLES,
    SEXES,
    UNIT_COLUMNS,
)
from corespond.sources.records import (
    CallIn,
    CallPersonIn,
    CallSource,
    PersonRecordIn,
    Record,
    UnitResponseIn,
)

US_DATETIME = "%m/%d/%Y %I:%M:%S %p"
US_DATE = "%m/%d/%Y"

# Reversed so that the first code wins where several read as one value (ONVIEW, not
# PROACTIVE (OFFICER INITIATED); POLICE, not SPD).
CALL_TYPE_CODES = {source: code for code, source in reversed(CALL_SOURCES.items())}
RESPONDER_CODES = {responder: code for code, responder in reversed(RESPONDER_TYPES.items())}
SEX_CODES = {word: code for code, word in SEXES.items()}
ROLE_CODES = {word: code for code, word in ROLES.items()}


def local_time(value: datetime | None, timezone: tzinfo, fmt: str = US_DATETIME) -> str:
    """``value`` as wall-clock time in ``timezone``; a naive value is taken to be in it already.

    Example:
        >>> local_time(datetime(2024, 3, 1, 18, 5, tzinfo=ZoneInfo("UTC")),
        ...            ZoneInfo("America/Los_Angeles"))
        '03/01/2024 10:05:00 AM'
    """
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone)
    return value.astimezone(timezone).strftime(fmt)


def calendar_date(value: date | None) -> str:
    return value.strftime(US_DATE) if value else ""


def _call_row(call: CallIn, unit: UnitResponseIn | None, timezone: ZoneInfo) -> list[str]:
    place = call.place
    values: dict[str, object] = {
        "source_key": call.source_key,
        "call_source": CALL_TYPE_CODES.get(call.call_source or CallSource.OTHER, ""),
        "priority": call.priority,
        "initial_call_type": call.initial_call_type,
        "final_call_type": call.final_call_type,
        "disposition": call.disposition,
    }
    for name in ("received_at", "queued_at", "dispatched_at", "first_arrival_at", "cleared_at"):
        values[name] = local_time(getattr(call, name), timezone)
    row = {CALL_COLUMNS[name]: value for name, value in values.items()}
    for name, column in PLACE_COLUMNS.items():
        row[column] = getattr(place, name) if place else None
    if unit is not None:
        row[UNIT_COLUMNS["call_sign"]] = unit.call_sign
        row[UNIT_COLUMNS["responder_type"]] = RESPONDER_CODES.get(unit.responder_type, "")
        for name in ("dispatched_at", "en_route_at", "at_scene_at", "in_service_at"):
            row[UNIT_COLUMNS[name]] = local_time(getattr(unit, name), timezone)
    return [_cell(row.get(column)) for column in CALL_FILE_COLUMNS]


def _name_row(person: PersonRecordIn, link: CallPersonIn) -> list[str]:
    address = person.address
    values: dict[str, object] = {
        "call_key": link.call_key,
        "source_key": person.source_key,
        "role": ROLE_CODES.get(link.role, link.role.upper()),
        "last_name": person.last_name,
        "first_name": person.first_name,
        "middle_name": person.middle_name,
        "dob": calendar_date(person.dob),
        "sex": SEX_CODES.get(person.sex or "", ""),
        "race": person.race,
        "phone": person.phone,
    }
    for name in ("street", "city", "state", "zip"):
        values[name] = getattr(address, name) if address else None
    return [_cell(values[name]) for name in NAME_COLUMNS]


class RowWriter(Protocol):
    """What ``csv.writer`` returns."""

    def writerow(self, row: Iterable[object], /) -> object: ...


def _cell(value: object) -> str:
    return "" if value is None else str(value)


class _CadWriter:
    """Holds the current call until the next one, so a call with no unit still gets a row."""

    def __init__(self, calls: RowWriter, names: RowWriter, timezone: ZoneInfo) -> None:
        self.calls = calls
        self.names = names
        self.timezone = timezone
        self.call: CallIn | None = None
        self.call_written = False
        self.persons: dict[str, PersonRecordIn] = {}
        self.links: dict[str, CallPersonIn] = {}

    def add(self, record: Record) -> None:
        if isinstance(record, CallIn):
            self.finish()
            self.call, self.call_written = record, False
        elif isinstance(record, UnitResponseIn):
            call = self._current(record, record.call_key)
            self.calls.writerow(_call_row(call, record, self.timezone))
            self.call_written = True
        elif isinstance(record, PersonRecordIn):
            self.persons[record.source_key] = record
            self._pair(record.source_key)
        elif isinstance(record, CallPersonIn):
            self._current(record, record.call_key)
            self.links[record.person_key] = record
            self._pair(record.person_key)

    def finish(self) -> None:
        """Write the held call if no unit row carried it; fail on a person left unpaired."""
        if self.call is not None and not self.call_written:
            self.calls.writerow(_call_row(self.call, None, self.timezone))
        self.call_written = True
        unpaired = sorted({*self.persons, *self.links})
        if unpaired:
            raise ValueError(
                f"call {self.call.source_key if self.call else None}: person records and "
                f"CallPersonIn must come in pairs; unpaired person keys: {', '.join(unpaired)}"
            )

    def _current(self, record: Record, call_key: str) -> CallIn:
        if self.call is None or self.call.source_key != call_key:
            raise ValueError(
                f"{record.kind} {record.source_key} refers to call {call_key}, "
                "which is not the CallIn just before it"
            )
        return self.call

    def _pair(self, person_key: str) -> None:
        if person_key in self.persons and person_key in self.links:
            self.names.writerow(_name_row(self.persons.pop(person_key), self.links.pop(person_key)))


def write(records: Iterable[Record], out_dir: Path, *, timezone: ZoneInfo) -> list[Path]:
    """Stream call records to ``out_dir/calls.csv`` and ``out_dir/names.csv``.

    Args:
        records: ``CallIn`` each followed by its units and person pairs (see the module doc).
        out_dir: created if missing; existing files of the same names are replaced.
        timezone: the CAD's zone; times are written as its wall clock, ``MM/DD/YYYY hh:mm:ss AM``.

    Returns:
        The two files written.

    Raises:
        ValueError: records out of the expected order (a unit or person of another call, a person
            record without its ``CallPersonIn``).

    Example:
        >>> zone = ZoneInfo("America/Los_Angeles")
        >>> write(generated_calls, Path("out/cad"), timezone=zone)  # doctest: +SKIP
        [PosixPath('out/cad/calls.csv'), PosixPath('out/cad/names.csv')]
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / "calls.csv", out_dir / "names.csv"]
    with ExitStack() as stack:
        calls_file, names_file = (
            stack.enter_context(path.open("w", encoding="utf-8", newline="")) for path in paths
        )
        calls, names = csv.writer(calls_file), csv.writer(names_file)
        calls.writerow(CALL_FILE_COLUMNS)
        names.writerow(NAME_FILE_COLUMNS)
        writer = _CadWriter(calls, names, timezone)
        for record in records:
            writer.add(record)
        writer.finish()
    return paths
