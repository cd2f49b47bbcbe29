"""Police records-management exports (``rms-csv``): one CSV per segment, NIBRS element names.

A file's kind is told by its header: the master name index (``persons``), ``incidents``,
``arrests`` (and citations), ``use_of_force`` and ``involuntary_holds``. A folder is read in that
order, so that people come before the facts that refer to them. Columns and codes are in
``docs/data-formats.md``; the writer is :mod:`corespond.demo.exports.rms_csv`.

Coded person columns (NIBRS 48 sex, 49 race, 50 ethnicity) read as lower-case words; an unknown
code rejects the row. Height and weight are converted to centimetres and kilograms. Columns the
canonical model has no place for (``ORI``, ``Location Type``, the arrestee's age, sex, race and
ethnicity, a hold's ``Incident Number``) are checked where coded, then not kept.

Example:
    >>> from corespond.sources.base import ReadOptions
    >>> items = list(RmsCsvAdapter().read(Path("rms/"), ReadOptions()))  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
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
    parse_bool,
    parse_code,
    parse_date,
    parse_datetime,
    parse_float,
    parse_int,
    text,
)
from corespond.sources.records import (
    AddressIn,
    ArrestIn,
    ArrestType,
    InvoluntaryHoldIn,
    NameIn,
    PersonRecordIn,
    PlaceIn,
    PoliceIncidentIn,
    Record,
    UseOfForceIn,
)

PERSON_COLUMNS = (
    "Person ID",
    "Last Name",
    "First Name",
    "Middle Name",
    "Name Suffix",
    "Alias Names",
    "Date of Birth",
    "Sex",
    "Race",
    "Ethnicity",
    "SSN",
    "Phone",
    "Address",
    "City",
    "State",
    "Zip",
    "Height (in)",
    "Weight (lb)",
    "Hair Color",
    "Eye Color",
    "Scars Marks Tattoos",
)
INCIDENT_COLUMNS = (
    "ORI",
    "Incident Number",
    "Incident Date/Hour",
    "CAD Event Number",
    "UCR Offense Code",
    "Offense Description",
    "Location Type",
    "Type Weapon/Force Involved",
    "Address",
    "Beat",
)
ARREST_COLUMNS = (
    "ORI",
    "Incident Number",
    "Arrest Transaction Number",
    "Arrestee Sequence Number",
    "Person ID",
    "Arrest Date",
    "Type of Arrest",
    "UCR Arrest Offense Code",
    "Arrestee Was Armed With",
    "Age",
    "Sex",
    "Race",
    "Ethnicity",
    "CAD Event Number",
)
FORCE_COLUMNS = (
    "Force ID",
    "Incident Number",
    "CAD Event Number",
    "Person ID",
    "Officer ID",
    "Force Date/Hour",
    "Type of Force",
    "Subject Injured",
    "Officer Injured",
)
HOLD_COLUMNS = (
    "Hold Number",
    "Person ID",
    "Incident Number",
    "CAD Event Number",
    "Hold Date/Hour",
    "Authority",
    "Facility",
)
KINDS = ("persons", "incidents", "arrests", "use_of_force", "involuntary_holds")
"""File kinds in reading order: referenced records first."""
COLUMNS: dict[str, tuple[str, ...]] = {
    "persons": PERSON_COLUMNS,
    "incidents": INCIDENT_COLUMNS,
    "arrests": ARREST_COLUMNS,
    "use_of_force": FORCE_COLUMNS,
    "involuntary_holds": HOLD_COLUMNS,
}
"""Each kind's columns, in the order the writer puts them."""
REQUIRED: dict[str, tuple[str, ...]] = {
    "persons": ("Person ID",),
    "incidents": ("Incident Number", "Incident Date/Hour"),
    "arrests": ("Arrest Transaction Number", "Person ID", "Arrest Date", "Type of Arrest"),
    "use_of_force": ("Force ID", "Person ID", "Force Date/Hour", "Type of Force"),
    "involuntary_holds": ("Hold Number", "Person ID", "Hold Date/Hour"),
}

