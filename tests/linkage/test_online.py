"""The online matcher decides what the batch run decided, from the same keys and parameters."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import Engine, delete, select
from typer.testing import CliRunner

from corespond import models
from corespond.cli.main import app
from corespond.db.engine import session_factory, unit_of_work
from corespond.demo.city import CityParams, build_city
from corespond.linkage import repository
from corespond.linkage.cluster import collapse
from corespond.linkage.comparisons import Columns
from corespond.linkage.features import Identity, features
from corespond.linkage.matcher import NoModel, OnlineMatcher, link_new, load_scorer, warm
from corespond.linkage.model import LinkageModel, to_table
from corespond.linkage.online import Scorer, match_keys


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("city")
    build_city(CityParams(people=300, years=1, seed=8), out)
    return out


@pytest.fixture
def linked(store: Engine, city: Path) -> dict[int, int]:
    assert CliRunner().invoke(app, ["ingest", str(city)]).exit_code == 0
    assert CliRunner().invoke(app, ["link", "run"]).exit_code == 0
    with session_factory()() as session:
        return repository.current_links(session)


def test_scores_and_candidates_are_exactly_the_batch_runs(linked: dict[int, int]) -> None:
    with session_factory()() as session:
        records = {f.unique_id: f for f in map(features, repository.identities(session))}
        stored = repository.latest_model(session)
        assert stored is not None
        scorer = Scorer(json.loads(stored.settings_json), repository.name_frequencies(session))
    linkable, _duplicates = collapse([r for r in records.values() if r.unlinkable is None])
    batch = LinkageModel(to_table(linkable), json.loads(stored.settings_json))
    pairs = batch.predict(1e-6)
    batch.close()

    assert len(pairs) > 100
    for a, b, probability in zip(pairs.a.tolist(), pairs.b.tolist(), pairs.p.tolist(), strict=True):
        online = scorer.score(records[a], records[b])
        assert online.probability == pytest.approx(probability, abs=1e-9)
        assert scorer.probability(records[a], records[b]) == pytest.approx(probability, abs=1e-9)

    by_key = defaultdict(list)
    for record in linkable:
        for key in match_keys(record):
            by_key[key].append(record.unique_id)
    keyed = {(min(a, b), max(a, b)) for ids in by_key.values() for a in ids for b in ids if a != b}
    assert set(zip(pairs.a.tolist(), pairs.b.tolist(), strict=True)) <= keyed


def test_a_block_of_candidates_scores_as_each_pair_does(linked: dict[int, int]) -> None:
    with session_factory()() as session:
        scorer = load_scorer(session)
        records = [features(i) for i in repository.identities_for(session, list(linked))]
    linkable = [r for r in records if r.unlinkable is None]
    block = Columns.of(linkable)

    for query in linkable[::15]:
        together = scorer.probabilities(query, block)
        one_by_one = [scorer.probability(query, record) for record in linkable]
        assert together.tolist() == pytest.approx(one_by_one, abs=1e-12)
    assert [block.features(i) for i in range(len(block))] == [
        replace(r, source=None) for r in linkable
    ]


def test_the_index_finds_the_candidates_the_stored_keys_find(linked: dict[int, int]) -> None:
    with session_factory()() as session:
        index = warm(session)
        records = [features(i) for i in repository.identities_for(session, list(linked))]
        for record in records:
            if record.unlinkable:
                continue
            keys = match_keys(record)
            blocks = index.candidates(keys, exclude=record.unique_id)
            in_memory = sorted(int(i) for block in blocks for i in block.record_ids)
            stored = sorted(r for r in repository.records_with_keys(session, keys))
            assert in_memory == [r for r in stored if r != record.unique_id]


@pytest.mark.parametrize("in_memory", [True, False], ids=["in-memory index", "from the store"])
def test_online_decisions_agree_with_the_batch_run(linked: dict[int, int], in_memory: bool) -> None:
    sizes = Counter(linked.values())
    outcome: Counter[str] = Counter()
    with session_factory()() as session:
        if in_memory:
            warm(session)  # as a server does at start-up
        matcher = OnlineMatcher(session, in_memory=in_memory)
        assert (matcher.index is not None) is in_memory
        for identity in repository.identities_for(session, list(linked)):
            calls = repository.calls_of(session, identity.record_id)
            result = matcher.match(session, identity, exclude=identity.record_id, calls=calls)
            batch = linked[identity.record_id]
            if result.decision == "linked":
                outcome["agree" if result.person_id == batch else "disagree"] += 1
            elif sizes[batch] > 1:
                outcome["batch linked, online did not"] += 1
    assert outcome["disagree"] == 0
    assert outcome["agree"] / sum(outcome.values()) >= 0.95, outcome


def test_records_imported_after_a_run_are_linked_incrementally(linked: dict[int, int]) -> None:
    # Forget one indexed record of each of 25 persons with at least three indexed records
    # (its links and keys), as if it had just been imported.
    with session_factory()() as session:
        indexed = set(session.scalars(select(models.PersonMatchKey.person_record_id)))
    sizes = Counter(linked[r] for r in indexed)
    fresh, seen = [], set()
    for record in sorted(indexed):
        person = linked[record]
        if sizes[person] >= 3 and person not in seen and len(fresh) < 25:
            fresh.append(record)
            seen.add(person)
    with unit_of_work() as session:
        session.execute(
            delete(models.PersonLink).where(models.PersonLink.person_record_id.in_(fresh))
        )
        session.execute(
            delete(models.PersonMatchKey).where(models.PersonMatchKey.person_record_id.in_(fresh))
        )

    with unit_of_work() as session:
        summary = link_new(session)

    assert summary.records == len(fresh)
    with session_factory()() as session:
        now = repository.current_links(session)
        methods = set(
            session.scalars(
                select(models.PersonLink.method).where(
                    models.PersonLink.person_record_id.in_(fresh)
                )
            )
        )
    assert methods == {"online"}
    assert sum(now[r] == linked[r] for r in fresh) >= 0.95 * len(fresh)


def test_ingest_links_new_records_once_a_model_exists(linked: dict[int, int], city: Path) -> None:
    with unit_of_work() as session:
        session.execute(delete(models.PersonLink))
    result = CliRunner().invoke(app, ["ingest", str(city / "hmis")])

    assert result.exit_code == 0, result.output
    assert "Linked" in result.output and "new person records" in result.output
    with session_factory()() as session:
        assert len(repository.current_links(session)) == len(linked)


def test_matching_before_any_model_is_a_clear_error(store: Engine) -> None:
    with session_factory()() as session, pytest.raises(NoModel, match="link run"):
        OnlineMatcher(session)


def test_an_identity_with_nothing_to_match_on_is_unlinkable(linked: dict[int, int]) -> None:
    with session_factory()() as session:
        result = OnlineMatcher(session).match(session, Identity(0, first_name="UNKNOWN"))
    assert result.decision == "unlinkable" and "no valid SSN" in result.reason


def test_the_in_memory_index_takes_in_records_linked_since_and_is_rebuilt_by_a_run(
    linked: dict[int, int],
) -> None:
    with session_factory()() as session:
        built = warm(session)
        copied = session.scalars(
            select(models.PersonRecord).where(models.PersonRecord.dob.is_not(None)).limit(3)
        ).all()
        session.expunge_all()
    with unit_of_work() as session:  # the same people again, from a new source
        system = models.SourceSystem(name="later")
        session.add(system)
        session.flush()
        copies = [
            models.PersonRecord(
                source_system_id=system.id,
                source_key=str(record.id),
                content_hash="copy",
                data_category="identity",
                first_name=record.first_name,
                last_name=record.last_name,
                dob=record.dob,
                sex=record.sex,
            )
            for record in copied
        ]
        session.add_all(copies)
        session.flush()
        new_ids = [record.id for record in copies]
        assert link_new(session).records == 3

    with session_factory()() as session:
        # Behind the store, the index still serves (refreshed meanwhile): the records keyed
        # since it was built are read from the store, so the answer is the store's own.
        behind = OnlineMatcher(session)
        assert behind.index is built
        fresh = repository.identities_for(session, [new_ids[0]])[0]
        assert behind.match(session, fresh, exclude=copied[0].id) == OnlineMatcher(
            session, in_memory=False
        ).match(session, fresh, exclude=copied[0].id)
        extended = warm(session)
        indexed = {int(i) for s in extended.segments for i in s.columns.record_ids}
        assert extended.version == built.version and extended.watermark > built.watermark
        assert len(extended.segments) == 2 and set(new_ids) <= indexed
        identity = repository.identities_for(session, [new_ids[0]])[0]
        in_memory = OnlineMatcher(session).match(session, identity, exclude=copied[0].id)
        stored = OnlineMatcher(session, in_memory=False).match(
            session, identity, exclude=copied[0].id
        )
        assert in_memory == stored
        blocks = extended.candidates(match_keys(features(identity)))
        assert new_ids[0] in {int(i) for block in blocks for i in block.record_ids}

    # After a run, lookups read the store until the index has been rebuilt in the background.
    assert CliRunner().invoke(app, ["link", "run"]).exit_code == 0
    with session_factory()() as session:
        assert OnlineMatcher(session).index is None
        rebuilt = warm(session)  # waits for the rebuild
        assert OnlineMatcher(session).index is rebuilt
    assert rebuilt.version != built.version and len(rebuilt.segments) == 1


def test_records_linked_since_the_index_are_read_from_the_store_once(
    linked: dict[int, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Live intake links a record every few milliseconds: until the index takes them in, the
    matches that follow read them from the store, once for the process, not once a match."""
    with session_factory()() as session:
        warm(session)
        model = session.scalars(select(models.PersonRecord).where(
            models.PersonRecord.dob.is_not(None)).limit(1)).one()  # fmt: skip
        session.expunge(model)
    with unit_of_work() as session:
        system = models.SourceSystem(name="live")
        session.add(system)
        session.flush()
        copy = models.PersonRecord(
            source_system_id=system.id, source_key="again", content_hash="copy",
            data_category="identity", first_name=model.first_name, last_name=model.last_name,
            dob=model.dob, sex=model.sex,
        )  # fmt: skip
        session.add(copy)
        session.flush()
        link_new(session)
    read: list[list[int]] = []
    identities_for = repository.identities_for

    def counted(session: object, ids: object) -> list[Identity]:
        read.append(list(ids))  # type: ignore[call-overload]
        return identities_for(session, ids)  # type: ignore[arg-type]

    monkeypatch.setattr(repository, "identities_for", counted)
    monkeypatch.setattr("corespond.linkage.matcher.CATCH_UP_SECONDS", 3600.0)  # stay behind
    with session_factory()() as session:
        query = Identity(0, first_name=model.first_name, last_name=model.last_name, dob=model.dob)
        answers = [OnlineMatcher(session).match(session, query) for _ in range(3)]
    assert answers[0] == answers[1] == answers[2]
    assert [ids for ids in read if copy.id in ids] == [[copy.id]]  # read once, then kept


