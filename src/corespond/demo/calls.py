"""A day of calls for service: volume by type, hour, weekday and season; units; what happened.

The co-response program changes only what it should: on an eligible, community-generated call
in a program beat during program hours after the start date, of priority 2 or below, the care
team attends (with probability ``program_coverage``) and the call's arrest, hold,
ER-transport and referral chances are scaled by the effect sizes. Priority-1 police travel
times are drawn the same way everywhere (times ``1 + effects.p1_response_time`` in program
beats after the start).
"""

from __future__ import annotations

import math
import random
from bisect import bisect
from dataclasses import dataclass, field
from datetime import date, datetime
from itertools import accumulate

from corespond.demo.calltypes import (
    CALL_TYPES,
    HOUR_PROFILES,
    CallType,
    season_factor,
    weekday_factor,
)
from corespond.demo.geography import Address, Beat, random_address
from corespond.demo.population import Person
from corespond.demo.world import World, poisson
from corespond.sources.records import ArrestType, CallSource, ResponderType

INTAKE_SECONDS = 55.0
DISPATCH_DELAY_SECONDS = {1: 45.0, 2: 240.0, 3: 900.0, 4: 1800.0}
TRAVEL_SECONDS = {1: 290.0, 2: 420.0, 3: 540.0}
CARE_TRAVEL_SECONDS = 840.0
BAD_ORDER_SHARE = 0.005
"""Units whose arrival is stamped before their dispatch (a clock or keying error)."""
MISSING_ARRIVAL_SHARE = 0.03
NO_UNIT_SHARE = 0.03
"""Calls closed without sending anyone (handled by phone, duplicate, caller gone)."""
BACKUP_FACTOR = 1.9
"""Community-generated calls draw backup and follow-up units: about two call signs per event."""
RECLASSIFIED_SHARE = 0.1
RECLASSIFY = {
    "welfare": "crisis", "disturbance": "crisis", "suspicious": "trespass", "person_down": "intox",
    "crisis": "welfare", "noise": "disturbance", "intox": "person_down", "assault": "disturbance",
}  # fmt: skip
_BY_CODE = {t.code: t for t in CALL_TYPES}
_SHARE_TOTAL = sum(t.share for t in CALL_TYPES)


@dataclass(slots=True)
class Unit:
    """One call sign on one call."""

    call_sign: str
    responder: ResponderType
    dispatched: datetime | None
    en_route: datetime | None
    at_scene: datetime | None
    in_service: datetime | None


@dataclass(slots=True)
class SimCall:
    """One CAD event as it really happened; sources see parts of it."""

    event: str
    day: int
    hour: int
    call_type: CallType
    final_type: CallType
    priority: int
    source: CallSource
    beat: Beat
    address: Address
    received: datetime
    queued: datetime
    eligible: bool
    in_scope: bool
    covered: bool
    units: list[Unit] = field(default_factory=list)
    people: list[tuple[Person, str]] = field(default_factory=list)
    arrest: ArrestType | None = None
    hold: bool = False
    force: bool = False
    ems: bool = False
    transport: bool = False
    referral: bool = False
    report: bool = False
    disposition: str = ""

    @property
    def subject(self) -> Person | None:
        """The call's subject, if one was named."""
        return next((p for p, role in self.people if role == "subject"), None)


def _lognormal(median: float, sigma: float, rng: random.Random) -> float:
    return median * math.exp(rng.gauss(0.0, sigma))


