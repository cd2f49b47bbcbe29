"""FHIR R4 NDJSON reader and writer: round trip, Part 2 labels, bad input, fuzzing."""

from __future__ import annotations

import json
import tempfile
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from corespond.demo.exports import fhir as fhir_export
from corespond.sources.base import ReadOptions, Rejection, SourceRow
from corespond.sources.fhir import (
    CDC_RACE_ETHNICITY,
    NULL_FLAVOR,
    US_CORE_ETHNICITY,
    US_CORE_RACE,
    FhirNdjsonAdapter,
)
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

TZ = ZoneInfo("America/Los_Angeles")
OPTIONS = ReadOptions(timezone=TZ)
PART2 = DataCategory.SUBSTANCE_USE_PART2


def read(path: Path) -> list[SourceRow | Rejection]:
    return list(FhirNdjsonAdapter().read(path, OPTIONS))


def records_of(items: list[SourceRow | Rejection]) -> list[Record]:
    return [record for item in items if isinstance(item, SourceRow) for record in item.records]


def synthetic_records() -> list[Record]:
    """Invented people and their care, consents included; encounters before their patients."""
    return [
        HospitalEncounterIn(
            source_key="enc-1",
            person_key="pat-1",
            encounter_kind=HospitalEncounterKind.ER_VISIT,
            started_at=datetime(2025, 6, 1, 22, 15, tzinfo=TZ),
            ended_at=datetime(2025, 6, 2, 3, 0, tzinfo=TZ),
            reason="Suicidal ideation",
            discharge_disposition="psy",
            facility="Riverbend General",
        ),
        PersonRecordIn(
            source_key="pat-1",
            first_name="Ada",
            middle_name="Wren",
            last_name="Quill",
            aliases=(NameIn(first_name="Addie", last_name="Quill"),),
            dob=date(1980, 2, 3),
            sex="female",
            race="black; white",
            ethnicity="hispanic",
            phone="2065550101",
            ssn="123-45-6789",
            address=AddressIn(street="12 Elm St", unit="Apt 3", city="Riverbend", zip="98101"),
        ),
        PersonRecordIn(
            source_key="pat-2",
            first_name="Bram",
            last_name="Oakhollow",
            race="Middle Eastern or North African",
            ethnicity="not_hispanic",
            data_category=PART2,
        ),
        HospitalEncounterIn(
            source_key="enc-2",
            person_key="pat-1",
            encounter_kind=HospitalEncounterKind.INPATIENT,
            started_at=datetime(2025, 6, 2, 3, 0, tzinfo=TZ),
            discharge_disposition="Left with a friend",
        ),
        TreatmentEncounterIn(
            source_key="enc-3",
            person_key="pat-2",
            started_at=datetime(2025, 6, 5, 10, 0, tzinfo=TZ),
            ended_at=datetime(2025, 6, 5, 11, 0, tzinfo=TZ),
            status="finished",
            encounter_class="AMB",
            encounter_type="Opioid treatment program visit",
            reason="Opioid use disorder",
            part2=True,
            data_category=PART2,
            provider="Riverbend Recovery OTP",
        ),
        ConditionIn(
            source_key="cond-1",
            person_key="pat-2",
            code="F11.20",
            code_system="http://hl7.org/fhir/sid/icd-10-cm",
            display="Opioid dependence, uncomplicated",
            clinical_status="active",
            onset=date(2023, 1, 1),
            recorded_on=date(2025, 6, 5),
            part2=True,
            data_category=PART2,
        ),
        ConditionIn(source_key="cond-2", person_key="pat-1", display="Depression"),
        ConsentIn(
            source_key="consent-1",
            person_key="pat-2",
            status=ConsentStatus.ACTIVE,
            decision=ConsentDecision.PERMIT,
            recipient="Riverbend CARE team",
            purposes=("treatment", "care_coordination"),
            categories=(DataCategory.SUBSTANCE_USE_PART2, DataCategory.BEHAVIORAL_HEALTH),
            period_start=date(2025, 6, 5),
            period_end=date(2026, 6, 5),
            signed_on=date(2025, 6, 5),
            part2=True,
            data_category=PART2,
            details="Patient Bram Oakhollow authorizes Riverbend Recovery OTP to disclose...",
        ),
        ConsentIn(
            source_key="consent-2",
            person_key="pat-1",
            status=ConsentStatus.ENTERED_IN_ERROR,
            decision=ConsentDecision.DENY,
        ),
    ]


def write_valid(folder: Path) -> list[Path]:
    return fhir_export.write(synthetic_records(), folder, timezone=TZ)


