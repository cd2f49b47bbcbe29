"""FHIR R4 NDJSON bulk export: Patient, Encounter, Condition and Consent resources.

One resource per line, each line one source row. A folder is read file by file in the order
Patient, Encounter, Condition, Consent, then any other ``*.ndjson`` (whose resources are
rejected as unsupported), so that people come before what refers to them.

A resource labelled ``meta.security`` = ``v3-ActCode|42CFRPart2`` comes from a 42 CFR Part 2
program: its records get ``part2=True`` where the record has that field and the category
``substance_use_part2``.

A Patient's US Core race and ethnicity extensions read into the words the RMS reader yields for
NIBRS codes (``white``, ``black``, ``american_indian``, ``asian``, ``pacific_islander``,
``unknown``; ``hispanic``, ``not_hispanic``, ``unknown``), so that reports slice every source
the same way. When the OMB category codes cannot say it (none, or one this reader does not
know), the extension's ``text`` is kept as given. A part without its ``valueCoding``, or more
than one ethnicity category, rejects the row.

Example:
    >>> from corespond.sources.base import ReadOptions
    >>> adapter = FhirNdjsonAdapter()
    >>> items = list(adapter.read(Path("Patient.ndjson"), ReadOptions()))  # doctest: +SKIP
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any, ClassVar, NamedTuple

from corespond.sources.base import Item, ReadOptions, Rejection, SourceRow
from corespond.sources.parse import FieldError, digits, parse_date, parse_datetime
from corespond.sources.records import (
    AddressIn,
    ConditionIn,
    ConsentDecision,
    ConsentIn,
    ConsentStatus,
    DataCategory,
    HospitalEncounterIn,
    HospitalEncounterKind,
    NameIn,
    PersonRecordIn,
    Record,
    TreatmentEncounterIn,
)
from corespond.sources.rms_csv import ETHNICITIES, RACES

ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
PART2_CODE = "42CFRPart2"
ACT_REASON = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
SSN_SYSTEM = "http://hl7.org/fhir/sid/us-ssn"
CATEGORY_SYSTEM = "https://corespond.org/fhir/CodeSystem/data-category"
DISCHARGE_SYSTEM = "http://terminology.hl7.org/CodeSystem/discharge-disposition"
DETAILS_EXTENSION = "https://corespond.org/fhir/StructureDefinition/consent-details"
"""Where a Part 2 consent's 42 CFR 2.31 elements travel (``ConsentIn.details``)."""
US_CORE_RACE = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-race"
US_CORE_ETHNICITY = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-ethnicity"
CDC_RACE_ETHNICITY = "urn:oid:2.16.840.1.113883.6.238"
NULL_FLAVOR = "http://terminology.hl7.org/CodeSystem/v3-NullFlavor"


class OmbCategory(NamedTuple):
    """One code of the US Core OMB race or ethnicity value set and the canonical word for it."""

    system: str
    display: str
    word: str


_UNKNOWN_CATEGORIES = {
    "UNK": OmbCategory(NULL_FLAVOR, "Unknown", RACES["U"]),
    "ASKU": OmbCategory(NULL_FLAVOR, "Asked but no answer", RACES["U"]),
}
RACE_CATEGORIES: dict[str, OmbCategory] = {
    "1002-5": OmbCategory(CDC_RACE_ETHNICITY, "American Indian or Alaska Native", RACES["I"]),
    "2028-9": OmbCategory(CDC_RACE_ETHNICITY, "Asian", RACES["A"]),
    "2054-5": OmbCategory(CDC_RACE_ETHNICITY, "Black or African American", RACES["B"]),
    "2076-8": OmbCategory(
        CDC_RACE_ETHNICITY, "Native Hawaiian or Other Pacific Islander", RACES["P"]
    ),
    "2106-3": OmbCategory(CDC_RACE_ETHNICITY, "White", RACES["W"]),
    **_UNKNOWN_CATEGORIES,
}
"""US Core ``omb-race-category``: the five OMB races (NIBRS 49 words) and the null flavors."""
ETHNICITY_CATEGORIES: dict[str, OmbCategory] = {
    "2135-2": OmbCategory(CDC_RACE_ETHNICITY, "Hispanic or Latino", ETHNICITIES["H"]),
    "2186-5": OmbCategory(CDC_RACE_ETHNICITY, "Not Hispanic or Latino", ETHNICITIES["N"]),
    **_UNKNOWN_CATEGORIES,
}
"""US Core ``omb-ethnicity-category`` (NIBRS 50 words); UNK and ASKU both read ``unknown``."""
WORD_SEPARATOR = "; "
"""Between several races, as the HMIS reader joins them."""

