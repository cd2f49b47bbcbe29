"""``build_city`` end to end: files on disk, byte-identical per seed, readable, truth complete."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from corespond.demo.city import SOURCES, build_city
from corespond.demo.params import CityParams
from corespond.sources.base import ReadOptions, Rejection, SourceRow
from corespond.sources.jurisdiction import load_jurisdiction
from corespond.sources.records import PersonRecordIn
from corespond.sources.registry import adapter_class

PARAMS = CityParams(people=300, years=1, seed=21, calls_per_person_year=3)


def snapshot(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("city")
    build_city(PARAMS, out)
    return out


def test_layout(city: Path) -> None:
    for name in ("jurisdiction.yaml", "cad/calls.csv", "cad/names.csv", "rms/persons.csv",
                 "hmis/Export.csv", "hmis/Client.csv", "behavioral/Patient.ndjson",
                 "behavioral/Consent.ndjson", "hospital/Encounter.ndjson", "truth/persons.csv",
                 "truth/records.csv", "truth/calls.csv", "truth/beats.csv", "truth/params.json",
                 "truth/program.json"):  # fmt: skip
        assert (city / name).is_file(), name
    assert list((city / "cad-eido").glob("*.json"))
    assert list((city / "ems").glob("*.xml"))
    assert CityParams.model_validate_json((city / "truth/params.json").read_text()) == PARAMS


def test_same_seed_gives_identical_bytes(city: Path, tmp_path: Path) -> None:
    summary = build_city(PARAMS, tmp_path / "again")

    assert snapshot(tmp_path / "again") == snapshot(city)
    assert summary.people == 300 and summary.calls > 500
    assert summary.files["cad"] == 2


def test_jurisdiction_declares_every_source_and_the_program(city: Path) -> None:
    jurisdiction = load_jurisdiction(city / "jurisdiction.yaml")
    declared = {s.name: s for a in jurisdiction.agencies for s in a.sources}
    program = json.loads((city / "truth/program.json").read_text())

    assert set(declared) == {spec[0] for spec in SOURCES.values()}
    assert all((city / s.path).exists() for s in declared.values())
    assert 30 <= len(jurisdiction.beats) <= 60
    assert len({b.precinct for b in jurisdiction.beats}) in (4, 5)
    (care,) = jurisdiction.programs
    assert care.type == "co_response"
    assert care.start_date and care.start_date.isoformat() == program["start_date"]
    assert sorted(care.beats) == program["beats"]


def test_truth_covers_every_person_record_read_back(city: Path) -> None:
    jurisdiction = load_jurisdiction(city / "jurisdiction.yaml")
    with (city / "truth/records.csv").open(encoding="utf-8") as handle:
        truth = {
            (row["source"], row["source_key"]): row["person_id"] for row in csv.DictReader(handle)
        }
    with (city / "truth/persons.csv").open(encoding="utf-8") as handle:
        people = {row["person_id"] for row in csv.DictReader(handle)}
    options = ReadOptions(timezone=ZoneInfo(PARAMS.timezone))
    read: set[tuple[str, str]] = set()
    rejected: list[Rejection] = []
    for agency in jurisdiction.agencies:
        for source in agency.sources:
            path = city / source.path
            adapter = adapter_class(source.format)()
            targets = [path] if source.format == "hmis-csv" else sorted(path.iterdir())
            for target in targets:
                for item in adapter.read(target, options):
                    if isinstance(item, Rejection):
                        rejected.append(item)
                        continue
                    assert isinstance(item, SourceRow)
                    read.update(
                        (source.name, r.source_key)
                        for r in item.records
                        if isinstance(r, PersonRecordIn)
                    )

    assert not rejected, rejected[:3]
    assert read == set(truth)
    assert set(truth.values()) <= people
