"""The city's map: precincts, sectors, beats and neighborhoods on a street grid, and addresses.

The city is a grid of 7 x 6 beats. Each beat spans four numbered avenues (running north-south,
numbered west to east) and four named streets (running east-west). House numbers follow the
grid, as in most US cities: on an avenue the hundreds come from the street block, on a street
from the avenue. Coordinates are placed in an invented box; the place names are invented too.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

COLUMNS = 7
ROWS = 6
BLOCKS_PER_BEAT = 4
NORTH, SOUTH, WEST, EAST = 45.62, 45.44, -122.78, -122.52
CITY_STATE = "OR"

STREET_NAMES = (
    "Alder", "Birch", "Cedar", "Dogwood", "Elm", "Fir", "Garnet", "Hawthorn", "Ivy", "Juniper",
    "Kestrel", "Larch", "Madrona", "Nettle", "Oak", "Pine", "Quarry", "Rowan", "Spruce",
    "Tamarack", "Umber", "Vine", "Willow", "Yew",
)  # fmt: skip
NEIGHBORHOODS = (
    "Hillcrest", "North Bluff", "Cedar Park", "Maple Flats", "Old Mill", "Lakeview", "Foundry",
    "Harbor", "Downtown", "Civic Center", "Riverside", "Union Yards", "Eastgate", "Orchard",
    "Greenwood Hollow", "Southpoint", "Brickworks", "Fairmount", "Westlake Terrace", "Canal",
    "Pioneer", "Midvale",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Beat:
    """One patrol beat and where it sits."""

    index: int
    beat: str
    sector: str
    precinct: str
    neighborhood: str
    column: int
    row: int
    zip: str
    density: float
    """Relative residents per beat (downtown is dense)."""
    street_life: float
    """Relative presence of unsheltered people and street activity."""


@dataclass(frozen=True, slots=True)
class Address:
    """A residential address, with the beat it lies in."""

    street: str
    unit: str | None
    zip: str
    beat: int
    latitude: float
    longitude: float


def _precinct(column: int, row: int) -> str:
    if row <= 1:
        return "North"
    if row >= 4:
        return "South"
    if column <= 2:
        return "West"
    if column <= 4:
        return "Downtown"
    return "East"


_SECTOR_LETTERS = {
    "North": "BJLNU",
    "West": "QD",
    "Downtown": "KM",
    "East": "CEG",
    "South": "ORSWF",
}


def build_beats() -> tuple[Beat, ...]:
    """The beats, grouped into sectors of three within each precinct (deterministic)."""
    by_precinct: dict[str, list[tuple[int, int]]] = {}
    for row in range(ROWS):
        for column in range(COLUMNS):
            by_precinct.setdefault(_precinct(column, row), []).append((column, row))
    beats: list[Beat] = []
    neighborhood_index = 0
    for precinct in ("North", "West", "Downtown", "East", "South"):
        cells = by_precinct[precinct]
        letters = _SECTOR_LETTERS[precinct]
        for position, (column, row) in enumerate(cells):
            sector = letters[min(position // 3, len(letters) - 1)]
            number = sum(1 for b in beats if b.sector == sector) + 1
            if position % 2 == 0:
                neighborhood_index += 1
            downtown = precinct == "Downtown"
            beats.append(
                Beat(
                    index=len(beats),
                    beat=f"{sector}{number}",
                    sector=sector,
                    precinct=precinct,
                    neighborhood=NEIGHBORHOODS[(neighborhood_index - 1) % len(NEIGHBORHOODS)],
                    column=column,
                    row=row,
                    zip=f"972{10 + len(beats) // 3:02d}",
                    density=2.0 if downtown else 1.0 + 0.15 * ((column * 7 + row * 3) % 4),
                    street_life=5.0 if downtown else (1.5 if 2 <= column <= 5 else 0.6),
                )
            )
    return tuple(beats)


def default_program_beats(beats: tuple[Beat, ...]) -> tuple[str, ...]:
    """Downtown and the beats that touch it: where a city would pilot a care team first."""
    chosen = [
        b.beat
        for b in beats
        if b.precinct == "Downtown" or (b.row in (2, 3) and b.column in (2, 5))
    ]
    return tuple(chosen)


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _street_name(row_block: int) -> str:
    return f"{STREET_NAMES[row_block % len(STREET_NAMES)]} St"


def _avenue_name(column_block: int) -> str:
    return f"{_ordinal(column_block + 1)} Ave"


def random_address(beat: Beat, rng: random.Random, *, apartment_share: float = 0.35) -> Address:
    """A real-looking address inside ``beat``."""
    column_block = beat.column * BLOCKS_PER_BEAT + rng.randrange(BLOCKS_PER_BEAT)
    row_block = beat.row * BLOCKS_PER_BEAT + rng.randrange(BLOCKS_PER_BEAT)
    offset = rng.randrange(2, 98)
    if rng.random() < 0.5:
        number = (row_block + 1) * 100 + offset
        street = f"{number} {_avenue_name(column_block)}"
        fraction_row = (row_block + offset / 100) / (ROWS * BLOCKS_PER_BEAT)
        fraction_column = (column_block + 0.5) / (COLUMNS * BLOCKS_PER_BEAT)
    else:
        number = (column_block + 1) * 100 + offset
        street = f"{number} {_street_name(row_block)}"
        fraction_row = (row_block + 0.5) / (ROWS * BLOCKS_PER_BEAT)
        fraction_column = (column_block + offset / 100) / (COLUMNS * BLOCKS_PER_BEAT)
    unit = None
    if rng.random() < apartment_share * (1.6 if beat.precinct == "Downtown" else 1.0):
        unit = f"APT {rng.randrange(1, 6)}{rng.randrange(1, 30):02d}"
    return Address(
        street=street,
        unit=unit,
        zip=beat.zip,
        beat=beat.index,
        latitude=round(NORTH - fraction_row * (NORTH - SOUTH), 6),
        longitude=round(WEST + fraction_column * (EAST - WEST), 6),
    )


def block_of(street: str) -> str:
    """Seattle's block-level blur: ``1534 3rd Ave`` becomes ``15XX BLOCK OF 3RD AVE``."""
    number, _, name = street.partition(" ")
    if not number.isdigit():
        return street.upper()
    return f"{number[:-2] or '0'}XX BLOCK OF {name.upper()}"
