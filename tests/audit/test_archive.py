"""Archiving events past the six-year retention window: a signed file that verifies on its
own, refused inside the window, and a live log that still verifies once an operator has
removed the archived rows."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select, text
from typer.testing import CliRunner

from corespond import models
from corespond.audit import archive, chain
from corespond.cli.main import app
from corespond.db.engine import session_factory, unit_of_work
from support.audit import tamper, verify, write_events

OTHER_KEY = "ab" * 32


@pytest.fixture
def old_log(store: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Ten events in 2017, ten in 2018, then five today."""
    for year in (2017, 2018):
        clock = iter(datetime(year, 3, 1) + timedelta(hours=n) for n in range(100))
        monkeypatch.setattr(chain, "utcnow", lambda clock=clock: next(clock))
        write_events(10, start=(year - 2017) * 10)
    monkeypatch.undo()
    write_events(5, start=20)
    yield


def make(before: str, out: Path) -> models.AuditArchive:
    with unit_of_work() as session:
        return archive.archive(session, before=datetime.fromisoformat(before), out=out)


def remove_archived(engine: Engine, last_seq: int) -> None:
    """The owner's removal, as docs/deployment.md writes it for PostgreSQL."""
    if engine.dialect.name != "postgresql":
        tamper(engine, f"DELETE FROM audit_event WHERE seq <= {last_seq}")
        return
    with engine.begin() as connection:
        connection.execute(text("ALTER TABLE audit_event DISABLE TRIGGER audit_event_immutable"))
        connection.execute(text(f"DELETE FROM audit_event WHERE seq <= {last_seq}"))
        connection.execute(text("ALTER TABLE audit_event ENABLE TRIGGER audit_event_immutable"))


def lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_nothing_inside_the_six_year_window_is_archived(old_log: None, tmp_path: Path) -> None:
    recent = (datetime.now() - timedelta(days=5 * 365)).date().isoformat()

    refused = CliRunner().invoke(
        app, ["audit", "archive", "--before", recent, "--out", str(tmp_path / "a.jsonl")]
    )

    assert refused.exit_code == 2 and "six-year retention window" in refused.output
    assert not (tmp_path / "a.jsonl").exists()
    with session_factory()() as session:
        assert session.scalar(select(func.count()).select_from(models.AuditArchive)) == 0


def test_an_archive_holds_the_old_events_signed_and_verifies(old_log: None, tmp_path: Path) -> None:
    out = tmp_path / "audit-2017.jsonl"

    made = CliRunner().invoke(
        app, ["audit", "archive", "--before", "2018-01-01", "--out", str(out), "--json"]
    )
    checked = CliRunner().invoke(app, ["audit", "verify-archive", str(out)])

    assert made.exit_code == 0, made.output
    assert json.loads(made.stdout) | {"digest": "", "last_hash": ""} == {
        "file": str(out), "first_seq": 1, "last_seq": 10, "events": 10, "digest": "",
        "last_hash": "",
    }  # fmt: skip
    content = lines(out)
    assert [item["type"] for item in content] == ["header"] + ["event"] * 10 + ["checkpoint"]
    assert content[1]["prev_hash"] == chain.GENESIS and content[-1]["last_seq"] == 10
    assert checked.exit_code == 0 and "intact" in checked.stdout
    assert verify().ok  # the rows are still there, and still verify
    with session_factory()() as session:
        event = session.scalars(
            select(models.AuditEvent).where(models.AuditEvent.action == "audit.archived")
        ).one()
    assert json.loads(event.detail or "{}")["last_seq"] == 10
    again = CliRunner().invoke(
        app, ["audit", "archive", "--before", "2018-01-01", "--out", str(tmp_path / "b.jsonl")]
    )
    assert again.exit_code == 2 and "no event before 2018-01-01 is left" in again.output
    overwrite = CliRunner().invoke(
        app, ["audit", "archive", "--before", "2019-01-01", "--out", str(out)]
    )
    assert overwrite.exit_code == 2 and "never overwritten" in overwrite.output


def test_a_second_archive_goes_on_from_the_first(
    old_log: None, store: Engine, tmp_path: Path
) -> None:
    first = make("2018-01-01", tmp_path / "2017.jsonl")
    second = make("2019-01-01", tmp_path / "2018.jsonl")

    assert (second.first_seq, second.last_seq) == (11, 20)
    assert second.prev_hash == first.last_hash
    for path in ("2017.jsonl", "2018.jsonl"):
        with session_factory()() as session:
            assert archive.verify_archive(tmp_path / path, session=session).ok
    remove_archived(store, first.last_seq)  # only the first archive's rows
    assert verify().ok


@pytest.mark.parametrize(
    ("edit", "found"),
    [
        (lambda items: items[3].update(actor="user:99"), "event 3 was altered"),
        (lambda items: items.pop(4), "event 4 is missing"),
        (lambda items: items[-1].update(digest="0" * 64), "does not match the events: digest"),
        (lambda items: items[-1].update(public_key="ab" * 32), "not signed by the audit key"),
        (lambda items: items.pop(), "signed checkpoint is not its end"),
    ],
    ids=["altered", "deleted", "digest", "key", "no checkpoint"],
)
def test_an_edited_archive_does_not_verify(
    old_log: None, tmp_path: Path, edit: object, found: str
) -> None:
    out = tmp_path / "audit.jsonl"
    make("2018-01-01", out)
    items = lines(out)
    edit(items)  # type: ignore[operator]
    out.write_text("".join(json.dumps(item) + "\n" for item in items))

    result = archive.verify_archive(out)

    assert not result.ok and found in (result.problem or ""), result.problem


def test_the_live_log_verifies_from_the_archive_once_archived_rows_are_removed(
    old_log: None, store: Engine, tmp_path: Path
) -> None:
    out = tmp_path / "audit-2017.jsonl"
    made = make("2018-01-01", out)

    # The operator's step, as the database owner, after the archive is verified and stored.
    remove_archived(store, made.last_seq)

    after = verify()
    assert after.ok, after.problem
    assert after.events == 26 - made.events  # 25 written, and the archive's own event
    with session_factory()() as session:
        assert archive.verify_archive(out, session=session).ok
    tamper(store, f"DELETE FROM audit_event WHERE seq = {made.last_seq + 1}")
    cut = verify()
    assert not cut.ok and "event 1 is missing" in (cut.problem or "")


def test_a_forged_archive_record_does_not_anchor_the_log(
    old_log: None, store: Engine, tmp_path: Path
) -> None:
    made = make("2018-01-01", tmp_path / "audit.jsonl")
    tamper(store, f"DELETE FROM audit_event WHERE seq <= {made.last_seq + 5}")
    # Someone stretches the archive over five more events, to hide their removal.
    tamper(store, f"UPDATE audit_archive SET last_seq = {made.last_seq + 5}")

    result = verify()

    assert not result.ok and "not signed by the audit key" in (result.problem or "")
    with session_factory()() as session:
        assert not chain.verify(session, public_key_hex=OTHER_KEY).ok