SEXES: dict[str, str] = {"M": "male", "F": "female", "U": "unknown"}
"""NIBRS data element 48."""
RACES: dict[str, str] = {
    "W": "white",
    "B": "black",
    "I": "american_indian",
    "A": "asian",
    "P": "pacific_islander",
    "U": "unknown",
}
"""NIBRS data element 49."""
ETHNICITIES: dict[str, str] = {"H": "hispanic", "N": "not_hispanic", "U": "unknown"}
"""NIBRS data element 50."""
ARREST_TYPES: dict[str, str] = {
    "O": ArrestType.ON_VIEW,
    "S": ArrestType.SUMMONED_CITED,
    "T": ArrestType.TAKEN_INTO_CUSTODY,
}
"""NIBRS data element 43."""
CM_PER_INCH = 2.54
KG_PER_POUND = 0.45359237
ALIAS_SEPARATOR = ";"


def kind_of(header: list[str]) -> str | None:
    """The RMS file kind of a CSV header, or None."""
    columns = set(header)
    if "Arrest Transaction Number" in columns:
        return "arrests"
    if "Force ID" in columns:
        return "use_of_force"
    if "Hold Number" in columns:
        return "involuntary_holds"
    if {"Person ID", "Last Name"} <= columns:
        return "persons"
    if {"Incident Number", "UCR Offense Code"} <= columns:
        return "incidents"
    return None


def parse_alias(value: str) -> NameIn:
    """One alias written ``Last, First Middle`` (or just a moniker, read as a first name)."""
    last, comma, given = value.partition(",")
    if not comma:
        return NameIn(first_name=text(value))
    first, _, middle = given.strip().partition(" ")
    return NameIn(last_name=text(last), first_name=text(first), middle_name=text(middle))


def _measure(column: str, value: str | None, factor: float) -> int | None:
    number = parse_float(column, value)
    return None if number is None else round(number * factor)


def _person(values: dict[str, str], tz: tzinfo) -> tuple[Record, ...]:
    aliases = (values.get("Alias Names") or "").split(ALIAS_SEPARATOR)
    address = {
        "street": text(values.get("Address")),
        "city": text(values.get("City")),
        "state": text(values.get("State")),
        "zip": text(values.get("Zip")),
    }
    person = PersonRecordIn(
        source_key=required_text(values, "Person ID"),
        last_name=text(values.get("Last Name")),
        first_name=text(values.get("First Name")),
        middle_name=text(values.get("Middle Name")),
        suffix=text(values.get("Name Suffix")),
        aliases=tuple(parse_alias(alias) for alias in aliases if text(alias)),
        dob=parse_date("Date of Birth", values.get("Date of Birth")),
        sex=parse_code("Sex", values.get("Sex"), SEXES),
        race=parse_code("Race", values.get("Race"), RACES),
        ethnicity=parse_code("Ethnicity", values.get("Ethnicity"), ETHNICITIES),
        ssn=text(values.get("SSN")),
        phone=digits(values.get("Phone")),
        address=AddressIn(**address) if any(address.values()) else None,
        height_cm=_measure("Height (in)", values.get("Height (in)"), CM_PER_INCH),
        weight_kg=_measure("Weight (lb)", values.get("Weight (lb)"), KG_PER_POUND),
        hair=text(values.get("Hair Color")),
        eyes=text(values.get("Eye Color")),
        description=text(values.get("Scars Marks Tattoos")),
    )
    return (person,)


def _required_time(values: dict[str, str], column: str, tz: tzinfo) -> datetime:
    parsed = parse_datetime(column, required_text(values, column), tz)
    assert parsed is not None  # required_text refused a blank value
    return parsed


def _incident(values: dict[str, str], tz: tzinfo) -> tuple[Record, ...]:
    street, beat = text(values.get("Address")), text(values.get("Beat"))
    incident = PoliceIncidentIn(
        source_key=required_text(values, "Incident Number"),
        occurred_at=_required_time(values, "Incident Date/Hour", tz),
        call_key=text(values.get("CAD Event Number")),
        offense_code=text(values.get("UCR Offense Code")),
        offense_description=text(values.get("Offense Description")),
        weapon=text(values.get("Type Weapon/Force Involved")),
        place=PlaceIn(street=street, beat=beat) if street or beat else None,
    )
    return (incident,)


def arrest_key(transaction: str, sequence: str | None) -> str:
    """``{transaction}/{sequence}``, or the transaction alone when the sequence is blank."""
    return f"{transaction}/{sequence}" if sequence else transaction


