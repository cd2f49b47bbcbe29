"""Sharing agreements recorded, listed and ended from the command line, as decisions see them."""

from __future__ import annotations

import json
from datetime import date

import pytest
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from corespond import models
from corespond.access.repository import agreements_of
from corespond.audit.review import week_window, weekly_review
from corespond.cli.main import app
from corespond.db.engine import session_factory
from support.agencies import make_agency

runner = CliRunner()


@pytest.fixture
def agencies(store: Engine) -> dict[str, int]:
    return {
        "metro-911": make_agency("metro-911", "dispatch"),
        "river-care": make_agency("river-care", "care_team"),
        "river-pd": make_agency("river-pd", "police"),
    }


def cli(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["agreements", *args])
    return result.exit_code, result.output


def test_an_agreement_recorded_opens_decisions_until_it_ends(agencies: dict[str, int]) -> None:
    code, _ = cli(
        "add", "metro-911", "river-care", "--kind", "dispatch",
        "--name", "Metro 911 dispatch services ILA 2024", "--starts", "2024-01-01",
    )  # fmt: skip
    assert code == 0
    care, metro = agencies["river-care"], agencies["metro-911"]
    with session_factory()() as session:
        number = agreements_of(session, care, date(2026, 11, 1)).dispatched_by.get(metro)
        assert number is not None
        # one way: the care team does not dispatch for the 911 centre
        assert care not in agreements_of(session, metro, date(2026, 11, 1)).dispatched_by
        # the other kind: no minimal shared view between them
        assert agreements_of(session, care, date(2026, 11, 1)).minimal_view == {}

    assert cli("end", str(number), "--on", "2026-06-30")[0] == 0

    with session_factory()() as session:
        assert agreements_of(session, care, date(2026, 6, 30)).dispatched_by == {metro: number}
        assert agreements_of(session, care, date(2026, 7, 1)).dispatched_by == {}
        actions = session.scalars(
            select(models.AuditEvent.action)
            .where(models.AuditEvent.action.like("admin.agree%"))
            .order_by(models.AuditEvent.seq)
        ).all()
    assert actions == ["admin.agreement_recorded", "admin.agreement_ended"]
    code, output = cli("list", "--json")
    (listed,) = json.loads(output)
    assert (listed["kind"], listed["ends_on"]) == ("dispatch", "2026-06-30")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["river-pd", "river-care", "--kind", "dispatch"], "runs from a dispatch centre"),
        (["river-pd", "river-pd"], "two different agencies"),
        (["river-pd", "nowhere"], "no agency with key 'nowhere'"),
        (["river-pd", "river-care", "--kind", "handshake"], "unknown kind 'handshake'"),
        (["river-pd", "river-care", "--starts", "2026-02-30"], "--starts: not a date"),
        (["river-pd", "river-care", "--starts", "2026-05-01", "--ends", "2026-04-01"], "before"),
    ],
)
def test_a_wrong_agreement_is_refused_with_the_reason(
    agencies: dict[str, int], args: list[str], message: str
) -> None:
    code, output = cli("add", *args, "--name", "MOU")

    assert code == 2
    assert message in output
    with session_factory()() as session:
        assert session.scalars(select(models.SharingAgreement)).all() == []


def test_ending_an_unknown_agreement_says_so(agencies: dict[str, int]) -> None:
    code, output = cli("end", "404")

    assert code == 2 and "no agreement #404" in output


def test_both_agencies_auditors_see_the_agreement_in_their_weekly_review(
    agencies: dict[str, int],
) -> None:
    assert cli("add", "river-pd", "river-care", "--name", "Crisis response MOU")[0] == 0

    with session_factory()() as session:
        window = week_window()
        for agency in ("river-pd", "river-care"):
            review = weekly_review(session, agency_id=agencies[agency], window=window)
            assert [e.action for e in review.admin_changes] == ["admin.agreement_recorded"], agency
        dispatch_only = weekly_review(session, agency_id=agencies["metro-911"], window=window)
        assert dispatch_only.admin_changes == []
