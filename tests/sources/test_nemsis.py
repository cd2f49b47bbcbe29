"""NEMSIS v3.5 reader and writer: official samples, round trip, bad input, fuzzing."""

from __future__ import annotations

import tempfile
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree
from tests.conftest import SHARED_REFERENCE

from corespond.demo.exports import nemsis as nemsis_export
from corespond.sources.base import ReadOptions, Rejection, SourceRow
from corespond.sources.nemsis import NemsisAdapter
from corespond.sources.records import AddressIn, EmsRunIn, PersonRecordIn, PlaceIn, Record

SAMPLES = SHARED_REFERENCE / "nemsis"
XSD = SAMPLES / "xsd" / "EMSDataSet_v3.xsd"
TZ = ZoneInfo("America/Los_Angeles")
OPTIONS = ReadOptions(timezone=TZ)


def read(path: Path) -> list[SourceRow | Rejection]:
    return list(NemsisAdapter().read(path, OPTIONS))


def synthetic_records() -> list[Record]:
    """Three runs across two months, written out of month order; synthetic people only."""
    ada = PersonRecordIn(
        source_key="PCR-1/patient",
        first_name="Ada",
        middle_name="Wren",
        last_name="Quill",
        dob=date(1980, 2, 3),
        sex="female",
        phone="2065550101",
        address=AddressIn(street="12 Elm St", city="Riverbend", state="WA", zip="98101"),
    )
    run_1 = EmsRunIn(
        source_key="PCR-1",
        person_key="PCR-1/patient",
        call_key="CAD-100",
        unit_call_sign="M12",
        psap_call_at=datetime(2025, 6, 30, 23, 50, tzinfo=TZ),
        dispatched_at=datetime(2025, 6, 30, 23, 51, 5, tzinfo=TZ),
        en_route_at=datetime(2025, 6, 30, 23, 52, tzinfo=TZ),
        at_scene_at=datetime(2025, 7, 1, 0, 2, tzinfo=TZ),
        left_scene_at=datetime(2025, 7, 1, 0, 20, tzinfo=TZ),
        at_destination_at=datetime(2025, 7, 1, 0, 35, tzinfo=TZ),
        in_service_at=datetime(2025, 7, 1, 1, 0, tzinfo=TZ),
        primary_impression="F19.10",
        unit_disposition="4227001",
        patient_evaluation="4228001",
        transport_disposition="4230001",
        transported=True,
        destination_type="4221031",
        destination_name="Riverbend Crisis Center",
        place=PlaceIn(
            street="1XX Block of Elm St", city="Riverbend", latitude=47.6, longitude=-122.3
        ),
    )
    run_2 = EmsRunIn(
        source_key="PCR-2",
        call_key="CAD-200",
        psap_call_at=datetime(2025, 7, 3, 8, 0, tzinfo=TZ),
        unit_disposition="4227005",
    )
    bram = PersonRecordIn(
        source_key="PCR-3/patient", first_name="Bram", last_name="Oakhollow", sex="male"
    )
    run_3 = EmsRunIn(
        source_key="PCR-3",
        person_key="PCR-3/patient",
        psap_call_at=datetime(2025, 6, 2, 14, 0, tzinfo=TZ),
        patient_evaluation="4228009",
        transport_disposition="4230009",
        transported=False,
    )
    return [ada, run_1, run_2, bram, run_3]


def write_valid(out_dir: Path) -> list[Path]:
    return nemsis_export.write(synthetic_records(), out_dir, timezone=TZ)


def records_of(items: list[SourceRow | Rejection]) -> list[Record]:
    return [record for item in items if isinstance(item, SourceRow) for record in item.records]


# --- official samples -----------------------------------------------------------------------


def test_official_samples_import_without_rejection() -> None:
    items = read(SAMPLES)
    assert len(items) == 2
    assert all(isinstance(item, SourceRow) for item in items)
    runs = {r.source_key: r for r in records_of(items) if isinstance(r, EmsRunIn)}
    overdose = runs["2025-EMS-1-Overdose_v351"]
    assert overdose.call_key == "351-24.46512"
    assert overdose.unit_call_sign == "DF A1"
    assert overdose.transported is True
    assert overdose.destination_type == "4221039"
    assert overdose.person_key == "2025-EMS-1-Overdose_v351/patient"
    assert overdose.psap_call_at == datetime.fromisoformat("2024-10-07T20:20:00-04:00")
    suicide = runs["2025-EMS-2-Suicide_v351"]
    assert suicide.transported is False
    assert suicide.at_destination_at is None  # xsi:nil NV="7701001" reads as missing
    assert suicide.destination_name is None


