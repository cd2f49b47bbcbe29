"""Write canonical EMS runs as NEMSIS v3.5 ``EMSDataSet`` XML, one file per month.

The reader is :mod:`corespond.sources.nemsis`. Records come in the generator's order: each
``EmsRunIn`` immediately preceded by the ``PersonRecordIn`` it refers to (key
``{eRecord.01}/patient``), or by none. Runs go to ``pcr-YYYY-MM.xml`` by the local month of their
first time (``pcr-undated.xml`` for a run with none). Only the current run and its patient are
held in memory; a month's file is reopened for appending when runs come out of order and closed
with its end tags once the stream ends.

The files are valid against the national ``EMSDataSet_v3.xsd`` (3.5.1): every section and
element the schema requires is there, in schema order. What the canonical run does not carry is
written as the NOT value ``Not Recorded`` (``xsi:nil="true" NV="7701003"``), and a destination
element of a run that was not transported as ``Not Applicable`` (``7701001``); whole clinical
sections (vitals, medications, procedures, cardiac arrest, injury, history, payment, outcome)
are written that way. Five Mandatory elements allow no NOT value and the canonical run does not
carry them, so every run gets the same agency-level values: ``eResponse.05`` Emergency Response
(Primary Response Area), ``eResponse.07`` Ground Transport (ALS Equipped), ``eResponse.23``
Emergent (Immediate Response), ``eDispatch.01`` No Other Appropriate Choice, and the unit call
sign as ``eResponse.13``, the vehicle number. A run without a dispatch time (``eTimes.03``), a
back-in-service time (``eTimes.13``), a unit call sign or a unit disposition (``eDisposition.27``)
cannot be valid: NEMSIS makes those Mandatory, and the writer leaves them out rather than invent
them.

Values are written in NEMSIS's forms: a state as its ANSI code (``OR`` → ``41``), an SSN as nine
digits, a phone as ``NNN-NNN-NNNN``, coordinates to six decimals. A value NEMSIS does not allow
in its element is not written (``Not Recorded`` where the element is required): a city name
(NEMSIS wants a GNIS code, which a synthetic city does not have), a primary impression that is
not an ICD-10-CM code NEMSIS accepts there (external causes V00-Y99 are not impressions), an SSN
or phone of another shape, a key shorter than NEMSIS's minimum.

What does not survive a round trip:

- ``EmsRunIn.transported`` when ``transport_disposition`` is empty (it is read from that code);
  ``data_category``; times below the second; coordinates beyond six decimals.
- ``PlaceIn`` beat, sector, precinct, neighborhood and unit; ``PersonRecordIn`` aliases,
  suffix, race, ethnicity, height, weight, hair, eyes, description, address unit, and a ``sex``
  that is none of NEMSIS's words; a patient with no field set (the reader sees no patient).
- Values NEMSIS does not allow in their element (above), among them every city name.
- A patient keyed other than ``{eRecord.01}/patient`` is read back with that key.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import IO
from xml.sax.saxutils import escape, quoteattr
from zoneinfo import ZoneInfo

from corespond.sources.nemsis import GENDER_CODES, NS, SEX_CODES, STATES, TIME_FIELDS
from corespond.sources.parse import digits
from corespond.sources.records import AddressIn, EmsRunIn, PersonRecordIn, PlaceIn, Record

XSI = "http://www.w3.org/2001/XMLSchema-instance"
SEX_WORDS = {word: code for code, word in SEX_CODES.items()}
GENDER_WORDS = {word: code for code, word in GENDER_CODES.items() if word not in SEX_WORDS}
STATE_CODES = {state: code for code, state in STATES.items()}
NOBODY = PersonRecordIn(source_key="nobody")
"""Stands in for a run's missing patient: every field unknown."""
PCR_NAMESPACE = uuid.UUID("6f1d3c52-8a0e-4c55-9a43-2b7e0f4c9d11")
"""Seeds the PatientCareReport UUIDs so that the same run always gets the same UUID."""
INDENT = "  "
REPORT_DEPTH = 3
"""``EMSDataSet`` > ``Header`` > ``PatientCareReport`` > its sections."""

