"""The one policy decision every read of person data goes through (Cedar, via cedarpy).

The policies (``policy/policies.cedar``) are validated against the schema when this module is
first used, and in the tests: a policy that names an attribute the schema lacks stops the app
from starting. A decision says allow or deny, which policies decided it, and why in words.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path

import cedarpy

from corespond.access.reasons import explain
from corespond.access.roles import Purpose, Role

POLICY_DIR = Path(__file__).parent / "policy"


class PolicyError(Exception):
    """The policies do not validate against the schema; corespond refuses to start."""


@dataclass(frozen=True)
class Subject:
    """Who asks: a user, their agency and its kind."""

    user_id: int
    agency_id: int | None
    agency_name: str
    agency_kind: str
    criminal_justice: bool
    roles: frozenset[Role]


@dataclass(frozen=True)
class Fact:
    """What is asked about: one category of one agency's facts about a person."""

    category: str
    owner_agency_id: int | None
    owner_name: str
    owner_kind: str
    owner_criminal_justice: bool = False


@dataclass(frozen=True)
class Grounds:
    """What else the decision weighs, found before it is asked (``access.grounds``)."""

    purpose: Purpose
    agreement_id: int | None = None
    """An information-sharing agreement between the two agencies (the minimal shared view)."""
    dispatch_agreement_id: int | None = None
    """A dispatch agreement under which the fact's owner dispatches for the asking agency."""
    consent_id: int | None = None
    consent_until: date | None = None
    part2_consent_id: int | None = None
    break_glass_id: int | None = None
    serious_threat_id: int | None = None


@dataclass(frozen=True)
class Decision:
    allowed: bool
    policies: tuple[str, ...]
    """The @id of each policy that decided it (empty: nothing permitted, deny by default)."""
    reasons: tuple[str, ...]
    """The same, in words a user can act on."""
    obligations: tuple[str, ...] = field(default=())
    """What must go with a permitted disclosure (the 42 CFR 2.32 notice, say)."""

    @property
    def legal_basis(self) -> str | None:
        return self.policies[0] if self.allowed and self.policies else None


@lru_cache(maxsize=1)
def _policy() -> tuple[cedarpy.PolicySet, cedarpy.Schema]:
    text = (POLICY_DIR / "policies.cedar").read_text()
    schema_text = (POLICY_DIR / "schema.cedarschema").read_text()
    result = cedarpy.validate_policies(text, schema_text)
    if not result.validation_passed:
        problems = "; ".join(str(error) for error in result.errors)
        raise PolicyError(f"the access policies do not match their schema: {problems}")
    return cedarpy.PolicySet.from_str(text), cedarpy.Schema.from_str(schema_text)


def validate() -> None:
    """Check the policies against the schema now (the app calls this at start-up)."""
    _policy()


def decide(subject: Subject, fact: Fact, grounds: Grounds) -> Decision:
    return decide_many(subject, [(fact, grounds)])[0]


def decide_many(subject: Subject, asked: list[tuple[Fact, Grounds]]) -> list[Decision]:
    """One decision per (fact, grounds), in one evaluation of the policies (a page asks about
    each category each agency holds of a person at once).

    A decision is a function of the subject, the fact and the grounds alone (the policies are
    read once per process), so the process keeps the latest ``DECIDED`` of them and evaluates
    only what it has not decided before: a dispatch center asks the same few questions all
    day. Each decision is still audited by whoever asked (``access.service``)."""
    found: dict[int, Decision] = {}
    missing: list[int] = []
    for index, (fact, grounds) in enumerate(asked):
        known = _decided.get((subject, fact, grounds))
        if known is None:
            missing.append(index)
        else:
            found[index] = known
    if missing:
        fresh = _evaluate(subject, [asked[index] for index in missing])
        with _deciding:
            for index, decision in zip(missing, fresh, strict=True):
                found[index] = decision
                fact, grounds = asked[index]
                _decided[(subject, fact, grounds)] = decision
            while len(_decided) > DECIDED:
                del _decided[next(iter(_decided))]
    return [found[index] for index in range(len(asked))]


DECIDED = 10_000
"""Decisions the process keeps (the oldest go first)."""
_decided: dict[tuple[Subject, Fact, Grounds], Decision] = {}
_deciding = threading.Lock()
"""Held while decisions are added (and the oldest dropped)."""


def _evaluate(subject: Subject, asked: list[tuple[Fact, Grounds]]) -> list[Decision]:
    """Evaluate the policies for these questions, in one batch."""
    policies, schema = _policy()
    home = f"a{subject.agency_id}" if subject.agency_id is not None else "none"
    user = {"type": "Corespond::User", "id": f"u{subject.user_id}"}
    entities: dict[str, dict[str, object]] = {
        home: _agency(home, subject.agency_kind, subject.criminal_justice),
        "user": {
            "uid": user,
            "attrs": {
                "agency": {"__entity": {"type": "Corespond::Agency", "id": home}},
                "roles": [role.value for role in subject.roles],
            },
            "parents": [],
        },
    }
    requests = []
    for index, (fact, grounds) in enumerate(asked):
        owner = f"a{fact.owner_agency_id}" if fact.owner_agency_id is not None else "unknown"
        if owner not in entities:
            entities[owner] = _agency(owner, fact.owner_kind, fact.owner_criminal_justice)
        entities[f"fact{index}"] = {
            "uid": {"type": "Corespond::Fact", "id": f"fact{index}"},
            "attrs": {
                "category": fact.category,
                "owner": {"__entity": {"type": "Corespond::Agency", "id": owner}},
            },
            "parents": [],
        }
        requests.append({
            "principal": user,
            "action": {"type": "Corespond::Action", "id": "read"},
            "resource": {"type": "Corespond::Fact", "id": f"fact{index}"},
            "context": {
                "purpose": grounds.purpose.value,
                "agreement": grounds.agreement_id is not None,
                "dispatch_agreement": grounds.dispatch_agreement_id is not None,
                "consent": grounds.consent_id is not None,
                "part2_consent": grounds.part2_consent_id is not None,
                "break_glass": grounds.break_glass_id is not None,
                "serious_threat": grounds.serious_threat_id is not None,
            },
        })  # fmt: skip
    results = cedarpy.is_authorized_batch(requests, policies, list(entities.values()), schema)
    return [
        _decision(result, subject, fact, grounds)
        for result, (fact, grounds) in zip(results, asked, strict=True)
    ]


def _decision(
    result: cedarpy.AuthzResult, subject: Subject, fact: Fact, grounds: Grounds
) -> Decision:
    if result.diagnostics.errors:
        # Fail closed: an evaluation error is a deny, and says so.
        errors = "; ".join(str(error) for error in result.diagnostics.errors)
        return Decision(False, (), (f"the policy could not be evaluated: {errors}",))
    ids = result.diagnostics.id_annotations_by_reason
    decided = tuple(sorted(ids.get(reason, reason) for reason in result.diagnostics.reasons))
    obligations = (
        ("42 CFR 2.32 notice",)
        if result.allowed and fact.category == "substance_use_part2"
        and fact.owner_agency_id != subject.agency_id
        else ()
    )  # fmt: skip
    return Decision(
        result.allowed, decided, explain(decided, subject, fact, grounds, result.allowed),
        obligations,
    )  # fmt: skip


def _agency(uid: str, kind: str, criminal_justice: bool) -> dict[str, object]:
    return {
        "uid": {"type": "Corespond::Agency", "id": uid},
        "attrs": {"kind": kind, "criminal_justice": criminal_justice},
        "parents": [],
    }
