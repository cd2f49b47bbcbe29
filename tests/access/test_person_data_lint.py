"""Products read person data only through access/: an AST check over the source tree.

A module outside the packages that own person data (the store, ingest, linkage, access and
audit) that names a person-data model fails this test. Person-data models are found from the
schema: the person tables and every table with a ``person_record_id``.
"""

from __future__ import annotations

import ast
from pathlib import Path

from corespond import models
from corespond.models import Base

SOURCE = Path(models.__file__).resolve().parents[1]
OWNERS = ("models", "db", "sources", "ingest", "linkage", "access", "audit", "demo")
"""Packages that may touch person-data tables directly: the pipeline and the access layer."""
WRITES = {
    "people": {"Caution", "ResponsePlan", "Referral", "CareTeamContact"},
    "dispatch": {"IncidentMatch"},
}
"""Tables a product writes (ARCHITECTURE: people/ owns cautions and response plans, the care
team and referrals; dispatch/ records whom the online matcher found on an incident): it names
them to write them; it reads every fact through access."""

AGGREGATES = {
    ("outcomes", "repository.py"),
    ("outcomes", "cohort_repository.py"),
}
"""Modules that read person-data tables only to count (ARCHITECTURE: outcomes/ derives metrics
and cohorts): the call facts they build hold no names and no person ids, cohort members are
stored as person ids, and every page or export that shows a person reads through access."""


def person_models() -> set[str]:
    names = set()
    for mapper in Base.registry.mappers:
        table = mapper.local_table
        if table.name in {"person", "person_record", "person_alias", "person_link"} or (
            "person_record_id" in table.columns
        ):
            names.add(mapper.class_.__name__)
    return names


def offences(path: Path, forbidden: set[str]) -> list[str]:
    found = []
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.ImportFrom)
            and node.module
            and node.module.startswith("corespond.models")
        ):
            found += [
                f"{path}:{node.lineno} imports {a.name}" for a in node.names if a.name in forbidden
            ]
        elif (
            isinstance(node, ast.Attribute)
            and node.attr in forbidden
            and isinstance(node.value, ast.Name)
            and node.value.id == "models"
        ):
            found.append(f"{path}:{node.lineno} uses models.{node.attr}")
    return found


def test_products_and_surfaces_reach_person_data_only_through_access() -> None:
    forbidden = person_models()
    assert {"PersonRecord", "Caution", "Consent", "TreatmentEncounter"} <= forbidden
    found = []
    for path in sorted(SOURCE.rglob("*.py")):
        package = path.relative_to(SOURCE).parts[0]
        if package in OWNERS or (path.parent == SOURCE and path.name != "__main__.py"):
            continue
        if (package, path.name) in AGGREGATES:
            continue
        found += offences(path, forbidden - WRITES.get(package, set()))
    assert found == [], "\n".join(found)


def test_the_check_catches_a_direct_read(tmp_path: Path) -> None:
    module = tmp_path / "page.py"
    module.write_text(
        "from corespond import models\n"
        "from corespond.models.casework import Caution\n"
        "def cautions(session):\n"
        "    return session.scalars(select(models.PersonRecord))\n"
    )
    assert len(offences(module, person_models())) == 2
