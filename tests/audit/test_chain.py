"""The audit log detects every kind of tampering, and concurrent writers keep one chain."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError
from typer.testing import CliRunner

from corespond.audit import chain
from corespond.cli.main import app
from corespond.db.engine import session_factory, unit_of_work
from support.audit import tamper, verify, write_events


def test_an_untouched_log_verifies(store: Engine) -> None:
    write_events(10)
    with unit_of_work() as session:
        chain.checkpoint(session)
    write_events(5, start=10)

    result = verify()

    assert result.ok, result.problem
    assert (result.events, result.checkpoints) == (15, 1)
    cli = CliRunner().invoke(app, ["audit", "verify"])
    assert cli.exit_code == 0 and "intact" in cli.output


@pytest.mark.parametrize(
    ("edit", "seq", "words"),
    [
        ("UPDATE audit_event SET actor = 'user:999' WHERE seq = 4", 4, "altered"),
        ("UPDATE audit_event SET purpose = 'audit' WHERE seq = 1", 1, "altered"),
        ("DELETE FROM audit_event WHERE seq = 5", 5, "missing"),
        ("UPDATE audit_event SET seq = 100 WHERE seq = 3", 3, "missing"),
    ],
)
def test_each_edit_is_found_at_its_place(store: Engine, edit: str, seq: int, words: str) -> None:
    write_events(8)

    tamper(store, edit)
    result = verify()

    assert not result.ok
    assert result.seq == seq and words in (result.problem or "")


def test_swapping_two_events_is_found(store: Engine) -> None:
    write_events(6)
    tamper(
        store,
        "UPDATE audit_event SET seq = 1000 WHERE seq = 3",
        "UPDATE audit_event SET seq = 3 WHERE seq = 4",
        "UPDATE audit_event SET seq = 4 WHERE seq = 1000",
    )

    result = verify()

    assert result.seq == 3 and "does not follow" in (result.problem or "")


def test_a_forged_event_with_a_recomputed_hash_is_found_by_the_next(store: Engine) -> None:
    write_events(6)
    with session_factory()() as session:
        from corespond.models import AuditEvent

        forged = session.get(AuditEvent, 3)
        assert forged is not None
        forged.actor = "user:mallory"
        new_hash = chain.event_hash(forged)
        session.rollback()
    tamper(
        store, f"UPDATE audit_event SET actor = 'user:mallory', hash = '{new_hash}' WHERE seq = 3"
    )

    result = verify()

    assert result.seq == 4 and "does not follow" in (result.problem or "")


def test_a_cut_tail_is_found_against_the_last_checkpoint(store: Engine) -> None:
    write_events(10)
    with unit_of_work() as session:
        chain.checkpoint(session)

    tamper(store, "DELETE FROM audit_event WHERE seq > 7")
    result = verify()

    assert result.seq == 8 and "events 8-10 were removed" in (result.problem or "")


def test_a_checkpoint_not_signed_by_the_audit_key_is_refused(store: Engine) -> None:
    write_events(3)
    with unit_of_work() as session:
        chain.checkpoint(session)

    tamper(store, "UPDATE audit_checkpoint SET signature = '" + "00" * 64 + "'")
    result = verify()

    assert not result.ok and "not signed by the audit key" in (result.problem or "")
    cli = CliRunner().invoke(app, ["audit", "verify", "--json"])
    assert cli.exit_code == 1 and '"ok": false' in cli.output


def test_the_database_refuses_changes_to_audit_rows(store: Engine) -> None:
    write_events(2)
    for statement in ("UPDATE audit_event SET actor = 'x'", "DELETE FROM audit_event"):
        with (
            pytest.raises(DBAPIError, match="cannot be changed or deleted"),
            store.begin() as connection,
        ):
            connection.execute(text(statement))
    assert verify().events == 2


def test_concurrent_writers_make_one_unbroken_chain(store: Engine) -> None:
    errors: list[BaseException] = []

    def writer(start: int) -> None:
        try:
            for n in range(10):
                write_events(1, start=start + n)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(100 * i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert not errors, errors
    result = verify()
    assert result.ok and result.events == 40


def _actions() -> list[str]:
    with unit_of_work() as session:
        return list(session.scalars(text("SELECT action FROM audit_event ORDER BY seq")))


def test_events_kept_for_the_commit_are_appended_with_it_and_only_with_it(store: Engine) -> None:
    # A request's access decisions are appended in one write when it commits.
    with unit_of_work() as session:
        chain.record_at_commit(session, [chain.Entry(action="access.decision")] * 3)
        chain.record(session, action="at.once")
        assert _actions_in(session) == ["at.once"]  # kept, not yet written
    assert _actions() == ["at.once"] + ["access.decision"] * 3

    # A request that fails records nothing of what it decided.
    with pytest.raises(RuntimeError), unit_of_work() as session:
        chain.record_at_commit(session, [chain.Entry(action="rolled.back")])
        raise RuntimeError("the request failed")
    # Nor does a session closed without committing leave them for the next transaction.
    reading = session_factory()()
    chain.record_at_commit(reading, [chain.Entry(action="never.committed")])
    reading.close()
    with unit_of_work() as session:
        chain.record(session, action="later")
    # A savepoint rolled back inside a request that commits keeps what was decided before it.
    with unit_of_work() as session:
        chain.record_at_commit(session, [chain.Entry(action="before.savepoint")])
        savepoint = session.begin_nested()
        savepoint.rollback()
    assert _actions()[4:] == ["later", "before.savepoint"]
    assert verify().ok


def _actions_in(session: object) -> list[str]:
    return list(session.scalars(text("SELECT action FROM audit_event ORDER BY seq")))  # type: ignore[attr-defined]


EDITS: list[Callable[[int], str]] = [
    lambda seq: f"UPDATE audit_event SET actor = 'user:x' WHERE seq = {seq}",
    lambda seq: f"UPDATE audit_event SET person_id = 424242 WHERE seq = {seq}",
    lambda seq: f"UPDATE audit_event SET at = '2020-01-01 00:00:00' WHERE seq = {seq}",
    lambda seq: f"DELETE FROM audit_event WHERE seq = {seq}",
    lambda seq: f"UPDATE audit_event SET categories = NULL WHERE seq = {seq}",
]


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(count=st.integers(2, 12), data=st.data())
def test_any_single_edit_anywhere_is_detected(
    store: Engine, clear_store: Callable[[], None], count: int, data: st.DataObject
) -> None:
    clear_store()
    write_events(count)
    with unit_of_work() as session:
        chain.checkpoint(session)
    seq = data.draw(st.integers(1, count))
    edit = data.draw(st.sampled_from(EDITS))

    tamper(store, edit(seq))

    assert not verify().ok
