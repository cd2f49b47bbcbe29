"""HUD HMIS CSV export, FY2024 format: a folder holding ``Export.csv`` and its sibling files.

Files are read in dependency order (Export, Organization, Project, Client, Enrollment, Exit,
Services, CurrentLivingSituation) so that a row referring to a record the export does not hold
is rejected with that reason. To check references the adapter keeps the *ids* it has seen (one
string per organization, project, client and enrollment, and the client of each enrollment);
rows themselves are streamed. Other files of the export (Funder, Inventory, Assessment...) carry
nothing the canonical model holds and are not read.

Example:
    >>> from corespond.sources.base import ReadOptions
    >>> items = list(HmisCsvAdapter().read(Path("hmis-export"), ReadOptions()))  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from corespond.sources.base import (
    MAX_RAW_CHARS,
    Item,
    ReadOptions,
    Rejection,
    Retraction,
    SourceError,
    SourceRow,
)
from corespond.sources.csvio import CsvRow, read_csv
from corespond.sources.parse import FieldError, parse_date, parse_int, text
from corespond.sources.records import (
    AgencyIn,
    AgencyKind,
    EnrollmentExitIn,
    EnrollmentIn,
    PersonRecordIn,
    ProgramIn,
    Record,
    ServiceIn,
    ServiceKind,
)

PROJECT_TYPES: dict[int, str] = {
    0: "emergency_shelter",
    1: "emergency_shelter",
    2: "transitional_housing",
    3: "permanent_supportive_housing",
    4: "street_outreach",
    6: "services_only",
    7: "other",
    8: "safe_haven",
    9: "ph_housing_only",
    10: "ph_housing_with_services",
    11: "day_shelter",
    12: "homelessness_prevention",
    13: "rapid_rehousing",
    14: "coordinated_entry",
}
"""FY2024 ProjectType (2.02.6). 0 is entry/exit, 1 night-by-night; ``hmis_project_type`` keeps
which."""

RECORD_TYPES = {141, 142, 143, 144, 151, 152, 161, 200, 210, 300}
"""FY2024 Services.RecordType: PATH, RHY, HOPWA, SSVF services and assistance, 200 bed night,
210 HUD-VASH voucher tracking, 300 moving-on assistance."""
BED_NIGHT = 200

PERMANENT_DESTINATIONS = frozenset({410, 411, 421, 422, 423, 426, 435})
"""FY2024 Destination (3.12.1) codes of permanent housing: rental or owned, with or without a
subsidy, and staying or living with family or friends with permanent tenure."""

DATA_QUALITY = {1, 2, 8, 9, 99}
UNKNOWN = {8, 9, 99}
"""Client doesn't know, prefers not to answer, data not collected."""

RACE_FLAGS: dict[str, str] = {
    "AmIndAKNative": "American Indian, Alaska Native, or Indigenous",
    "Asian": "Asian or Asian American",
    "BlackAfAmerican": "Black, African American, or African",
    "MidEastNAfrican": "Middle Eastern or North African",
    "NativeHIPacific": "Native Hawaiian or Pacific Islander",
    "White": "White",
}
"""FY2024 race and ethnicity flags (3.04) other than HispanicLatinaeo, which is ethnicity."""
HISPANIC = "Hispanic/Latina/e/o"
NOT_HISPANIC = "Not Hispanic/Latina/e/o"

GENDER_FLAGS: dict[str, str] = {
    "Woman": "female",
    "Man": "male",
    "NonBinary": "non_binary",
    "CulturallySpecific": "culturally_specific",
    "Transgender": "transgender",
    "Questioning": "questioning",
}
"""FY2024 gender flags (3.06); ``DifferentIdentity`` reads as its ``DifferentIdentityText``."""
SEX_SEPARATOR = "; "
GENDER_DECLINED = {8, 9}
"""GenderNone 8/9 say the client did not answer: read as ``unknown``; 99 (not collected) as
nothing."""

FILE_ORDER = (
    "Export.csv",
    "Organization.csv",
    "Project.csv",
    "Client.csv",
    "Enrollment.csv",
    "Exit.csv",
    "Services.csv",
    "CurrentLivingSituation.csv",
)
REQUIRED_COLUMNS: dict[str, tuple[str, ...]] = {
    "Export.csv": ("ExportID",),
    "Organization.csv": ("OrganizationID", "OrganizationName"),
    "Project.csv": ("ProjectID", "OrganizationID", "ProjectName", "ProjectType"),
    "Client.csv": ("PersonalID",),
    "Enrollment.csv": ("EnrollmentID", "PersonalID", "ProjectID", "EntryDate"),
    "Exit.csv": ("ExitID", "EnrollmentID", "PersonalID", "ExitDate"),
    "Services.csv": ("ServicesID", "EnrollmentID", "PersonalID", "DateProvided", "RecordType"),
    "CurrentLivingSituation.csv": (
        "CurrentLivingSitID",
        "EnrollmentID",
        "PersonalID",
        "InformationDate",
        "CurrentLivingSituation",
    ),
}
OUTREACH_KEY_PREFIX = "CLS/"
"""Outreach contacts are keyed ``CLS/{CurrentLivingSitID}``: both they and Services rows become
``ServiceIn`` records, and the two files number their rows independently."""


