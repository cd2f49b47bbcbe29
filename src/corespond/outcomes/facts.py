"""The facts of each call that the metrics count, kept in step with the store.

:func:`refresh` brings ``outcome_call`` up to date: it rebuilds the facts of every call an ingest
run touched since the last refresh (a batch import, or a live dispatch message, which is an
ingest run of one row), so the dashboards follow the data as it arrives. ``full=True`` rebuilds
every call, a range of ids at a time (after a definitions change or a relinking). The facts are
derived: rebuilding is always safe, and gives the same rows.

docs/metrics.md defines each fact; in short, for one call:

- response time: queued to first arrival, split into dispatch delay (queued to dispatched) and
  travel (dispatched to first arrival), flagged invalid when missing, negative or too long;
- who responded (``team``): a care team without police, a co-response, police, fire/EMS;
- what followed: custody arrests, citations, involuntary holds, use of force and injuries, EMS
  transports (to an emergency department and all), officer time on the call;
- repeat calls: the same person, or the same address, called about within ``repeat_days``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from corespond.config import get_settings
from corespond.dispatch.protocol import Protocol
from corespond.dispatch.triage import categorise
from corespond.models.base import utcnow
from corespond.outcomes import repository
from corespond.outcomes.definitions import Definitions

CHUNK = 100_000
"""Calls rebuilt per pass of a full refresh: bounds memory on a city of millions of calls."""
ANALYZE_AFTER = 50_000
"""Calls rebuilt at once after which the planner's statistics are renewed: a bulk rebuild leaves
PostgreSQL planning the dashboard's queries blind until autovacuum gets to the table."""
LIST_CHUNK = 10_000
"""Calls rebuilt per pass when named one by one: a query names them up to four times, and
PostgreSQL takes at most 65,535 parameters in one statement."""


@dataclass(frozen=True, slots=True)
class Refreshed:
    calls: int
    runs: int
    full: bool


@dataclass(frozen=True, slots=True)
class _Area:
    beats: frozenset[str] | None
    """None: citywide."""
    hours: tuple[int, int] | None


def refresh(
    session: Session, definitions: Definitions, protocol: Protocol, *, full: bool = False
) -> Refreshed:
    """Rebuild the facts of the calls touched since the last refresh (or of all, if ``full``)."""
    state = repository.state(session)
    runs = repository.runs_after(session, 0 if full else state.ingest_run_id)
    builder = _Builder(session, definitions, protocol)
    if full:
        repository.clear_facts(session)
        bounds = repository.call_id_bounds(session)
        count = 0
        if bounds is not None:
            for low in range(bounds[0], bounds[1] + 1, CHUNK):
                count += builder.build(repository.id_range(low, low + CHUNK - 1), None)
    else:
        touched = repository.calls_touched(session, (run for run, _ in runs))
        count = 0
        for start in range(0, len(touched), LIST_CHUNK):
            ids = touched[start : start + LIST_CHUNK]
            count += builder.build(repository.id_list(ids), ids)
    # Caught up to the last run before the first one still running: that one may write more.
    caught_up = state.ingest_run_id if not full else 0
    for run, status in runs:
        if status == "running":
            break
        caught_up = run
    if count >= ANALYZE_AFTER:
        repository.analyze(session)
    caught_up = max(caught_up, state.ingest_run_id)
    if count or caught_up != state.ingest_run_id or full:
        state.ingest_run_id, state.refreshed_at = caught_up, utcnow()
    return Refreshed(calls=count, runs=len(runs), full=full)