def one_file(tmp_path: Path, lines: list[str | bytes]) -> Path:
    path = tmp_path / "Mixed.ndjson"
    path.write_bytes(b"\n".join(x.encode() if isinstance(x, str) else x for x in lines) + b"\n")
    return path


PATIENT = {
    "resourceType": "Patient",
    "id": "p9",
    "name": [{"family": "Marrowby", "given": ["Cleo"]}],
}


def with_(resource: dict[str, object], **changes: object) -> str:
    return json.dumps({**resource, **changes})


# --- round trip -----------------------------------------------------------------------------


def test_round_trip(tmp_path: Path) -> None:
    files = write_valid(tmp_path)
    assert [f.name for f in files] == [
        "Encounter.ndjson",
        "Patient.ndjson",
        "Condition.ndjson",
        "Consent.ndjson",
    ]
    items = read(tmp_path)
    assert all(isinstance(item, SourceRow) for item in items)
    by_key = {r.source_key: r for r in synthetic_records()}
    read_back = records_of(items)
    assert {r.source_key: r for r in read_back} == by_key
    # A folder is read patients first, whatever order the files were written in.
    assert [type(r).__name__ for r in read_back][:2] == ["PersonRecordIn", "PersonRecordIn"]


def test_part2_label_sets_category(tmp_path: Path) -> None:
    write_valid(tmp_path)
    records = {r.source_key: r for r in records_of(read(tmp_path))}
    treatment = records["enc-3"]
    assert isinstance(treatment, TreatmentEncounterIn)
    assert treatment.part2 and treatment.category == PART2
    assert records["enc-1"].category == DataCategory.HEALTH
    consent = records["consent-1"]
    assert isinstance(consent, ConsentIn) and consent.part2


def test_sniff(tmp_path: Path) -> None:
    write_valid(tmp_path)
    patients = tmp_path / "Patient.ndjson"
    assert FhirNdjsonAdapter.sniff(patients, patients.read_bytes())
    assert FhirNdjsonAdapter.sniff(tmp_path, b"")
    assert not FhirNdjsonAdapter.sniff(Path("x.json"), b'{"eidoVersion": "1"}\n')


# --- US Core race and ethnicity --------------------------------------------------------------


def omb(
    code: str, system: str = CDC_RACE_ETHNICITY, slice_: str = "ombCategory"
) -> dict[str, object]:
    return {"url": slice_, "valueCoding": {"system": system, "code": code}}


def coding(code: str, display: str) -> dict[str, str]:
    return {"system": CDC_RACE_ETHNICITY, "code": code, "display": display}


def us_core(*parts: dict[str, object], url: str = US_CORE_RACE) -> dict[str, object]:
    return {"url": url, "extension": list(parts)}


def text(value: str) -> dict[str, object]:
    return {"url": "text", "valueString": value}


def read_patient(tmp_path: Path, *extensions: dict[str, object]) -> PersonRecordIn:
    (item,) = read(one_file(tmp_path, [with_(PATIENT, extension=list(extensions))]))
    assert isinstance(item, SourceRow), item
    (person,) = item.records
    assert isinstance(person, PersonRecordIn)
    return person


def test_writer_emits_us_core_race_and_ethnicity(tmp_path: Path) -> None:
    write_valid(tmp_path)
    lines = (tmp_path / "Patient.ndjson").read_text(encoding="utf-8").splitlines()
    ada, bram = (json.loads(line) for line in lines)
    extensions = {extension["url"]: extension["extension"] for extension in ada["extension"]}
    assert extensions[US_CORE_RACE] == [
        {"url": "ombCategory", "valueCoding": coding("2054-5", "Black or African American")},
        {"url": "ombCategory", "valueCoding": coding("2106-3", "White")},
        text("Black or African American, White"),
    ]
    assert extensions[US_CORE_ETHNICITY][0]["valueCoding"]["code"] == "2135-2"
    assert extensions[US_CORE_ETHNICITY][-1] == text("Hispanic or Latino")
    # A word with no OMB category travels as text alone; the ethnicity beside it is still coded.
    (bram_race, bram_ethnicity) = bram["extension"]
    assert bram_race == us_core(text("Middle Eastern or North African"))
    assert bram_ethnicity["extension"][0]["valueCoding"]["code"] == "2186-5"