def test_official_sample_nil_patient_address_is_missing() -> None:
    items = read(SAMPLES / "2025-EMS-1-Overdose_v351.xml")
    person = next(r for r in records_of(items) if isinstance(r, PersonRecordIn))
    assert person.address is not None and person.address.street is None  # PN="8801023"
    assert person.dob == date(1979, 4, 8)
    assert person.sex == "female"


def test_sniff_and_source_name() -> None:
    sample = SAMPLES / "2025-EMS-1-Overdose_v351.xml"
    assert NemsisAdapter.sniff(sample, sample.read_bytes()[:4096])
    assert NemsisAdapter.sniff(SAMPLES, b"")
    assert not NemsisAdapter.sniff(Path("x.xml"), b"<?xml version='1.0'?><Other/>")
    assert NemsisAdapter().default_source_name(sample) == "NEMSIS 351-C034P2"


# --- round trip -----------------------------------------------------------------------------


def without_city(record: Record) -> Record:
    """What the reader gives back: NEMSIS carries a city only as a GNIS code."""
    if isinstance(record, PersonRecordIn) and record.address:
        return record.model_copy(
            update={"address": record.address.model_copy(update={"city": None})}
        )
    if isinstance(record, EmsRunIn) and record.place:
        return record.model_copy(update={"place": record.place.model_copy(update={"city": None})})
    return record


def test_round_trip(tmp_path: Path) -> None:
    files = write_valid(tmp_path)
    assert [f.name for f in files] == ["pcr-2025-06.xml", "pcr-2025-07.xml"]
    items = read(tmp_path)
    assert all(isinstance(item, SourceRow) for item in items)
    assert sorted(records_of(items), key=lambda r: r.source_key) == sorted(
        map(without_city, synthetic_records()), key=lambda r: r.source_key
    )


def test_writer_output_is_well_formed_nemsis(tmp_path: Path) -> None:
    for path in write_valid(tmp_path):
        root = etree.parse(str(path)).getroot()
        assert root.tag == "{http://www.nemsis.org}EMSDataSet"


@pytest.fixture(scope="module")
def schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(XSD)))


def test_official_samples_are_schema_valid(schema: etree.XMLSchema) -> None:
    for path in sorted(SAMPLES.glob("*.xml")):
        assert schema.validate(etree.parse(str(path))), (path.name, schema.error_log)


def test_writer_output_is_schema_valid(tmp_path: Path, schema: etree.XMLSchema) -> None:
    """A run with every Mandatory value (dispatch and in-service times, call sign, unit
    disposition): everything else it lacks is written as a NOT value."""
    ada, run_1, _, bram, run_3 = synthetic_records()
    assert isinstance(run_3, EmsRunIn)
    complete_3 = run_3.model_copy(
        update={
            "unit_call_sign": "M7",
            "dispatched_at": datetime(2025, 6, 2, 14, 1, tzinfo=TZ),
            "in_service_at": datetime(2025, 6, 2, 14, 40, tzinfo=TZ),
            "unit_disposition": "4227001",
        }
    )
    records = [ada, run_1, bram, complete_3]
    files = nemsis_export.write(records, tmp_path, timezone=TZ)
    for path in files:
        assert schema.validate(etree.parse(str(path))), (path.name, schema.error_log)
    items = read(tmp_path)
    assert all(isinstance(item, SourceRow) for item in items)
    assert {r.source_key for r in records_of(items)} == {r.source_key for r in records}