def _required(values: dict[str, str], column: str) -> str:
    value = text(values.get(column))
    if value is None:
        raise FieldError(column, values.get(column), "missing required field")
    return value


def _coded(values: dict[str, str], column: str, codes: set[int] | dict[int, str]) -> int | None:
    number = parse_int(column, values.get(column))
    if number is not None and number not in codes:
        known = ", ".join(str(code) for code in sorted(codes))
        raise FieldError(column, values.get(column), f"unknown code; expected one of {known}")
    return number


def _flag(values: dict[str, str], column: str) -> bool:
    return _coded(values, column, {0, 1}) == 1


@dataclass
class _Seen:
    """Ids read so far, to check references; deleted ids give a clearer reason."""

    organizations: set[str] = field(default_factory=set)
    projects: set[str] = field(default_factory=set)
    clients: set[str] = field(default_factory=set)
    enrollments: dict[str, str] = field(default_factory=dict)
    """EnrollmentID → PersonalID."""
    deleted: dict[str, set[str]] = field(default_factory=dict)
    delta: bool = False
    """A delta refresh (``ExportDirective`` 1) holds only what changed: a record it does not
    hold may be one an earlier export sent, so ingest resolves it against the store."""

    def check(self, column: str, value: str, known: set[str] | dict[str, str], file: str) -> None:
        if value in known:
            return
        if value in self.deleted.get(column, set()):
            raise FieldError(column, value, f"refers to a record deleted in source ({file})")
        if not self.delta:
            raise FieldError(column, value, f"refers to a record that is not in {file}")


def _organization(values: dict[str, str], seen: _Seen) -> tuple[Record, ...]:
    key = _required(values, "OrganizationID")
    record = AgencyIn(
        source_key=key,
        name=_required(values, "OrganizationName"),
        agency_kind=AgencyKind.HOMELESS_SERVICES,
    )
    seen.organizations.add(key)
    return (record,)


def _project(values: dict[str, str], seen: _Seen) -> tuple[Record, ...]:
    key = _required(values, "ProjectID")
    organization = _required(values, "OrganizationID")
    seen.check("OrganizationID", organization, seen.organizations, "Organization.csv")
    project_type = _coded(values, "ProjectType", PROJECT_TYPES)
    if project_type is None:
        raise FieldError("ProjectType", values.get("ProjectType"), "missing required field")
    record = ProgramIn(
        source_key=key,
        name=_required(values, "ProjectName"),
        agency_key=organization,
        program_type=PROJECT_TYPES[project_type],
        hmis_project_type=project_type,
        start_date=parse_date("OperatingStartDate", values.get("OperatingStartDate")),
        end_date=parse_date("OperatingEndDate", values.get("OperatingEndDate")),
    )
    seen.projects.add(key)
    return (record,)


def _known(values: dict[str, str], quality_column: str) -> bool:
    """False when the data-quality code says the value is unknown (8, 9 or 99)."""
    return _coded(values, quality_column, DATA_QUALITY) not in UNKNOWN


def _race(values: dict[str, str]) -> tuple[str | None, str | None]:
    races = [name for column, name in RACE_FLAGS.items() if _flag(values, column)]
    additional = text(values.get("AdditionalRaceEthnicity"))
    if additional:
        races.append(additional)
    hispanic = _flag(values, "HispanicLatinaeo")
    declined = _coded(values, "RaceNone", UNKNOWN) is not None
    race = SEX_SEPARATOR.join(races) or None
    if hispanic:
        return race, HISPANIC
    return race, (NOT_HISPANIC if races and not declined else None)


def _sex(values: dict[str, str]) -> str | None:
    words = [word for column, word in GENDER_FLAGS.items() if _flag(values, column)]
    if _flag(values, "DifferentIdentity"):
        words.append(text(values.get("DifferentIdentityText")) or "different_identity")
    if words:
        return SEX_SEPARATOR.join(words)
    return "unknown" if _coded(values, "GenderNone", UNKNOWN) in GENDER_DECLINED else None


