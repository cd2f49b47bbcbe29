"""NEMSIS v3.5 ``EMSDataSet`` XML: EMS patient care reports.

Each ``PatientCareReport`` is one source row. It yields an :class:`EmsRunIn` keyed by
``eRecord.01`` and, when ``ePatient`` names anyone, a :class:`PersonRecordIn` keyed
``{eRecord.01}/patient``. States, which NEMSIS writes as ANSI codes, read as USPS
abbreviations (``41`` → ``OR``).

The file is streamed with lxml ``iterparse`` and each report is cleared once read, so memory
stays flat however many reports a file holds. The parser never resolves entities, never touches
the network and keeps libxml2's size limits; a document carrying a DOCTYPE is refused outright,
since NEMSIS files never need one and a DTD is where entity bombs and external entities live.

Example:
    >>> from corespond.sources.base import ReadOptions
    >>> items = list(NemsisAdapter().read(Path("pcr-2025-06.xml"), ReadOptions()))  # doctest: +SKIP
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from datetime import date, datetime
from pathlib import Path
from typing import ClassVar

from lxml import etree

from corespond.sources.base import MAX_RAW_CHARS, Item, ReadOptions, Rejection, SourceRow
from corespond.sources.parse import FieldError, digits, parse_date, parse_datetime, parse_float
from corespond.sources.records import AddressIn, EmsRunIn, PersonRecordIn, PlaceIn, Record

NS = "http://www.nemsis.org"
XSI_NIL = "{http://www.w3.org/2001/XMLSchema-instance}nil"
REPORT_TAG = f"{{{NS}}}PatientCareReport"
_ELEMENT_NAME = re.compile(r"^[ed][A-Z][A-Za-z]+\.\d+$")
_ROOT = re.compile(rb"<(?:[\w.-]+:)?EMSDataSet[\s>/]")

UNIT_DISPOSITIONS = {
    "4227001": "Patient Contact Made",
    "4227003": "Cancelled on Scene",
    "4227005": "Cancelled Prior to Arrival at Scene",
    "4227007": "No Patient Contact",
    "4227009": "No Patient Found",
    "4227011": "Non-Patient Incident (Not Otherwise Listed)",
}
PATIENT_EVALUATIONS = {
    "4228001": "Patient Evaluated and Care Provided",
    "4228003": "Patient Evaluated and Refused Care",
    "4228005": "Patient Evaluated, No Care Required",
    "4228007": "Patient Refused Evaluation/Care",
    "4228009": "Patient Support Services Provided",
}
TRANSPORT_DISPOSITIONS = {
    "4230001": True,
    "4230003": True,
    "4230005": True,
    "4230007": True,
    "4230009": False,
    "4230011": False,
    "4230013": False,
}
"""eDisposition.30 code → whether the patient was transported (by any EMS unit)."""
DESTINATION_TYPES = {
    "4221001": "Home",
    "4221003": "Hospital-Emergency Department",
    "4221005": "Hospital-Non-Emergency Department Bed",
    "4221007": "Clinic",
    "4221009": "Morgue/Mortuary",
    "4221013": "Other",
    "4221015": "Other EMS Responder (air)",
    "4221017": "Other EMS Responder (ground)",
    "4221019": "Police/Jail",
    "4221021": "Urgent Care",
    "4221023": "Freestanding Emergency Department",
    "4221025": "Dialysis Center",
    "4221027": "Diagnostic Services",
    "4221029": "Assisted Living Facility",
    "4221031": "Mental Health Facility",
    "4221033": "Nursing Home",
    "4221035": "Other Recurring Care Center",
    "4221037": "Physical Rehabilitation Facility",
    "4221039": "Drug and/or Alcohol Rehabilitation Facility",
    "4221041": "Skilled Nursing Facility",
}
EMERGENCY_DEPARTMENTS = frozenset({"4221003", "4221023"})
"""eDisposition.21 codes of an emergency department (hospital or freestanding): a transport
there is an ER transport."""
SEX_CODES = {"9919001": "female", "9919003": "male", "9919005": "unknown"}
"""ePatient.25 Sex (v3.5.1)."""
GENDER_CODES = {
    "9906001": "female",
    "9906003": "male",
    "9906005": "unknown",
    "9906007": "transgender male",
    "9906009": "transgender female",
    "9906011": "other",
}
"""ePatient.13 Gender, deprecated in v3.5.1 but still sent by v3.5.0 software."""
STATES = {
    "01": "AL", "02": "AK", "04": "AZ", "05": "AR", "06": "CA", "08": "CO", "09": "CT",
    "10": "DE", "11": "DC", "12": "FL", "13": "GA", "15": "HI", "16": "ID", "17": "IL",
    "18": "IN", "19": "IA", "20": "KS", "21": "KY", "22": "LA", "23": "ME", "24": "MD",
    "25": "MA", "26": "MI", "27": "MN", "28": "MS", "29": "MO", "30": "MT", "31": "NE",
    "32": "NV", "33": "NH", "34": "NJ", "35": "NM", "36": "NY", "37": "NC", "38": "ND",
    "39": "OH", "40": "OK", "41": "OR", "42": "PA", "44": "RI", "45": "SC", "46": "SD",
    "47": "TN", "48": "TX", "49": "UT", "50": "VT", "51": "VA", "53": "WA", "54": "WV",
    "55": "WI", "56": "WY", "60": "AS", "66": "GU", "69": "MP", "72": "PR", "78": "VI",
}  # fmt: skip
"""ANSI (FIPS 5-2) state codes, which NEMSIS writes for a state, → USPS abbreviations."""

TIME_FIELDS = {
    "psap_call_at": "eTimes.01",
    "dispatched_at": "eTimes.03",
    "en_route_at": "eTimes.05",
    "at_scene_at": "eTimes.06",
    "left_scene_at": "eTimes.09",
    "at_destination_at": "eTimes.11",
    "in_service_at": "eTimes.13",
}


def _code(element: str, value: str | None, codes: Mapping[str, object]) -> str | None:
    if value is None:
        return None
    if value not in codes:
        raise FieldError(element, value, f"unknown code; expected one of {', '.join(codes)}")
    return value


def _values(report: etree._Element) -> dict[str, str]:
    """The first non-nil text of every NEMSIS data element in ``report``, by element name.

    NEMSIS marks a missing value with ``xsi:nil="true"`` plus an ``NV`` (not value) or ``PN``
    (pertinent negative) attribute; those read as absent. Repeated elements keep the first.
    """
    found: dict[str, str] = {}
    for element in report.iter(tag=etree.Element):
        name = etree.QName(element).localname
        if not _ELEMENT_NAME.match(name) or name in found:
            continue
        if element.get(XSI_NIL) == "true":
            continue
        value = (element.text or "").strip()
        if value:
            found[name] = value
    return found


def _state(code: str | None) -> str | None:
    """A state as its USPS abbreviation, like every other source; an unknown code as given."""
    return STATES.get(code, code) if code else None


def _gps(value: str | None) -> tuple[float | None, float | None]:
    if value is None:
        return None, None
    parts = value.split(",")
    if len(parts) != 2:
        raise FieldError("eScene.11", value, "GPS location must be 'latitude,longitude'")
    return parse_float("eScene.11", parts[0]), parse_float("eScene.11", parts[1])


def records_from_report(values: dict[str, str], options: ReadOptions) -> tuple[Record, ...]:
    """The canonical records one report carries; raises ``FieldError`` or ``ValueError``."""
    run_key = values.get("eRecord.01")
    if not run_key:
        raise FieldError("eRecord.01", None, "missing required element (the PCR number)")
    tz = options.timezone
    times: dict[str, datetime | None] = {
        field: parse_datetime(element, values.get(element), tz)
        for field, element in TIME_FIELDS.items()
    }
    transport = _code("eDisposition.30", values.get("eDisposition.30"), TRANSPORT_DISPOSITIONS)
    latitude, longitude = _gps(values.get("eScene.11"))
    place = PlaceIn(
        street=values.get("eScene.15"),
        city=values.get("eScene.17"),
        state=_state(values.get("eScene.18")),
        zip=values.get("eScene.19"),
        latitude=latitude,
        longitude=longitude,
    )
    person = _person(run_key, values)
    run = EmsRunIn(
        source_key=run_key,
        person_key=person.source_key if person else None,
        call_key=values.get("eResponse.03"),
        unit_call_sign=values.get("eResponse.14"),
        **times,
        primary_impression=values.get("eSituation.11"),
        unit_disposition=_code("eDisposition.27", values.get("eDisposition.27"), UNIT_DISPOSITIONS),
        patient_evaluation=_code(
            "eDisposition.28", values.get("eDisposition.28"), PATIENT_EVALUATIONS
        ),
        transport_disposition=transport,
        transported=TRANSPORT_DISPOSITIONS[transport] if transport else None,
        destination_type=_code("eDisposition.21", values.get("eDisposition.21"), DESTINATION_TYPES),
        destination_name=values.get("eDisposition.01"),
        place=place if place != PlaceIn() else None,
    )
    return (person, run) if person else (run,)


def _person(run_key: str, values: dict[str, str]) -> PersonRecordIn | None:
    dob: date | None = parse_date("ePatient.17", values.get("ePatient.17"))
    sex = _code("ePatient.25", values.get("ePatient.25"), SEX_CODES)
    gender = _code("ePatient.13", values.get("ePatient.13"), GENDER_CODES)
    address = AddressIn(
        street=values.get("ePatient.05"),
        city=values.get("ePatient.06"),
        state=_state(values.get("ePatient.08")),
        zip=values.get("ePatient.09"),
    )
    person = PersonRecordIn(
        source_key=f"{run_key}/patient",
        last_name=values.get("ePatient.02"),
        first_name=values.get("ePatient.03"),
        middle_name=values.get("ePatient.04"),
        dob=dob,
        sex=SEX_CODES[sex] if sex else (GENDER_CODES[gender] if gender else None),
        phone=digits(values.get("ePatient.18")),
        ssn=values.get("ePatient.12"),
        address=address if address != AddressIn() else None,
    )
    # A report with no patient identity at all (a cancelled call) carries no person record.
    if person == PersonRecordIn(source_key=person.source_key):
        return None
    return person


def _rest_of_file(path: Path, from_line: int) -> str:
    """The file's text from ``from_line`` (1-based) on, capped: the raw of a broken tail."""
    with path.open("r", encoding="utf-8", errors="backslashreplace", newline="") as handle:
        for _ in range(max(from_line, 1) - 1):
            if not handle.readline():
                break
        return handle.read(MAX_RAW_CHARS + 1)


