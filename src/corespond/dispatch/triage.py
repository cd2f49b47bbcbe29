"""Recommend who responds to a call: a program's triage protocol applied to one situation.

The steps, in order (``docs/triage-protocols.md`` explains them for a program manager):

1. the call type is put in a category (exact code first, then keywords, categories in order);
2. flags are gathered: those the call-taker set, those the category implies, and those found in
   the call-taker's notes (whole words, ignoring simple negations such as "no weapons seen");
3. the first rule whose condition holds fires and names a configuration; its additions may add a
   responder (EMS on an injury);
4. if any escalation trigger holds (doubt about safety, a high caution on a matched person), the
   configuration moves one level up the protocol's ladder;
5. if a responder of the configuration is outside its hours or area, or has no unit free, the
   protocol's fallback list for that configuration is tried in order.

Every step is kept with its reason, and the rationale says the facts that drove it in words a
dispatcher reads at a glance. Evaluation is pure: no database, no clock, no exceptions.

Example:
    >>> from datetime import UTC, datetime
    >>> situation = Situation(call_type="ASSIST PUBLIC - WELFARE CHECK",
    ...                       received_at=datetime(2025, 3, 4, 18, 0, tzinfo=UTC))
    >>> recommend(default_protocol(), situation).configuration
    'care_team'
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from corespond.dispatch.protocol import (
    CONFIGURATION_BY_RESPONDERS,
    CONFIGURATION_RESPONDERS,
    CONFIGURATIONS,
    FLAGS,
    SAFETY_FLAGS,
    SEVERITIES,
    CompiledProtocol,
    Condition,
    Protocol,
    ProtocolError,
    Rule,
    default_protocol,
    default_protocol_text,
    dump_protocol,
    parse_protocol,
)

__all__ = [
    "CONFIGURATIONS",
    "CONFIGURATION_RESPONDERS",
    "FLAGS",
    "Evidence",
    "Protocol",
    "ProtocolError",
    "Recommendation",
    "Situation",
    "Step",
    "categorise",
    "category_label",
    "default_protocol",
    "default_protocol_text",
    "detect_flags",
    "dump_protocol",
    "parse_protocol",
    "recommend",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class Situation:
    """What is known about an incoming call when the dispatcher decides who goes."""

    call_type: str | None = None
    """The CAD call type as recorded: a code ("welfare") or its text."""
    priority: int | None = None
    notes: str = ""
    """The call-taker's free-text notes."""
    flags: frozenset[str] = frozenset()
    """Flags the call-taker set (names from ``FLAGS``; others are ignored)."""
    received_at: datetime
    """When the call came in; timezone-aware (a naive time is taken as UTC)."""
    beat: str | None = None
    sector: str | None = None
    precinct: str | None = None
    highest_caution: str | None = None
    """The highest caution severity among the matched people ("highest" ... "lowest")."""
    caution_types: frozenset[str] = frozenset()
    """The matched people's caution types as the sources name them ("weapons", "violence")."""
    known_to_programs: bool = False
    """A matched person has a response plan or a care-team contact."""
    available: Mapping[str, int] | None = None
    """Free units per responder type; None, or a type left out, means unknown (assumed free)."""


@dataclass(frozen=True, slots=True)
class Evidence:
    """Where a flag came from: ``call-taker``, ``call type`` or ``notes`` (with the words)."""

    flag: str
    source: str
    text: str = ""

    def describe(self) -> str:
        label = FLAGS[self.flag]
        if self.source == "notes":
            return f"{label} ('{self.text}' in notes)"
        if self.source == "call type":
            return f"{label} (call type {self.text})"
        return f"{label} (set by call-taker)"


@dataclass(frozen=True, slots=True)
class Step:
    """One thing evaluation did: ``rule``, ``add``, ``escalate``, ``fallback``, ``unavailable``."""

    kind: str
    name: str
    """The rule, addition's responder, trigger ids or fallback configuration concerned."""
    configuration: str
    """The configuration after this step."""
    reason: str


@dataclass(frozen=True, slots=True)
class Recommendation:
    """The configuration to send, the rule that fired and why."""

    configuration: str
    """A code from ``CONFIGURATIONS``."""
    label: str
    responders: tuple[str, ...]
    rule: str
    """The id of the rule that fired (``otherwise`` when none did)."""
    rationale: str
    steps: tuple[Step, ...]
    flags: frozenset[str]
    evidence: tuple[Evidence, ...]
    category: str | None
    protocol: str
    version: int
    local_time: datetime = field(compare=False)
    """``received_at`` in the protocol's timezone (what hours were judged by)."""


