"""Synthetic agencies for access tests: who holds a source's data, and who works where."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from corespond import models
from corespond.db.engine import unit_of_work


def make_agency(key: str, kind: str, *, name: str | None = None) -> int:
    """An agency of ``kind`` (criminal-justice if dispatch or police), as jurisdictions declare."""
    with unit_of_work() as session:
        system = session.scalar(
            select(models.SourceSystem).where(models.SourceSystem.name == "jurisdiction")
        )
        if system is None:
            system = models.SourceSystem(name="jurisdiction", format="jurisdiction")
            session.add(system)
            session.flush()
        agency = models.Agency(
            source_system_id=system.id, source_key=key, name=name or key.replace("-", " ").title(),
            kind=kind, criminal_justice=kind in {"dispatch", "police"}, content_hash="x",
            data_category="identity",
        )  # fmt: skip
        session.add(agency)
        session.flush()
        return agency.id


def hold_source(source: str, agency_key: str) -> None:
    """Name the agency that holds what ``source`` sends (the jurisdiction file's job)."""
    with unit_of_work() as session:
        system = session.scalar(
            select(models.SourceSystem).where(models.SourceSystem.name == source)
        )
        assert system is not None, source
        system.agency_key = agency_key


def agree(a: int, b: int, kind: str = "minimal_view") -> int:
    """An agreement in force between agencies ``a`` and ``b`` (for ``dispatch``: a for b)."""
    with unit_of_work() as session:
        agreement = models.SharingAgreement(
            name=f"{kind} {a}-{b}", kind=kind, agency_a_id=a, agency_b_id=b,
            starts_on=date(2020, 1, 1),
        )  # fmt: skip
        session.add(agreement)
        session.flush()
        return agreement.id