def _client(values: dict[str, str], seen: _Seen) -> tuple[Record, ...]:
    key = _required(values, "PersonalID")
    named = _known(values, "NameDataQuality")
    dob = parse_date("DOB", values.get("DOB"))
    race, ethnicity = _race(values)
    record = PersonRecordIn(
        source_key=key,
        first_name=text(values.get("FirstName")) if named else None,
        middle_name=text(values.get("MiddleName")) if named else None,
        last_name=text(values.get("LastName")) if named else None,
        suffix=text(values.get("NameSuffix")) if named else None,
        ssn=text(values.get("SSN")) if _known(values, "SSNDataQuality") else None,
        dob=dob if _known(values, "DOBDataQuality") else None,
        race=race,
        ethnicity=ethnicity,
        sex=_sex(values),
    )
    seen.clients.add(key)
    return (record,)


def _client_of(values: dict[str, str], seen: _Seen) -> str:
    person = _required(values, "PersonalID")
    seen.check("PersonalID", person, seen.clients, "Client.csv")
    return person


def _enrollment_of(values: dict[str, str], seen: _Seen, person: str) -> str:
    enrollment = _required(values, "EnrollmentID")
    seen.check("EnrollmentID", enrollment, seen.enrollments, "Enrollment.csv")
    if enrollment in seen.enrollments and seen.enrollments[enrollment] != person:
        raise FieldError("PersonalID", person, f"enrollment {enrollment} belongs to another client")
    return enrollment


def _enrollment(values: dict[str, str], seen: _Seen) -> tuple[Record, ...]:
    key = _required(values, "EnrollmentID")
    person = _client_of(values, seen)
    project = _required(values, "ProjectID")
    seen.check("ProjectID", project, seen.projects, "Project.csv")
    entry = parse_date("EntryDate", _required(values, "EntryDate"))
    record = EnrollmentIn(
        source_key=key,
        person_key=person,
        program_key=project,
        entry_date=entry,  # type: ignore[arg-type]
        move_in_date=parse_date("MoveInDate", values.get("MoveInDate")),
        household_id=text(values.get("HouseholdID")),
        living_situation=parse_int("LivingSituation", values.get("LivingSituation")),
    )
    seen.enrollments[key] = person
    return (record,)


def _exit(values: dict[str, str], seen: _Seen) -> tuple[Record, ...]:
    person = _client_of(values, seen)
    record = EnrollmentExitIn(
        source_key=_required(values, "ExitID"),
        enrollment_key=_enrollment_of(values, seen, person),
        person_key=person,
        exit_date=parse_date("ExitDate", _required(values, "ExitDate")),  # type: ignore[arg-type]
        destination=parse_int("Destination", values.get("Destination")),
    )
    return (record,)


def _service(values: dict[str, str], seen: _Seen) -> tuple[Record, ...]:
    person = _client_of(values, seen)
    record_type = _coded(values, "RecordType", RECORD_TYPES)
    record = ServiceIn(
        source_key=_required(values, "ServicesID"),
        person_key=person,
        enrollment_key=_enrollment_of(values, seen, person),
        provided_on=parse_date("DateProvided", _required(values, "DateProvided")),  # type: ignore[arg-type]
        service_kind=ServiceKind.BED_NIGHT if record_type == BED_NIGHT else ServiceKind.SERVICE,
        record_type=record_type,
        type_provided=parse_int("TypeProvided", values.get("TypeProvided")),
        description=text(values.get("OtherTypeProvided")),
    )
    return (record,)


def _outreach_contact(values: dict[str, str], seen: _Seen) -> tuple[Record, ...]:
    person = _client_of(values, seen)
    information_date = _required(values, "InformationDate")
    record = ServiceIn(
        source_key=OUTREACH_KEY_PREFIX + _required(values, "CurrentLivingSitID"),
        person_key=person,
        enrollment_key=_enrollment_of(values, seen, person),
        provided_on=parse_date("InformationDate", information_date),  # type: ignore[arg-type]
        service_kind=ServiceKind.OUTREACH_CONTACT,
        living_situation=parse_int(
            "CurrentLivingSituation", _required(values, "CurrentLivingSituation")
        ),
        description=text(values.get("LocationDetails")),
    )
    return (record,)


DELTA_REFRESH = 1
EXPORT_DIRECTIVES = {1: "delta refresh", 2: "full refresh", 3: "other"}
"""FY2024 Export.csv ``ExportDirective`` (HUD HMIS CSV Format Specifications)."""


def _export(values: dict[str, str], seen: _Seen) -> tuple[Record, ...]:
    _required(values, "ExportID")
    seen.delta = _coded(values, "ExportDirective", EXPORT_DIRECTIVES) == DELTA_REFRESH
    return ()