class CallGenerator:
    """Draws each day's calls; one instance per simulation."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.rng = world.rng("calls")
        self.timing = world.rng("timing")
        self.outcome = world.rng("outcomes")
        params = world.params
        # Normalise the weekday factor so that a type's mean over a week is its share.
        self._daily = {
            t.code: params.people
            * params.calls_per_person_year
            / 365.25
            * t.share
            / _SHARE_TOTAL
            / (sum(weekday_factor(t, d) for d in range(7)) / 7)
            for t in CALL_TYPES
        }
        self._hour_cum = {k: list(accumulate(v)) for k, v in HOUR_PROFILES.items()}
        self._beat_cum = {
            street: list(
                accumulate(b.density * (b.street_life if street else 1.0) for b in world.beats)
            )
            for street in (False, True)
        }
        self._priority_cum = {
            t.code: [c / sum(t.priorities) for c in accumulate(t.priorities)][:-1]
            for t in CALL_TYPES
        }
        self._sequence: dict[int, int] = {}

    def day(self, day: int) -> list[SimCall]:
        """The calls received on day ordinal ``day``, in time order."""
        when = date.fromordinal(day)
        calls: list[SimCall] = []
        for call_type in CALL_TYPES:
            mean = self._daily[call_type.code] * season_factor(call_type, when.timetuple().tm_yday)
            mean *= weekday_factor(call_type, when.weekday())
            for _ in range(poisson(mean, self.rng)):
                calls.append(self._call(day, call_type))
        calls.sort(key=lambda c: (c.received, c.call_type.code))
        year = when.year
        for call in calls:
            self._sequence[year] = self._sequence.get(year, 0) + 1
            call.event = f"{year}-{self._sequence[year]:08d}"
        return calls

    def _call(self, day: int, call_type: CallType) -> SimCall:
        rng, world = self.rng, self.world
        hour_cum = self._hour_cum[call_type.hours]
        seconds = rng.random() * 3600
        hour = bisect(hour_cum, rng.random() * hour_cum[-1])
        street = call_type.pool in ("street", "behavioral", "substance")
        beat_cum = self._beat_cum[street]
        beat = world.beats[bisect(beat_cum, rng.random() * beat_cum[-1])]
        priority = 1 + bisect(self._priority_cum[call_type.code], rng.random())
        sources = call_type.sources
        roll, source = rng.random() * sum(w for _, w in sources), sources[-1][0]
        for candidate, weight in sources:
            if roll < weight:
                source = candidate
                break
            roll -= weight
        received = world.at(day, hour * 3600 + seconds)
        on_view = source is CallSource.ON_VIEW
        queued_after = (
            0.0
            if on_view
            else _lognormal(INTAKE_SECONDS * (0.8 if priority == 1 else 1.0), 0.5, self.timing)
        )
        eligible = call_type.eligible and not on_view
        in_scope = eligible and world.in_program(beat.index, day, hour)
        final = call_type
        if rng.random() < RECLASSIFIED_SHARE and call_type.code in RECLASSIFY:
            final = _BY_CODE[RECLASSIFY[call_type.code]]
        call = SimCall(
            event="",
            day=day,
            hour=hour,
            call_type=call_type,
            final_type=final,
            priority=priority,
            source=source,
            beat=beat,
            address=random_address(beat, rng),
            received=received,
            queued=world.at(day, hour * 3600 + seconds + queued_after),
            eligible=eligible,
            in_scope=in_scope,
            # A priority-1 call is an emergency: police, fire or EMS go first (CAHOOTS and STAR
            # take non-emergency calls), so the care team covers priority 2 and below.
            covered=in_scope and priority > 1 and rng.random() < world.params.program_coverage,
        )
        self._people(call)
        self._outcomes(call)
        self._units(call, hour * 3600 + seconds + queued_after)
        return call

    def _people(self, call: SimCall) -> None:
        rng, world, call_type = self.rng, self.world, call.call_type
        if rng.random() < call_type.person_share:
            call.people.append((world.draw(call_type.pool, rng), call_type.role))
            if call_type.code == "dv":
                call.people.append((world.draw("victim", rng), "victim"))
        if call.people and call.source is not CallSource.ON_VIEW and rng.random() < 0.2:
            call.people.append((world.draw("victim", rng), "caller"))

    def _outcomes(self, call: SimCall) -> None:
        rng, call_type, effects = self.outcome, call.call_type, self.world.params.effects
        scale = 1.0
        hold_scale = transport_scale = referral_scale = 1.0
        if call.covered:
            scale = 1 + effects.arrest
            hold_scale = 1 + effects.involuntary_hold
            transport_scale = 1 + effects.er_transport
            referral_scale = 1 + effects.referral
        subject = call.subject
        mental = subject.mental if subject else (1 if call_type.pool == "behavioral" else 0)
        if rng.random() < call_type.arrest_share * scale:
            call.arrest = (
                ArrestType.ON_VIEW
                if call.source is CallSource.ON_VIEW
                else ArrestType.TAKEN_INTO_CUSTODY
            )
        elif rng.random() < call_type.cite_share * scale:
            call.arrest = ArrestType.SUMMONED_CITED
        hold_chance = call_type.hold_share * (0.2, 1.0, 1.6)[mental] * hold_scale
        if call.arrest is None and rng.random() < hold_chance:
            call.hold = True
        if call.hold or call.arrest in (ArrestType.ON_VIEW, ArrestType.TAKEN_INTO_CUSTODY):
            call.force = rng.random() < call_type.force_share
        call.ems = rng.random() < call_type.ems_share
        if call.ems:
            call.transport = rng.random() < min(0.95, call_type.transport_share * transport_scale)
        call.referral = rng.random() < min(0.9, call_type.referral_share * referral_scale)
        call.report = call.arrest is not None or rng.random() < call_type.report_share
        needs_subject = call.arrest is not None or call.hold or call.force or call.referral
        if needs_subject and subject is None:
            pool = call_type.pool if call_type.pool != "victim" else "general"
            call.people.insert(0, (self.world.draw(pool, self.rng), "subject"))
        call.disposition = _disposition(call, rng)

    def _units(self, call: SimCall, queued_seconds: float) -> None:
        rng, world, call_type = self.timing, self.world, call.call_type
        if rng.random() < NO_UNIT_SHARE and call.arrest is None and not call.hold and not call.ems:
            return
        plan: list[tuple[ResponderType, str]] = []
        police = call_type.police_units * (
            1.0 if call.source is CallSource.ON_VIEW else BACKUP_FACTOR
        )
        n_police = int(police) + (1 if rng.random() < police - int(police) else 0)
        if call.covered:
            plan.append((ResponderType.CARE_TEAM, f"CARE{rng.randrange(1, 7)}"))
            # Dual dispatch: police go first on some calls to secure the scene, then leave.
            n_police = 1 if rng.random() < 0.4 else 0
        elif (
            call_type.code == "suicide"
            and call.beat.index in world.program_beats
            and call.day >= world.program_start
            and rng.random() < 0.3
        ):
            plan.append((ResponderType.CO_RESPONDER, f"CRT{rng.randrange(1, 4)}"))
        if call.arrest is not None or call.hold or call.force:
            n_police = max(n_police, 1 if call.arrest is ArrestType.SUMMONED_CITED else 2)
        precinct_digit = "NWDES".index(call.beat.precinct[0]) + 1
        for _ in range(n_police):
            plan.append(
                (ResponderType.POLICE, f"{precinct_digit}{call.beat.sector}{rng.randrange(11, 40)}")
            )
        if rng.random() < call_type.fire_share:
            plan.append((ResponderType.FIRE, f"E{rng.randrange(2, 40)}"))
        if call.ems:
            plan.append((ResponderType.EMS, f"M{rng.randrange(1, 45)}"))
        if not plan:
            plan.append(
                (ResponderType.POLICE, f"{precinct_digit}{call.beat.sector}{rng.randrange(11, 40)}")
            )
        used: set[str] = set()
        for at, (responder, call_sign) in enumerate(plan):
            while call_sign in used:
                call_sign += "A"
            used.add(call_sign)
            plan[at] = (responder, call_sign)
        on_view = call.source is CallSource.ON_VIEW
        delay_median = DISPATCH_DELAY_SECONDS.get(call.priority, 1800.0)
        first_dispatch = queued_seconds + (0.0 if on_view else _lognormal(delay_median, 0.8, rng))
        scene_base = _lognormal(call_type.scene_minutes * 60, 0.6, rng)
        for order, (responder, call_sign) in enumerate(plan):
            dispatch = first_dispatch + (0.0 if order == 0 else rng.expovariate(1 / 90))
            if on_view and responder is ResponderType.POLICE and order == 0:
                travel, en_route_after = 0.0, 0.0
            elif responder in (ResponderType.CARE_TEAM, ResponderType.CO_RESPONDER):
                travel, en_route_after = (
                    _lognormal(CARE_TRAVEL_SECONDS, 0.5, rng),
                    rng.uniform(30, 180),
                )
            else:
                travel = _lognormal(TRAVEL_SECONDS.get(call.priority, 600.0), 0.45, rng)
                if (
                    call.priority == 1
                    and responder is ResponderType.POLICE
                    and call.beat.index in world.program_beats
                    and call.day >= world.program_start
                ):
                    travel *= 1 + world.params.effects.p1_response_time
                en_route_after = rng.uniform(5, 60)
            scene = scene_base * rng.uniform(0.7, 1.3)
            if responder is ResponderType.CARE_TEAM:
                scene *= 1.6
            elif responder is ResponderType.POLICE and call.covered:
                scene *= 0.4
            arrive = dispatch + en_route_after + travel
            day = call.day
            unit = Unit(
                call_sign=call_sign,
                responder=responder,
                dispatched=world.at(day, dispatch),
                en_route=None if rng.random() < 0.01 else world.at(day, dispatch + en_route_after),
                at_scene=world.at(day, arrive),
                in_service=world.at(day, arrive + scene),
            )
            roll = rng.random()
            if roll < MISSING_ARRIVAL_SHARE:
                unit.at_scene = None
            elif roll < MISSING_ARRIVAL_SHARE + BAD_ORDER_SHARE:
                unit.at_scene = world.at(day, dispatch - rng.uniform(30, 600))
            call.units.append(unit)


def _disposition(call: SimCall, rng: random.Random) -> str:
    if call.arrest in (ArrestType.ON_VIEW, ArrestType.TAKEN_INTO_CUSTODY):
        return "PHYSICAL ARREST MADE"
    if call.hold:
        return "INVOLUNTARY COMMITMENT (ITA)"
    if call.arrest is ArrestType.SUMMONED_CITED:
        return "CITATION ISSUED (CRIMINAL OR NON-CRIMINAL)"
    if call.covered:
        if call.referral:
            return "CCR only - RESOURCES OR SUPPLIES PROVIDED"
        return rng.choice(
            (
                "CCR only - INTERPERSONAL SUPPORT ONLY",
                "CCR only - COMMUNITY PRESENCE",
                "CCR only - UNABLE TO LOCATE",
            )
        )
    if call.referral:
        return "RESOURCES OFFERED - REFERRAL MADE"
    if call.transport:
        return "TRANSPORTED TO HOSPITAL"
    if call.report:
        return "REPORT WRITTEN (NO ARREST)"
    return rng.choice(
        (
            "ASSISTANCE RENDERED",
            "UNABLE TO LOCATE INCIDENT OR COMPLAINANT",
            "NO POLICE ACTION POSSIBLE OR NECESSARY",
            "ORAL WARNING GIVEN",
        )
    )
