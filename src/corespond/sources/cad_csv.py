"""CAD calls for service, Seattle style (``cad-csv``): a calls file and a names file.

The calls file has one row per call sign per CAD event, event columns repeated on each row, so
every row carries the event's :class:`CallIn` (identical on each row; ingest keeps one) and,
when ``Call Sign Dispatch ID`` is filled, a :class:`UnitResponseIn`. The names file (detected by
``CAD Name ID``) has one row per person a call-taker recorded: a :class:`PersonRecordIn` and the
:class:`CallPersonIn` tying it to the event. Columns and codes are in ``docs/data-formats.md``.

The CSV plumbing shared with the other CSV adapters (:func:`convert_rows`, :func:`csv_files`,
:func:`header_of`) lives here because this is the simplest of them.

Example:
    >>> from corespond.sources.base import ReadOptions
    >>> items = list(CadCsvAdapter().read(Path("cad/"), ReadOptions()))  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Container, Iterator
from datetime import datetime, tzinfo
from pathlib import Path
from typing import ClassVar

from corespond.sources.base import Item, ReadOptions, SourceError
from corespond.sources.csvio import (
    convert_rows,
    csv_files,
    file_header,
    has_content,
    header_of,
    required_text,
    whole_file,
)
from corespond.sources.parse import (
    digits,
    parse_code,
    parse_date,
    parse_datetime,
    parse_float,
    parse_int,
    text,
)
from corespond.sources.records import (
    AddressIn,
    CallIn,
    CallPersonIn,
    CallSource,
    PersonRecordIn,
    PlaceIn,
    Record,
    ResponderType,
    UnitResponseIn,
)

EVENT = "CAD Event Number"
NAME_ID = "CAD Name ID"
CALL_SIGN = "Call Sign Dispatch ID"
CALL_SIGN_DISPATCHED = "Call Sign Dispatch Time"

CALL_SOURCES: dict[str, str] = {
    "911": CallSource.E911,
    "ONVIEW": CallSource.ON_VIEW,
    "PROACTIVE (OFFICER INITIATED)": CallSource.ON_VIEW,
    "TELEPHONE OTHER, NOT 911": CallSource.PHONE,
    "ALARM CALL (NOT POLICE ALARM)": CallSource.ALARM,
    "IN PERSON COMPLAINT": CallSource.IN_PERSON,
    "TEXT": CallSource.TEXT,
    "TRANSFER": CallSource.TRANSFER,
}
"""Seattle ``Call Type`` (how the call was received) → :class:`CallSource`."""

RESPONDER_TYPES: dict[str, str] = {
    "POLICE": ResponderType.POLICE,
    "SPD": ResponderType.POLICE,
    "FIRE": ResponderType.FIRE,
    "EMS": ResponderType.EMS,
    "CARE": ResponderType.CARE_TEAM,
    "CORESPONSE": ResponderType.CO_RESPONDER,
}
"""``Call Sign Type``; a blank type reads as ``other`` (Seattle's public extract has none)."""

ROLES: dict[str, str] = {
    word: word.lower()
    for word in ("CALLER", "SUBJECT", "VICTIM", "WITNESS", "REPORTING PARTY", "OTHER")
}
SEXES: dict[str, str] = {"M": "male", "F": "female", "U": "unknown", "X": "x"}
REDACTED = "REDACTED"

RMS_COLUMNS = frozenset({"Incident Number", "Person ID", "Force ID", "Hold Number"})
"""RMS exports carry ``CAD Event Number`` as a cross-reference; these columns say "not CAD"."""

CALL_COLUMNS: dict[str, str] = {
    "source_key": EVENT,
    "call_source": "Call Type",
    "priority": "Priority",
    "initial_call_type": "Initial Call Type",
    "final_call_type": "Final Call Type",
    "disposition": "CAD Event Clearance Description",
    "received_at": "CAD Event Received Time",
    "queued_at": "CAD Event Original Time Queued",
    "dispatched_at": "CAD Event First Dispatch Time",
    "first_arrival_at": "CAD Event Arrived Time",
    "cleared_at": "CAD Event Cleared Time",
}
PLACE_COLUMNS: dict[str, str] = {
    "precinct": "Dispatch Precinct",
    "sector": "Dispatch Sector",
    "beat": "Dispatch Beat",
    "neighborhood": "Dispatch Neighborhood",
    "street": "Dispatch Address",
    "latitude": "Dispatch Latitude",
    "longitude": "Dispatch Longitude",
}
EVENT_COLUMNS: tuple[str, ...] = (*CALL_COLUMNS.values(), *PLACE_COLUMNS.values())
"""The columns that describe the event, repeated on each of its unit rows."""
UNIT_COLUMNS: dict[str, str] = {
    "call_sign": CALL_SIGN,
    "responder_type": "Call Sign Type",
    "dispatched_at": CALL_SIGN_DISPATCHED,
    "en_route_at": "Call Sign En Route Time",
    "at_scene_at": "Call Sign At Scene Time",
    "in_service_at": "Call Sign In-Service Time",
}
CALL_FILE_COLUMNS: tuple[str, ...] = (
    *CALL_COLUMNS.values(),
    *PLACE_COLUMNS.values(),
    *UNIT_COLUMNS.values(),
)
"""Every column of a calls file, in the order the writer puts them."""

NAME_COLUMNS: dict[str, str] = {
    "call_key": EVENT,
    "source_key": NAME_ID,
    "role": "Person Role",
    "last_name": "Last Name",
    "first_name": "First Name",
    "middle_name": "Middle Name",
    "dob": "Date of Birth",
    "sex": "Sex",
    "race": "Race",
    "phone": "Phone",
    "street": "Address",
    "city": "City",
    "state": "State",
    "zip": "Zip",
}
NAME_FILE_COLUMNS: tuple[str, ...] = tuple(NAME_COLUMNS.values())


def unit_response_key(call_key: str, call_sign: str, dispatched_at: datetime | None) -> str:
    """The key of a unit response: ``{event}/{call sign}/{dispatch time ISO}``.

    The dispatch time is the aware time as read (local wall clock with its offset), so one unit
    sent twice to the same event gives two keys. EIDO uses the same rule, so the same unit has
    the same key whether a CAD exports it as CSV or as EIDO.

    Example:
        >>> from zoneinfo import ZoneInfo
        >>> unit_response_key("24-1", "3K12", datetime(2024, 3, 1, 10, 5, tzinfo=ZoneInfo("UTC")))
        '24-1/3K12/2024-03-01T10:05:00+00:00'
    """
    return f"{call_key}/{call_sign}/{dispatched_at.isoformat() if dispatched_at else ''}"


def call_person_key(call_key: str, person_key: str) -> str:
    """The key of a :class:`CallPersonIn` read from a names row: ``{event}/{name id}``."""
    return f"{call_key}/{person_key}"


# --- CAD rows --------------------------------------------------------------------------------


def kind_of(header: list[str]) -> str | None:
    """``calls``, ``names`` or None for a CSV header."""
    columns = set(header)
    if NAME_ID in columns and EVENT in columns:
        return "names"
    if EVENT in columns and not columns & RMS_COLUMNS:
        return "calls"
    return None


def _coordinate(values: dict[str, str], column: str) -> float | None:
    value = values.get(column)
    if value is not None and value.strip().upper() == REDACTED:
        return None
    return parse_float(column, value)


def _place(values: dict[str, str]) -> PlaceIn | None:
    fields: dict[str, object] = {
        name: text(values.get(column))
        for name, column in PLACE_COLUMNS.items()
        if name not in ("latitude", "longitude")
    }
    fields["latitude"] = _coordinate(values, PLACE_COLUMNS["latitude"])
    fields["longitude"] = _coordinate(values, PLACE_COLUMNS["longitude"])
    if all(value is None for value in fields.values()):
        return None
    return PlaceIn.model_validate(fields)


class _Calls:
    """Reads call rows, building each event's :class:`CallIn` once for its run of unit rows.

    Seattle-style files repeat the event's columns on every unit row; parsing them again for
    each unit was most of the cost of reading such a file.
    """

    def __init__(self, tz: tzinfo) -> None:
        self.tz = tz
        self._last: tuple[tuple[str | None, ...], CallIn] | None = None

    def records(self, values: dict[str, str]) -> tuple[Record, ...]:
        event_values = tuple(values.get(column) for column in EVENT_COLUMNS)
        if self._last is not None and self._last[0] == event_values:
            call = self._last[1]
        else:
            call = _call(values, self.tz)
            self._last = (event_values, call)
        unit = _unit(values, call.source_key, self.tz)
        return (call,) if unit is None else (call, unit)


def _call(values: dict[str, str], tz: tzinfo) -> CallIn:
    event = required_text(values, EVENT)

    def when(name: str) -> datetime | None:
        return parse_datetime(CALL_COLUMNS[name], values.get(CALL_COLUMNS[name]), tz)

    return CallIn(
        source_key=event,
        call_source=parse_code("Call Type", values.get("Call Type"), CALL_SOURCES),  # type: ignore[arg-type]
        priority=parse_int("Priority", values.get("Priority")),
        initial_call_type=text(values.get(CALL_COLUMNS["initial_call_type"])),
        final_call_type=text(values.get(CALL_COLUMNS["final_call_type"])),
        disposition=text(values.get(CALL_COLUMNS["disposition"])),
        received_at=when("received_at"),
        queued_at=when("queued_at"),
        dispatched_at=when("dispatched_at"),
        first_arrival_at=when("first_arrival_at"),
        cleared_at=when("cleared_at"),
        place=_place(values),
    )


def _unit(values: dict[str, str], event: str, tz: tzinfo) -> UnitResponseIn | None:
    call_sign = text(values.get(CALL_SIGN))
    if call_sign is None:
        return None
    type_column = UNIT_COLUMNS["responder_type"]
    responder = parse_code(type_column, values.get(type_column), RESPONDER_TYPES)
    dispatched = parse_datetime(CALL_SIGN_DISPATCHED, values.get(CALL_SIGN_DISPATCHED), tz)
    return UnitResponseIn(
        source_key=unit_response_key(event, call_sign, dispatched),
        call_key=event,
        call_sign=call_sign,
        responder_type=responder or ResponderType.OTHER,  # type: ignore[arg-type]
        dispatched_at=dispatched,
        **{
            name: parse_datetime(UNIT_COLUMNS[name], values.get(UNIT_COLUMNS[name]), tz)
            for name in ("en_route_at", "at_scene_at", "in_service_at")
        },
    )


def _name_records(values: dict[str, str]) -> tuple[Record, ...]:
    event = required_text(values, EVENT)
    name_id = required_text(values, NAME_ID)
    role_column = NAME_COLUMNS["role"]
    role = parse_code(role_column, required_text(values, role_column), ROLES)

    def column(name: str) -> str | None:
        return text(values.get(NAME_COLUMNS[name]))

    address = {name: column(name) for name in ("street", "city", "state", "zip")}
    person = PersonRecordIn(
        source_key=name_id,
        first_name=column("first_name"),
        middle_name=column("middle_name"),
        last_name=column("last_name"),
        dob=parse_date("Date of Birth", values.get("Date of Birth")),
        sex=parse_code("Sex", values.get("Sex"), SEXES),
        race=column("race"),
        phone=digits(values.get("Phone")),
        address=AddressIn(**address) if any(address.values()) else None,
    )
    link = CallPersonIn(
        source_key=call_person_key(event, name_id),
        call_key=event,
        person_key=name_id,
        role=role,  # type: ignore[arg-type]
    )
    return person, link


class CadCsvAdapter:
    """Reads Seattle-style CAD calls and CAD name records (a file, or a folder of both)."""

    name: ClassVar[str] = "cad-csv"
    description: ClassVar[str] = "CAD calls for service (Seattle style) and CAD name records"

    @classmethod
    def sniff(cls, path: Path, head: bytes) -> bool:
        """True for a CAD calls or names file, or a folder holding one."""
        if path.is_dir():
            return bool(csv_files(path, kind_of, ("calls", "names")))
        return path.suffix.lower() == ".csv" and kind_of(header_of(head)) is not None

    def default_source_name(self, path: Path) -> str:
        """The export folder's name: a calls file and its names file share one source."""
        folder = path if path.is_dir() else path.parent
        return f"cad-csv:{folder.name or path.stem}"

    def read(self, path: Path, options: ReadOptions) -> Iterator[Item]:
        """Yield one item per row: calls files first, then names files.

        Raises:
            SourceError: ``path`` does not exist or cannot be read.
        """
        for file_path, kind in self.files(path, options):
            if kind is None:
                reason = f"not a CAD file: the header has no {EVENT!r} column"
                yield whole_file(file_path, reason, options.encoding)
            else:
                yield from self.read_file(file_path, kind, options)

    @staticmethod
    def files(path: Path, options: ReadOptions) -> list[tuple[Path, str | None]]:
        """Each file to read and its kind (``calls``, ``names``; None: not a CAD file).

        Raises:
            SourceError: ``path`` does not exist.
        """
        if path.is_dir():
            return [(found, kind) for found, kind in csv_files(path, kind_of, ("calls", "names"))]
        if not path.is_file():
            raise SourceError(f"{path}: no such file or folder")
        file_kind = kind_of(file_header(path, options.encoding))
        if file_kind is None and has_content(path):
            return [(path, None)]
        return [(path, file_kind or "calls")]

    @staticmethod
    def read_file(
        path: Path, kind: str, options: ReadOptions, only: Container[int] | None = None
    ) -> Iterator[Item]:
        """The items of one calls or names file (``only``: just these data-row numbers)."""
        if kind == "names":
            return convert_rows(
                path,
                options,
                lambda row: _name_records(row.values),
                (EVENT, NAME_ID),
                NAME_COLUMNS,
                only,
            )
        columns = {**UNIT_COLUMNS, **PLACE_COLUMNS, **CALL_COLUMNS}
        calls = _Calls(options.timezone)
        return convert_rows(
            path, options, lambda row: calls.records(row.values), (EVENT,), columns, only
        )
