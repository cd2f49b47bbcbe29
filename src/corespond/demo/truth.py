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
from datetime import date
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