def recommend(protocol: Protocol, situation: Situation) -> Recommendation:
    """Apply ``protocol`` to ``situation``: the first rule that holds, then escalation, fallback.

    Example:
        >>> recommend(default_protocol(), situation).rationale  # doctest: +SKIP
        'Welfare check, no safety flags, within care team hours (06:00-22:00) → care team.'
    """
    compiled = protocol.compiled
    category = categorise(protocol, situation.call_type)
    evidence = detect_flags(protocol, situation, category)
    facts = _Facts(protocol, compiled, situation, category, evidence)
    local = _local_time(situation.received_at, compiled)

    fired: Rule | None = None
    reasons = ["no rule matched"]
    for rule in protocol.rules:
        found = _match(rule.when, facts)
        if found is not None:
            fired, reasons = rule, found
            break
    rule_id = fired.id if fired is not None else "otherwise"
    sent = fired.send if fired is not None else protocol.otherwise
    if facts.category_label and facts.category_label not in reasons:
        reasons.insert(0, facts.category_label)

    configuration = sent
    additions: list[Step] = []
    for addition in fired.add if fired is not None else ():
        added = _match(addition.when, facts)
        responders = frozenset(CONFIGURATION_RESPONDERS[configuration]) | {addition.responder}
        combined = CONFIGURATION_BY_RESPONDERS.get(responders)
        if added is None or combined is None or combined == configuration:
            continue
        configuration = combined
        label = protocol.responder_label(addition.responder)
        reason = f"Added {label}: {_and(added)}."
        additions.append(Step("add", addition.responder, combined, reason))

    if not facts.flags & SAFETY_FLAGS and set(CONFIGURATION_RESPONDERS[sent]) <= _UNARMED:
        reasons.append("no safety flags")
    reasons += _in_service(protocol, compiled, configuration, situation, local)
    opening = f"{_capital(_and(reasons))} → {_lower(_label(sent))}."
    steps = [Step("rule", rule_id, sent, opening), *additions]

    triggered = [
        (trigger, found)
        for trigger in protocol.escalation.triggers
        if (found := _match(trigger.when, facts)) is not None
    ]
    target = protocol.escalation.ladder.get(configuration)
    if triggered and target is not None:
        configuration = target
        why = _and([reason for _, found in triggered for reason in found])
        reason = f"Escalated to {_lower(_label(target))}: {why}."
        steps.append(Step("escalate", ",".join(t.id for t, _ in triggered), target, reason))

    problems = _unavailable(protocol, compiled, configuration, situation, local)
    if problems:
        step = _fall_back(protocol, compiled, configuration, problems, situation, local)
        configuration = step.configuration
        steps.append(step)

    return Recommendation(
        configuration=configuration,
        label=CONFIGURATIONS[configuration],
        responders=CONFIGURATION_RESPONDERS[configuration],
        rule=rule_id,
        rationale=" ".join(step.reason for step in steps),
        steps=tuple(steps),
        flags=facts.flags,
        evidence=evidence,
        category=category,
        protocol=protocol.name,
        version=protocol.version,
        local_time=local,
    )


def categorise(protocol: Protocol, call_type: str | None) -> str | None:
    """The category of a CAD call type: an exact code first, then the first keyword match."""
    if not call_type:
        return None
    compiled = protocol.compiled
    exact = compiled.category_by_code.get(call_type.strip().casefold())
    if exact is not None:
        return exact
    lowered = call_type.lower()
    for category, pattern in compiled.category_patterns:
        if pattern.search(lowered):
            return category
    return None


def category_label(protocol: Protocol, category: str) -> str:
    """A category's label, or its id in words when it has none."""
    return protocol.categories[category].label or category.replace("_", " ").capitalize()


