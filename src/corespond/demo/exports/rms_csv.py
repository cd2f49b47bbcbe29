"""Write canonical records as a police RMS export: one CSV per segment.

Records may come in any order; each goes to its segment's file as it arrives:
``PersonRecordIn`` → ``persons.csv`` (the master name index), ``PoliceIncidentIn`` →
``incidents.csv``, ``ArrestIn`` → ``arrests.csv``, ``UseOfForceIn`` → ``use_of_force.csv``,
``InvoluntaryHoldIn`` → ``involuntary_holds.csv``. A file is created when its first record comes;
records of other kinds are skipped. The reader is :mod:`corespond.sources.rms_csv`.

What does not survive a round trip:

- ``ORI``, ``Location Type`` and the arrestee's age, sex, race and ethnicity are written blank
  (the records do not hold them); so are a hold's ``Incident Number`` and the canonical fields
  the segments have no column for (a person's address unit, an incident place's other parts).
- Person sex, race and ethnicity that are not NIBRS words or codes are written ``U``.
- An alias with no last name is read back as a first name only.
- Times below the second; the repeated hour when clocks go back (read as its first pass).

Height and weight are written with one decimal (inches, pounds), enough to read back the same
whole centimetres and kilograms.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable
from contextlib import ExitStack
from pathlib import Path
from zoneinfo import ZoneInfo

from corespond.demo.exports.cad_csv import RowWriter, calendar_date, local_time
from corespond.sources.records import (
    ArrestIn,
    InvoluntaryHoldIn,
    NameIn,
    PersonRecordIn,
    PoliceIncidentIn,
    Record,
    UseOfForceIn,
)
from corespond.sources.rms_csv import (
    ARREST_TYPES,
    CM_PER_INCH,
    COLUMNS,
    ETHNICITIES,
    KG_PER_POUND,
    RACES,
    SEXES,
)

RMS_DATETIME = "%m/%d/%Y %H:%M:%S"
FILE_NAMES: dict[str, str] = {
    "persons": "persons.csv",
    "incidents": "incidents.csv",
    "arrests": "arrests.csv",
    "use_of_force": "use_of_force.csv",
    "involuntary_holds": "involuntary_holds.csv",
}
ARREST_CODES = {arrest_type: code for code, arrest_type in ARREST_TYPES.items()}


def _code(value: str | None, codes: dict[str, str]) -> str:
    """The NIBRS code for a word (or a code given as such); ``U`` for anything else."""
    if value is None:
        return ""
    if value.upper() in codes:
        return value.upper()
    return next((code for code, word in codes.items() if word == value.lower()), "U")


def _decimal(value: float) -> str:
    return f"{value:.1f}".removesuffix(".0")


def _alias(name: NameIn) -> str:
    given = " ".join(part for part in (name.first_name, name.middle_name) if part)
    return f"{name.last_name}, {given}" if name.last_name else given


def _person(person: PersonRecordIn, timezone: ZoneInfo) -> dict[str, object]:
    address = person.address
    return {
        "Person ID": person.source_key,
        "Last Name": person.last_name,
        "First Name": person.first_name,
        "Middle Name": person.middle_name,
        "Name Suffix": person.suffix,
        "Alias Names": "; ".join(_alias(alias) for alias in person.aliases),
        "Date of Birth": calendar_date(person.dob),
        "Sex": _code(person.sex, SEXES),
        "Race": _code(person.race, RACES),
        "Ethnicity": _code(person.ethnicity, ETHNICITIES),
        "SSN": person.ssn,
        "Phone": person.phone,
        "Address": address.street if address else None,
        "City": address.city if address else None,
        "State": address.state if address else None,
        "Zip": address.zip if address else None,
        "Height (in)": _decimal(person.height_cm / CM_PER_INCH) if person.height_cm else None,
        "Weight (lb)": _decimal(person.weight_kg / KG_PER_POUND) if person.weight_kg else None,
        "Hair Color": person.hair,
        "Eye Color": person.eyes,
        "Scars Marks Tattoos": person.description,
    }


def _incident(incident: PoliceIncidentIn, timezone: ZoneInfo) -> dict[str, object]:
    place = incident.place
    return {
        "Incident Number": incident.source_key,
        "Incident Date/Hour": local_time(incident.occurred_at, timezone, RMS_DATETIME),
        "CAD Event Number": incident.call_key,
        "UCR Offense Code": incident.offense_code,
        "Offense Description": incident.offense_description,
        "Type Weapon/Force Involved": incident.weapon,
        "Address": place.street if place else None,
        "Beat": place.beat if place else None,
    }


def _arrest(arrest: ArrestIn, timezone: ZoneInfo) -> dict[str, object]:
    # The reader keys an arrest {transaction}/{sequence}: split the key back at its last slash.
    transaction, _, sequence = arrest.source_key.rpartition("/")
    return {
        "Incident Number": arrest.incident_key,
        "Arrest Transaction Number": transaction or sequence,
        "Arrestee Sequence Number": sequence if transaction else "",
        "Person ID": arrest.person_key,
        "Arrest Date": local_time(arrest.arrested_at, timezone, RMS_DATETIME),
        "Type of Arrest": ARREST_CODES[arrest.arrest_type],
        "UCR Arrest Offense Code": arrest.offense_code,
        "Arrestee Was Armed With": arrest.armed_with,
        "CAD Event Number": arrest.call_key,
    }


def _yes_no(value: bool | None) -> str:
    return "" if value is None else ("Y" if value else "N")


def _use_of_force(force: UseOfForceIn, timezone: ZoneInfo) -> dict[str, object]:
    return {
        "Force ID": force.source_key,
        "Incident Number": force.incident_key,
        "CAD Event Number": force.call_key,
        "Person ID": force.person_key,
        "Officer ID": force.officer_id,
        "Force Date/Hour": local_time(force.occurred_at, timezone, RMS_DATETIME),
        "Type of Force": force.force_type,
        "Subject Injured": _yes_no(force.subject_injured),
        "Officer Injured": _yes_no(force.officer_injured),
    }


def _involuntary_hold(hold: InvoluntaryHoldIn, timezone: ZoneInfo) -> dict[str, object]:
    return {
        "Hold Number": hold.source_key,
        "Person ID": hold.person_key,
        "CAD Event Number": hold.call_key,
        "Hold Date/Hour": local_time(hold.started_at, timezone, RMS_DATETIME),
        "Authority": hold.authority,
        "Facility": hold.facility,
    }


ROW_WRITERS: dict[type[Record], tuple[str, Callable[..., dict[str, object]]]] = {
    PersonRecordIn: ("persons", _person),
    PoliceIncidentIn: ("incidents", _incident),
    ArrestIn: ("arrests", _arrest),
    UseOfForceIn: ("use_of_force", _use_of_force),
    InvoluntaryHoldIn: ("involuntary_holds", _involuntary_hold),
}


def write(records: Iterable[Record], out_dir: Path, *, timezone: ZoneInfo) -> list[Path]:
    """Stream RMS records to one CSV per segment in ``out_dir``.

    Args:
        records: person records and RMS facts, in any order; other kinds are skipped.
        out_dir: created if missing; existing files of the same names are replaced.
        timezone: the RMS's zone; times are written as its wall clock, ``MM/DD/YYYY HH:MM:SS``.

    Returns:
        The files written, one per segment that had records, in the order first written.

    Example:
        >>> zone = ZoneInfo("America/Los_Angeles")
        >>> write(generated_rms, Path("out/rms"), timezone=zone)  # doctest: +SKIP
        [PosixPath('out/rms/persons.csv'), PosixPath('out/rms/arrests.csv')]
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    writers: dict[str, RowWriter] = {}
    with ExitStack() as stack:
        for record in records:
            kind_writer = ROW_WRITERS.get(type(record))
            if kind_writer is None:
                continue
            kind, to_row = kind_writer
            if kind not in writers:
                path = out_dir / FILE_NAMES[kind]
                handle = stack.enter_context(path.open("w", encoding="utf-8", newline=""))
                writers[kind] = csv.writer(handle)
                writers[kind].writerow(COLUMNS[kind])
                written.append(path)
            row = to_row(record, timezone)
            writers[kind].writerow(["" if (v := row.get(c)) is None else v for c in COLUMNS[kind]])
    return written
