"""The demo city's NEMSIS files are valid against the official 3.5.1 schema and read cleanly."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from lxml import etree
from tests.conftest import SHARED_REFERENCE

from corespond.demo.city import build_city
from corespond.demo.params import CityParams
from corespond.sources.base import ReadOptions, Rejection, SourceRow
from corespond.sources.nemsis import NemsisAdapter
from corespond.sources.records import EmsRunIn

XSD = SHARED_REFERENCE / "nemsis" / "xsd" / "EMSDataSet_v3.xsd"
PARAMS = CityParams(people=200, years=1, seed=7)


@pytest.fixture(scope="module")
def ems_files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    out = tmp_path_factory.mktemp("city")
    build_city(PARAMS, out)
    files = sorted((out / "ems").glob("*.xml"))
    assert files
    return files


def test_every_nemsis_file_is_schema_valid(ems_files: list[Path]) -> None:
    schema = etree.XMLSchema(etree.parse(str(XSD)))
    invalid = {
        path.name: [str(error) for error in schema.error_log]
        for path in ems_files
        if not schema.validate(etree.parse(str(path)))
    }
    assert invalid == {}


def test_the_reader_takes_every_report(ems_files: list[Path]) -> None:
    options = ReadOptions(timezone=ZoneInfo(PARAMS.timezone))
    items = [item for path in ems_files for item in NemsisAdapter().read(path, options)]
    reports = sum(
        path.read_text(encoding="utf-8").count("<PatientCareReport ") for path in ems_files
    )
    assert [item for item in items if isinstance(item, Rejection)] == []
    assert len(items) == reports
    runs = [r for item in items if isinstance(item, SourceRow) for r in item.records]
    assert sum(isinstance(r, EmsRunIn) for r in runs) == reports
