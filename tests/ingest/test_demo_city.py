"""The synthetic city imports through the real importers with nothing lost or left over."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner

from corespond import models
from corespond.cli.main import app
from corespond.db.engine import session_factory
from corespond.demo.city import CityParams, build_city


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("city")
    build_city(CityParams(people=300, years=1, seed=11), out)
    return out


def test_every_export_imports_without_quarantine(store: Engine, city: Path) -> None:
    result = CliRunner().invoke(app, ["ingest", str(city), "--json"])

    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["quarantined"] == 0
    assert report["read"] == report["stored"] + report["unchanged"]
    formats = {run["format"] for run in report["runs"]}
    assert formats == {"jurisdiction", "cad-csv", "eido", "rms-csv", "nemsis", "hmis-csv", "fhir"}

    again = json.loads(CliRunner().invoke(app, ["ingest", str(city), "--json"]).stdout)
    assert again["stored"] == 0 and again["unchanged"] == again["read"] == report["read"]


def test_every_imported_person_record_has_a_truth_and_the_truth_is_never_imported(
    store: Engine, city: Path
) -> None:
    CliRunner().invoke(app, ["ingest", str(city)])
    with (city / "truth" / "records.csv").open(newline="") as handle:
        truth = {(row["source"], row["source_key"]) for row in csv.DictReader(handle)}

    with session_factory()() as session:
        stored = set(
            session.execute(
                select(models.SourceSystem.name, models.PersonRecord.source_key).join(
                    models.SourceSystem,
                    models.SourceSystem.id == models.PersonRecord.source_system_id,
                )
            ).all()
        )
        sources = set(session.scalars(select(models.SourceSystem.name)))
        units_without_call = session.scalar(
            select(func.count())
            .select_from(models.UnitResponse)
            .where(models.UnitResponse.call_id.is_(None))
        )
        runs_linked = session.scalar(
            select(func.count())
            .select_from(models.EmsRun)
            .where(models.EmsRun.call_id.is_not(None))
        )

    assert stored and stored <= truth
    assert not any("truth" in name.lower() for name in sources)
    assert units_without_call == 0
    assert runs_linked and runs_linked > 0
