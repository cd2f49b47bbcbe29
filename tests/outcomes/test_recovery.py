"""On the synthetic city, the evaluation recovers the effects the generator was given.

The generator scales the chance of an arrest, an involuntary hold and an ER transport on the
eligible calls the care team attends (``ProgramEffects``); the care team attends a share of the
program's in-scope calls (``program_coverage``; never priority 1). What the simulation made of
those effects is measured on the generator's truth of every call, with the comparison the
evaluation makes (``demo.truth.expected_changes``): diluted by the share attended, and by chance
in a city this size. The evaluation sees only what the agencies' exports hold, imported into
the store; each estimate's confidence interval must hold the simulation's change and exclude no
change, and priority-1 response time, which the generator leaves alone, must be shown
equivalent.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import Engine

from corespond.db.engine import session_factory, unit_of_work
from corespond.demo.city import build_city
from corespond.demo.params import CityParams, ProgramEffects
from corespond.demo.truth import expected_changes
from corespond.outcomes import service
from corespond.outcomes.definitions import load_definitions

EFFECTS = ProgramEffects(arrest=-0.5, involuntary_hold=-0.5, er_transport=-0.5)
CITY = CityParams(people=3000, years=2, seed=4, calls_per_person_year=5, effects=EFFECTS)


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("recovery") / "city"
    build_city(CITY, out)
    return out


def test_the_evaluation_recovers_the_effects_the_city_was_given(store: Engine, city: Path) -> None:
    imported = subprocess.run(
        [sys.executable, "-m", "corespond", "ingest", str(city)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert imported.returncode == 0, imported.stderr[-2000:]
    definitions = load_definitions()
    with unit_of_work(session_factory(write=True)) as session:
        service.refresh(session, definitions)
        result = service.evaluate(session, definitions)

    expected = expected_changes(city)
    assert 0.6 < expected["share"] < 0.9
    found = {item.metric.key: item for item in result.results}
    for key, given in (
        ("arrests_eligible", EFFECTS.arrest), ("holds_eligible", EFFECTS.involuntary_hold),
        ("er_transports", EFFECTS.er_transport),
    ):  # fmt: skip
        truth = expected[key]
        assert truth < 0, (key, given, truth)  # the simulation did what it was given
        did = found[key].did
        assert did is not None, found[key].problems
        effect = did.effect
        assert effect.low <= truth <= effect.high, (key, truth, effect)
        assert effect.significant and effect.relative < 0, (key, effect)
        assert "fell" in found[key].finding
    # The care team never changes what it does not touch: P1 response time is equivalent.
    assert result.p1 is not None and result.p1.equivalent, result.p1_finding
    assert "did not get worse" in result.p1_finding