NOT_APPLICABLE = "7701001"
NOT_RECORDED = "7701003"
EMERGENCY_RESPONSE = "2205001"
"""eResponse.05 Type of Service Requested: Emergency Response (Primary Response Area)."""
GROUND_ALS = "2207015"
"""eResponse.07 Unit Transport and Equipment Capability: Ground Transport (ALS Equipped)."""
EMERGENT = "2223001"
"""eResponse.23 Response Mode to Scene: Emergent (Immediate Response)."""
NO_OTHER_CHOICE = "2301051"
"""eDispatch.01 Dispatch Reason: No Other Appropriate Choice (the run carries no reason)."""

_ZIP = r"[0-9]{5}|[0-9]{5}-[0-9]{4}|[0-9]{5}-[0-9]{5}|[A-Z][0-9][A-Z] [0-9][A-Z][0-9]"
_GNIS = r"0*[1-9][0-9]*"
ALLOWED: dict[str, re.Pattern[str]] = {
    name: re.compile(pattern, re.DOTALL)
    for name, pattern in {
        "eRecord.01": r".{3,50}",
        "eResponse.03": r".{3,50}",
        "eResponse.13": r".{1,25}",
        "eResponse.14": r".{1,50}",
        "ePatient.02": r".{1,60}",
        "ePatient.03": r".{1,50}",
        "ePatient.04": r".{1,50}",
        "ePatient.05": r".{1,255}",
        "ePatient.06": _GNIS,
        "ePatient.08": r"[0-9]{2}",
        "ePatient.09": _ZIP,
        "ePatient.12": r"[0-9]{9}",
        "ePatient.18": r"[2-9][0-9][0-9]-[2-9][0-9][0-9]-[0-9]{4}",
        "eScene.15": r".{1,255}",
        "eScene.17": _GNIS,
        "eScene.18": r"[0-9]{2}",
        "eScene.19": _ZIP,
        "eSituation.11": r"(R[0-6][0-9](\.[0-9]{1,4})?|R73\.9|R99)"
        r"|[A-QSTUZ][0-9][0-9A-Z](\.[0-9A-Z]{1,4})?",
        "eDisposition.01": r".{2,100}",
    }.items()
}
"""What ``EMSDataSet_v3.xsd`` allows in the elements whose value comes from a record."""

Skeleton = tuple[str | tuple[str, "Skeleton"], ...]
NOT_RECORDED_SECTIONS: dict[str, Skeleton] = {
    "ePayment": ("ePayment.01", "ePayment.50"),
    "eInjury": ("eInjury.01", "eInjury.03", "eInjury.04"),
    "eArrest": (
        "eArrest.01", "eArrest.02", "eArrest.03", "eArrest.04", "eArrest.07", "eArrest.09",
        "eArrest.11", "eArrest.12", "eArrest.14", "eArrest.16", "eArrest.17", "eArrest.18",
        "eArrest.20", "eArrest.21", "eArrest.22",
    ),
    "eHistory": ("eHistory.01", "eHistory.17"),
    "eVitals": (
        ("eVitals.VitalGroup", (
            "eVitals.01", "eVitals.02",
            ("eVitals.CardiacRhythmGroup", ("eVitals.03", "eVitals.04", "eVitals.05")),
            ("eVitals.BloodPressureGroup", ("eVitals.06",)),
            ("eVitals.HeartRateGroup", ("eVitals.10",)),
            "eVitals.12", "eVitals.14", "eVitals.16", "eVitals.18",
            ("eVitals.GlasgowScoreGroup",
             ("eVitals.19", "eVitals.20", "eVitals.21", "eVitals.22")),
            "eVitals.26",
            ("eVitals.PainScaleGroup", ("eVitals.27",)),
            ("eVitals.StrokeScaleGroup", ("eVitals.29", "eVitals.30")),
            "eVitals.31",
        )),
    ),
    "eProtocols": (("eProtocols.ProtocolGroup", ("eProtocols.01",)),),
    "eMedications": (
        ("eMedications.MedicationGroup", (
            "eMedications.01", "eMedications.02", "eMedications.03", "eMedications.04",
            ("eMedications.DosageGroup", ("eMedications.05", "eMedications.06")),
            "eMedications.07", "eMedications.08", "eMedications.10",
        )),
    ),
    "eProcedures": (
        ("eProcedures.ProcedureGroup", (
            "eProcedures.01", "eProcedures.02", "eProcedures.03", "eProcedures.05",
            "eProcedures.06", "eProcedures.07", "eProcedures.08", "eProcedures.10",
        )),
    ),
    "eOutcome": (
        "eOutcome.01", "eOutcome.02",
        ("eOutcome.EmergencyDepartmentProceduresGroup", ("eOutcome.09", "eOutcome.19")),
        "eOutcome.10", "eOutcome.11",
        ("eOutcome.HospitalProceduresGroup", ("eOutcome.12", "eOutcome.20")),
        "eOutcome.13", "eOutcome.16", "eOutcome.18",
    ),
}  # fmt: skip
"""The sections the canonical run has nothing for: each element the schema requires, not
recorded."""