def _arrest(values: dict[str, str], tz: tzinfo) -> tuple[Record, ...]:
    # Arrestee demographics duplicate the master name index; check the codes, keep nothing.
    parse_int("Age", values.get("Age"))
    parse_code("Sex", values.get("Sex"), SEXES)
    parse_code("Race", values.get("Race"), RACES)
    parse_code("Ethnicity", values.get("Ethnicity"), ETHNICITIES)
    arrest = ArrestIn(
        source_key=arrest_key(
            required_text(values, "Arrest Transaction Number"),
            text(values.get("Arrestee Sequence Number")),
        ),
        person_key=required_text(values, "Person ID"),
        arrested_at=_required_time(values, "Arrest Date", tz),
        arrest_type=parse_code(  # type: ignore[arg-type]
            "Type of Arrest", required_text(values, "Type of Arrest"), ARREST_TYPES
        ),
        incident_key=text(values.get("Incident Number")),
        call_key=text(values.get("CAD Event Number")),
        offense_code=text(values.get("UCR Arrest Offense Code")),
        armed_with=text(values.get("Arrestee Was Armed With")),
    )
    return (arrest,)


def _use_of_force(values: dict[str, str], tz: tzinfo) -> tuple[Record, ...]:
    force = UseOfForceIn(
        source_key=required_text(values, "Force ID"),
        person_key=required_text(values, "Person ID"),
        occurred_at=_required_time(values, "Force Date/Hour", tz),
        force_type=required_text(values, "Type of Force"),
        incident_key=text(values.get("Incident Number")),
        call_key=text(values.get("CAD Event Number")),
        subject_injured=parse_bool("Subject Injured", values.get("Subject Injured")),
        officer_injured=parse_bool("Officer Injured", values.get("Officer Injured")),
        officer_id=text(values.get("Officer ID")),
    )
    return (force,)


def _involuntary_hold(values: dict[str, str], tz: tzinfo) -> tuple[Record, ...]:
    hold = InvoluntaryHoldIn(
        source_key=required_text(values, "Hold Number"),
        person_key=required_text(values, "Person ID"),
        started_at=_required_time(values, "Hold Date/Hour", tz),
        call_key=text(values.get("CAD Event Number")),
        authority=text(values.get("Authority")),
        facility=text(values.get("Facility")),
    )
    return (hold,)


ROW_READERS: dict[str, Callable[[dict[str, str], tzinfo], tuple[Record, ...]]] = {
    "persons": _person,
    "incidents": _incident,
    "arrests": _arrest,
    "use_of_force": _use_of_force,
    "involuntary_holds": _involuntary_hold,
}


class RmsCsvAdapter:
    """Reads police RMS segment exports (a file, or a folder of them)."""

    name: ClassVar[str] = "rms-csv"
    description: ClassVar[str] = (
        "police RMS: master name index, incidents, arrests, use of force, involuntary holds"
    )

    @classmethod
    def sniff(cls, path: Path, head: bytes) -> bool:
        """True for an RMS segment file, or a folder holding one."""
        if path.is_dir():
            return bool(csv_files(path, kind_of, KINDS))
        return path.suffix.lower() == ".csv" and kind_of(header_of(head)) is not None

    def default_source_name(self, path: Path) -> str:
        """The export folder's name: the segment files of one RMS share one source."""
        folder = path if path.is_dir() else path.parent
        return f"rms-csv:{folder.name or path.stem}"

    def read(self, path: Path, options: ReadOptions) -> Iterator[Item]:
        """Yield one item per row, persons first, then incidents, arrests, force and holds.

        Raises:
            SourceError: ``path`` does not exist or cannot be read.
        """
        if path.is_dir():
            for file_path, kind in csv_files(path, kind_of, KINDS):
                yield from self._read_file(file_path, kind, options)
            return
        if not path.is_file():
            raise SourceError(f"{path}: no such file or folder")
        file_kind = kind_of(file_header(path, options.encoding))
        if file_kind is None:
            if has_content(path):
                reason = "not an RMS export: the header matches no RMS file kind (" + (
                    "; ".join(f"{name}: {', '.join(REQUIRED[name])}" for name in KINDS) + ")"
                )
                yield whole_file(path, reason, options.encoding)
                return
            file_kind = "persons"  # an empty file: convert_rows rejects it as such
        yield from self._read_file(path, file_kind, options)

    @staticmethod
    def _read_file(path: Path, kind: str, options: ReadOptions) -> Iterator[Item]:
        reader, tz = ROW_READERS[kind], options.timezone
        return convert_rows(path, options, lambda row: reader(row.values, tz), REQUIRED[kind])
