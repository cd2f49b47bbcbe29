"""Everything that shapes the synthetic city: one pydantic model, kept in ``truth/params.json``.

Effect sizes are *relative changes* of a probability on the calls the program touches: ``-0.4``
for arrests means an eligible call that the care team attends ends in an arrest 40% less often
than the same call would without the program. The evaluation (the outcomes issue) reads
``truth/params.json`` to check that it recovers them.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

SourceName = Literal["cad", "eido", "rms", "nemsis", "hmis", "behavioral", "hospital"]
SOURCES: tuple[SourceName, ...] = ("cad", "eido", "rms", "nemsis", "hmis", "behavioral", "hospital")
"""Short names of the city's source systems; folder names and display names live in ``city.py``."""


class CorruptionRates(BaseModel):
    """How one source system mangles identities; each field is a probability per person record."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    typo: float = Field(0.04, ge=0, le=1)
    """A keying error in the first or last name (transposition, dropped or doubled letter)."""
    nickname: float = Field(0.08, ge=0, le=1)
    """The person's nickname instead of their given name (Bill for William)."""
    dob_swap: float = Field(0.02, ge=0, le=1)
    """Day and month of birth swapped (only when the day is 12 or less, so the date stays valid)."""
    dob_missing: float = Field(0.1, ge=0, le=1)
    ssn_missing: float = Field(0.5, ge=0, le=1)
    alias_use: float = Field(0.3, ge=0, le=1)
    """For a person who has aliases, the chance that they give one instead of their name."""
    address_move: float = Field(0.3, ge=0, le=1)
    """For a person who has moved, the chance that the source still has the earlier address."""
    name_change: float = Field(0.3, ge=0, le=1)
    """For a person whose surname changed, the chance that the source still has the old one."""


def _rates(**values: float) -> CorruptionRates:
    return CorruptionRates(**values)  # type: ignore[arg-type]


DEFAULT_CORRUPTION: dict[str, CorruptionRates] = {
    # A call-taker types what a distressed caller says: many typos and nicknames, rarely a DOB.
    "cad": _rates(typo=0.08, nickname=0.2, dob_swap=0.03, dob_missing=0.5, ssn_missing=1.0,
                  alias_use=0.4, address_move=0.5, name_change=0.5),
    "eido": _rates(typo=0.08, nickname=0.2, dob_swap=0.03, dob_missing=0.45, ssn_missing=1.0,
                   alias_use=0.4, address_move=0.5, name_change=0.5),
    # Booking verifies identity, but the master name index keeps whatever was first entered.
    "rms": _rates(typo=0.03, nickname=0.04, dob_swap=0.01, dob_missing=0.03, ssn_missing=0.45,
                  alias_use=0.15, address_move=0.6, name_change=0.6),
    "nemsis": _rates(typo=0.06, nickname=0.15, dob_swap=0.03, dob_missing=0.15, ssn_missing=0.92,
                     alias_use=0.3, address_move=0.4, name_change=0.4),
    "hmis": _rates(typo=0.04, nickname=0.1, dob_swap=0.02, dob_missing=0.08, ssn_missing=0.35,
                   alias_use=0.2, address_move=0.2, name_change=0.3),
    "behavioral": _rates(typo=0.02, nickname=0.03, dob_swap=0.01, dob_missing=0.01,
                         ssn_missing=0.4, alias_use=0.05, address_move=0.3, name_change=0.3),
    "hospital": _rates(typo=0.02, nickname=0.03, dob_swap=0.01, dob_missing=0.01,
                       ssn_missing=0.2, alias_use=0.1, address_move=0.3, name_change=0.3),
}  # fmt: skip


class ProgramEffects(BaseModel):
    """What the co-response program changes on the eligible calls its care team attends."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    arrest: float = Field(-0.4, ge=-1, le=5)
    """Relative change in custody arrests and citations."""
    involuntary_hold: float = Field(-0.3, ge=-1, le=5)
    er_transport: float = Field(-0.25, ge=-1, le=5)
    """Relative change in EMS transports to the emergency room."""
    referral: float = Field(1.0, ge=-1, le=10)
    """Relative uplift in referrals to services (housing, treatment, case management)."""
    p1_response_time: float = Field(0.0, ge=-1, le=5)
    """Relative change in priority-1 travel time in program beats; the program should not move it,
    so this is 0 unless a test wants a response-time effect to detect."""
    stabilization_probability: float = Field(0.3, ge=0, le=1)
    """Chance that a frequent utilizer the care team meets is housed or in treatment within
    120 days of that first contact, over and above the baseline rate."""


class CityParams(BaseModel):
    """Parameters of one synthetic city. Same parameters, same seed: byte-identical output.

    Example:
        >>> CityParams(people=500, years=1, seed=3).calls_per_person_year
        1.5
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    people: int = Field(2000, ge=50, le=2_000_000)
    years: int = Field(1, ge=1, le=10)
    seed: int = 7
    start: date = date(2023, 1, 1)
    timezone: str = "America/Los_Angeles"
    name: str = "Riverbend"
    calls_per_person_year: float = Field(1.5, gt=0, le=20)
    """Calls for service per resident per year (US cities run about 0.5 to 2)."""
    live_days: int = Field(30, ge=1, le=365)
    """The last this many days of CAD go out as the live EIDO feed instead of the CSV."""

    homeless_share: float = Field(0.012, ge=0, le=0.5)
    serious_mental_illness_share: float = Field(0.045, ge=0, le=1)
    substance_use_share: float = Field(0.08, ge=0, le=1)
    chronic_illness_share: float = Field(0.2, ge=0, le=1)
    frequent_utilizer_share: float = Field(0.02, gt=0, le=0.2)
    """The share of people flagged as frequent utilizers (highest latent attention)."""
    alias_share: float = Field(0.05, ge=0, le=1)
    """Share of people (more among those police meet) who have at least one alias."""
    move_rate_per_year: float = Field(0.12, ge=0, le=1)
    name_change_share: float = Field(0.03, ge=0, le=1)
    er_walk_ins_per_person_year: float = Field(0.12, ge=0, le=5)

    program_start_fraction: float = Field(0.5, ge=0, le=1)
    """The program starts this far into the simulated period."""
    program_beats: tuple[str, ...] | None = None
    """Beats the care team covers; None picks downtown and its neighbours (``geography.py``), an
    empty tuple means citywide."""
    program_hours: tuple[int, int] = (7, 23)
    program_coverage: float = Field(0.85, ge=0, le=1)
    """Share of eligible in-scope calls the care team attends (the rest: no team free). The
    intention-to-treat change on in-scope calls is therefore about ``coverage * effect``."""
    effects: ProgramEffects = ProgramEffects()
    baseline_stabilization_per_year: float = Field(0.04, ge=0, le=1)
    """Yearly chance that a frequent utilizer stabilises without the program."""

    corruption: dict[str, CorruptionRates] = Field(default_factory=lambda: dict(DEFAULT_CORRUPTION))
    """Per source (keys of :data:`SOURCES`); a source that is absent gets the defaults."""

    @field_validator("corruption")
    @classmethod
    def known_sources(cls, value: dict[str, CorruptionRates]) -> dict[str, CorruptionRates]:
        unknown = set(value) - set(SOURCES)
        if unknown:
            raise ValueError(f"unknown sources {sorted(unknown)}; known: {', '.join(SOURCES)}")
        return value

    def rates(self, source: str) -> CorruptionRates:
        """The corruption rates of one source."""
        return self.corruption.get(source) or DEFAULT_CORRUPTION[source]
