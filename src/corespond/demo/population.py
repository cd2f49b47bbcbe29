"""The city's people: who they are and the latent traits that decide who comes to attention.

Every person is synthetic: names are invented combinations (``names.py``), addresses are on an
invented grid, and SSNs are random nine-digit numbers in a valid *format* (area 001-899 except
666, group 01-99, serial 0001-9999) drawn from the seed. They belong to no one on purpose and
must never be mistaken for real ones; they are shaped like real SSNs only so that linkage sees
the same kind of value it will see in production.

Attention (how often someone comes to the notice of police, fire, EMS and services) is heavy
tailed: a Pareto base multiplied by trait factors (serious mental illness, substance use,
homelessness). The top ``frequent_utilizer_share`` of adults by attention are the frequent
utilizers; they account for a large share of the calls that name a person.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import date, timedelta

from corespond.demo.geography import Address, Beat, random_address
from corespond.demo.names import NamePicker
from corespond.demo.params import CityParams

AGE_BANDS = ((0, 17, 0.21), (18, 34, 0.25), (35, 54, 0.26), (55, 74, 0.21), (75, 95, 0.07))
HAIR = ("BLK", "BRO", "BRO", "BLN", "RED", "GRY", "WHI", "BAL")
EYES = ("BRO", "BRO", "BLU", "GRN", "HAZ", "BLK", "GRY")
MARKS = ("TAT L ARM", "TAT R ARM", "TAT NECK", "SC R CHEEK", "SC L HAND", "TAT CHEST", "PRCD EAR")
SUBSTANCES = ("alcohol", "opioid", "stimulant")
ATTENTION_CAP = 150.0


@dataclass(slots=True)
class Person:
    """One resident. Identity fields are the truth; sources see corrupted copies."""

    pid: int
    sex: str
    first: str
    middle: str | None
    last: str
    suffix: str | None
    dob: date
    ssn: str
    race: str
    ethnicity: str
    phone: str | None
    height_cm: int
    weight_kg: int
    hair: str
    eyes: str
    marks: str | None
    mental: int
    """0 none, 1 moderate (depression, anxiety), 2 serious mental illness."""
    substance: str
    """Empty, or the main substance of a use disorder."""
    chronic: bool
    housing: str
    """``housed``, ``sheltered`` or ``unsheltered``; changes as the simulation runs."""
    initial_housing: str
    attention: float
    initial_attention: float
    frequent: bool = False
    aliases: tuple[tuple[str, str], ...] = ()
    addresses: list[tuple[int, Address | None]] = field(default_factory=list)
    """(from day ordinal, address); None while without a home."""
    name_changed_on: int | None = None
    new_last: str | None = None
    stabilized_on: int | None = None
    stabilized_kind: str | None = None
    stabilized_by_program: bool = False
    first_program_contact: int | None = None

    @property
    def person_id(self) -> str:
        """The truth id (``truth/persons.csv``)."""
        return f"T{self.pid:07d}"

    def last_on(self, day: int) -> str:
        """The surname in use on day ordinal ``day``."""
        if self.name_changed_on is not None and day >= self.name_changed_on and self.new_last:
            return self.new_last
        return self.last

    def address_on(self, day: int) -> Address | None:
        """The address on day ordinal ``day`` (None while homeless)."""
        current: Address | None = None
        for since, address in self.addresses:
            if since > day:
                break
            current = address
        return current

    def previous_address(self, day: int) -> Address | None:
        """The address before the latest move up to ``day``, if any."""
        known = [a for since, a in self.addresses if since <= day and a is not None]
        return known[-2] if len(known) >= 2 else None

    def age_on(self, day: date) -> int:
        """Age in whole years on ``day``."""
        return day.year - self.dob.year - ((day.month, day.day) < (self.dob.month, self.dob.day))


def random_ssn(rng: random.Random) -> str:
    """A random SSN-shaped string (see the module docstring: synthetic, never real)."""
    area = rng.randrange(1, 899)
    if area == 666:
        area = 667
    return f"{area:03d}-{rng.randrange(1, 100):02d}-{rng.randrange(1, 10000):04d}"


def _race(hint: str, rng: random.Random) -> tuple[str, str]:
    ethnicity = "H" if hint == "H" or rng.random() < 0.05 else "N"
    if rng.random() < 0.03:
        return "U", "U"
    if hint in ("A", "B", "I", "P") and rng.random() < 0.8:
        return hint, ethnicity
    roll = rng.random()
    race = "W" if roll < 0.7 else "B" if roll < 0.84 else "A" if roll < 0.95 else "I"
    return race, ethnicity


def _dob(start: date, rng: random.Random, *, adult: bool) -> date:
    bands = AGE_BANDS[1:] if adult else AGE_BANDS
    low, high, _ = rng.choices(bands, weights=[w for _, _, w in bands])[0]
    age = rng.randint(low, high)
    return start - timedelta(days=int(age * 365.25) + rng.randrange(365))


def _weighted_sample(
    items: list[Person], weights: list[float], k: int, rng: random.Random
) -> set[int]:
    """``k`` distinct pids, drawn with probability proportional to weight (Efraimidis-Spirakis)."""
    keyed = sorted(
        (
            (rng.random() ** (1.0 / w) if w > 0 else 0.0, p.pid)
            for p, w in zip(items, weights, strict=True)
        ),
        reverse=True,
    )
    return {pid for _, pid in keyed[:k]}


def build_population(params: CityParams, beats: tuple[Beat, ...]) -> list[Person]:
    """The residents, deterministic from ``params.seed``."""
    rng = random.Random(f"{params.seed}:population")
    picker = NamePicker(rng)
    start = params.start
    first_day = start.toordinal()
    n_days = (date(start.year + params.years, start.month, start.day) - start).days
    home_weights = [b.density for b in beats]
    people: list[Person] = []
    for pid in range(params.people):
        sex = "female" if rng.random() < 0.505 else "male"
        last, hint = picker.surname()
        race, ethnicity = _race(hint, rng)
        mental = (
            2
            if rng.random() < params.serious_mental_illness_share
            else (1 if rng.random() < 0.12 else 0)
        )
        sud_share = params.substance_use_share * (2.5 if mental == 2 else 1.0)
        substance = rng.choice(SUBSTANCES) if rng.random() < sud_share else ""
        adult = rng.random() > 0.21 or mental == 2 or substance != ""
        dob = _dob(start, rng, adult=adult)
        age = start.year - dob.year
        chronic = rng.random() < params.chronic_illness_share * (0.3 + age / 45)
        suffix = (
            rng.choice(("Jr", "Sr", "II", "III")) if sex == "male" and rng.random() < 0.03 else None
        )
        home = rng.choices(beats, weights=home_weights)[0]
        person = Person(
            pid=pid,
            sex=sex,
            first=picker.first(sex),
            middle=picker.middle(sex),
            last=last,
            suffix=suffix,
            dob=dob,
            ssn=random_ssn(rng),
            race=race,
            ethnicity=ethnicity,
            phone=f"{rng.choice(('503', '971'))}{rng.randrange(200, 999)}{rng.randrange(10000):04d}"
            if rng.random() < 0.8
            else None,
            height_cm=int(rng.gauss(163 if sex == "female" else 177, 7)) if age >= 16 else 120,
            weight_kg=int(rng.gauss(72 if sex == "female" else 86, 14)) if age >= 16 else 35,
            hair=rng.choice(HAIR),
            eyes=rng.choice(EYES),
            marks=rng.choice(MARKS) if rng.random() < 0.25 else None,
            mental=mental,
            substance=substance,
            chronic=chronic,
            housing="housed",
            initial_housing="housed",
            attention=0.0,
            initial_attention=0.0,
        )
        person.addresses.append((first_day - 3650, random_address(home, rng)))
        people.append(person)

    adults = [p for p in people if start.year - p.dob.year >= 18]
    homeless_weights = [
        (4.0 if p.mental == 2 else 1.0) * (3.0 if p.substance else 1.0) for p in adults
    ]
    homeless = _weighted_sample(
        adults, homeless_weights, round(params.homeless_share * len(people)), rng
    )
    street_beats = [b for b in beats]
    street_weights = [b.street_life for b in beats]
    for pid in sorted(homeless):
        person = people[pid]
        state = "unsheltered" if rng.random() < 0.6 else "sheltered"
        person.housing = person.initial_housing = state
        camp = rng.choices(street_beats, weights=street_weights)[0]
        # Keep the last address they had (sources still carry it), then none from before start.
        person.addresses.append((first_day - rng.randrange(30, 1500), None))
        person.addresses[0] = (person.addresses[0][0], random_address(camp, rng))

    for person in people:
        age = start.year - person.dob.year
        base = min(rng.paretovariate(1.6), 12.0)
        factor = 1.0 if age >= 18 else (0.02 if age < 12 else 0.3)
        factor *= {0: 1.0, 1: 1.8, 2: 5.0}[person.mental]
        factor *= 3.5 if person.substance else 1.0
        factor *= 6.0 if person.housing != "housed" else 1.0
        factor *= 1.3 if 18 <= age <= 35 else (0.5 if age >= 70 else 1.0)
        # Capped so that no one person dominates a small city: the busiest see a call a week.
        person.attention = person.initial_attention = min(base * factor, ATTENTION_CAP)

    ranked = sorted(adults, key=lambda p: (-p.attention, p.pid))
    for person in ranked[: max(1, round(params.frequent_utilizer_share * len(people)))]:
        person.frequent = True

    _add_aliases(people, params, picker, rng)
    _add_life_events(people, params, beats, picker, rng, first_day, n_days)
    return people


def _add_aliases(
    people: list[Person], params: CityParams, picker: NamePicker, rng: random.Random
) -> None:
    """Aliases concentrate among people who meet police often (they have reasons to use them)."""
    for person in people:
        chance = (
            params.alias_share
            * (4.0 if person.frequent else 1.0)
            * (2.0 if person.substance else 1.0)
        )
        if rng.random() >= min(chance, 0.9):
            continue
        count = 1 if rng.random() < 0.7 else 2
        aliases = []
        for _ in range(count):
            roll = rng.random()
            if roll < 0.4:
                aliases.append((picker.first(person.sex), person.last))
            elif roll < 0.75:
                aliases.append((person.first, picker.surname()[0]))
            else:
                aliases.append((picker.first(person.sex), picker.surname()[0]))
        person.aliases = tuple(aliases)


def _add_life_events(
    people: list[Person],
    params: CityParams,
    beats: tuple[Beat, ...],
    picker: NamePicker,
    rng: random.Random,
    first_day: int,
    n_days: int,
) -> None:
    """Moves and surname changes during the simulated period."""
    years = n_days / 365.25
    move_chance = 1 - math.exp(-params.move_rate_per_year * years)
    weights = [b.density for b in beats]
    for person in people:
        if person.housing == "housed" and rng.random() < move_chance:
            day = first_day + rng.randrange(n_days)
            beat = (
                rng.choices(beats, weights=weights)[0]
                if rng.random() < 0.7
                else beats[
                    person.addresses[-1][1].beat  # type: ignore[union-attr]
                ]
            )
            person.addresses.append((day, random_address(beat, rng)))
        age = params.start.year - person.dob.year
        marrying_age = 20 <= age <= 50
        chance = params.name_change_share * (
            2.5 if person.sex == "female" and marrying_age else 0.4
        )
        if age >= 18 and rng.random() < chance:
            person.name_changed_on = first_day + rng.randrange(n_days)
            new_last = picker.surname()[0]
            person.new_last = f"{person.last}-{new_last}" if rng.random() < 0.2 else new_last