class _Builder:
    def __init__(self, session: Session, definitions: Definitions, protocol: Protocol) -> None:
        self.session = session
        self.definitions = definitions
        self.protocol = protocol
        self.zone = ZoneInfo(get_settings().timezone)
        self.areas = [
            _Area(
                frozenset(program.beats.split()) if program.beats else None,
                (program.hours_start, program.hours_end)
                if program.hours_start is not None and program.hours_end is not None
                else None,
            )
            for program in repository.programs(session)
        ]
        self.categories: dict[str | None, str | None] = {}

    def build(self, which: repository.Calls, ids: list[int] | None) -> int:
        calls = repository.calls(self.session, which)
        if calls.empty:
            if ids:
                repository.replace_facts(self.session, ids, [])
            return 0
        frame = self._facts(calls, which)
        rows = _records(frame)
        repository.replace_facts(self.session, frame["call_id"].tolist(), rows)
        return len(rows)

    def _facts(self, calls: pd.DataFrame, which: repository.Calls) -> pd.DataFrame:
        d = self.definitions
        times = ["received_at", "queued_at", "dispatched_at", "first_arrival_at", "cleared_at"]
        for column in times:
            calls[column] = pd.to_datetime(calls[column])
        frame = calls[["call_id", "priority", "call_source", "call_type", "beat", "sector"]].copy()
        frame["priority"] = frame["priority"].astype("Int64")
        frame["precinct"] = calls["precinct"]
        frame["neighborhood"] = calls["neighborhood"]
        start = calls["queued_at"].fillna(calls["received_at"])
        local = start.dt.tz_localize("UTC").dt.tz_convert(self.zone)
        frame["day"] = local.dt.date
        frame["hour"] = local.dt.hour.astype(int)
        frame["community"] = calls["call_source"].isin(d.community_sources)
        frame["category"] = calls["call_type"].map(self._category)
        frame["eligible"] = frame["category"].isin(d.eligible_categories)
        frame["behavioral"] = frame["category"].isin(d.behavioral_categories)
        frame["program_area"] = self._in_area(frame)

        units = repository.units(self.session, which)
        for column in ("dispatched_at", "en_route_at", "at_scene_at", "in_service_at"):
            units[column] = pd.to_datetime(units[column])
        frame = frame.merge(_responders(units), on="call_id", how="left")
        frame["responders"] = frame["responders"].fillna("")
        teams = {kinds: _team(kinds) for kinds in frame["responders"].unique()}
        frame["team"] = frame["responders"].map(teams)

        dispatched = calls["dispatched_at"].fillna(_first(units, "dispatched_at", calls))
        arrived = calls["first_arrival_at"].fillna(_first(units, "at_scene_at", calls))
        queued = calls["queued_at"].fillna(calls["received_at"])
        frame["response_s"] = _seconds(arrived - queued)
        frame["dispatch_delay_s"] = _seconds(dispatched - queued)
        frame["travel_s"] = _seconds(arrived - dispatched)
        limit = d.response_time.max_minutes * 60
        valid = frame[["response_s", "dispatch_delay_s", "travel_s"]]
        frame["response_valid"] = (valid.notna() & (valid >= 0)).all(axis=1) & (
            frame["response_s"] <= limit
        )
        for kind, column in (("police", "police_response_s"), ("care", "care_response_s")):
            types = ("police",) if kind == "police" else ("care_team", "co_responder")
            sent = units[units["responder_type"].isin(types)]
            seconds = _seconds(_first(sent, "at_scene_at", calls) - queued)
            frame[column] = seconds.where((seconds >= 0) & (seconds <= limit))
        scene = _seconds(calls["cleared_at"] - arrived)
        frame["scene_s"] = scene.where(scene >= 0)
        frame = frame.merge(_officer_time(units), on="call_id", how="left")

        counts = repository.outcomes(self.session, which)
        frame = frame.merge(counts, on="call_id", how="left") if not counts.empty else frame
        for column in (
            "arrests", "citations", "holds", "force", "injuries", "transports", "er_transports",
            "officer_units",
        ):  # fmt: skip
            if column not in frame:
                frame[column] = 0
            frame[column] = frame[column].fillna(0).astype(int)
        frame["officer_s"] = frame["officer_s"].fillna(0.0)

        named = repository.people(self.session, which)
        frame = frame.merge(_subjects(named), on="call_id", how="left")
        frame["people"] = frame["people"].fillna(0).astype(int)
        frame["repeat_place"] = self._repeats(
            frame, start, which, repository.place_history, "place_id"
        )
        frame["repeat_person"] = self._repeats(
            frame, start, which, repository.person_history, "person_id"
        )
        frame["refreshed_at"] = utcnow()
        return frame

    def _category(self, call_type: str | None) -> str | None:
        if call_type not in self.categories:
            self.categories[call_type] = categorise(self.protocol, call_type)
        return self.categories[call_type]

    def _in_area(self, frame: pd.DataFrame) -> pd.Series:
        inside = pd.Series(False, index=frame.index)
        for area in self.areas:
            here = (
                frame["beat"].isin(area.beats) if area.beats is not None else frame["beat"].notna()
            )
            if area.hours is not None:
                begin, end = area.hours
                hour = frame["hour"]
                here &= (
                    (hour >= begin) & (hour < end)
                    if begin <= end
                    else (hour >= begin) | (hour < end)
                )
            inside |= here
        return inside

    def _repeats(
        self,
        frame: pd.DataFrame,
        start: pd.Series,
        which: repository.Calls,
        history: Callable[[Session, repository.Calls, datetime], pd.DataFrame],
        key: str,
    ) -> pd.Series:
        """Was the call's place (or a person named on it) called about in the window before?"""
        window = timedelta(days=self.definitions.repeat_days)
        since = start.min().to_pydatetime() - window
        earlier = history(self.session, which, since)
        if earlier.empty:
            return pd.Series(False, index=frame.index)
        earlier["at"] = pd.to_datetime(earlier["at"])
        # One row per (person or place, call): a person named twice on a call, or by two of
        # their records, is not a repeat of that call.
        earlier = earlier.drop_duplicates([key, "call_id"]).sort_values([key, "at", "call_id"])
        gap = earlier.groupby(key)["at"].diff()
        earlier["repeat"] = gap.notna() & (gap <= window)
        flagged = set(earlier.loc[earlier["repeat"], "call_id"])
        return frame["call_id"].isin(flagged)