@pytest.mark.parametrize(
    ("person_race", "person_ethnicity", "read_race", "read_ethnicity"),
    [
        ("white", "not_hispanic", "white", "not_hispanic"),
        (
            "asian; pacific_islander; american_indian",
            None,
            "asian; pacific_islander; american_indian",
            None,
        ),
        ("unknown", "unknown", "unknown", "unknown"),
        ("white; unknown", None, "white", None),  # US Core: no UNK beside a category
        (
            "white; Middle Eastern or North African",
            None,
            "white; Middle Eastern or North African",
            None,
        ),
        ("White", "Hispanic/Latina/e/o", "White", "Hispanic/Latina/e/o"),  # HMIS words: as given
        (None, "hispanic; not_hispanic", None, "hispanic; not_hispanic"),  # two: text, as given
    ],
)
def test_race_and_ethnicity_round_trip(
    tmp_path: Path,
    person_race: str | None,
    person_ethnicity: str | None,
    read_race: str | None,
    read_ethnicity: str | None,
) -> None:
    person = PersonRecordIn(
        source_key="pat-9", last_name="Marrowby", race=person_race, ethnicity=person_ethnicity
    )
    fhir_export.write([person], tmp_path, timezone=TZ)
    (item,) = read(tmp_path)
    assert isinstance(item, SourceRow)
    (back,) = item.records
    assert isinstance(back, PersonRecordIn)
    assert (back.race, back.ethnicity) == (read_race, read_ethnicity)


@pytest.mark.parametrize(
    ("extensions", "read_race", "read_ethnicity"),
    [
        ([us_core(omb("2106-3"), omb("2028-9"), text("White and Asian"))], "white; asian", None),
        ([us_core(omb("2135-2"), text("Hispanic"), url=US_CORE_ETHNICITY)], None, "hispanic"),
        ([us_core(text("Mixed"))], "Mixed", None),
        ([us_core(omb("2106-3"), omb("2108-9", slice_="detail"), text("European"))], "white", None),
        ([us_core(omb("UNK", NULL_FLAVOR), text("Unknown"))], "unknown", None),
        ([us_core(omb("ASKU", NULL_FLAVOR), text("Declined"))], "unknown", None),
        (
            [us_core(omb("ASKU", NULL_FLAVOR), text("Declined"), url=US_CORE_ETHNICITY)],
            None,
            "unknown",
        ),
        ([us_core(omb("2054-5"), omb("UNK", NULL_FLAVOR), text("Black"))], "black", None),
        # A code this reader does not know: the text says what it is.
        ([us_core(omb("2106-3"), omb("9999-9"), text("White, Other"))], "White, Other", None),
        (
            [us_core(omb("2106-3", "http://example.org/races"), text("Local white"))],
            "Local white",
            None,
        ),
        # ...and with no text (US Core requires one), the codings as given.
        ([us_core(omb("9999-9"))], "9999-9", None),
        (
            [us_core({"url": "ombCategory", "valueCoding": {"code": "X1", "display": "Other"}})],
            "Other",
            None,
        ),
        ([us_core(text("   "))], None, None),
        ([{"url": "http://example.org/other", "valueString": "ignored"}], None, None),
    ],
)
def test_reader_reads_us_core_race_and_ethnicity(
    tmp_path: Path,
    extensions: list[dict[str, object]],
    read_race: str | None,
    read_ethnicity: str | None,
) -> None:
    person = read_patient(tmp_path, *extensions)
    assert (person.race, person.ethnicity) == (read_race, read_ethnicity)


@pytest.mark.parametrize(
    ("extension", "reason"),
    [
        (
            us_core({"url": "ombCategory"}, text("White")),
            "extension[us-core-race].ombCategory.valueCoding: missing, or no code",
        ),
        (
            us_core({"url": "ombCategory", "valueCoding": {"system": CDC_RACE_ETHNICITY}}),
            "extension[us-core-race].ombCategory.valueCoding: missing, or no code",
        ),
        (
            us_core({"url": "detail", "valueCoding": "2108-9"}, text("European")),
            "extension[us-core-race].detail.valueCoding: expected a JSON object",
        ),
        (
            us_core({"url": "text", "valueString": 5}),
            "extension[us-core-race].text.valueString: expected a string",
        ),
        ({"url": US_CORE_RACE, "extension": {"url": "text"}}, "expected a JSON array"),
        (
            us_core(omb("2135-2"), omb("2186-5"), text("Both"), url=US_CORE_ETHNICITY),
            "extension[us-core-ethnicity].ombCategory: US Core allows at most 1",
        ),
    ],
)
def test_malformed_race_or_ethnicity_rejects_the_patient(
    tmp_path: Path, extension: dict[str, object], reason: str
) -> None:
    line = with_(PATIENT, extension=[extension])
    items = read(one_file(tmp_path, [line, with_(PATIENT, id="p10")]))
    assert [type(item) for item in items] == [Rejection, SourceRow]
    rejection = items[0]
    assert isinstance(rejection, Rejection)
    assert reason in rejection.reason
    assert rejection.raw == line


