"""The ground truth, written to ``truth/`` beside the exports and never imported.

- ``persons.csv``: every true person, their identity and latent traits, and what happened to them
  (stabilisation).
- ``records.csv``: for every person record written to any export, the true person behind it.
- ``calls.csv``: every call with its eligibility, program scope and outcomes, so that the
  outcomes evaluation can check what it estimates against what was simulated.
- ``beats.csv``: the beat map with the program flag.
- ``params.json``: the exact :class:`~corespond.demo.params.CityParams`; ``program.json``: the
  program's footprint as simulated (start date, beats, hours) and the effects it applied.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any

from corespond.demo.world import World

PERSON_COLUMNS = (
    "person_id", "first_name", "middle_name", "last_name", "suffix", "new_last_name",
    "name_changed_on", "aliases", "sex", "dob", "ssn", "race", "ethnicity", "phone", "home_beat",
    "moves", "initial_housing", "final_housing", "mental_illness", "substance_use",
    "chronic_illness", "attention", "frequent_utilizer", "first_program_contact", "stabilized_on",
    "stabilized_kind", "stabilized_by_program",
)  # fmt: skip
RECORD_COLUMNS = ("source", "record_kind", "source_key", "person_id")
CALL_COLUMNS = (
    "event_number", "received_at", "beat", "call_type", "priority", "call_source", "eligible",
    "program_scope", "care_team", "subject_person_id", "arrest", "involuntary_hold",
    "use_of_force", "er_transport", "referral",
)  # fmt: skip
MENTAL = ("none", "moderate", "serious")


class TruthFiles:
    """Streams ``records.csv`` and ``calls.csv`` while the city is simulated."""

    def __init__(self, folder: Path, source_names: dict[str, str]) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.source_names = source_names
        self._files: list[IO[str]] = []
        self.records = self._open("records.csv", RECORD_COLUMNS)
        self.calls = self._open("calls.csv", CALL_COLUMNS)

    def _open(self, name: str, columns: tuple[str, ...]) -> Any:
        handle = (self.folder / name).open("w", encoding="utf-8", newline="")
        self._files.append(handle)
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(columns)
        return writer

    def person_record(self, source: str, kind: str, source_key: str, person_id: str) -> None:
        """One person record and the true person behind it."""
        self.records.writerow((self.source_names[source], kind, source_key, person_id))

    def call(self, row: tuple[object, ...]) -> None:
        """One call's truth row."""
        self.calls.writerow(row)

    def close(self, world: World) -> None:
        """Write the files known only at the end, and close the streamed ones."""
        for handle in self._files:
            handle.close()
        write_persons(self.folder / "persons.csv", world)
        write_beats(self.folder / "beats.csv", world)
        (self.folder / "params.json").write_text(
            world.params.model_dump_json(indent=2) + "\n", encoding="utf-8"
        )
        program = {
            "start_date": date.fromordinal(world.program_start).isoformat(),
            "beats": sorted(world.beats[i].beat for i in world.program_beats),
            "hours": list(world.params.program_hours),
            "coverage": world.params.program_coverage,
            "effects": world.params.effects.model_dump(),
            "note": "effects apply to eligible, community-generated calls the care team attends "
            "(care_team=1 in calls.csv); the intention-to-treat change on program_scope=1 calls "
            "is about coverage * effect",
        }
        (self.folder / "program.json").write_text(
            json.dumps(program, indent=2) + "\n", encoding="utf-8"
        )


def _day(ordinal: int | None) -> str:
    return date.fromordinal(ordinal).isoformat() if ordinal is not None else ""


