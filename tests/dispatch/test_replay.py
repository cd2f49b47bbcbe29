"""`corespond dispatch replay`: a CAD export sent as a live feed, into the store as a dispatcher
would send it; paced by the calls' times; bad input refused before anything is sent."""

from __future__ import annotations

import csv
import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from corespond import models
from corespond.cli.main import app
from corespond.db.engine import unit_of_work
from corespond.demo.city import CityParams, build_city
from corespond.dispatch import replay
from corespond.sources import eido
from support.auth import add

SENDER = "replay-dispatcher"


@pytest.fixture(scope="module")
def small_city(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("small-city")
    build_city(CityParams(people=100, years=1, seed=3), out)
    return out


@pytest.fixture
def sender(bare: Any) -> str:
    add(SENDER, "dispatcher", agency_id=bare.agencies["dispatch"])
    return SENDER


def run(*args: str) -> Any:
    return CliRunner().invoke(app, ["dispatch", "replay", *args])


def counts() -> dict[str, int]:
    with unit_of_work() as session:
        return {
            name: session.scalar(select(func.count()).select_from(model)) or 0
            for name, model in {
                "incidents": models.Incident, "messages": models.IncidentMessage,
                "calls": models.CallForService, "recommendations": models.Recommendation,
            }.items()
        }  # fmt: skip


def incident_keys() -> list[str]:
    with unit_of_work() as session:
        return sorted(session.scalars(select(models.Incident.incident_key)))


@pytest.mark.parametrize("feed", ["cad-eido", "cad"], ids=["eido folder", "cad csv"])
def test_a_replay_creates_the_incidents_once(small_city: Path, sender: str, feed: str) -> None:
    result = run(str(small_city / feed), "--speed", "0", "--limit", "5", "--user", sender)

    assert result.exit_code == 0, result.output
    assert "sent 5 in" in result.output
    assert "5 new, 0 updates or repeats, 0 refused" in result.output
    after = counts()
    assert after["incidents"] == after["messages"] == after["calls"] == 5
    assert after["recommendations"] == 5  # each incident recommended under the protocol
    keys = incident_keys()
    assert keys == sorted(key_of(item) for item in _feed(small_city / feed)[:5])  # the oldest

    again = run(str(small_city / feed), "--speed", "0", "--limit", "5", "--user", sender)

    assert again.exit_code == 0, again.output
    assert "0 new, 5 updates or repeats, 0 refused" in again.output
    assert counts() == after  # the same documents again: not even a new message
    assert incident_keys() == keys


def key_of(item: replay.FeedItem) -> str:
    """The CAD's incident id of a feed item (its call's key)."""
    return eido.document_records(item.document, UTC)[0].source_key


def _feed(path: Path) -> list[replay.FeedItem]:
    feed = replay.read_feed(path, UTC)
    assert not feed.rejections
    return feed.items


def test_documents_are_sent_at_their_time_divided_by_the_speed() -> None:
    start = datetime(2026, 11, 29, 18, 0, tzinfo=UTC)
    offsets = [0, 30, 30, 90, 600]  # seconds after the first call (two at once)
    feed = [replay.FeedItem(start + timedelta(seconds=s), {"n": n}) for n, s in enumerate(offsets)]
    clock = FakeClock()
    sent: list[float] = []

    def send(document: dict[str, Any]) -> int:
        sent.append(clock.now)
        return 201 if document["n"] != 3 else 422

    summary = replay.replay(feed, send, speed=60, sleep=clock.sleep, clock=clock)

    assert sent == [offset / 60 for offset in offsets]  # (t - t0) / speed
    assert clock.slept == [0.5, 1.0, 8.5]
    assert (summary.sent, summary.created, summary.updated, summary.refused) == (5, 4, 0, 1)
    assert summary.seconds == 10.0


def test_a_slow_send_is_caught_up_on_not_added_to_the_gaps() -> None:
    start = datetime(2026, 11, 29, 18, 0, tzinfo=UTC)
    offsets = [0, 60, 120, 600]
    feed = [replay.FeedItem(start + timedelta(seconds=s), {"n": n}) for n, s in enumerate(offsets)]
    clock = FakeClock()
    sent: list[float] = []

    def send(document: dict[str, Any]) -> int:
        sent.append(clock.now)
        clock.now += 1.5 if document["n"] == 0 else 0.0  # the first takes 1.5 s
        return 200

    replay.replay(feed, send, speed=60, sleep=clock.sleep, clock=clock)

    # Due at 0, 1, 2 and 10 s: the second is late (the first send ran over), the rest on time.
    assert sent == [0.0, 1.5, 2.0, 10.0]
    assert clock.slept == [0.5, 8.0]


def test_speed_zero_sends_at_once_and_an_empty_feed_sends_nothing() -> None:
    start = datetime(2026, 11, 29, 18, 0, tzinfo=UTC)
    feed = [replay.FeedItem(start + timedelta(hours=n), {"n": n}) for n in range(3)]
    clock = FakeClock()
    summary = replay.replay(feed, lambda document: 200, speed=0, sleep=clock.sleep, clock=clock)
    assert clock.slept == []
    assert (summary.sent, summary.updated) == (3, 3)
    empty = replay.replay([], lambda document: 201, speed=10, sleep=clock.sleep, clock=clock)
    assert empty.sent == 0 and clock.slept == []


class FakeClock:
    """A clock that moves only when slept on (or when a test moves it)."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.mark.parametrize(
    ("bad_file", "text", "message"),
    [
        ("README.txt", "nothing to replay here", "no EIDO documents (*.json) to replay"),
        ("zz.json", "{this is not json", "zz.json: not JSON"),
        ("zz.json", json.dumps({"hello": "world"}), "zz.json: not an EIDO incident"),
        ("zz.json", "[1, 2]", "not a JSON object"),
    ],
    ids=["no json", "not json", "not eido", "not an object"],
)
def test_a_feed_that_cannot_be_read_is_refused_before_anything_is_sent(
    small_city: Path, sender: str, tmp_path: Path, bad_file: str, text: str, message: str
) -> None:
    folder = tmp_path / "feed"
    if bad_file.endswith(".json"):  # one bad document among good ones
        shutil.copytree(small_city / "cad-eido", folder)
    else:
        folder.mkdir()
    (folder / bad_file).write_text(text)

    result = run(str(folder), "--speed", "0", "--user", sender)

    assert result.exit_code == 2, result.output
    assert "error:" in result.output and message in result.output
    assert counts()["incidents"] == 0


def test_a_single_file_that_is_not_json_is_refused(sender: str, tmp_path: Path) -> None:
    file = tmp_path / "incident.json"
    file.write_text("<eido/>")
    result = run(str(file), "--speed", "0", "--user", sender)
    assert result.exit_code == 2
    assert "not JSON" in result.output
    assert counts()["incidents"] == 0


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--user", "nobody-here"], "no user 'nobody-here'"),
        (["--user", "officer-olsen"], "'officer-olsen' is not a dispatcher"),
        ([], "name the sending dispatcher with --user"),
    ],
    ids=["unknown user", "not a dispatcher", "no user"],
)
def test_the_sender_must_be_a_dispatcher(
    small_city: Path, bare: Any, arguments: list[str], message: str
) -> None:
    add("officer-olsen", "officer", agency_id=bare.agencies["police"])
    result = run(str(small_city / "cad-eido"), "--speed", "0", *arguments)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert counts()["incidents"] == 0


def test_a_path_that_does_not_exist_is_refused(sender: str, tmp_path: Path) -> None:
    result = run(str(tmp_path / "missing"), "--speed", "0", "--user", sender)
    assert result.exit_code == 2
    assert "does not exist" in " ".join(result.output.replace("│", " ").split())


def test_a_url_without_a_token_is_refused(
    small_city: Path, bare: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CORESPOND_API_TOKEN", raising=False)
    result = run(str(small_city / "cad-eido"), "--url", "http://127.0.0.1:9")
    assert result.exit_code == 2
    assert "set CORESPOND_API_TOKEN" in result.output


def test_broken_csv_rows_are_skipped_and_the_good_incidents_sent(
    small_city: Path, sender: str, tmp_path: Path
) -> None:
    export = tmp_path / "cad"
    shutil.copytree(small_city / "cad", export)
    calls_file = export / "calls.csv"
    with calls_file.open(newline="") as stream:
        rows = list(csv.DictReader(stream))
    fields = list(rows[0])
    events = list(dict.fromkeys(row["CAD Event Number"] for row in rows))[:6]
    kept = [row for row in rows if row["CAD Event Number"] in events]
    broken = {events[1], events[4]}
    for row in kept:
        if row["CAD Event Number"] in broken:
            row["CAD Event Received Time"] = "the thirty-first of Smarch"
    with calls_file.open("w", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=fields)
        writer.writeheader()
        writer.writerows(kept)

    feed = replay.read_feed(export, UTC)
    sent_keys = {key_of(item) for item in feed.items}
    assert sent_keys == set(events) - broken
    assert len(feed.rejections) == sum(1 for row in kept if row["CAD Event Number"] in broken)

    result = run(str(export), "--speed", "0", "--user", sender)

    assert result.exit_code == 0, result.output
    assert f"{len(feed.rejections)} rows skipped" in result.output
    assert "skipped" in result.output and "CAD Event Received Time" in result.output
    assert "4 new, 0 updates or repeats, 0 refused" in result.output
    assert incident_keys() == sorted(sent_keys)