def test_values_are_written_in_nemsis_forms(tmp_path: Path, schema: etree.XMLSchema) -> None:
    ada, run_1 = synthetic_records()[:2]
    assert isinstance(ada, PersonRecordIn) and isinstance(run_1, EmsRunIn)
    assert ada.address is not None and run_1.place is not None
    patient = ada.model_copy(
        update={
            "ssn": "123-45-6789",
            "address": ada.address.model_copy(update={"state": "OR", "city": "Riverbend"}),
        }
    )
    fall = run_1.model_copy(
        update={
            "primary_impression": "W19.XXXA",  # an external cause: not an impression in NEMSIS
            "place": run_1.place.model_copy(update={"latitude": 45.123456789, "state": "OR"}),
            "transport_disposition": "4230013",
            "transported": False,
            "destination_type": None,
            "destination_name": None,
        }
    )
    (path,) = nemsis_export.write([patient, fall], tmp_path, timezone=TZ)
    text = path.read_text(encoding="utf-8")
    assert schema.validate(etree.parse(str(path))), schema.error_log
    assert "<ePatient.08>41</ePatient.08>" in text
    assert "<eScene.18>41</eScene.18>" in text
    assert "<ePatient.12>123456789</ePatient.12>" in text
    assert "<ePatient.18>206-555-0101</ePatient.18>" in text
    assert "<eScene.11>45.123457,-122.3</eScene.11>" in text
    assert "ePatient.06" not in text and "eScene.17" not in text  # a city is a GNIS code
    assert '<eSituation.11 xsi:nil="true" NV="7701003"/>' in text
    assert '<eDisposition.21 xsi:nil="true" NV="7701001"/>' in text  # not transported
    person, run = records_of(read(path))
    assert isinstance(person, PersonRecordIn) and isinstance(run, EmsRunIn)
    assert person.address is not None and person.address.state == "OR"
    assert person.ssn == "123456789" and person.phone == "2065550101"
    assert run.place is not None and run.place.state == "OR"
    assert run.place.latitude == 45.123457
    assert run.primary_impression is None


def test_official_sample_states_read_as_usps_abbreviations() -> None:
    items = read(SAMPLES / "2025-EMS-2-Suicide_v351.xml")
    person, run = records_of(items)
    assert isinstance(person, PersonRecordIn) and isinstance(run, EmsRunIn)
    assert person.address is not None and person.address.state == "CT"  # ANSI 09
    assert run.place is not None and run.place.state == "CT"


# --- bad input ------------------------------------------------------------------------------


def same_month_records() -> list[Record]:
    """Runs PCR-1 (with its patient) and PCR-2, both in June 2025: one file."""
    ada, run_1, run_2 = synthetic_records()[:3]
    assert isinstance(run_2, EmsRunIn)
    june = datetime(2025, 6, 30, 23, 55, tzinfo=TZ)
    return [ada, run_1, run_2.model_copy(update={"psap_call_at": june})]


def two_reports(tmp_path: Path) -> str:
    """The text of a file with runs PCR-1 and PCR-2."""
    (path,) = nemsis_export.write(same_month_records(), tmp_path / "src", timezone=TZ)
    return path.read_text(encoding="utf-8")


def one_file(tmp_path: Path, text: str | bytes) -> Path:
    path = tmp_path / "bad.xml"
    path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    return path


def test_truncated_file_keeps_reports_read_so_far(tmp_path: Path) -> None:
    text = two_reports(tmp_path)
    cut = text.index("<eResponse.03>CAD-200")
    items = read(one_file(tmp_path, text[:cut]))
    assert [type(item) for item in items] == [SourceRow, Rejection]
    rejection = items[1]
    assert isinstance(rejection, Rejection)
    assert rejection.locator == "PatientCareReport 2 onwards"
    assert "malformed XML" in rejection.reason
    assert rejection.raw.lstrip().startswith("<PatientCareReport")