RowReader = Callable[[dict[str, str], _Seen], tuple[Record, ...]]
READERS: dict[str, tuple[RowReader, str, str | None, str]] = {
    "Export.csv": (_export, "ExportID", None, ""),
    "Organization.csv": (_organization, "OrganizationID", AgencyIn.kind, ""),
    "Project.csv": (_project, "ProjectID", ProgramIn.kind, ""),
    "Client.csv": (_client, "PersonalID", PersonRecordIn.kind, ""),
    "Enrollment.csv": (_enrollment, "EnrollmentID", EnrollmentIn.kind, ""),
    "Exit.csv": (_exit, "ExitID", EnrollmentExitIn.kind, ""),
    "Services.csv": (_service, "ServicesID", ServiceIn.kind, ""),
    "CurrentLivingSituation.csv": (
        _outreach_contact, "CurrentLivingSitID", ServiceIn.kind, OUTREACH_KEY_PREFIX,
    ),
}  # fmt: skip
"""File → (row reader, its id column (which later rows may refer to), the kind of record a
row becomes and the prefix of its key: what a deleted row retracts)."""


def _whole_file(path: Path, reason: str) -> Rejection:
    with path.open("r", encoding="utf-8", errors="backslashreplace", newline="") as handle:
        raw = handle.read(MAX_RAW_CHARS + 1)
    return Rejection(str(path), "file", reason, raw)


def _rows(path: Path, options: ReadOptions) -> Iterator[CsvRow | Rejection]:
    """The rows of one export file; when its header is unusable, every row is rejected."""
    try:
        rows = read_csv(path, encoding=options.encoding, required=REQUIRED_COLUMNS[path.name])
        first = next(rows, None)
    except SourceError as exc:
        yield from _reject_all(path, options, str(exc))
        return
    if first is not None:
        yield first
        yield from rows


def _reject_all(path: Path, options: ReadOptions, reason: str) -> Iterator[Rejection]:
    try:
        for row in read_csv(path, encoding=options.encoding):
            yield (
                Rejection(str(path), row.locator, reason, row.raw)
                if isinstance(row, CsvRow)
                else row
            )
    except SourceError:
        yield _whole_file(path, reason)


class HmisCsvAdapter:
    """Reads a HUD HMIS CSV export (FY2024) from its folder."""

    name: ClassVar[str] = "hmis-csv"
    description: ClassVar[str] = "HUD HMIS CSV export, FY2024 (a folder with Export.csv)"

    @classmethod
    def sniff(cls, path: Path, head: bytes) -> bool:
        """True for a folder holding ``Export.csv``."""
        return path.is_dir() and (path / "Export.csv").is_file()

    def default_source_name(self, path: Path) -> str:
        """Export.csv's ``SourceName``, else its ``SourceID``, else the folder's name."""
        folder = self._folder(path)
        try:
            for row in read_csv(folder / "Export.csv"):
                if isinstance(row, CsvRow):
                    name = text(row.values.get("SourceName")) or text(row.values.get("SourceID"))
                    if name:
                        return name
                break
        except (OSError, SourceError):
            pass
        return folder.name

    def read(self, path: Path, options: ReadOptions) -> Iterator[Item]:
        """Yield one item per row of each export file, in dependency order.

        Raises:
            SourceError: the folder holds no ``Export.csv``.
        """
        folder = self._folder(path)
        if not (folder / "Export.csv").is_file():
            raise SourceError(f"{folder}: not an HMIS CSV export (no Export.csv)")
        seen = _Seen()
        for name in FILE_ORDER:
            file_path = folder / name
            if file_path.is_file():
                yield from self._read_file(file_path, options, seen)

    @staticmethod
    def _folder(path: Path) -> Path:
        return path if path.is_dir() else path.parent

    @staticmethod
    def _read_file(path: Path, options: ReadOptions, seen: _Seen) -> Iterator[Item]:
        reader, id_column, kind, key_prefix = READERS[path.name]
        file = str(path)
        for row in _rows(path, options):
            if isinstance(row, Rejection):
                yield row
                continue
            try:
                deleted_on = parse_date("DateDeleted", row.values.get("DateDeleted"))
            except FieldError as exc:
                yield Rejection(file, row.locator, str(exc), row.raw)
                continue
            if deleted_on is not None:
                record_id = text(row.values.get(id_column))
                if record_id:
                    seen.deleted.setdefault(id_column, set()).add(record_id)
                if record_id and kind:
                    key = key_prefix + record_id
                    yield Retraction(file, row.locator, kind, key, deleted_on, row.raw)
                else:
                    reason = f"deleted in source ({deleted_on.isoformat()}) without its {id_column}"
                    yield Rejection(file, row.locator, reason, row.raw)
                continue
            try:
                records = reader(row.values, seen)
            except ValueError as exc:  # FieldError and pydantic's ValidationError
                yield Rejection(file, row.locator, str(exc), row.raw)
                continue
            yield SourceRow(file, row.locator, records)