def _fits(name: str, value: str) -> bool:
    pattern = ALLOWED.get(name)
    return pattern is None or pattern.fullmatch(value) is not None


def _element(name: str, value: object, depth: int) -> str:
    """``<name>value</name>``, or nothing when there is no value NEMSIS allows there."""
    if value is None or value == "" or not _fits(name, str(value)):
        return ""
    return f"{INDENT * depth}<{name}>{escape(str(value))}</{name}>\n"


def _nil(name: str, depth: int, not_value: str = NOT_RECORDED) -> str:
    return f'{INDENT * depth}<{name} xsi:nil="true" NV="{not_value}"/>\n'


def _required(name: str, value: object, depth: int, not_value: str = NOT_RECORDED) -> str:
    """A required element: its value, or its NOT value when there is none NEMSIS allows."""
    return _element(name, value, depth) or _nil(name, depth, not_value)


def _group(name: str, children: list[str], depth: int) -> str:
    body = "".join(children)
    if not body:
        return ""
    return f"{INDENT * depth}<{name}>\n{body}{INDENT * depth}</{name}>\n"


def _not_recorded(skeleton: Skeleton, depth: int) -> list[str]:
    return [
        _nil(part, depth)
        if isinstance(part, str)
        else _group(part[0], _not_recorded(part[1], depth + 1), depth)
        for part in skeleton
    ]


UNRECORDED = {
    name: _group(name, _not_recorded(skeleton, REPORT_DEPTH + 1), REPORT_DEPTH)
    for name, skeleton in NOT_RECORDED_SECTIONS.items()
}


def _time(value: datetime | None, timezone: ZoneInfo) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone)
    return value.astimezone(timezone).isoformat(timespec="seconds")


def _coordinate(value: float) -> str:
    return f"{value:.6f}".rstrip("0").rstrip(".")


def _gps(place: PlaceIn) -> str | None:
    if place.latitude is None or place.longitude is None:
        return None
    return f"{_coordinate(place.latitude)},{_coordinate(place.longitude)}"


def _state(state: str | None) -> str | None:
    """A state as NEMSIS's ANSI code: ``OR`` → ``41``; a code is kept as it is."""
    if state is None:
        return None
    return STATE_CODES.get(state.upper(), state)


def _phone(phone: str | None) -> str | None:
    number = digits(phone)
    if number is None or len(number) != 10:
        return None
    return f"{number[:3]}-{number[3:6]}-{number[6:]}"


