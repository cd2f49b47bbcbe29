"""Write canonical HMIS records as a HUD HMIS CSV export (FY2024) folder.

The reader is :mod:`corespond.sources.hmis`; ``docs/data-formats.md`` lists the files. Every file
the reader takes is written with the FY2024 header, ``Export.csv`` last of all (it states the
export's date range, known only at the end). Records may come in any order after the generator's
``AgencyIn`` and ``ProgramIn`` records; each goes straight to its file, so memory holds one open
handle per file and the date range, nothing else.

What does not survive a round trip:

- ``AgencyIn`` beyond key and name (read back as ``homeless_services``); ``ProgramIn`` beats,
  hours and a ``program_type`` that is no HMIS project type (written as 7, *other*); a program
  without ``agency_key`` is rejected on reading.
- Person fields Client.csv has no column for: aliases, phone, address, height, weight, hair,
  eyes, description. Race words other than the FY2024 list travel in
  ``AdditionalRaceEthnicity`` and read back after the listed ones; an ethnicity reads back as
  ``Hispanic/Latina/e/o`` or ``Not Hispanic/Latina/e/o`` (the latter only beside a race).
- Outreach contacts are keyed ``CLS/{CurrentLivingSitID}`` when read (the writer strips that
  prefix), need an ``enrollment_key`` and a ``living_situation``; other services need an
  ``enrollment_key``, read back as ``service`` or ``bed_night`` (RecordType 200), and a bed night
  without ``record_type`` is written and read with 200.
- ``data_category`` of every record (HMIS data is ``housing`` or ``identity`` by kind).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from contextlib import ExitStack
from datetime import date, datetime
from pathlib import Path
from typing import IO
from zoneinfo import ZoneInfo

from corespond.sources.hmis import (
    BED_NIGHT,
    FILE_ORDER,
    GENDER_FLAGS,
    HISPANIC,
    OUTREACH_KEY_PREFIX,
    PROJECT_TYPES,
    RACE_FLAGS,
    SEX_SEPARATOR,
)
from corespond.sources.records import (
    AgencyIn,
    EnrollmentExitIn,
    EnrollmentIn,
    PersonRecordIn,
    ProgramIn,
    Record,
    ServiceIn,
    ServiceKind,
)


def _columns(names: str) -> tuple[str, ...]:
    return tuple(names.split())


HEADERS: dict[str, tuple[str, ...]] = {
    "Export.csv": _columns(
        "ExportID SourceType SourceID SourceName SourceContactFirst SourceContactLast "
        "SourceContactPhone SourceContactExtension SourceContactEmail ExportDate "
        "ExportStartDate ExportEndDate SoftwareName SoftwareVersion CSVVersion ExportPeriodType "
        "ExportDirective HashStatus ImplementationID"
    ),
    "Organization.csv": _columns(
        "OrganizationID OrganizationName VictimServiceProvider OrganizationCommonName "
        "DateCreated DateUpdated UserID DateDeleted ExportID"
    ),
    "Project.csv": _columns(
        "ProjectID OrganizationID ProjectName ProjectCommonName OperatingStartDate "
        "OperatingEndDate ContinuumProject ProjectType HousingType RRHSubType "
        "ResidentialAffiliation TargetPopulation HOPWAMedAssistedLivingFac PITCount DateCreated "
        "DateUpdated UserID DateDeleted ExportID"
    ),
    "Client.csv": _columns(
        "PersonalID FirstName MiddleName LastName NameSuffix NameDataQuality SSN SSNDataQuality "
        "DOB DOBDataQuality AmIndAKNative Asian BlackAfAmerican HispanicLatinaeo "
        "MidEastNAfrican NativeHIPacific White RaceNone AdditionalRaceEthnicity Woman Man "
        "NonBinary CulturallySpecific Transgender Questioning DifferentIdentity GenderNone "
        "DifferentIdentityText VeteranStatus YearEnteredService YearSeparated WorldWarII "
        "KoreanWar VietnamWar DesertStorm AfghanistanOEF IraqOIF IraqOND OtherTheater "
        "MilitaryBranch DischargeStatus DateCreated DateUpdated UserID DateDeleted ExportID"
    ),
    "Enrollment.csv": _columns(
        "EnrollmentID PersonalID ProjectID EntryDate HouseholdID RelationshipToHoH "
        "EnrollmentCoC LivingSituation RentalSubsidyType LengthOfStay LOSUnderThreshold "
        "PreviousStreetESSH DateToStreetESSH TimesHomelessPastThreeYears "
        "MonthsHomelessPastThreeYears DisablingCondition DateOfEngagement MoveInDate "
        "DateOfPATHStatus ClientEnrolledInPATH ReasonNotEnrolled PercentAMI ReferralSource "
        "CountOutreachReferralApproaches DateOfBCPStatus EligibleForRHY ReasonNoServices "
        "RunawayYouth SexualOrientation SexualOrientationOther FormerWardChildWelfare "
        "ChildWelfareYears ChildWelfareMonths FormerWardJuvenileJustice JuvenileJusticeYears "
        "JuvenileJusticeMonths UnemploymentFam MentalHealthDisorderFam PhysicalDisabilityFam "
        "AlcoholDrugUseDisorderFam InsufficientIncome IncarceratedParent VAMCStation "
        "TargetScreenReqd TimeToHousingLoss AnnualPercentAMI LiteralHomelessHistory "
        "ClientLeaseholder HOHLeaseholder SubsidyAtRisk EvictionHistory CriminalRecord "
        "IncarceratedAdult PrisonDischarge SexOffender DisabledHoH CurrentPregnant SingleParent "
        "DependentUnder6 HH5Plus CoCPrioritized HPScreeningScore ThresholdScore "
        "TranslationNeeded PreferredLanguage PreferredLanguageDifferent DateCreated DateUpdated "
        "UserID DateDeleted ExportID"
    ),
    "Exit.csv": _columns(
        "ExitID EnrollmentID PersonalID ExitDate Destination DestinationSubsidyType "
        "OtherDestination HousingAssessment SubsidyInformation ProjectCompletionStatus "
        "EarlyExitReason ExchangeForSex ExchangeForSexPastThreeMonths CountOfExchangeForSex "
        "AskedOrForcedToExchangeForSex AskedOrForcedToExchangeForSexPastThreeMonths "
        "WorkPlaceViolenceThreats WorkplacePromiseDifference CoercedToContinueWork "
        "LaborExploitPastThreeMonths CounselingReceived IndividualCounseling FamilyCounseling "
        "GroupCounseling SessionCountAtExit PostExitCounselingPlan SessionsInPlan "
        "DestinationSafeClient DestinationSafeWorker PosAdultConnections PosPeerConnections "
        "PosCommunityConnections AftercareDate AftercareProvided EmailSocialMedia Telephone "
        "InPersonIndividual InPersonGroup CMExitReason DateCreated DateUpdated UserID "
        "DateDeleted ExportID"
    ),
    "Services.csv": _columns(
        "ServicesID EnrollmentID PersonalID DateProvided RecordType TypeProvided "
        "OtherTypeProvided MovingOnOtherType SubTypeProvided FAAmount FAStartDate FAEndDate "
        "ReferralOutcome DateCreated DateUpdated UserID DateDeleted ExportID"
    ),
    "CurrentLivingSituation.csv": _columns(
        "CurrentLivingSitID EnrollmentID PersonalID InformationDate CurrentLivingSituation "
        "CLSSubsidyType VerifiedBy LeaveSituation14Days SubsequentResidence ResourcesToObtain "
        "LeaseOwn60Day MovedTwoOrMore LocationDetails DateCreated DateUpdated UserID "
        "DateDeleted ExportID"
    ),
}
"""The FY2024 header of each file, as in HUD's sample export."""