def detect_flags(
    protocol: Protocol, situation: Situation, category: str | None
) -> tuple[Evidence, ...]:
    """Flags from the call-taker, the category and the notes (the first source of each is kept)."""
    evidence: dict[str, Evidence] = {}
    for flag in sorted(situation.flags):
        if flag in FLAGS:
            evidence[flag] = Evidence(flag, "call-taker")
    if category is not None:
        label = category_label(protocol, category)
        for flag in protocol.categories[category].implies:
            evidence.setdefault(flag, Evidence(flag, "call type", label))
    notes = situation.notes.lower()
    if notes:
        for detector in protocol.compiled.detectors:
            if detector.flag in evidence:
                continue
            words = _find(detector.keywords, notes)
            if words is None:
                continue
            if detector.also is not None:
                also = _find(detector.also, notes)
                if also is None:
                    continue
                words = f"{words} … {also}"
            evidence[detector.flag] = Evidence(detector.flag, "notes", words)
    return tuple(evidence.values())


_UNARMED = frozenset({"care_team"})
"""Responders for whom a rationale says "no safety flags" (they go without an officer)."""

_NEGATORS = frozenset({
    "no", "not", "none", "nor", "neither", "never", "without", "denies", "denied", "deny",
    "denying", "negative", "doesn't", "don't", "didn't", "isn't", "wasn't", "hasn't", "haven't",
    "doesnt", "dont", "didnt", "isnt", "wasnt",
})  # fmt: skip
_CLAUSE_BREAK = re.compile(r"[.;:!?,\n]|\b(?:but|however|although|though|yet)\b")
_WORDS = re.compile(r"[a-z']+")
_NEGATION_REACH = 4
"""A negator negates a keyword up to this many words later ("no sign of a weapon")."""


def _find(pattern: re.Pattern[str], notes: str) -> str | None:
    """The first match of ``pattern`` in (lower-case) ``notes`` that is not negated."""
    for match in pattern.finditer(notes):
        if not _negated(notes, match.start()):
            return match.group(0)
    return None


def _negated(notes: str, start: int) -> bool:
    before = notes[max(0, start - 80) : start]
    cut = 0
    for match in _CLAUSE_BREAK.finditer(before):
        cut = match.end()
    words = _WORDS.findall(before[cut:])[-_NEGATION_REACH:]
    return any(word in _NEGATORS for word in words)


class _Facts:
    """What conditions test, gathered once per call."""

    __slots__ = ("category", "category_label", "caution", "caution_types", "compiled", "evidence",
                 "flags", "known", "priority")  # fmt: skip

    def __init__(
        self,
        protocol: Protocol,
        compiled: CompiledProtocol,
        situation: Situation,
        category: str | None,
        evidence: tuple[Evidence, ...],
    ) -> None:
        self.compiled = compiled
        self.category = category
        self.category_label = category_label(protocol, category) if category is not None else ""
        self.evidence = {e.flag: e for e in evidence}
        self.flags = frozenset(self.evidence)
        caution = (situation.highest_caution or "").strip().lower()
        self.caution = caution if caution in SEVERITIES else None
        self.caution_types = tuple(sorted(t.lower() for t in situation.caution_types if t))
        self.priority = situation.priority
        self.known = situation.known_to_programs

    def describe(self, flag: str) -> str:
        evidence = self.evidence[flag]
        # A flag the call type implies is said by naming the category, once.
        return self.category_label if evidence.source == "call type" else evidence.describe()


def _match(condition: Condition, facts: _Facts) -> list[str] | None:
    """The facts that make ``condition`` hold, or None when it does not."""
    reasons: list[str] = []
    if condition.categories:
        if facts.category not in condition.categories:
            return None
        reasons.append(facts.category_label)
    if condition.flags:
        present = [flag for flag in condition.flags if flag in facts.flags]
        if not present:
            return None
        reasons += [facts.describe(flag) for flag in present]
    if condition.all_flags:
        if not all(flag in facts.flags for flag in condition.all_flags):
            return None
        reasons += [facts.describe(flag) for flag in condition.all_flags]
    if condition.no_flags and any(flag in facts.flags for flag in condition.no_flags):
        return None
    if condition.caution:
        if facts.caution not in condition.caution:
            return None
        reasons.append(f"a {(facts.caution or '').upper()} caution on a matched person")
    if condition.caution_types:
        pattern = facts.compiled.caution_patterns[condition.caution_types]
        found = [t for t in facts.caution_types if pattern is not None and pattern.search(t)]
        if not found:
            return None
        reasons.append(f"a '{found[0]}' caution on a matched person")
    if condition.priority:
        if facts.priority not in condition.priority:
            return None
        reasons.append(f"priority {facts.priority}")
    if condition.known_to_programs is not None:
        if facts.known != condition.known_to_programs:
            return None
        reasons.append("known to programs" if facts.known else "not known to programs")
    for nested in condition.all:
        found_all = _match(nested, facts)
        if found_all is None:
            return None
        reasons += found_all
    if condition.any:
        for nested in condition.any:
            found_any = _match(nested, facts)
            if found_any is not None:
                reasons += found_any
                break
        else:
            return None
    return list(dict.fromkeys(r for r in reasons if r))