def _first(units: pd.DataFrame, column: str, calls: pd.DataFrame) -> pd.Series:
    """Each call's earliest unit time in ``column`` (NaT where no unit has one)."""
    earliest = units.groupby("call_id")[column].min().reindex(calls["call_id"])
    return pd.Series(pd.to_datetime(earliest.to_numpy()), index=calls.index)


def _seconds(delta: pd.Series) -> pd.Series:
    return delta.dt.total_seconds()


def _responders(units: pd.DataFrame) -> pd.DataFrame:
    if units.empty:
        return pd.DataFrame({"call_id": pd.Series(dtype=int), "responders": pd.Series(dtype=str)})
    kinds = units[["call_id", "responder_type"]].drop_duplicates()
    kinds = kinds.sort_values(["call_id", "responder_type"]).groupby("call_id")["responder_type"]
    return kinds.agg("+".join).rename("responders").reset_index()


def _team(responders: str) -> str:
    kinds = set(responders.split("+")) - {""}
    care, pair, police = "care_team" in kinds, "co_responder" in kinds, "police" in kinds
    if not kinds:
        return "none"
    if pair or (care and police):
        return "co_response"
    if care:
        return "care_team"
    if police:
        return "police"
    if kinds <= {"fire", "ems"}:
        return "fire_ems"
    return "other"


def _officer_time(units: pd.DataFrame) -> pd.DataFrame:
    """Police unit time on the call: dispatched (else en route, else arrived) to in service."""
    police = units[units["responder_type"] == "police"]
    began = police["dispatched_at"].fillna(police["en_route_at"]).fillna(police["at_scene_at"])
    seconds = _seconds(police["in_service_at"] - began)
    seconds = seconds.where((seconds >= 0) & (seconds <= 24 * 3600))
    grouped = pd.DataFrame({"call_id": police["call_id"], "officer_s": seconds}).groupby("call_id")
    return pd.DataFrame(
        {"officer_s": grouped["officer_s"].sum(), "officer_units": grouped["officer_s"].size()}
    ).reset_index()


def _subjects(named: pd.DataFrame) -> pd.DataFrame:
    """Per call: how many people are named, and the demographics the source recorded of the
    subject (the first subject named; else the first person)."""
    if named.empty:
        return pd.DataFrame(
            columns=["call_id", "people", "subject_sex", "subject_race", "subject_ethnicity"]
        )
    named = named.assign(rank=np.where(named["role"] == "subject", 0, 1))
    first = named.sort_values(["call_id", "rank"], kind="stable").groupby("call_id").first()
    return pd.DataFrame(
        {
            "people": named.groupby("call_id").size(),
            "subject_sex": first["sex"],
            "subject_race": first["race"],
            "subject_ethnicity": first["ethnicity"],
        }
    ).reset_index()


_COLUMNS = (
    "call_id", "day", "hour", "priority", "call_source", "community", "call_type", "category",
    "eligible", "behavioral", "beat", "sector", "precinct", "neighborhood", "program_area", "team",
    "responders", "response_s", "dispatch_delay_s", "travel_s", "response_valid",
    "police_response_s", "care_response_s", "scene_s", "officer_s", "officer_units", "arrests",
    "citations", "holds", "force", "injuries", "transports", "er_transports", "people",
    "repeat_person", "repeat_place", "subject_sex", "subject_race", "subject_ethnicity",
    "refreshed_at",
)  # fmt: skip


def _records(frame: pd.DataFrame) -> list[dict[str, object]]:
    """Rows for the insert: plain Python values, None for missing."""
    columns = []
    for name in _COLUMNS:
        column = frame[name]
        if name == "refreshed_at":
            columns.append([value.to_pydatetime() for value in column])
            continue
        values = column.astype(object).where(column.notna(), None).tolist()
        columns.append(values)
    return [dict(zip(_COLUMNS, row, strict=True)) for row in zip(*columns, strict=True)]
