"""The simulation's shared state: the city, its people, random streams, clocks and a scheduler.

Each concern draws from its own ``random.Random`` stream named after it, so adding a draw in
one place does not reshuffle every other source: the output stays stable as the code grows,
and it is identical for the same seed.
"""

from __future__ import annotations

import heapq
import math
import random
from bisect import bisect
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from itertools import accumulate
from zoneinfo import ZoneInfo

from corespond.demo.geography import Beat, build_beats, default_program_beats
from corespond.demo.params import CityParams
from corespond.demo.population import Person, build_population
from corespond.sources.records import Record


def poisson(mean: float, rng: random.Random) -> int:
    """A Poisson draw (a normal approximation for large means, where ``exp(-mean)`` underflows)."""
    if mean <= 0:
        return 0
    if mean > 60:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, k, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        k += 1
        product *= rng.random()
    return k


class Sink:
    """Where the simulation puts what it produces: per-source records and ground truth.

    The base class keeps everything in memory (tests); ``city.py`` streams to writers instead.
    """

    def __init__(self) -> None:
        self.records: dict[str, list[Record]] = {}
        self.truth: list[tuple[str, str, str, str]] = []
        self.calls: list[tuple[object, ...]] = []

    def emit(self, source: str, record: Record) -> None:
        """Hand one canonical record to ``source``'s stream."""
        self.records.setdefault(source, []).append(record)

    def note_person(self, source: str, kind: str, source_key: str, person_id: str) -> None:
        """Record which true person a person record stands for."""
        self.truth.append((source, kind, source_key, person_id))

    def note_call(self, row: tuple[object, ...]) -> None:
        """Record the truth of one call (see ``truth.CALL_COLUMNS``)."""
        self.calls.append(row)


@dataclass
class Pool:
    """People weighted for one kind of involvement; drawn from with a binary search."""

    cum: list[float]

    def draw(self, rng: random.Random) -> int:
        """A pid with probability proportional to its weight."""
        return bisect(self.cum, rng.random() * self.cum[-1])


POOL_WEIGHTS: dict[str, Callable[[Person], float]] = {
    "general": lambda p: p.attention,
    "behavioral": lambda p: p.attention * (0.1, 1.0, 3.0)[p.mental] * (1.5 if p.substance else 1.0),
    "street": lambda p: (
        p.attention * (5.0 if p.housing != "housed" else 0.3) * (2.0 if p.substance else 1.0)
    ),
    "substance": lambda p: (
        p.attention * ((2.0 if p.substance == "opioid" else 1.0) if p.substance else 0.02)
    ),
    "medical": lambda p: (
        (3.0 if p.chronic else 0.5) * (1.0 + p.attention**0.5) * (2.0 if p.substance else 1.0)
    ),
    "victim": lambda p: 1.0 if p.initial_attention > 0.1 else 0.3,
}


@dataclass
class World:
    """Everything the per-source simulators share."""

    params: CityParams
    tz: ZoneInfo
    beats: tuple[Beat, ...]
    people: list[Person]
    sink: Sink
    program_beats: frozenset[int]
    first_day: int
    last_day: int
    """Ordinal of the last simulated day (inclusive)."""
    program_start: int
    live_from: int
    """First day ordinal of the live (EIDO) CAD feed."""
    pools: dict[str, Pool] = field(default_factory=dict)
    _rngs: dict[str, random.Random] = field(default_factory=dict)
    _queue: list[tuple[int, int, Callable[[int], None]]] = field(default_factory=list)
    _sequence: int = 0
    _counters: dict[str, int] = field(default_factory=dict)
    _midnights: dict[int, int] = field(default_factory=dict)
    history: dict[int, set[str]] = field(default_factory=dict)
    """What the city's systems have seen of a person (``violence``, ``crisis``...): cautions."""

    @classmethod
    def create(cls, params: CityParams, sink: Sink) -> World:
        """Build the city, its people and the program's footprint from ``params``."""
        beats = build_beats()
        names = params.program_beats
        if names is None:
            names = default_program_beats(beats)
        elif not names:
            names = tuple(b.beat for b in beats)
        unknown = set(names) - {b.beat for b in beats}
        if unknown:
            raise ValueError(f"unknown program beats: {sorted(unknown)}")
        start = params.start
        end = date(start.year + params.years, start.month, start.day) - timedelta(days=1)
        first, last = start.toordinal(), end.toordinal()
        world = cls(
            params=params,
            tz=ZoneInfo(params.timezone),
            beats=beats,
            people=build_population(params, beats),
            sink=sink,
            program_beats=frozenset(b.index for b in beats if b.beat in names),
            first_day=first,
            last_day=last,
            program_start=first + round(params.program_start_fraction * (last - first + 1)),
            live_from=last - params.live_days + 1,
        )
        world.refresh_pools()
        return world

    def rng(self, stream: str) -> random.Random:
        """The random stream named ``stream`` (created from the seed on first use)."""
        found = self._rngs.get(stream)
        if found is None:
            found = self._rngs[stream] = random.Random(f"{self.params.seed}:{stream}")
        return found

    def next_id(self, counter: str) -> int:
        """The next number of a per-source sequence (1, 2, 3, ...)."""
        value = self._counters.get(counter, 0) + 1
        self._counters[counter] = value
        return value

    def refresh_pools(self) -> None:
        """Recompute draw weights (attention and housing change as the simulation runs)."""
        for name, weight in POOL_WEIGHTS.items():
            self.pools[name] = Pool(list(accumulate(weight(p) for p in self.people)))

    def draw(self, pool: str, stream: random.Random) -> Person:
        """A person drawn from ``pool``."""
        return self.people[self.pools[pool].draw(stream)]

    def at(self, day: int, seconds: float) -> datetime:
        """The aware local datetime ``seconds`` after local midnight of day ordinal ``day``."""
        midnight = self._midnights.get(day)
        if midnight is None:
            local = datetime.combine(date.fromordinal(day), datetime.min.time(), self.tz)
            midnight = self._midnights[day] = int(local.timestamp())
        # Whole seconds: CAD exports carry no fractions, and keys embed times.
        return datetime.fromtimestamp(midnight + int(seconds), self.tz)

    def schedule(self, day: int, action: Callable[[int], None]) -> None:
        """Run ``action(day)`` at the start of ``day`` (dropped if after the last day)."""
        if day <= self.last_day:
            self._sequence += 1
            heapq.heappush(self._queue, (day, self._sequence, action))

    def run_due(self, day: int) -> None:
        """Run the actions scheduled up to ``day``, in the order they were scheduled."""
        while self._queue and self._queue[0][0] <= day:
            _, _, action = heapq.heappop(self._queue)
            action(day)

    def in_program(self, beat: int, day: int, hour: int) -> bool:
        """Whether a call at this place and time falls in the program's footprint."""
        start, end = self.params.program_hours
        return day >= self.program_start and beat in self.program_beats and start <= hour < end
