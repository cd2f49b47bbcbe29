"""Synthetic person records at scale for the linkage benchmarks, with the truth.

The synthetic city's population and its per-source corruption (typos, nicknames, swapped
dates, missing SSNs and DOBs, aliases, moves), without simulating calls: ``records(n)`` draws n
records from a population sized to give about 3.5 records per person, frequent utilizers
drawing many more, as in the city.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import date

from corespond.crypto import FieldCipher, ssn_status
from corespond.demo.corruption import recorded_identity
from corespond.demo.geography import build_beats
from corespond.demo.params import CityParams
from corespond.demo.population import build_population
from corespond.ingest.tables import SSN_CONTEXT
from corespond.linkage.features import Identity
from corespond.sources.parse import digits

SOURCES = ("cad", "eido", "rms", "nemsis", "hospital", "hmis", "behavioral")
SOURCE_WEIGHTS = (55, 2, 7, 18, 10, 1, 2)
"""Roughly the city's mix: CAD name records dominate, then EMS and the ER."""


def records(count: int, *, seed: int = 7) -> Iterator[tuple[Identity, int]]:
    """``count`` person records as (identity, true person id), deterministic from ``seed``."""
    people_count = max(100, count * 2 // 7)
    params = CityParams(people=people_count, years=3, seed=seed)
    people = build_population(params, build_beats())
    weights = [1.0 + 20.0 * person.attention for person in people]
    rng = random.Random(f"{seed}:records")
    cipher = FieldCipher.from_settings()
    first_day = params.start.toordinal()
    days = (date(params.start.year + params.years, 1, 1) - params.start).days
    chosen = rng.choices(people, weights=weights, k=count)
    sources = rng.choices(SOURCES, weights=SOURCE_WEIGHTS, k=count)
    for number, (person, source) in enumerate(zip(chosen, sources, strict=True), start=1):
        day = first_day + rng.randrange(days)
        seen = recorded_identity(
            person, day, params.rates(source), rng, city="Riverbend",
            with_aliases=source == "rms",
        )  # fmt: skip
        ssn = digits(seen["ssn"])
        address = seen["address"]
        yield (
            Identity(
                record_id=number,
                first_name=seen["first_name"],
                middle_name=seen["middle_name"],
                last_name=seen["last_name"],
                dob=seen["dob"],
                sex=seen["sex"],
                ssn_index=cipher.blind_index(ssn, context=SSN_CONTEXT)
                if ssn and ssn_status(ssn) == "valid"
                else None,
                phone=seen["phone"],
                street=address.street if address else None,
                zip=address.zip if address else None,
                aliases=tuple((a.first_name, a.last_name) for a in seen["aliases"]),
                source_system_id=SOURCES.index(source),
            ),
            person.pid,
        )
