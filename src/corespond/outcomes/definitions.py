"""What the outcome metrics count: eligible calls, frequent utilizers, stabilization, margins.

One YAML document (``definitions.yaml`` in this package, or the file that
``CORESPOND_OUTCOME_DEFINITIONS`` names) read into :class:`Definitions`.
docs/metrics.md explains each key.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from corespond.sources import hmis


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ResponseTime(_Strict):
    max_minutes: float = Field(240, gt=0)


ContactKind = Literal["call", "ems", "er_visit", "arrest", "hold"]


class FrequentUtilizer(_Strict):
    """At least ``contacts`` contacts with at least ``agencies`` agencies in ``window_days``."""

    contacts: int = Field(6, ge=1)
    agencies: int = Field(2, ge=1)
    window_days: int = Field(365, ge=1, le=3660)
    contact_kinds: tuple[ContactKind, ...] = ("call", "ems", "er_visit", "arrest", "hold")


class Stabilization(_Strict):
    windows_days: tuple[int, ...] = (182, 365)
    permanent_destinations: tuple[int, ...] = tuple(sorted(hmis.PERMANENT_DESTINATIONS))
    housing_project_types: tuple[int, ...] = (3, 9, 10, 13)
    fewer_contacts_share: float = Field(0.5, gt=0, le=1)


class Evaluation(_Strict):
    p1_equivalence_margin: float = Field(0.10, gt=0, lt=1)
    alpha: float = Field(0.05, gt=0, lt=0.5)
    seasonality: Literal["none", "month", "week_of_year"] = "week_of_year"


class Privacy(_Strict):
    min_cell: int = Field(11, ge=1)


class Definitions(_Strict):
    eligible_categories: frozenset[str]
    behavioral_categories: frozenset[str]
    community_sources: frozenset[str]
    response_time: ResponseTime = ResponseTime()
    repeat_days: int = Field(30, ge=1)
    frequent_utilizer: FrequentUtilizer = FrequentUtilizer()
    stabilization: Stabilization = Stabilization()
    evaluation: Evaluation = Evaluation()
    privacy: Privacy = Privacy()


class DefinitionsError(ValueError):
    """The definitions file is not valid; the message names each problem and where."""


def parse_definitions(text: str, *, source: str = "definitions") -> Definitions:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise DefinitionsError(f"{source}: not YAML: {error}") from None
    if not isinstance(data, dict):
        raise DefinitionsError(f"{source}: expected a mapping of settings")
    try:
        return Definitions.model_validate(data)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in item['loc'])}: {item['msg']}" for item in error.errors()
        )
        raise DefinitionsError(f"{source}: {problems}") from None


@cache
def load_definitions(path: str | None = None) -> Definitions:
    """The definitions at ``path``, or the packaged ones (parsed once per path)."""
    if path:
        return parse_definitions(Path(path).read_text(encoding="utf-8"), source=path)
    text = resources.files("corespond.outcomes").joinpath("definitions.yaml").read_text("utf-8")
    return parse_definitions(text, source="definitions.yaml")
