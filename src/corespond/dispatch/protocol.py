"""Triage protocols: a program's rules for which calls go to whom, written in YAML.

A program manager edits the YAML; :func:`parse_protocol` checks it and names every problem by
its place (key path and line), so the editor can show what to fix. A parsed :class:`Protocol`
is immutable, compares by content, dumps back to YAML (:func:`dump_protocol`) and carries a
:attr:`Protocol.fingerprint` for telling versions apart. Keyword patterns are compiled once per
protocol (:attr:`Protocol.compiled`), so evaluating a call (``triage.recommend``) stays well
under a millisecond. The format is described in ``docs/triage-protocols.md``.

Example:
    >>> protocol = parse_protocol(text, source="star.yaml")  # doctest: +SKIP
    >>> protocol.name, protocol.version
    ('Riverside STAR', 3)
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cache, cached_property
from importlib import resources
from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin
from zoneinfo import ZoneInfo

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
)

FLAGS: dict[str, str] = {
    "weapon": "weapon",
    "violence": "violence or threats",
    "crime_in_progress": "crime in progress",
    "medical_emergency": "medical emergency",
    "injury": "injury",
    "suicide_in_progress": "suicide attempt in progress",
    "suicidal": "suicidal statements",
    "scene_unsafe": "scene unsafe",
    "doubt": "doubt about safety",
    "behavioral": "behavioural-health crisis",
    "intoxicated": "intoxicated",
    "unsheltered": "unsheltered",
    "outdoor": "outdoors",
    "indoor": "indoors",
}
"""The closed set of flags a call can carry, with the words a dispatcher reads."""

SAFETY_FLAGS = frozenset(
    {
        "weapon",
        "violence",
        "crime_in_progress",
        "medical_emergency",
        "injury",
        "suicide_in_progress",
        "scene_unsafe",
        "doubt",
    }
)
"""Flags whose absence a rationale states as "no safety flags"."""

RESPONDERS: dict[str, str] = {
    "police": "police",
    "fire": "fire",
    "ems": "EMS",
    "care_team": "care team",
    "co_responder": "co-responder pair",
}
"""Responder types (values of ``sources.records.ResponderType``) and their default labels."""


CONFIGURATIONS: dict[str, str] = {
    "care_team": "Care team",
    "care_team_police": "Care team + police",
    "co_responder": "Co-responder pair",
    "police_co_responder": "Police + co-responder pair",
    "police": "Police",
    "police_ems": "Police + EMS",
    "police_ems_co_responder": "Police + EMS + co-responder pair",
    "fire_ems": "Fire/EMS",
    "fire_ems_police": "Fire/EMS + police",
    "fire_ems_co_responder": "Fire/EMS + co-responder pair",
}
"""The closed set of configurations a recommendation names: stable code → label."""

CONFIGURATION_RESPONDERS: dict[str, tuple[str, ...]] = {
    "care_team": ("care_team",),
    "care_team_police": ("care_team", "police"),
    "co_responder": ("co_responder",),
    "police_co_responder": ("police", "co_responder"),
    "police": ("police",),
    "police_ems": ("police", "ems"),
    "police_ems_co_responder": ("police", "ems", "co_responder"),
    "fire_ems": ("fire", "ems"),
    "fire_ems_police": ("fire", "ems", "police"),
    "fire_ems_co_responder": ("fire", "ems", "co_responder"),
}
"""The responder types each configuration sends (a co-responder pair is a clinician and a
crisis-trained officer in one car, the SPD CRT model)."""

CONFIGURATION_BY_RESPONDERS: dict[frozenset[str], str] = {
    frozenset(responders): code for code, responders in CONFIGURATION_RESPONDERS.items()
}

SEVERITIES = ("highest", "high", "normal", "low", "lowest")
"""EIDO cautionSeverity values (``sources.records.CautionSeverity``), highest first."""

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

_ID = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_CATEGORY_ID = re.compile(r"^[a-z][a-z0-9_]*$")
_HOURS = re.compile(r"^(?:(?P<days>[a-z,\- ]+?)\s+)?(?P<start>\S+)\s*-\s*(?P<end>\S+)$")
_TIME = re.compile(r"^(\d{1,2}):(\d{2})$")


def _known(values: Iterable[str]) -> str:
    return ", ".join(values)


def _check_members(
    values: tuple[str, ...], known: Mapping[str, Any] | tuple[str, ...], what: str
) -> tuple[str, ...]:
    for value in values:
        if value not in known:
            raise ValueError(f"unknown {what} {value!r} (known: {_known(known)})")
    if len(set(values)) != len(values):
        raise ValueError(f"a {what} is listed twice")
    return values


def _check_keywords(values: tuple[str, ...]) -> tuple[str, ...]:
    for value in values:
        if not value.strip():
            raise ValueError("a keyword is empty")
        for word in value.split():
            if "*" in word[:-1] or word == "*":
                raise ValueError(
                    f"keyword {value!r}: '*' may only end a word (as in 'suicid*'), "
                    "matching any ending"
                )
    return values


def _number_as_text(value: Any) -> Any:
    # Beats and codes are often numbers ("beats: [101, 102]"); YAML reads them as such.
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return value


Name = Annotated[str, BeforeValidator(_number_as_text)]
"""A name that may be written as a number in YAML (a beat, a call-type code)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Condition(_Strict):
    """When a rule, an addition or an escalation applies. Every key given must hold."""

    categories: tuple[str, ...] = ()
    """The call's category is one of these."""
    flags: tuple[str, ...] = ()
    """At least one of these flags is set."""
    all_flags: tuple[str, ...] = ()
    """Every one of these flags is set."""
    no_flags: tuple[str, ...] = ()
    """None of these flags is set."""
    caution: tuple[str, ...] = ()
    """The highest caution severity on a matched person is one of these."""
    caution_types: tuple[str, ...] = ()
    """A matched person has a caution of one of these types (keywords)."""
    priority: tuple[int, ...] = ()
    """The call's priority is one of these."""
    known_to_programs: bool | None = None
    """A matched person has (true) or has no (false) response plan or care-team contact."""
    any: tuple[Condition, ...] = ()
    """At least one of these conditions holds."""
    all: tuple[Condition, ...] = ()
    """Every one of these conditions holds."""

    @field_validator("flags", "all_flags", "no_flags")
    @classmethod
    def _flags(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return _check_members(value, FLAGS, "flag")

    @field_validator("caution")
    @classmethod
    def _caution(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return _check_members(value, SEVERITIES, "caution severity")

    @field_validator("caution_types")
    @classmethod
    def _caution_types(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return _check_keywords(value)

    @field_validator("priority")
    @classmethod
    def _priority(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if any(p < 0 for p in value):
            raise ValueError("a priority is a whole number from 0")
        return value

    @property
    def always(self) -> bool:
        """True when the condition sets no test (it holds for every call)."""
        return self == _EMPTY_CONDITION


_EMPTY_CONDITION = Condition()


class Area(_Strict):
    """Where a unit serves: a call is inside when its beat, sector or precinct is listed."""

    beats: tuple[Name, ...] = ()
    sectors: tuple[Name, ...] = ()
    precincts: tuple[Name, ...] = ()


class Responder(_Strict):
    """A responder type's name in this program, its hours and its service area."""

    label: str | None = None
    hours: tuple[str, ...] | None = None
    """Local-time windows such as ``"07:00-22:00"`` or ``"mon-fri 22:00-06:00"``; none = 24/7."""
    area: Area | None = None
    """Where it serves; none = everywhere."""

    @field_validator("hours")
    @classmethod
    def _hours(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if value is not None:
            if not value:
                raise ValueError("empty; leave out 'hours' for a unit that serves around the clock")
            for window in value:
                parse_window(window)
        return value

    @field_validator("area")
    @classmethod
    def _area(cls, value: Area | None) -> Area | None:
        if value is not None and not (value.beats or value.sectors or value.precincts):
            raise ValueError("names no beat, sector or precinct; leave out 'area' for everywhere")
        return value


class Category(_Strict):
    """A kind of call: which CAD call types belong to it and which flags it implies."""

    label: str = ""
    """What rationales call it; by default the id in words ("person_down": "Person down")."""
    codes: tuple[Name, ...] = ()
    """Call-type codes matched exactly (ignoring case and surrounding spaces)."""
    keywords: tuple[str, ...] = ()
    """Words or phrases found anywhere in the call type (ignoring case, whole words)."""
    implies: tuple[str, ...] = ()
    """Flags every call of this category carries."""

    @field_validator("keywords")
    @classmethod
    def _keywords(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return _check_keywords(value)

    @field_validator("implies")
    @classmethod
    def _implies(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return _check_members(value, FLAGS, "flag")


class Detector(_Strict):
    """How a flag is found in call-taker notes."""

    keywords: tuple[str, ...]
    """Any of these words or phrases (not negated) sets the flag..."""
    also: tuple[str, ...] = ()
    """...when given, only if one of these also appears (not negated) in the notes."""

    @field_validator("keywords")
    @classmethod
    def _keywords(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("no keywords: give at least one, or leave the flag out")
        return _check_keywords(value)

    @field_validator("also")
    @classmethod
    def _also(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return _check_keywords(value)


class Addition(_Strict):
    """A responder added to a rule's configuration when a condition holds."""

    responder: str
    when: Condition

    @field_validator("responder")
    @classmethod
    def _responder(cls, value: str) -> str:
        _check_members((value,), RESPONDERS, "responder")
        return value


def _check_id(value: str) -> str:
    if not _ID.match(value):
        raise ValueError(
            f"id {value!r}: use lower-case letters, digits, '-' and '_' (as in 'care-team')"
        )
    return value


def _check_configuration(value: str) -> str:
    _check_members((value,), CONFIGURATIONS, "configuration")
    return value


class Rule(_Strict):
    """If ``when`` holds (and no earlier rule fired), send ``send`` plus any additions."""

    id: str
    label: str = ""
    when: Condition = _EMPTY_CONDITION
    send: str
    add: tuple[Addition, ...] = ()

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        return _check_id(value)

    @field_validator("send")
    @classmethod
    def _send(cls, value: str) -> str:
        return _check_configuration(value)


class Trigger(_Strict):
    """A reason to escalate one level."""

    id: str
    label: str = ""
    when: Condition

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        return _check_id(value)


class Escalation(_Strict):
    """Escalate one level along ``ladder`` when any trigger holds."""

    ladder: dict[str, str] = {}
    triggers: tuple[Trigger, ...] = ()

    @field_validator("ladder")
    @classmethod
    def _ladder(cls, value: dict[str, str]) -> dict[str, str]:
        for source, target in value.items():
            _check_configuration(source)
            _check_configuration(target)
            if source == target:
                raise ValueError(f"{source!r} escalates to itself")
        return value


class Protocol(_Strict):
    """A program's triage protocol, parsed and checked (see ``docs/triage-protocols.md``)."""

    name: str = Field(min_length=1)
    version: int = Field(ge=1)
    timezone: str
    description: str = ""
    responders: dict[str, Responder] = {}
    categories: dict[str, Category] = {}
    flags: dict[str, Detector] = {}
    rules: tuple[Rule, ...]
    otherwise: str = "police"
    escalation: Escalation = Escalation()
    fallback: dict[str, tuple[str, ...]] = {}

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except Exception as error:  # ZoneInfoNotFoundError, ValueError, OSError by name shape
            raise ValueError(
                f"unknown timezone {value!r} (an IANA name such as 'America/Los_Angeles')"
            ) from error
        return value

    @field_validator("responders")
    @classmethod
    def _responders(cls, value: dict[str, Responder]) -> dict[str, Responder]:
        _check_members(tuple(value), RESPONDERS, "responder")
        return value

    @field_validator("categories")
    @classmethod
    def _categories(cls, value: dict[str, Category]) -> dict[str, Category]:
        for key in value:
            if not _CATEGORY_ID.match(key):
                raise ValueError(
                    f"category id {key!r}: use lower-case letters, digits and '_' "
                    "(as in 'welfare_check')"
                )
        return value

    @field_validator("flags")
    @classmethod
    def _flags(cls, value: dict[str, Detector]) -> dict[str, Detector]:
        _check_members(tuple(value), FLAGS, "flag")
        return value

    @field_validator("rules")
    @classmethod
    def _rules(cls, value: tuple[Rule, ...]) -> tuple[Rule, ...]:
        # Checked here, not by a length constraint, so a list whose only rule is invalid does
        # not also read as empty.
        if not value:
            raise ValueError("no rules: give at least one (the first that holds fires)")
        return value

    @field_validator("otherwise")
    @classmethod
    def _otherwise(cls, value: str) -> str:
        return _check_configuration(value)

    @field_validator("fallback")
    @classmethod
    def _fallback(cls, value: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        for source, targets in value.items():
            _check_configuration(source)
            if not targets:
                raise ValueError(f"{source!r}: name at least one configuration to fall back to")
            for target in targets:
                _check_configuration(target)
        return value

    @cached_property
    def fingerprint(self) -> str:
        """Hash of the content: equal protocols share it, whatever the YAML layout."""
        canonical = json.dumps(self.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(canonical.encode()).hexdigest()

    @cached_property
    def compiled(self) -> CompiledProtocol:
        """The protocol's patterns and windows, compiled once."""
        return _compile(self)

    def responder_label(self, responder: str) -> str:
        """The program's name for a responder type ("CARE team"), else the default label."""
        custom = self.responders.get(responder)
        if custom is not None and custom.label:
            return custom.label
        return RESPONDERS.get(responder, responder)


class ProtocolError(ValueError):
    """A protocol that cannot be used; ``problems`` names each place and what is wrong."""

    def __init__(self, problems: list[str], *, source: str = "protocol") -> None:
        self.problems = problems
        self.source = source
        super().__init__(
            f"{source} is not a valid triage protocol:\n" + "\n".join(f"- {p}" for p in problems)
        )


@dataclass(frozen=True, slots=True)
class Window:
    """Local hours on some days; ``start`` > ``end`` crosses midnight (minutes of the day)."""

    days: frozenset[int]
    start: int
    end: int

    def contains(self, moment: datetime) -> bool:
        minute = moment.hour * 60 + moment.minute
        weekday = moment.weekday()
        if self.start < self.end:
            return weekday in self.days and self.start <= minute < self.end
        return (weekday in self.days and minute >= self.start) or (
            (weekday - 1) % 7 in self.days and minute < self.end
        )


def parse_window(text: str) -> Window:
    """``"07:00-22:00"``, ``"22:00-06:00"`` or ``"mon-fri 07:00-19:00"`` as a :class:`Window`."""
    match = _HOURS.match(text.strip().lower())
    if match is None:
        raise ValueError(f"{text!r} is not hours like '07:00-22:00' or 'mon-fri 07:00-19:00'")
    start = _minutes(match["start"], text, end=False)
    end = _minutes(match["end"], text, end=True)
    if start == end:
        raise ValueError(f"{text!r} starts and ends at the same time")
    days = _days(match["days"], text) if match["days"] else frozenset(range(7))
    return Window(days, start, end)


def _minutes(value: str, text: str, *, end: bool) -> int:
    match = _TIME.match(value)
    hour, minute = (int(match[1]), int(match[2])) if match else (99, 99)
    if match is None or minute > 59 or hour > 24 or (hour == 24 and (minute or not end)):
        raise ValueError(
            f"{text!r}: {value!r} is not a time (HH:MM from 00:00 to 23:59; 24:00 may end hours)"
        )
    return hour * 60 + minute


def _days(value: str, text: str) -> frozenset[int]:
    days: set[int] = set()
    for part in value.replace(" ", "").split(","):
        first, _, last = part.partition("-")
        for day in (first, last or first):
            if day not in DAYS:
                raise ValueError(f"{text!r}: unknown day {day!r} (days: {_known(DAYS)})")
        start, stop = DAYS.index(first), DAYS.index(last or first)
        days.update((start + i) % 7 for i in range((stop - start) % 7 + 1))
    return frozenset(days)


def keyword_pattern(keywords: Iterable[str]) -> re.Pattern[str] | None:
    """One whole-word pattern for keywords; ``word*`` matches any ending.

    The pattern is lower-case: search ``text.lower()`` (faster than ignoring case in the regex,
    and evaluation runs per 911 call).
    """
    alternatives = []
    for keyword in keywords:
        words = [
            re.escape(word[:-1]) + r"\w*" if word.endswith("*") else re.escape(word)
            for word in keyword.lower().split()
        ]
        alternatives.append(r"\s+".join(words))
    if not alternatives:
        return None
    # Longest first, so "person down" wins over "person" when both are listed.
    alternatives.sort(key=len, reverse=True)
    return re.compile(r"(?<!\w)(?:" + "|".join(alternatives) + r")(?!\w)")


@dataclass(frozen=True, slots=True)
class CompiledDetector:
    flag: str
    keywords: re.Pattern[str]
    also: re.Pattern[str] | None


@dataclass(frozen=True, slots=True)
class CompiledArea:
    """A service area's names, case-folded for lookup, and how a rationale names it."""

    names: tuple[tuple[str, frozenset[str]], ...]
    """(``"beat"``/``"sector"``/``"precinct"``, names) for each kind the area lists."""
    description: str

    def contains(self, place: Mapping[str, str | None]) -> bool | None:
        """Inside, outside, or None when the call names none of the kinds the area lists."""
        known = False
        for kind, names in self.names:
            value = place.get(kind)
            if value:
                known = True
                if value.strip().casefold() in names:
                    return True
        return False if known else None

    def where(self, place: Mapping[str, str | None]) -> str:
        """The call's place as the area judges it ("sector Q"), or "location unknown"."""
        for kind, _ in self.names:
            if place.get(kind):
                return f"{kind} {place[kind]}"
        return "location unknown"


@dataclass(frozen=True, slots=True)
class CompiledProtocol:
    """What evaluation needs, built once per protocol."""

    zone: ZoneInfo
    category_by_code: dict[str, str]
    category_patterns: tuple[tuple[str, re.Pattern[str]], ...]
    detectors: tuple[CompiledDetector, ...]
    windows: dict[str, tuple[Window, ...]]
    areas: dict[str, CompiledArea]
    caution_patterns: dict[tuple[str, ...], re.Pattern[str] | None]


def _compile(protocol: Protocol) -> CompiledProtocol:
    category_by_code: dict[str, str] = {}
    patterns: list[tuple[str, re.Pattern[str]]] = []
    for category_id, category in protocol.categories.items():
        for code in category.codes:
            category_by_code.setdefault(code.strip().casefold(), category_id)
        pattern = keyword_pattern(category.keywords)
        if pattern is not None:
            patterns.append((category_id, pattern))
    detectors = []
    for flag, detector in protocol.flags.items():
        keywords = keyword_pattern(detector.keywords)
        assert keywords is not None  # at least one keyword, by the model
        detectors.append(CompiledDetector(flag, keywords, keyword_pattern(detector.also)))
    caution_patterns: dict[tuple[str, ...], re.Pattern[str] | None] = {}
    for condition in _conditions(protocol):
        if condition.caution_types:
            caution_patterns[condition.caution_types] = keyword_pattern(condition.caution_types)
    return CompiledProtocol(
        zone=ZoneInfo(protocol.timezone),
        category_by_code=category_by_code,
        category_patterns=tuple(patterns),
        detectors=tuple(detectors),
        windows={
            responder: tuple(parse_window(w) for w in settings.hours)
            for responder, settings in protocol.responders.items()
            if settings.hours is not None
        },
        areas={
            responder: _compile_area(settings.area)
            for responder, settings in protocol.responders.items()
            if settings.area is not None
        },
        caution_patterns=caution_patterns,
    )


def _compile_area(area: Area) -> CompiledArea:
    names = []
    described = []
    kinds = (("beat", area.beats), ("sector", area.sectors), ("precinct", area.precincts))
    for kind, values in kinds:
        if values:
            names.append((kind, frozenset(v.strip().casefold() for v in values)))
            described.append(f"{kind}{'s' if len(values) > 1 else ''} {', '.join(values)}")
    return CompiledArea(tuple(names), "; ".join(described))


def _conditions(protocol: Protocol) -> Iterable[Condition]:
    def walk(condition: Condition) -> Iterable[Condition]:
        yield condition
        for nested in (*condition.any, *condition.all):
            yield from walk(nested)

    for rule in protocol.rules:
        yield from walk(rule.when)
        for addition in rule.add:
            yield from walk(addition.when)
    for trigger in protocol.escalation.triggers:
        yield from walk(trigger.when)


def parse_protocol(text: str, *, source: str = "protocol") -> Protocol:
    """Parse and check a protocol's YAML text.

    Args:
        text: the YAML a program manager wrote.
        source: a name for the text in the error's first line (a file name, "version 3").

    Returns:
        The checked protocol.

    Raises:
        ProtocolError: with one problem per place, each naming the key path and line, as in
            ``rules[2].when.flags (line 14): unknown flag 'weapn' (known: weapon, ...)``.

    Example:
        >>> parse_protocol("{name: X, version: 1, timezone: UTC, rules: [{id: a, send: police}]}")
        Protocol(name='X', version=1, ...)
    """
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f"line {mark.line + 1}: " if mark is not None else ""
        raise ProtocolError([f"{where}not valid YAML: {error.problem}"], source=source) from None
    except yaml.YAMLError as error:
        raise ProtocolError([f"not valid YAML: {error}"], source=source) from None
    finally:
        loader.dispose()
    if not isinstance(data, dict):
        raise ProtocolError(
            ["the protocol must be a mapping of keys (name, version, timezone, rules, ...), "
             f"not {_kind(data)}"],
            source=source,
        )  # fmt: skip
    problems = _duplicate_keys(node, ())
    try:
        protocol = Protocol.model_validate(data)
    except ValidationError as error:
        problems += [_describe(item, node) for item in error.errors()]
        raise ProtocolError(problems, source=source) from None
    problems += [
        f"{_path(loc)}{_line(node, loc)}: {message}" for loc, message in _cross_check(protocol)
    ]
    if problems:
        raise ProtocolError(problems, source=source)
    return protocol


_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's loader when PyYAML has it (about ten times faster), with the same line marks."""


def dump_protocol(protocol: Protocol) -> str:
    """The protocol as YAML that parses back to an equal protocol (defaults left out)."""
    data = protocol.model_dump(mode="json", exclude_defaults=True)
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


@cache
def default_protocol() -> Protocol:
    """The packaged default protocol (``protocols/default.yaml``), parsed once."""
    return packaged_protocol("default")


def default_protocol_text() -> str:
    """The packaged default protocol's YAML, as a program manager first sees it."""
    return packaged_protocol_text("default")


def packaged_protocol(name: str) -> Protocol:
    """A protocol shipped in ``dispatch/protocols/``, by file name without ``.yaml``."""
    return parse_protocol(packaged_protocol_text(name), source=f"{name}.yaml")


def packaged_protocol_text(name: str) -> str:
    """The YAML of a protocol shipped in ``dispatch/protocols/``."""
    path = resources.files("corespond.dispatch").joinpath("protocols", f"{name}.yaml")
    return path.read_text(encoding="utf-8")


def _cross_check(protocol: Protocol) -> Iterable[tuple[tuple[Any, ...], str]]:
    """Problems that span keys: references, duplicates, unreachable rules, combinations."""
    categories = protocol.categories
    seen_codes: dict[str, str] = {}
    for category_id, category in categories.items():
        where: tuple[Any, ...] = ("categories", category_id)
        if not category.codes and not category.keywords:
            yield where, "give 'codes' or 'keywords', or no call type can belong to it"
        for code in category.codes:
            key = code.strip().casefold()
            if key in seen_codes:
                yield (*where, "codes"), f"code {code!r} is already in category {seen_codes[key]!r}"
            seen_codes.setdefault(key, category_id)

    def check(condition: Condition, loc: tuple[Any, ...]) -> Iterable[tuple[tuple[Any, ...], str]]:
        for category in condition.categories:
            if category not in categories:
                defined = _known(categories) or "none; define them under 'categories'"
                yield (*loc, "categories"), f"unknown category {category!r} (defined: {defined})"
        for key in ("any", "all"):
            for index, nested in enumerate(getattr(condition, key)):
                yield from check(nested, (*loc, key, index))

    rule_ids: dict[str, int] = {}
    loc: tuple[Any, ...]
    for index, rule in enumerate(protocol.rules):
        loc = ("rules", index)
        if rule.id in rule_ids:
            yield (*loc, "id"), f"duplicate rule id {rule.id!r} (also rules[{rule_ids[rule.id]}])"
        rule_ids.setdefault(rule.id, index)
        yield from check(rule.when, (*loc, "when"))
        if rule.when.always and index < len(protocol.rules) - 1:
            message = f"rule {rule.id!r} has no 'when', so it matches every call and the rules "
            yield loc, message + "after it never fire; give it a 'when' or move it last"
        for position, addition in enumerate(rule.add):
            yield from check(addition.when, (*loc, "add", position, "when"))
        base = set(CONFIGURATION_RESPONDERS[rule.send])
        additions = [a.responder for a in rule.add]
        for size in range(1, len(additions) + 1):
            for chosen in itertools.combinations(additions, size):
                responders = frozenset(base.union(chosen))
                if responders not in CONFIGURATION_BY_RESPONDERS:
                    yield (
                        (*loc, "add"),
                        (
                            f"{rule.send} + {' + '.join(chosen)} is not a configuration "
                            f"(configurations: {_known(CONFIGURATIONS)})"
                        ),
                    )
    trigger_ids: set[str] = set()
    for index, trigger in enumerate(protocol.escalation.triggers):
        loc = ("escalation", "triggers", index)
        if trigger.id in trigger_ids:
            yield (*loc, "id"), f"duplicate trigger id {trigger.id!r}"
        trigger_ids.add(trigger.id)
        yield from check(trigger.when, (*loc, "when"))
    if protocol.escalation.triggers and not protocol.escalation.ladder:
        yield ("escalation", "ladder"), "triggers are given but no ladder says what is one level up"


def _duplicate_keys(node: yaml.Node | None, loc: tuple[Any, ...]) -> list[str]:
    problems = []
    if isinstance(node, yaml.MappingNode):
        seen: set[Any] = set()
        for key_node, value_node in node.value:
            key = key_node.value
            if key in seen:
                problems.append(
                    f"{_path(loc) or 'top level'} (line {key_node.start_mark.line + 1}): "
                    f"duplicate key {key!r}"
                )
            seen.add(key)
            problems += _duplicate_keys(value_node, (*loc, key))
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            problems += _duplicate_keys(item, (*loc, index))
    return problems


def _path(loc: tuple[Any, ...]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path


def _line(root: yaml.Node | None, loc: tuple[Any, ...]) -> str:
    """`` (line N)`` for the deepest YAML node on the path, or nothing."""
    node, line = root, None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            found = next((pair for pair in node.value if pair[0].value == str(part)), None)
            if found is None:
                break
            line, node = found[0].start_mark.line, found[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if part >= len(node.value):
                break
            node = node.value[part]
            line = node.start_mark.line
        else:
            break
    return "" if line is None else f" (line {line + 1})"


def _describe(error: Any, root: yaml.Node | None) -> str:
    loc = tuple(error["loc"])
    kind, value = error["type"], error.get("input")
    if kind == "extra_forbidden":
        allowed = _allowed_keys(loc[:-1])
        message = "unknown key" + (f" (allowed here: {_known(allowed)})" if allowed else "")
    elif kind == "missing":
        message = "missing (required)"
    elif kind == "value_error":
        message = str(error["ctx"]["error"])
    elif kind in ("int_parsing", "int_type", "int_from_float"):
        message = f"expected a whole number, not {value!r}"
    elif kind == "string_type" and isinstance(value, bool):
        message = (
            f"expected text, not {str(value).lower()} (YAML reads yes, no, on and off as true or "
            "false: put the word in quotes)"
        )
    elif kind == "string_type":
        message = f"expected text, not {_kind(value)} {value!r}"
    elif kind in ("bool_type", "bool_parsing"):
        message = f"expected true or false, not {value!r}"
    elif kind in ("tuple_type", "list_type"):
        message = f"expected a list, not {_kind(value)}"
    elif kind in ("dict_type", "model_type", "model_attributes_type"):
        message = f"expected a mapping of keys, not {_kind(value)}"
    elif kind == "too_short":
        message = "must not be empty"
    else:
        message = error["msg"]
    return f"{_path(loc) or 'top level'}{_line(root, loc)}: {message}"


def _allowed_keys(loc: tuple[Any, ...]) -> list[str]:
    """The keys the model at ``loc`` accepts (for "unknown key" messages)."""
    current: Any = Protocol
    for part in loc:
        current = _unwrap(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = current.model_fields.get(str(part))
            if field is None:
                return []
            current = field.annotation
        else:
            origin = get_origin(current)
            if origin is dict or origin is tuple:
                current = get_args(current)[-1 if origin is dict else 0]
            else:
                return []
    current = _unwrap(current)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return []


def _unwrap(annotation: Any) -> Any:
    while get_origin(annotation) in (Union, UnionType):
        annotation = next(a for a in get_args(annotation) if a is not type(None))
    return annotation


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "text"
    return type(value).__name__