def test_health_says_whether_the_matcher_index_is_built(
    linked: dict[int, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    from fastapi.testclient import TestClient

    from corespond.linkage import matcher
    from corespond.web.app import create_app

    with session_factory()() as session:
        warm(session)
    client = TestClient(create_app())  # not started: no warm-up of its own
    assert client.get("/healthz").json() == {"status": "ok", "matcher": "indexed"}
    monkeypatch.setattr(matcher, "_index", None)  # a new process, still building it
    assert client.get("/healthz").json() == {"status": "ok", "matcher": "store"}


def test_a_rolled_back_transaction_leaves_none_of_its_records_in_the_kept_tail(
    linked: dict[int, int],
) -> None:
    """Records a failed request linked (and read back while matching the next) are gone with
    it; SQLite gives their ids to the next records, which must not be compared as them."""
    from corespond.linkage import matcher

    with session_factory()() as session:
        warm(session)
        model = session.scalars(select(models.PersonRecord).where(
            models.PersonRecord.dob.is_not(None)).limit(1)).one()  # fmt: skip
        session.expunge(model)
    with pytest.raises(RuntimeError), unit_of_work() as session:
        system = models.SourceSystem(name="rolled back")
        session.add(system)
        session.flush()
        twins = [
            models.PersonRecord(
                source_system_id=system.id, source_key=f"twin-{n}", content_hash="twin",
                data_category="identity", first_name=model.first_name,
                last_name=model.last_name, dob=model.dob, sex=model.sex,
            )
            for n in range(2)
        ]  # fmt: skip
        session.add_all(twins)
        session.flush()
        ids = {twin.id for twin in twins}
        link_new(session)
        assert ids & set(matcher._tail)  # the second was matched against the first, kept
        raise RuntimeError("the request failed")
    assert not ids & set(matcher._tail)