PROJECT_TYPE_CODES = {name: code for code, name in reversed(PROJECT_TYPES.items())}
"""Program type name → the first ProjectType code with it (emergency_shelter → 0)."""
OTHER_PROJECT_TYPE = 7
RACE_COLUMNS = {word: column for column, word in RACE_FLAGS.items()}
GENDER_COLUMNS = {word: column for column, word in GENDER_FLAGS.items()}
NOT_COLLECTED = "99"
DECLINED = "8"
FULL = "1"
USER_ID = "corespond"
CSV_VERSION = "2024 v1.3"
FY2024_START = datetime(2024, 10, 1)
"""Audit timestamp of rows that carry no date of their own, unless ``exported_at`` is given."""


def _day(value: date | None) -> str:
    return value.isoformat() if value else ""


def _stamp(value: date | datetime) -> str:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return f"{value.isoformat()} 00:00:00"


def _number(value: int | None) -> str:
    return "" if value is None else str(value)


def _race_columns(person: PersonRecordIn) -> dict[str, str]:
    row = {column: "0" for column in RACE_FLAGS}
    additional = []
    for word in (person.race or "").split(SEX_SEPARATOR):
        word = word.strip()
        if word in RACE_COLUMNS:
            row[RACE_COLUMNS[word]] = "1"
        elif word:
            additional.append(word)
    ethnicity = (person.ethnicity or "").strip().lower()
    hispanic = ethnicity.startswith("hisp") or ethnicity == HISPANIC.lower()
    row["HispanicLatinaeo"] = "1" if hispanic else "0"
    row["AdditionalRaceEthnicity"] = SEX_SEPARATOR.join(additional)
    answered = hispanic or additional or "1" in row.values()
    row["RaceNone"] = "" if answered else NOT_COLLECTED
    return row