class NemsisAdapter:
    """Reads NEMSIS v3.5 ``EMSDataSet`` XML files (one file, or a folder of ``*.xml``)."""

    name: ClassVar[str] = "nemsis"
    description: ClassVar[str] = "EMS patient care reports, NEMSIS v3.5 EMSDataSet XML"

    @classmethod
    def sniff(cls, path: Path, head: bytes) -> bool:
        """True for an ``EMSDataSet`` document, or a folder whose first ``*.xml`` is one."""
        if path.is_dir():
            first = next(iter(sorted(path.glob("*.xml"))), None)
            if first is None:
                return False
            with first.open("rb") as handle:
                head = handle.read(64 * 1024)
        return _ROOT.search(head) is not None

    def default_source_name(self, path: Path) -> str:
        """The EMS agency number (``dAgency.02``) of the first file, else the file name."""
        first = next(iter(self._files(path)), None)
        if first is not None:
            try:
                for _, element in etree.iterparse(
                    str(first),
                    tag=f"{{{NS}}}dAgency.02",
                    resolve_entities=False,
                    no_network=True,
                    load_dtd=False,
                ):
                    if element.text and element.text.strip():
                        return f"NEMSIS {element.text.strip()}"
                    break
            except etree.LxmlError:
                pass
        return path.stem

    def read(self, path: Path, options: ReadOptions) -> Iterator[Item]:
        """Yield one item per ``PatientCareReport``; a broken tail becomes one rejection."""
        for file in self._files(path):
            yield from self._read_file(file, options)

    @staticmethod
    def _files(path: Path) -> list[Path]:
        return sorted(path.glob("*.xml")) if path.is_dir() else [path]

    def _read_file(self, path: Path, options: ReadOptions) -> Iterator[Item]:
        file = str(path)
        count = 0
        report_line: int | None = None  # where the report being read began, if one is open
        events = etree.iterparse(
            str(path),
            events=("start", "end"),
            tag=REPORT_TAG,
            resolve_entities=False,
            no_network=True,
            huge_tree=False,
            load_dtd=False,
            remove_comments=True,
            remove_pis=True,
        )
        try:
            for event, report in events:
                if event == "start":
                    if count == 0 and report.getroottree().docinfo.doctype:
                        yield self._doctype_rejection(path)
                        return
                    report_line = report.sourceline
                    continue
                count += 1
                report_line = None
                yield self._item(file, count, report, options)
                # Free what is read: the report and the siblings before it.
                report.clear(keep_tail=False)
                parent = report.getparent()
                while parent is not None and report.getprevious() is not None:
                    del parent[0]
        except etree.XMLSyntaxError as exc:
            # The broken rest starts with the report that was open, else where the error is.
            line = report_line or (exc.lineno if count else 1) or 1
            yield Rejection(
                file,
                f"PatientCareReport {count + 1} onwards",
                f"malformed XML ({exc.msg}); nothing after this point could be read",
                _rest_of_file(path, line),
            )
            return
        if count == 0:
            docinfo = events.root.getroottree().docinfo if events.root is not None else None
            if docinfo is not None and docinfo.doctype:
                yield self._doctype_rejection(path)
                return
            yield Rejection(
                file,
                "file",
                f"no PatientCareReport elements in namespace {NS}; not a NEMSIS EMSDataSet",
                _rest_of_file(path, 1),
            )

    @staticmethod
    def _doctype_rejection(path: Path) -> Rejection:
        return Rejection(
            str(path),
            "file",
            "DOCTYPE declarations are not allowed in NEMSIS files (entity expansion risk); "
            "nothing was read",
            _rest_of_file(path, 1),
        )

    @staticmethod
    def _item(file: str, count: int, report: etree._Element, options: ReadOptions) -> Item:
        locator = f"PatientCareReport {count}"
        try:
            records = records_from_report(_values(report), options)
        except ValueError as exc:  # FieldError and pydantic's ValidationError are ValueErrors
            raw = etree.tostring(report, encoding="unicode")
            return Rejection(file, locator, str(exc), raw)
        return SourceRow(file, locator, records)