def write_persons(path: Path, world: World) -> None:
    """``persons.csv``: one row per true person."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(PERSON_COLUMNS)
        for p in world.people:
            home = next((a for _, a in p.addresses if a is not None), None)
            writer.writerow((
                p.person_id, p.first, p.middle or "", p.last, p.suffix or "", p.new_last or "",
                _day(p.name_changed_on), ";".join(f"{last}, {first}" for first, last in p.aliases),
                p.sex, p.dob.isoformat(), p.ssn, p.race, p.ethnicity, p.phone or "",
                world.beats[home.beat].beat if home else "",
                max(0, sum(1 for _, a in p.addresses if a is not None) - 1),
                p.initial_housing, p.housing, MENTAL[p.mental], p.substance, int(p.chronic),
                f"{p.initial_attention:.4f}", int(p.frequent), _day(p.first_program_contact),
                _day(p.stabilized_on), p.stabilized_kind or "", int(p.stabilized_by_program),
            ))  # fmt: skip


def write_beats(path: Path, world: World) -> None:
    """``beats.csv``: the beat map and which beats the program covers."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(("beat", "sector", "precinct", "neighborhood", "program"))
        for beat in world.beats:
            writer.writerow(
                (
                    beat.beat,
                    beat.sector,
                    beat.precinct,
                    beat.neighborhood,
                    int(beat.index in world.program_beats),
                )
            )


def true_person_of_records(city: Path, session: Any) -> dict[int, str]:
    """Stored person record id → true person id, for the city imported into ``session``'s
    store (for tests and benchmarks that measure linkage; the product never reads truth)."""
    from sqlalchemy import select

    from corespond import models

    with (city / "truth" / "records.csv").open(newline="") as handle:
        keyed = {
            (row["source"], row["source_key"]): row["person_id"] for row in csv.DictReader(handle)
        }
    rows = session.execute(
        select(
            models.PersonRecord.id, models.SourceSystem.name, models.PersonRecord.source_key
        ).join(models.SourceSystem, models.SourceSystem.id == models.PersonRecord.source_system_id)
    ).all()
    return {record: keyed[(source, key)] for record, source, key in rows if (source, key) in keyed}


EFFECT_OUTCOMES: dict[str, tuple[str, Callable[[dict[str, str]], bool]]] = {
    "arrests_eligible": ("arrest", lambda row: row["arrest"] in ("on_view", "taken_into_custody")),
    "citations_eligible": ("arrest", lambda row: row["arrest"] == "summoned_cited"),
    "holds_eligible": ("involuntary_hold", lambda row: row["involuntary_hold"] == "1"),
    "er_transports": ("er_transport", lambda row: row["er_transport"] == "1"),
}
"""Outcome metric → (the ``ProgramEffects`` field that scales it, whether a truth row has it)."""


def expected_changes(city: Path) -> dict[str, float]:
    """What the program changed in the simulation, for each evaluated outcome: the same
    comparison an evaluation makes (eligible community-generated calls in program hours, the
    program's beats against the others, before and after the start), computed on the
    generator's truth of every call, before any export. An evaluation of the imported exports
    should recover it within its confidence interval.

    It is smaller than the effect the generator was given: the care team attends a share of the
    calls (``share``, also returned; never priority 1), and a hold can follow only a call that
    ended without an arrest, which the program also changes.
    """
    program = json.loads((city / "truth" / "program.json").read_text())
    begin, end = program["hours"]
    beats, start = set(program["beats"]), program["start_date"]
    cells: dict[str, dict[tuple[bool, bool], list[int]]] = {key: {} for key in EFFECT_OUTCOMES}
    attended = scoped = 0
    with (city / "truth" / "calls.csv").open(newline="") as handle:
        for row in csv.DictReader(handle):
            scoped += row["program_scope"] == "1"
            attended += row["program_scope"] == "1" and row["care_team"] == "1"
            if row["eligible"] != "1":
                continue
            local = datetime.fromisoformat(row["received_at"])  # the city's wall-clock time
            if not begin <= local.hour < end:
                continue
            where = (row["beat"] in beats, local.date().isoformat() >= start)
            for key, (_, has) in EFFECT_OUTCOMES.items():
                counts = cells[key].setdefault(where, [0, 0])
                counts[0] += has(row)
                counts[1] += 1
    found = {"share": attended / max(scoped, 1)}
    for key, counted in cells.items():
        rate = {where: events / calls for where, (events, calls) in counted.items()}
        ratio = (rate[True, True] / rate[True, False]) / (rate[False, True] / rate[False, False])
        found[key] = ratio - 1
    return found