def _gender_columns(person: PersonRecordIn) -> dict[str, str]:
    row = {column: "0" for column in (*GENDER_FLAGS, "DifferentIdentity")}
    words = [w.strip() for w in (person.sex or "").split(SEX_SEPARATOR) if w.strip()]
    other = [w for w in words if w not in GENDER_COLUMNS and w != "unknown"]
    for word in words:
        if word in GENDER_COLUMNS:
            row[GENDER_COLUMNS[word]] = "1"
    if other:
        row["DifferentIdentity"] = "1"
        row["DifferentIdentityText"] = SEX_SEPARATOR.join(other)
    if words == ["unknown"]:
        row["GenderNone"] = DECLINED
    elif not words:
        row["GenderNone"] = NOT_COLLECTED
    return row


class _Export:
    """The open files of one export and the date range seen so far."""

    def __init__(self, out_dir: Path, stack: ExitStack, export_id: str, exported_at: datetime):
        self.export_id = export_id
        self.exported_at = exported_at
        self.first: date | None = None
        self.last: date | None = None
        self.writers: dict[str, csv.DictWriter[str]] = {}
        for name in FILE_ORDER[1:]:
            handle: IO[str] = stack.enter_context(
                (out_dir / name).open("w", encoding="utf-8", newline="")
            )
            writer = csv.DictWriter(handle, fieldnames=HEADERS[name], lineterminator="\r\n")
            writer.writeheader()
            self.writers[name] = writer

    def row(self, name: str, values: dict[str, str], on: date | None = None) -> None:
        if on is not None:
            self.first = on if self.first is None else min(self.first, on)
            self.last = on if self.last is None else max(self.last, on)
        stamp = _stamp(on or self.exported_at)
        audit = {"DateCreated": stamp, "DateUpdated": stamp, "UserID": USER_ID}
        self.writers[name].writerow({**audit, **values, "ExportID": self.export_id})


def _write_record(export: _Export, record: Record) -> None:
    if isinstance(record, AgencyIn):
        export.row(
            "Organization.csv",
            {
                "OrganizationID": record.source_key,
                "OrganizationName": record.name,
                "VictimServiceProvider": "0",
            },
        )
    elif isinstance(record, ProgramIn):
        code = record.hmis_project_type
        if code is None:
            code = PROJECT_TYPE_CODES.get(record.program_type, OTHER_PROJECT_TYPE)
        export.row(
            "Project.csv",
            {
                "ProjectID": record.source_key,
                "OrganizationID": record.agency_key or "",
                "ProjectName": record.name,
                "OperatingStartDate": _day(record.start_date),
                "OperatingEndDate": _day(record.end_date),
                "ContinuumProject": "1",
                "ProjectType": str(code),
            },
        )
    elif isinstance(record, PersonRecordIn):
        _write_client(export, record)
    elif isinstance(record, EnrollmentIn):
        export.row(
            "Enrollment.csv",
            {
                "EnrollmentID": record.source_key,
                "PersonalID": record.person_key,
                "ProjectID": record.program_key,
                "EntryDate": _day(record.entry_date),
                "HouseholdID": record.household_id or "",
                "LivingSituation": _number(record.living_situation),
                "MoveInDate": _day(record.move_in_date),
            },
            on=record.entry_date,
        )
    elif isinstance(record, EnrollmentExitIn):
        export.row(
            "Exit.csv",
            {
                "ExitID": record.source_key,
                "EnrollmentID": record.enrollment_key,
                "PersonalID": record.person_key,
                "ExitDate": _day(record.exit_date),
                "Destination": _number(record.destination),
            },
            on=record.exit_date,
        )
    elif isinstance(record, ServiceIn):
        _write_service(export, record)