def _record(run: EmsRunIn, d: int) -> str:
    software = [
        _element("eRecord.02", "corespond", d + 2),
        _element("eRecord.03", "corespond synthetic city", d + 2),
        _element("eRecord.04", "3.5.1", d + 2),
    ]
    return _group(
        "eRecord",
        [
            _element("eRecord.01", run.source_key, d + 1),
            _group("eRecord.SoftwareApplicationGroup", software, d + 1),
        ],
        d,
    )


def _response(run: EmsRunIn, agency_number: str, d: int) -> str:
    delays = ("eResponse.08", "eResponse.09", "eResponse.10", "eResponse.11", "eResponse.12")
    return _group(
        "eResponse",
        [
            _group(
                "eResponse.AgencyGroup", [_element("eResponse.01", agency_number, d + 2)], d + 1
            ),
            _required("eResponse.03", run.call_key, d + 1),
            _nil("eResponse.04", d + 1),
            _group(
                "eResponse.ServiceGroup",
                [_element("eResponse.05", EMERGENCY_RESPONSE, d + 2)],
                d + 1,
            ),
            _element("eResponse.07", GROUND_ALS, d + 1),
            *(_nil(name, d + 1) for name in delays),
            _element("eResponse.13", run.unit_call_sign, d + 1),
            _element("eResponse.14", run.unit_call_sign, d + 1),
            _element("eResponse.23", EMERGENT, d + 1),
            _nil("eResponse.24", d + 1),
        ],
        d,
    )


def _dispatch(d: int) -> str:
    return _group(
        "eDispatch",
        [_element("eDispatch.01", NO_OTHER_CHOICE, d + 1), _nil("eDispatch.02", d + 1)],
        d,
    )


def _times(run: EmsRunIn, timezone: ZoneInfo, d: int) -> str:
    times = {
        element: _time(getattr(run, field), timezone) for field, element in TIME_FIELDS.items()
    }
    destination = _destination_not_value(run)
    return _group(
        "eTimes",
        [
            _required("eTimes.01", times["eTimes.01"], d + 1),
            _element("eTimes.03", times["eTimes.03"], d + 1),
            _required("eTimes.05", times["eTimes.05"], d + 1),
            _required("eTimes.06", times["eTimes.06"], d + 1),
            _nil("eTimes.07", d + 1),
            _required("eTimes.09", times["eTimes.09"], d + 1),
            _required("eTimes.11", times["eTimes.11"], d + 1, destination),
            _nil("eTimes.12", d + 1, destination),
            _element("eTimes.13", times["eTimes.13"], d + 1),
        ],
        d,
    )


def _patient(person: PersonRecordIn | None, d: int) -> str:
    """``ePatient``; with no patient, its required elements not recorded (the reader sees none)."""
    person = person or NOBODY
    address = person.address or AddressIn()
    dob = person.dob.isoformat() if person.dob else None
    name = [
        _element("ePatient.02", person.last_name, d + 2),
        _element("ePatient.03", person.first_name, d + 2),
        _element("ePatient.04", person.middle_name, d + 2),
    ]
    age = [_nil("ePatient.15", d + 2), _nil("ePatient.16", d + 2)]
    return _group(
        "ePatient",
        [
            _group("ePatient.PatientNameGroup", name, d + 1),
            _element("ePatient.05", address.street, d + 1),
            _element("ePatient.06", address.city, d + 1),
            _nil("ePatient.07", d + 1),
            _required("ePatient.08", _state(address.state), d + 1),
            _required("ePatient.09", address.zip, d + 1),
            _element("ePatient.12", digits(person.ssn), d + 1),
            _element("ePatient.13", GENDER_WORDS.get(person.sex or ""), d + 1),
            _nil("ePatient.14", d + 1),
            _group("ePatient.AgeGroup", age, d + 1),
            _element("ePatient.17", dob, d + 1),
            _element("ePatient.18", _phone(person.phone), d + 1),
            _element("ePatient.25", SEX_WORDS.get(person.sex or ""), d + 1),
        ],
        d,
    )


