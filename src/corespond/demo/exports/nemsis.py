"""Write canonical EMS runs as NEMSIS v3.5 ``EMSDataSet`` XML, one file per month.

The reader is :mod:`corespond.sources.nemsis`. Records come in the generator's order: each
``EmsRunIn`` immediately preceded by the ``PersonRecordIn`` it refers to (key
``{eRecord.01}/patient``), or by none. Runs go to ``pcr-YYYY-MM.xml`` by the local month of their
first time (``pcr-undated.xml`` for a run with none). Only the current run and its patient are
held in memory; a month's file is reopened for appending when runs come out of order and closed
with its end tags once the stream ends.

The files carry the elements corespond reads, in schema order, with the header's agency; they
are not a complete national submission (the clinical sections NEMSIS requires are absent).

What does not survive a round trip:

- ``EmsRunIn.transported`` when ``transport_disposition`` is empty (it is read from that code);
  ``data_category``; times below the second.
- ``PlaceIn`` beat, sector, precinct, neighborhood and unit; ``PersonRecordIn`` aliases,
  suffix, race, ethnicity, height, weight, hair, eyes, description, address unit, and a ``sex``
  that is none of NEMSIS's words; a patient with no field set (the reader sees no patient).
- A patient keyed other than ``{eRecord.01}/patient`` is read back with that key.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import IO
from xml.sax.saxutils import escape, quoteattr
from zoneinfo import ZoneInfo

from corespond.sources.nemsis import GENDER_CODES, NS, SEX_CODES, TIME_FIELDS
from corespond.sources.records import EmsRunIn, PersonRecordIn, Record

XSI = "http://www.w3.org/2001/XMLSchema-instance"
SEX_WORDS = {word: code for code, word in SEX_CODES.items()}
GENDER_WORDS = {word: code for code, word in GENDER_CODES.items() if word not in SEX_WORDS}
PCR_NAMESPACE = uuid.UUID("6f1d3c52-8a0e-4c55-9a43-2b7e0f4c9d11")
"""Seeds the PatientCareReport UUIDs so that the same run always gets the same UUID."""
INDENT = "  "


def _element(name: str, value: object, depth: int) -> str:
    if value is None or value == "":
        return ""
    return f"{INDENT * depth}<{name}>{escape(str(value))}</{name}>\n"


def _group(name: str, children: list[str], depth: int) -> str:
    body = "".join(children)
    if not body:
        return ""
    return f"{INDENT * depth}<{name}>\n{body}{INDENT * depth}</{name}>\n"


def _time(value: datetime | None, timezone: ZoneInfo) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone)
    return value.astimezone(timezone).isoformat(timespec="seconds")


def _patient(person: PersonRecordIn | None, depth: int) -> str:
    if person is None:
        return ""
    d = depth + 1
    address = person.address
    sex = SEX_WORDS.get(person.sex or "")
    gender = GENDER_WORDS.get(person.sex or "")
    return _group(
        "ePatient",
        [
            _group(
                "ePatient.PatientNameGroup",
                [
                    _element("ePatient.02", person.last_name, d + 1),
                    _element("ePatient.03", person.first_name, d + 1),
                    _element("ePatient.04", person.middle_name, d + 1),
                ],
                d,
            ),
            _element("ePatient.05", address.street if address else None, d),
            _element("ePatient.06", address.city if address else None, d),
            _element("ePatient.08", address.state if address else None, d),
            _element("ePatient.09", address.zip if address else None, d),
            _element("ePatient.12", person.ssn, d),
            _element("ePatient.13", gender, d),
            _element("ePatient.17", person.dob.isoformat() if person.dob else None, d),
            _element("ePatient.18", person.phone, d),
            _element("ePatient.25", sex, d),
        ],
        depth,
    )


def report_xml(run: EmsRunIn, person: PersonRecordIn | None, timezone: ZoneInfo) -> str:
    """One ``PatientCareReport`` element as indented XML text."""
    d = 3
    place = run.place
    gps = None
    if place and place.latitude is not None and place.longitude is not None:
        gps = f"{place.latitude!r},{place.longitude!r}"
    times = {
        element: _time(getattr(run, field), timezone) for field, element in TIME_FIELDS.items()
    }
    report_id = uuid.uuid5(PCR_NAMESPACE, run.source_key)
    sections = [
        _group(
            "eRecord",
            [
                _element("eRecord.01", run.source_key, d + 1),
                _group(
                    "eRecord.SoftwareApplicationGroup",
                    [
                        _element("eRecord.02", "corespond", d + 2),
                        _element("eRecord.03", "corespond synthetic city", d + 2),
                        _element("eRecord.04", "3.5.1", d + 2),
                    ],
                    d + 1,
                ),
            ],
            d,
        ),
        _group(
            "eResponse",
            [
                _element("eResponse.03", run.call_key, d + 1),
                _element("eResponse.14", run.unit_call_sign, d + 1),
            ],
            d,
        ),
        _group("eTimes", [_element(name, value, d + 1) for name, value in times.items()], d),
        _patient(person, d),
        _group(
            "eScene",
            [
                _element("eScene.11", gps, d + 1),
                _element("eScene.15", place.street if place else None, d + 1),
                _element("eScene.17", place.city if place else None, d + 1),
                _element("eScene.18", place.state if place else None, d + 1),
                _element("eScene.19", place.zip if place else None, d + 1),
            ],
            d,
        ),
        _group("eSituation", [_element("eSituation.11", run.primary_impression, d + 1)], d),
        _group(
            "eDisposition",
            [
                _group(
                    "eDisposition.DestinationGroup",
                    [_element("eDisposition.01", run.destination_name, d + 2)],
                    d + 1,
                ),
                _group(
                    "eDisposition.IncidentDispositionGroup",
                    [
                        _element("eDisposition.27", run.unit_disposition, d + 2),
                        _element("eDisposition.28", run.patient_evaluation, d + 2),
                        _element("eDisposition.30", run.transport_disposition, d + 2),
                    ],
                    d + 1,
                ),
                _element("eDisposition.21", run.destination_type, d + 1),
            ],
            d,
        ),
    ]
    indent = INDENT * (d - 1)
    opening = f"{indent}<PatientCareReport UUID={quoteattr(str(report_id))}>\n"
    return f"{opening}{''.join(sections)}{indent}</PatientCareReport>\n"


def _month(run: EmsRunIn, timezone: ZoneInfo) -> str:
    first = next((getattr(run, field) for field in TIME_FIELDS if getattr(run, field)), None)
    if first is None:
        return "undated"
    if first.tzinfo is None:
        first = first.replace(tzinfo=timezone)
    return first.astimezone(timezone).strftime("%Y-%m")


def _header(agency_number: str, agency_state: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<EMSDataSet xmlns="{NS}" xmlns:xsi="{XSI}">\n'
        f"{INDENT}<Header>\n"
        f"{INDENT * 2}<DemographicGroup>\n"
        f"{_element('dAgency.01', agency_number, 3)}"
        f"{_element('dAgency.02', agency_number, 3)}"
        f"{_element('dAgency.04', agency_state, 3)}"
        f"{INDENT * 2}</DemographicGroup>\n"
    )


FOOTER = f"{INDENT}</Header>\n</EMSDataSet>\n"


def _runs(records: Iterable[Record]) -> Iterator[tuple[EmsRunIn, PersonRecordIn | None]]:
    """Pair each run with the patient record just before it, if that is its patient."""
    previous: PersonRecordIn | None = None
    for record in records:
        if isinstance(record, PersonRecordIn):
            previous = record
        elif isinstance(record, EmsRunIn):
            person = previous if previous and previous.source_key == record.person_key else None
            previous = None
            yield record, person


def write(
    records: Iterable[Record],
    out_dir: Path,
    *,
    timezone: ZoneInfo,
    agency_number: str = "CORESPOND-EMS",
    agency_state: str = "53",
) -> list[Path]:
    """Write EMS runs as monthly NEMSIS files and return the files written.

    Args:
        records: each ``EmsRunIn`` right after its patient's ``PersonRecordIn`` (or with none);
            other kinds are skipped.
        out_dir: where ``pcr-YYYY-MM.xml`` files go (created if missing).
        timezone: times are written as local time in this zone, with its offset.
        agency_number: ``dAgency.01``/``.02``, the reader's default source name.
        agency_state: ``dAgency.04``, the ANSI state code.

    Example:
        >>> write(runs, Path("ems"), timezone=ZoneInfo("America/Los_Angeles"))  # doctest: +SKIP
        [PosixPath('ems/pcr-2025-06.xml'), PosixPath('ems/pcr-2025-07.xml')]
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    started: list[Path] = []
    current: tuple[Path, IO[str]] | None = None
    try:
        for run, person in _runs(records):
            path = out_dir / f"pcr-{_month(run, timezone)}.xml"
            if current is None or current[0] != path:
                if current is not None:
                    current[1].close()
                fresh = path not in started
                handle = path.open("w" if fresh else "a", encoding="utf-8")
                current = (path, handle)
                if fresh:
                    started.append(path)
                    handle.write(_header(agency_number, agency_state))
            current[1].write(report_xml(run, person, timezone))
    finally:
        if current is not None:
            current[1].close()
    for path in started:
        with path.open("a", encoding="utf-8") as handle:
            handle.write(FOOTER)
    return sorted(started)