def test_bad_encoding_rejects_the_rest(tmp_path: Path) -> None:
    text = two_reports(tmp_path)
    data = text.encode("utf-8").replace(b"CAD-200", b"CAD-\xff\xfe0")
    items = read(one_file(tmp_path, data))
    assert isinstance(items[0], SourceRow)
    assert isinstance(items[-1], Rejection)
    assert "malformed XML" in items[-1].reason


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE EMSDataSet [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<EMSDataSet xmlns="http://www.nemsis.org"><Header><PatientCareReport>
<eRecord><eRecord.01>&lol9;</eRecord.01></eRecord></PatientCareReport></Header></EMSDataSet>
"""

EXTERNAL_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE EMSDataSet [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<EMSDataSet xmlns="http://www.nemsis.org"><Header><PatientCareReport>
<eRecord><eRecord.01>&secret;</eRecord.01></eRecord></PatientCareReport></Header></EMSDataSet>
"""


@pytest.mark.parametrize("document", [BILLION_LAUGHS, EXTERNAL_ENTITY], ids=["bomb", "xxe"])
def test_entity_attacks_are_rejected_unexpanded(tmp_path: Path, document: str) -> None:
    items = read(one_file(tmp_path, document))
    assert len(items) == 1
    (rejection,) = items
    assert isinstance(rejection, Rejection)
    assert "DOCTYPE" in rejection.reason
    assert "lollollol" not in rejection.raw
    assert "root:" not in rejection.raw


@pytest.mark.parametrize(
    ("old", "new", "reason"),
    [
        ("<eRecord.01>PCR-1</eRecord.01>", "<eRecord.01></eRecord.01>", "eRecord.01: missing"),
        ("1980-02-03", "1980-02-30", "ePatient.17: not a date"),
        ("<eDisposition.30>4230001", "<eDisposition.30>4230099", "expected one of 4230001"),
        ("2025-06-30T23:50:00", "1850-06-30T23:50:00", "eTimes.01: year out of range"),
        ("<ePatient.25>9919001", "<ePatient.25>12", "ePatient.25: unknown code"),
    ],
)
def test_bad_field_rejects_only_its_report(tmp_path: Path, old: str, new: str, reason: str) -> None:
    records = synthetic_records()
    path = nemsis_export.write(records[:2], tmp_path / "one", timezone=TZ)[0]
    text = path.read_text(encoding="utf-8")
    assert old in text
    items = read(one_file(tmp_path, text.replace(old, new)))
    assert len(items) == 1
    (rejection,) = items
    assert isinstance(rejection, Rejection)
    assert reason in rejection.reason
    assert rejection.raw.startswith("<PatientCareReport")


def test_wrong_namespace_is_rejected(tmp_path: Path) -> None:
    document = "<EMSDataSet><Header><PatientCareReport/></Header></EMSDataSet>"
    (rejection,) = read(one_file(tmp_path, document))
    assert isinstance(rejection, Rejection)
    assert "no PatientCareReport" in rejection.reason


def test_empty_file_is_rejected(tmp_path: Path) -> None:
    (rejection,) = read(one_file(tmp_path, b""))
    assert isinstance(rejection, Rejection)


# --- fuzzing --------------------------------------------------------------------------------


def valid_bytes() -> bytes:
    with tempfile.TemporaryDirectory() as folder:
        (path,) = nemsis_export.write(same_month_records(), Path(folder), timezone=TZ)
        return path.read_bytes()


VALID = valid_bytes()
VALID_REPORTS = VALID.count(b"</PatientCareReport>")


def read_bytes(data: bytes) -> list[SourceRow | Rejection]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "fuzz.xml"
        path.write_bytes(data)
        return read(path)


def check_accounted(items: list[SourceRow | Rejection], reports: int) -> None:
    assert items, "every file yields at least one item"
    assert all(isinstance(item, SourceRow | Rejection) for item in items)
    rows = [item for item in items if isinstance(item, SourceRow)]
    rejected = [item for item in items if isinstance(item, Rejection)]
    assert len(rows) <= reports
    assert rejected or len(rows) == reports


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=2000))
def test_fuzz_random_bytes(data: bytes) -> None:
    items = read_bytes(data)
    assert items and all(isinstance(item, SourceRow | Rejection) for item in items)


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=0, max_value=len(VALID)))
def test_fuzz_truncation(cut: int) -> None:
    check_accounted(read_bytes(VALID[:cut]), VALID_REPORTS)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, len(VALID) - 1), st.integers(0, 255)), min_size=1, max_size=4)
)
def test_fuzz_byte_flips(flips: list[tuple[int, int]]) -> None:
    data = bytearray(VALID)
    for position, value in flips:
        data[position] = value
    check_accounted(read_bytes(bytes(data)), VALID_REPORTS)
