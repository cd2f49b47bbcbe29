"""``corespond demo city``: build the synthetic city on disk.

Example:
    >>> from pathlib import Path
    >>> summary = build_city(CityParams(people=300, seed=1), Path("/tmp/city"))  # doctest: +SKIP
    >>> summary.records["cad"]["call"]  # doctest: +SKIP
    431

Layout of ``out``: ``jurisdiction.yaml``; one folder per source system (``cad/``, ``cad-eido/``,
``rms/``, ``ems/``, ``hmis/``, ``behavioral/``, ``hospital/``) in the agency's native format;
``truth/`` with the ground truth (``truth.py``), which ``corespond ingest`` must never import.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from importlib import import_module
from pathlib import Path
from typing import Any

import yaml

from corespond.demo.params import CityParams
from corespond.demo.simulation import Simulation
from corespond.demo.streams import StreamingSink, Writer
from corespond.demo.truth import TruthFiles
from corespond.demo.world import World

# short name: (display name used as --source, format, folder, writer module, agency key)
SOURCES: dict[str, tuple[str, str, str, str, str]] = {
    "cad": ("Metro 911 CAD", "cad-csv", "cad", "cad_csv", "metro-911"),
    "eido": ("Metro 911 CAD live", "eido", "cad-eido", "eido", "metro-911"),
    "rms": ("Riverbend PD RMS", "rms-csv", "rms", "rms_csv", "riverbend-pd"),
    "nemsis": ("Riverbend Fire ePCR", "nemsis", "ems", "nemsis", "riverbend-fire"),
    "hmis": ("Riverbend HMIS", "hmis-csv", "hmis", "hmis_csv", "riverbend-coc"),
    "behavioral": (
        "Riverbend Behavioral Health EHR",
        "fhir",
        "behavioral",
        "fhir",
        "riverbend-behavioral",
    ),
    "hospital": ("Mercy General EHR", "fhir", "hospital", "fhir", "mercy-general"),
}
AGENCIES = (
    # key, name, kind, ORI
    ("metro-911", "Metro 911 Communications", "dispatch", "OR0260000"),
    ("riverbend-pd", "Riverbend Police Department", "police", "OR0260900"),
    ("riverbend-fire", "Riverbend Fire & Rescue", "fire", None),
    ("riverbend-care-team", "Riverbend CARE Team", "care_team", None),
    ("riverbend-coc", "Riverbend Continuum of Care", "homeless_services", None),
    ("riverbend-behavioral", "Riverbend Behavioral Health Network", "behavioral_health", None),
    ("mercy-general", "Mercy General Hospital", "hospital", None),
)
PROGRAM_KEY = "riverbend-care"


@dataclass
class CitySummary:
    """What was written: record counts per source and kind, and files per source."""

    out: Path
    people: int
    calls: int
    records: dict[str, dict[str, int]] = field(default_factory=dict)
    files: dict[str, int] = field(default_factory=dict)


def build_city(
    params: CityParams,
    out: Path,
    *,
    progress: Callable[[str, int, int], None] | None = None,
) -> CitySummary:
    """Simulate the city described by ``params`` and write its exports and truth under ``out``.

    Args:
        params: size, seed, program and corruption parameters.
        out: the output folder (created; files of the same names are replaced).
        progress: called as ``progress(stage, done, total)`` while it runs.

    Returns:
        Counts of what was written.
    """
    out.mkdir(parents=True, exist_ok=True)
    truth = TruthFiles(out / "truth", {short: spec[0] for short, spec in SOURCES.items()})
    sink = StreamingSink(_writers(params, out), truth)
    world = World.create(params, sink)
    _write_jurisdiction(world, out)
    try:
        Simulation(world).run(progress)
    finally:
        paths = sink.finish()
        truth.close(world)
    counts = sink.counts
    return CitySummary(
        out=out,
        people=len(world.people),
        calls=counts["truth"]["call"] if "truth" in counts else 0,
        records={name: dict(sorted(c.items())) for name, c in counts.items() if name != "truth"},
        files={name: len(found) for name, found in paths.items()},
    )


def _writers(params: CityParams, out: Path) -> dict[str, Writer]:
    """Each source's writer, bound to its folder and options."""
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(params.timezone)
    writers: dict[str, Writer] = {}
    for short, (name, _, folder, module, _) in SOURCES.items():
        write = import_module(f"corespond.demo.exports.{module}").write
        options: dict[str, Any] = {"timezone": zone}
        if module == "hmis_csv":
            end = date(params.start.year + params.years, params.start.month, params.start.day)
            options.update(
                source_name=name,
                exported_at=datetime(end.year, end.month, end.day, 2, 0, tzinfo=zone),
            )
        elif module == "nemsis":
            options.update(agency_number="RFR-EMS", agency_state="41")
        writers[short] = functools.partial(_call_writer, write, out / folder, options)
    return writers


def _call_writer(
    write: Callable[..., list[Path]], folder: Path, options: dict[str, Any], records: Any
) -> list[Path]:
    return write(records, folder, **options)


def _write_jurisdiction(world: World, out: Path) -> None:
    """``jurisdiction.yaml``: agencies and their sources, the beat map, the program."""
    by_agency: dict[str, list[dict[str, str]]] = {}
    for name, format_name, folder, _, agency_key in SOURCES.values():
        by_agency.setdefault(agency_key, []).append(
            {"name": name, "format": format_name, "path": folder}
        )
    agencies = []
    for key, name, kind, ori in AGENCIES:
        agency: dict[str, Any] = {"key": key, "name": name, "kind": kind}
        if ori:
            agency["ori"] = ori
        if key in by_agency:
            agency["sources"] = by_agency[key]
        agencies.append(agency)
    params = world.params
    document = {
        "jurisdiction": params.name,
        "timezone": params.timezone,
        "agencies": agencies,
        "beats": [
            {
                "beat": b.beat,
                "sector": b.sector,
                "precinct": b.precinct,
                "neighborhood": b.neighborhood,
            }
            for b in world.beats
        ],
        "programs": [
            {
                "key": PROGRAM_KEY,
                "name": f"{params.name} CARE",
                "agency": "riverbend-care-team",
                "type": "co_response",
                "start_date": date.fromordinal(world.program_start),
                "beats": sorted(world.beats[i].beat for i in world.program_beats),
                "hours": list(params.program_hours),
            }
        ],
    }
    text = yaml.safe_dump(document, sort_keys=False, allow_unicode=True)
    (out / "jurisdiction.yaml").write_text(text, encoding="utf-8")