def _scene(place: PlaceIn | None, d: int) -> str:
    place = place or PlaceIn()
    unrecorded = ("eScene.06", "eScene.07", "eScene.08", "eScene.09")
    return _group(
        "eScene",
        [
            _nil("eScene.01", d + 1),
            *(_nil(name, d + 1) for name in unrecorded),
            _element("eScene.11", _gps(place), d + 1),
            _element("eScene.15", place.street, d + 1),
            _element("eScene.17", place.city, d + 1),
            _required("eScene.18", _state(place.state), d + 1),
            _required("eScene.19", place.zip, d + 1),
            _nil("eScene.21", d + 1),
        ],
        d,
    )


def _situation(run: EmsRunIn, d: int) -> str:
    before = ("eSituation.01", "eSituation.02", "eSituation.07", "eSituation.08")
    between = ("eSituation.09", "eSituation.10")
    after = ("eSituation.12", "eSituation.13", "eSituation.18", "eSituation.20")
    return _group(
        "eSituation",
        [
            *(_nil(name, d + 1) for name in (*before, *between)),
            _required("eSituation.11", run.primary_impression, d + 1),
            *(_nil(name, d + 1) for name in after),
        ],
        d,
    )


def _destination_not_value(run: EmsRunIn) -> str:
    """Where the patient was not transported, a destination is not applicable."""
    return NOT_APPLICABLE if run.transported is False else NOT_RECORDED


def _disposition(run: EmsRunIn, d: int) -> str:
    destination = _destination_not_value(run)

    def unknown(*names: str, depth: int = d + 1) -> list[str]:
        return [_nil(name, depth, destination) for name in names]

    return _group(
        "eDisposition",
        [
            _group(
                "eDisposition.DestinationGroup",
                [
                    _required("eDisposition.01", run.destination_name, d + 2, destination),
                    *unknown("eDisposition.05", "eDisposition.06", "eDisposition.07", depth=d + 2),
                ],
                d + 1,
            ),
            _group(
                "eDisposition.IncidentDispositionGroup",
                [
                    _element("eDisposition.27", run.unit_disposition, d + 2),
                    _required("eDisposition.28", run.patient_evaluation, d + 2),
                    _nil("eDisposition.29", d + 2),
                    _required("eDisposition.30", run.transport_disposition, d + 2),
                ],
                d + 1,
            ),
            *unknown("eDisposition.16", "eDisposition.17", "eDisposition.18"),
            _nil("eDisposition.19", d + 1),
            *unknown("eDisposition.20"),
            _required("eDisposition.21", run.destination_type, d + 1, destination),
            *unknown("eDisposition.22", "eDisposition.23"),
            _group(
                "eDisposition.HospitalTeamActivationGroup",
                unknown("eDisposition.24", "eDisposition.25", depth=d + 2),
                d + 1,
            ),
            _nil("eDisposition.32", d + 1),
        ],
        d,
    )


def report_xml(
    run: EmsRunIn, person: PersonRecordIn | None, timezone: ZoneInfo, *, agency_number: str
) -> str:
    """One ``PatientCareReport`` element as indented XML text, its sections in schema order."""
    d = REPORT_DEPTH
    sections = [
        _record(run, d),
        _response(run, agency_number, d),
        _dispatch(d),
        _times(run, timezone, d),
        _patient(person, d),
        UNRECORDED["ePayment"],
        _scene(run.place, d),
        _situation(run, d),
        UNRECORDED["eInjury"],
        UNRECORDED["eArrest"],
        UNRECORDED["eHistory"],
        UNRECORDED["eVitals"],
        UNRECORDED["eProtocols"],
        UNRECORDED["eMedications"],
        UNRECORDED["eProcedures"],
        _disposition(run, d),
        UNRECORDED["eOutcome"],
    ]
    report_id = uuid.uuid5(PCR_NAMESPACE, run.source_key)
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
            current[1].write(report_xml(run, person, timezone, agency_number=agency_number))
    finally:
        if current is not None:
            current[1].close()
    for path in started:
        with path.open("a", encoding="utf-8") as handle:
            handle.write(FOOTER)
    return sorted(started)