# --- bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ('{"resourceType": "Patient", "id": "p1"', "malformed JSON"),
        ("[1, 2]", "not a JSON object"),
        ('{"id": "p1"}', "missing resourceType"),
        ('{"resourceType": "Observation", "id": "o1"}', "unsupported resource type Observation"),
        (with_(PATIENT, birthDate="2020-02-30"), "birthDate: not a date"),
        (with_(PATIENT, birthDate="1850-01-01"), "birthDate: year out of range"),
        (with_(PATIENT, gender="dragon"), "gender: unknown code; expected one of male"),
        (with_(PATIENT, name=5), "name: expected a JSON array"),
        (with_(PATIENT, id=None), "id: missing required field"),
        (
            '{"resourceType": "Encounter", "id": "e1", "class": {"code": "EMER"},'
            ' "period": {"start": "2025-06-01T10:00:00Z"}}',
            "subject.reference: missing required field",
        ),
        (
            '{"resourceType": "Encounter", "id": "e1", "subject": {"reference": "Patient/p9"}}',
            "period.start: missing required field",
        ),
        (
            '{"resourceType": "Consent", "id": "c1", "status": "draft",'
            ' "patient": {"reference": "Patient/p9"}}',
            "status: unknown or missing code",
        ),
        (
            '{"resourceType": "Consent", "id": "c1", "status": "active",'
            ' "patient": {"reference": "Patient/p9"}, "provision": {"purpose": [{"system":'
            ' "http://terminology.hl7.org/CodeSystem/v3-ActReason", "code": "MARKET"}]}}',
            "provision.purpose: unknown code; expected one of ETREAT, TREAT",
        ),
        (
            '{"resourceType": "Condition", "id": "c1", "subject": {"reference": "Group/g1"}}',
            "expected Patient/{id}",
        ),
    ],
)
def test_bad_line_is_rejected_and_the_rest_read(tmp_path: Path, line: str, reason: str) -> None:
    items = read(one_file(tmp_path, [json.dumps(PATIENT), line, with_(PATIENT, id="p10")]))
    assert [type(item) for item in items] == [SourceRow, Rejection, SourceRow]
    rejection = items[1]
    assert isinstance(rejection, Rejection)
    assert rejection.locator == "line 2"
    assert reason in rejection.reason
    assert rejection.raw == line


def test_bad_encoding_is_rejected(tmp_path: Path) -> None:
    bad = json.dumps(PATIENT).encode().replace(b"Cleo", b"Cl\xe9o")
    items = read(one_file(tmp_path, [bad, json.dumps(PATIENT)]))
    assert [type(item) for item in items] == [Rejection, SourceRow]
    assert isinstance(items[0], Rejection)
    assert "not valid utf-8-sig text" in items[0].reason
    assert "\\xe9" in items[0].raw


def test_partial_birth_date_reads_as_unknown(tmp_path: Path) -> None:
    (item,) = read(one_file(tmp_path, [with_(PATIENT, birthDate="1980-02")]))
    assert isinstance(item, SourceRow)
    (person,) = item.records
    assert isinstance(person, PersonRecordIn) and person.dob is None


def test_deeply_nested_json_is_rejected(tmp_path: Path) -> None:
    (item,) = read(one_file(tmp_path, ["[" * 100_000 + "]" * 100_000]))
    assert isinstance(item, Rejection)


# --- fuzzing --------------------------------------------------------------------------------


def valid_bytes() -> bytes:
    with tempfile.TemporaryDirectory() as folder:
        return b"".join(path.read_bytes() for path in write_valid(Path(folder)))


VALID = valid_bytes()


def expected_items(data: bytes) -> int:
    """Lines the reader must account for: every line that is not blank."""
    count = 0
    for line in data.split(b"\n"):
        try:
            text = line.decode("utf-8-sig")
        except UnicodeDecodeError:
            count += 1
            continue
        count += bool(text.strip().removeprefix("\ufeff"))
    return count


def check_accounted(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "fuzz.ndjson"
        path.write_bytes(data)
        items = read(path)
    assert all(isinstance(item, SourceRow | Rejection) for item in items)
    assert len(items) == expected_items(data)


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=2000))
def test_fuzz_random_bytes(data: bytes) -> None:
    check_accounted(data)


@settings(max_examples=60, deadline=None)
@given(st.integers(0, len(VALID)))
def test_fuzz_truncation(cut: int) -> None:
    check_accounted(VALID[:cut])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, len(VALID) - 1), st.integers(0, 255)), max_size=4))
def test_fuzz_byte_flips(flips: list[tuple[int, int]]) -> None:
    data = bytearray(VALID)
    for position, value in flips:
        data[position] = value
    check_accounted(bytes(data))