def _local_time(received_at: datetime, compiled: CompiledProtocol) -> datetime:
    if received_at.tzinfo is None:
        received_at = received_at.replace(tzinfo=UTC)
    try:
        return received_at.astimezone(compiled.zone)
    except OverflowError:  # within a day of year 1 or 9999: nothing real, but never raise
        return received_at.replace(tzinfo=compiled.zone)


def _place(situation: Situation) -> dict[str, str | None]:
    return {"beat": situation.beat, "sector": situation.sector, "precinct": situation.precinct}


def _in_service(
    protocol: Protocol,
    compiled: CompiledProtocol,
    configuration: str,
    situation: Situation,
    local: datetime,
) -> list[str]:
    """Phrases saying a limited responder is within its hours and area (for the rationale)."""
    phrases = []
    for responder in CONFIGURATION_RESPONDERS[configuration]:
        label = protocol.responder_label(responder)
        windows = compiled.windows.get(responder)
        if windows and any(w.contains(local) for w in windows):
            phrases.append(f"within {label} hours ({_hours(protocol, responder)})")
        area = compiled.areas.get(responder)
        if area is not None:
            place = _place(situation)
            inside = area.contains(place)
            if inside:
                phrases.append(f"inside the {label} area ({area.where(place)})")
            elif inside is None:
                phrases.append(f"location unknown, taken as inside the {label} area")
    return phrases


def _unavailable(
    protocol: Protocol,
    compiled: CompiledProtocol,
    configuration: str,
    situation: Situation,
    local: datetime,
) -> list[str]:
    """Why the configuration cannot go now: hours, area, no unit free. Empty when it can."""
    problems = []
    for responder in CONFIGURATION_RESPONDERS[configuration]:
        label = protocol.responder_label(responder)
        windows = compiled.windows.get(responder)
        if windows and not any(w.contains(local) for w in windows):
            problems.append(
                f"outside {label} hours ({_hours(protocol, responder)}; it is {local:%a %H:%M})"
            )
        area = compiled.areas.get(responder)
        place = _place(situation)
        if area is not None and area.contains(place) is False:
            problems.append(f"{area.where(place)} is outside the {label} area ({area.description})")
        free = situation.available.get(responder) if situation.available is not None else None
        if free is not None and free <= 0:
            problems.append(f"no {label} unit free")
    return problems


def _fall_back(
    protocol: Protocol,
    compiled: CompiledProtocol,
    configuration: str,
    problems: list[str],
    situation: Situation,
    local: datetime,
) -> Step:
    options = protocol.fallback.get(configuration, ())
    if not options:
        reason = (
            f"{_capital(_and(problems))}: no fallback in the protocol, so "
            f"{_lower(_label(configuration))} still (it goes when a unit is free)."
        )
        return Step("unavailable", configuration, configuration, reason)
    chosen: str | None = None
    skipped = []
    for option in options:
        blocked = _unavailable(protocol, compiled, option, situation, local)
        if not blocked:
            chosen = option
            break
        skipped.append(f"{_lower(_label(option))} skipped: {_and(blocked)}")
    last = _lower(_label(options[-1]))
    reason = f"Fell back to {_lower(_label(chosen or options[-1]))}: {_and(problems)}"
    if chosen is None:
        reason += f"; no fallback can go now ({'; '.join(skipped)}), so {last} goes when free"
    elif skipped:
        reason += f"; {'; '.join(skipped)}"
    return Step("fallback", chosen or options[-1], chosen or options[-1], reason + ".")


def _hours(protocol: Protocol, responder: str) -> str:
    return ", ".join(protocol.responders[responder].hours or ())


def _label(configuration: str) -> str:
    return CONFIGURATIONS[configuration]


def _and(parts: list[str]) -> str:
    return ", ".join(dict.fromkeys(parts))


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _lower(text: str) -> str:
    return text[:1].lower() + text[1:]