PURPOSES = {
    "ETREAT": "emergency_response",
    "TREAT": "treatment",
    "CAREMGT": "care_coordination",
    "HOPERAT": "program_evaluation",
}
HOSPITAL_CLASSES = {
    "EMER": HospitalEncounterKind.ER_VISIT,
    "IMP": HospitalEncounterKind.INPATIENT,
    "OBSENC": HospitalEncounterKind.OBSERVATION,
}
CONSENT_STATUSES = {status.value.replace("_", "-"): status for status in ConsentStatus}
GENDERS = {"male": "male", "female": "female", "other": "other", "unknown": "unknown"}
RESOURCE_ORDER = ("Patient", "Encounter", "Condition", "Consent")
_PARTIAL_DATE = re.compile(r"^\d{4}(-\d{2})?$")

Json = dict[str, Any]


# --- shape checks: a wrong JSON shape is a reason, never a TypeError ----------------------------


def _obj(value: object, where: str) -> Json:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise FieldError(where, value, "expected a JSON object")
    return value


def _list(value: object, where: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise FieldError(where, value, "expected a JSON array")
    return value


def _str(value: object, where: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise FieldError(where, value, "expected a string")
    return value.strip() or None


def _objects(value: object, where: str) -> list[Json]:
    return [_obj(item, f"{where}[{i}]") for i, item in enumerate(_list(value, where))]


def _concept(value: object, where: str) -> str | None:
    """A CodeableConcept as text: its ``text``, else its first coding's display or code."""
    concept = _obj(value, where)
    text = _str(concept.get("text"), f"{where}.text")
    if text:
        return text
    for coding in _objects(concept.get("coding"), f"{where}.coding"):
        found = _str(coding.get("display"), f"{where}.coding.display") or _str(
            coding.get("code"), f"{where}.coding.code"
        )
        if found:
            return found
    return None


def _first_code(value: object, where: str) -> str | None:
    concept = _obj(value, where)
    for coding in _objects(concept.get("coding"), f"{where}.coding"):
        code = _str(coding.get("code"), f"{where}.coding.code")
        if code:
            return code
    return _str(concept.get("text"), f"{where}.text")


def _patient_key(value: object, where: str) -> str:
    reference = _str(_obj(value, where).get("reference"), f"{where}.reference")
    if reference is None:
        raise FieldError(f"{where}.reference", None, "missing required field")
    if not reference.startswith("Patient/") or len(reference) == len("Patient/"):
        raise FieldError(f"{where}.reference", reference, "expected Patient/{id}")
    return reference.removeprefix("Patient/")


def _id(resource: Json) -> str:
    key = _str(resource.get("id"), "id")
    if key is None:
        raise FieldError("id", None, "missing required field")
    return key


def _is_part2(resource: Json) -> bool:
    labels = _objects(_obj(resource.get("meta"), "meta").get("security"), "meta.security")
    return any(
        label.get("code") == PART2_CODE and label.get("system") in (ACT_CODE, None)
        for label in labels
    )


def _category(part2: bool) -> DataCategory | None:
    return DataCategory.SUBSTANCE_USE_PART2 if part2 else None


def _date(value: object, where: str) -> date | None:
    raw = _str(value, where)
    if raw is not None and _PARTIAL_DATE.match(raw):
        return None  # FHIR allows a year or year-month; the canonical model holds full dates only
    return parse_date(where, raw)


def _datetime(value: object, where: str, options: ReadOptions) -> datetime | None:
    return parse_datetime(where, _str(value, where), options.timezone)


# --- resources -------------------------------------------------------------------------------


def _name(name: Json) -> NameIn:
    given = [_str(part, "name.given") for part in _list(name.get("given"), "name.given")]
    suffixes = [_str(part, "name.suffix") for part in _list(name.get("suffix"), "name.suffix")]
    return NameIn(
        last_name=_str(name.get("family"), "name.family"),
        first_name=given[0] if given else None,
        middle_name=" ".join(part for part in given[1:] if part) or None,
        suffix=suffixes[0] if suffixes else None,
    )


def _value_coding(part: Json, where: str) -> tuple[str | None, str, str | None]:
    """A sub-extension's ``valueCoding`` as (system, code, display); it must have a code."""
    coding = _obj(part.get("valueCoding"), f"{where}.valueCoding")
    code = _str(coding.get("code"), f"{where}.valueCoding.code")
    if code is None:
        raise FieldError(f"{where}.valueCoding", part.get("valueCoding"), "missing, or no code")
    system = _str(coding.get("system"), f"{where}.valueCoding.system")
    return system, code, _str(coding.get("display"), f"{where}.valueCoding.display")


def _extension(resource: Json, url: str) -> Json:
    """The resource's first extension with ``url`` (an empty object when there is none)."""
    extensions = _objects(resource.get("extension"), "extension")
    return next((e for e in extensions if e.get("url") == url), {})


def _omb_words(
    extension: Json, categories: dict[str, OmbCategory], where: str, *, most: int | None = None
) -> str | None:
    """A US Core race or ethnicity extension as canonical words, else as its text.

    Every ``ombCategory`` known: their words (``unknown`` beside a known one is dropped).
    Otherwise the ``text``; with no text either, the codings' displays or codes as given.
    """
    parts = _objects(extension.get("extension"), f"{where}.extension")
    count = sum(part.get("url") == "ombCategory" for part in parts)
    if most is not None and count > most:
        raise FieldError(f"{where}.ombCategory", count, f"US Core allows at most {most}")
    text: str | None = None
    words: list[str] = []
    given: list[str] = []
    unrecognised = False
    for part in parts:
        name = part.get("url")
        if name == "text":
            text = _str(part.get("valueString"), f"{where}.text.valueString")
        elif name in ("ombCategory", "detail"):
            system, code, display = _value_coding(part, f"{where}.{name}")
            given.append(display or code)
            if name == "detail":
                continue  # a finer CDC code; the OMB category beside it is what reports slice by
            category = categories.get(code)
            if category is None or system not in (category.system, None):
                unrecognised = True
            elif category.word not in words:
                words.append(category.word)
    if words and not unrecognised:
        known = [word for word in words if word != RACES["U"]]
        return WORD_SEPARATOR.join(known or words)
    return text or WORD_SEPARATOR.join(dict.fromkeys(given)) or None


def _patient(resource: Json, options: ReadOptions) -> tuple[Record, ...]:
    entries = _objects(resource.get("name"), "name")
    names = [_name(entry) for entry in entries]
    # The official name is the person's name; any other is an alias.
    official = next((i for i, entry in enumerate(entries) if entry.get("use") == "official"), 0)
    primary = names[official] if names else NameIn()
    aliases = tuple(name for i, name in enumerate(names) if i != official)
    gender = _str(resource.get("gender"), "gender")
    if gender is not None and gender not in GENDERS:
        raise FieldError("gender", gender, f"unknown code; expected one of {', '.join(GENDERS)}")
    phone = next(
        (
            _str(telecom.get("value"), "telecom.value")
            for telecom in _objects(resource.get("telecom"), "telecom")
            if telecom.get("system") == "phone"
        ),
        None,
    )
    ssn = next(
        (
            _str(identifier.get("value"), "identifier.value")
            for identifier in _objects(resource.get("identifier"), "identifier")
            if identifier.get("system") == SSN_SYSTEM
        ),
        None,
    )
    record = PersonRecordIn(
        source_key=_id(resource),
        data_category=_category(_is_part2(resource)),
        first_name=primary.first_name,
        middle_name=primary.middle_name,
        last_name=primary.last_name,
        suffix=primary.suffix,
        aliases=aliases,
        dob=_date(resource.get("birthDate"), "birthDate"),
        sex=GENDERS[gender] if gender else None,
        race=_omb_words(
            _extension(resource, US_CORE_RACE), RACE_CATEGORIES, "extension[us-core-race]"
        ),
        ethnicity=_omb_words(
            _extension(resource, US_CORE_ETHNICITY),
            ETHNICITY_CATEGORIES,
            "extension[us-core-ethnicity]",
            most=1,
        ),
        phone=digits(phone),
        ssn=ssn,
        address=_address(resource),
    )
    return (record,)


def _address(resource: Json) -> AddressIn | None:
    addresses = _objects(resource.get("address"), "address")
    if not addresses:
        return None
    home = next((a for a in addresses if a.get("use") == "home"), addresses[0])
    lines = [_str(line, "address.line") for line in _list(home.get("line"), "address.line")]
    return AddressIn(
        street=lines[0] if lines else None,
        unit=" ".join(line for line in lines[1:] if line) or None,
        city=_str(home.get("city"), "address.city"),
        state=_str(home.get("state"), "address.state"),
        zip=_str(home.get("postalCode"), "address.postalCode"),
    )


def _encounter_class(resource: Json) -> str | None:
    value = resource.get("class")
    if isinstance(value, list):  # R5 made class a list of CodeableConcepts; take the first
        return _first_code(value[0], "class") if value else None
    return _str(_obj(value, "class").get("code"), "class.code")


def _encounter(resource: Json, options: ReadOptions) -> tuple[Record, ...]:
    part2 = _is_part2(resource)
    period = _obj(resource.get("period"), "period")
    started = _datetime(period.get("start"), "period.start", options)
    if started is None:
        raise FieldError("period.start", None, "missing required field")
    ended = _datetime(period.get("end"), "period.end", options)
    reason = next(
        (_concept(c, "reasonCode") for c in _list(resource.get("reasonCode"), "reasonCode")),
        None,
    )
    service_provider = _obj(resource.get("serviceProvider"), "serviceProvider")
    provider = _str(service_provider.get("display"), "serviceProvider.display")
    encounter_class = _encounter_class(resource)
    common = {
        "source_key": _id(resource),
        "data_category": _category(part2),
        "person_key": _patient_key(resource.get("subject"), "subject"),
        "started_at": started,
        "ended_at": ended,
        "reason": reason,
    }
    if encounter_class in HOSPITAL_CLASSES:
        hospitalization = _obj(resource.get("hospitalization"), "hospitalization")
        return (
            HospitalEncounterIn(
                **common,
                encounter_kind=HOSPITAL_CLASSES[encounter_class],
                discharge_disposition=_first_code(
                    hospitalization.get("dischargeDisposition"),
                    "hospitalization.dischargeDisposition",
                ),
                facility=provider,
            ),
        )
    encounter_type = next((_concept(c, "type") for c in _list(resource.get("type"), "type")), None)
    return (
        TreatmentEncounterIn(
            **common,
            status=_str(resource.get("status"), "status"),
            encounter_class=encounter_class,
            encounter_type=encounter_type,
            part2=part2,
            provider=provider,
        ),
    )


def _condition(resource: Json, options: ReadOptions) -> tuple[Record, ...]:
    part2 = _is_part2(resource)
    concept = _obj(resource.get("code"), "code")
    coding = next(iter(_objects(concept.get("coding"), "code.coding")), {})
    record = ConditionIn(
        source_key=_id(resource),
        data_category=_category(part2),
        person_key=_patient_key(resource.get("subject"), "subject"),
        code=_str(coding.get("code"), "code.coding.code"),
        code_system=_str(coding.get("system"), "code.coding.system"),
        display=_str(coding.get("display"), "code.coding.display")
        or _str(concept.get("text"), "code.text"),
        clinical_status=_first_code(resource.get("clinicalStatus"), "clinicalStatus"),
        onset=_date(resource.get("onsetDateTime"), "onsetDateTime"),
        recorded_on=_date(resource.get("recordedDate"), "recordedDate"),
        part2=part2,
    )
    return (record,)


def _coded(codings: list[Json], where: str, system: str, codes: dict[str, Any]) -> list[Any]:
    found = []
    for coding in codings:
        if coding.get("system") not in (system, None):
            continue  # another vocabulary (e.g. resource types in provision.class): not ours
        code = _str(coding.get("code"), f"{where}.code")
        if code is None:
            continue
        if code not in codes:
            raise FieldError(where, code, f"unknown code; expected one of {', '.join(codes)}")
        found.append(codes[code])
    return found


def _consent(resource: Json, options: ReadOptions) -> tuple[Record, ...]:
    part2 = _is_part2(resource)
    status = _str(resource.get("status"), "status")
    if status not in CONSENT_STATUSES:
        known = ", ".join(CONSENT_STATUSES)
        raise FieldError("status", status, f"unknown or missing code; expected one of {known}")
    provision = _obj(resource.get("provision"), "provision")
    decision = _str(provision.get("type"), "provision.type") or "permit"
    if decision not in {d.value for d in ConsentDecision}:
        raise FieldError("provision.type", decision, "unknown code; expected one of permit, deny")
    period = _obj(provision.get("period"), "provision.period")
    recipients = [
        _str(_obj(actor.get("reference"), "provision.actor.reference").get("display"), "display")
        for actor in _objects(provision.get("actor"), "provision.actor")
    ]
    categories = {category.value: category for category in DataCategory}
    details = _str(
        _extension(resource, DETAILS_EXTENSION).get("valueString"), "extension.valueString"
    )
    signed = _datetime(resource.get("dateTime"), "dateTime", options)
    record = ConsentIn(
        source_key=_id(resource),
        data_category=_category(part2),
        person_key=_patient_key(resource.get("patient"), "patient"),
        status=CONSENT_STATUSES[status],
        decision=ConsentDecision(decision),
        recipient="; ".join(r for r in recipients if r) or None,
        purposes=tuple(
            _coded(
                _objects(provision.get("purpose"), "provision.purpose"),
                "provision.purpose",
                ACT_REASON,
                PURPOSES,
            )
        ),
        categories=tuple(
            _coded(
                _objects(provision.get("class"), "provision.class"),
                "provision.class",
                CATEGORY_SYSTEM,
                categories,
            )
        ),
        period_start=_date(period.get("start"), "provision.period.start"),
        period_end=_date(period.get("end"), "provision.period.end"),
        signed_on=signed.date() if signed else None,
        part2=part2,
        details=details,
    )
    return (record,)


ResourceReader = Callable[[Json, ReadOptions], tuple[Record, ...]]
READERS: dict[str, ResourceReader] = {
    "Patient": _patient,
    "Encounter": _encounter,
    "Condition": _condition,
    "Consent": _consent,
}


def parse_line(line: str, options: ReadOptions) -> tuple[Record, ...]:
    """The records one NDJSON line carries; raises ``ValueError`` with the reason if none."""
    try:
        resource = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ValueError(f"malformed JSON ({exc})") from None
    except RecursionError:
        raise ValueError("malformed JSON (nested too deeply)") from None
    if not isinstance(resource, dict):
        raise ValueError("not a JSON object")
    resource_type = resource.get("resourceType")
    if not isinstance(resource_type, str) or not resource_type:
        raise ValueError("missing resourceType")
    reader = READERS.get(resource_type)
    if reader is None:
        raise ValueError(f"unsupported resource type {resource_type}")
    return reader(resource, options)


def _file_rank(path: Path) -> tuple[int, str]:
    name = path.name.lower()
    rank = next(
        (i for i, kind in enumerate(RESOURCE_ORDER) if kind.lower() in name), len(RESOURCE_ORDER)
    )
    return rank, path.name


class FhirNdjsonAdapter:
    """Reads FHIR R4 NDJSON (one file, or a folder of ``*.ndjson``)."""

    name: ClassVar[str] = "fhir"
    description: ClassVar[str] = (
        "FHIR R4 NDJSON bulk export: Patient, Encounter, Condition, Consent"
    )

    @classmethod
    def sniff(cls, path: Path, head: bytes) -> bool:
        """True when the first line is a JSON object with ``resourceType``."""
        if path.is_dir():
            first = next(iter(sorted(path.glob("*.ndjson"), key=_file_rank)), None)
            if first is None:
                return False
            with first.open("rb") as handle:
                head = handle.read(64 * 1024)
        line = head.removeprefix(b"\xef\xbb\xbf").split(b"\n", 1)[0].strip()
        try:
            resource = json.loads(line)
        except (ValueError, RecursionError):
            # A first line longer than the head: judge by its opening.
            return b"\n" not in head and line.startswith(b"{") and b'"resourceType"' in line
        return isinstance(resource, dict) and "resourceType" in resource

    def default_source_name(self, path: Path) -> str:
        """The export folder's name."""
        return path.name if path.is_dir() else path.resolve().parent.name

    def read(self, path: Path, options: ReadOptions) -> Iterator[Item]:
        """Yield one item per non-blank line."""
        files = sorted(path.glob("*.ndjson"), key=_file_rank) if path.is_dir() else [path]
        for file in files:
            yield from self._read_file(file, options)

    @staticmethod
    def _read_file(path: Path, options: ReadOptions) -> Iterator[Item]:
        file = str(path)
        with path.open("rb") as handle:
            for number, raw in enumerate(handle, start=1):
                locator = f"line {number}"
                try:
                    line = raw.decode(options.encoding)
                except UnicodeDecodeError as exc:
                    shown = raw.decode(options.encoding, errors="backslashreplace")
                    reason = f"not valid {options.encoding} text ({exc.reason})"
                    yield Rejection(file, locator, reason, shown.rstrip("\r\n"))
                    continue
                line = line.strip().removeprefix("\ufeff")
                if not line:
                    continue
                try:
                    records = parse_line(line, options)
                except ValueError as exc:  # our reasons, FieldError and pydantic's errors
                    yield Rejection(file, locator, str(exc), line)
                    continue
                yield SourceRow(file, locator, records)