def _write_client(export: _Export, person: PersonRecordIn) -> None:
    named = any((person.first_name, person.middle_name, person.last_name, person.suffix))
    export.row(
        "Client.csv",
        {
            "PersonalID": person.source_key,
            "FirstName": person.first_name or "",
            "MiddleName": person.middle_name or "",
            "LastName": person.last_name or "",
            "NameSuffix": person.suffix or "",
            "NameDataQuality": FULL if named else NOT_COLLECTED,
            "SSN": person.ssn or "",
            "SSNDataQuality": FULL if person.ssn else NOT_COLLECTED,
            "DOB": _day(person.dob),
            "DOBDataQuality": FULL if person.dob else NOT_COLLECTED,
            **_race_columns(person),
            **_gender_columns(person),
            "VeteranStatus": NOT_COLLECTED,
        },
    )


def _write_service(export: _Export, service: ServiceIn) -> None:
    if service.service_kind == ServiceKind.OUTREACH_CONTACT:
        export.row(
            "CurrentLivingSituation.csv",
            {
                "CurrentLivingSitID": service.source_key.removeprefix(OUTREACH_KEY_PREFIX),
                "EnrollmentID": service.enrollment_key or "",
                "PersonalID": service.person_key,
                "InformationDate": _day(service.provided_on),
                "CurrentLivingSituation": _number(service.living_situation),
                "LocationDetails": service.description or "",
            },
            on=service.provided_on,
        )
        return
    record_type = service.record_type
    if record_type is None and service.service_kind == ServiceKind.BED_NIGHT:
        record_type = BED_NIGHT
    export.row(
        "Services.csv",
        {
            "ServicesID": service.source_key,
            "EnrollmentID": service.enrollment_key or "",
            "PersonalID": service.person_key,
            "DateProvided": _day(service.provided_on),
            "RecordType": _number(record_type),
            "TypeProvided": _number(service.type_provided),
            "OtherTypeProvided": service.description or "",
        },
        on=service.provided_on,
    )


def write(
    records: Iterable[Record],
    out_dir: Path,
    *,
    timezone: ZoneInfo,
    source_name: str = "corespond demo HMIS",
    export_id: str = "corespond-demo",
    exported_at: datetime | None = None,
) -> list[Path]:
    """Write HMIS records as an FY2024 HMIS CSV export folder and return the files written.

    Args:
        records: ``AgencyIn`` and ``ProgramIn`` first, then people, enrollments, exits and
            services in any order; other kinds are skipped.
        out_dir: the export folder (created if missing).
        timezone: zone of ``exported_at`` when it carries an offset; HMIS CSV holds local dates
            and wall-clock timestamps only.
        source_name: ``Export.csv`` SourceName and SourceID, the reader's default source name.
        export_id: ``ExportID`` on every row.
        exported_at: the export's timestamp, and the audit timestamp of rows with no date of
            their own; by default 2024-10-01, so that the output is reproducible.

    Example:
        >>> write([], Path("hmis"), timezone=ZoneInfo("UTC"))  # doctest: +SKIP
        [PosixPath('hmis/Export.csv'), PosixPath('hmis/Organization.csv'), ...]
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = exported_at or FY2024_START
    if stamp.tzinfo is not None:
        stamp = stamp.astimezone(timezone).replace(tzinfo=None)
    with ExitStack() as stack:
        export = _Export(out_dir, stack, export_id, stamp)
        for record in records:
            _write_record(export, record)
    with (out_dir / "Export.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=HEADERS["Export.csv"], lineterminator="\r\n")
        writer.writeheader()
        writer.writerow(
            {
                "ExportID": export_id,
                "SourceType": "1",  # a CoC's HMIS
                "SourceID": source_name,
                "SourceName": source_name,
                "ExportDate": _stamp(stamp),
                "ExportStartDate": _day(export.first or stamp.date()),
                "ExportEndDate": _day(export.last or stamp.date()),
                "SoftwareName": "corespond",
                "SoftwareVersion": "1",
                "CSVVersion": CSV_VERSION,
                "ExportPeriodType": "3",  # reporting period
                "ExportDirective": "2",  # full refresh
                "HashStatus": "1",  # unhashed
            }
        )
    return [out_dir / name for name in FILE_ORDER]
