"""The authorization matrix: every role, agency kind, category, purpose, consent state,
emergency and owner, against the tables of docs/access-policy.md. Zero unexpected allows.

The owner is the user's own agency, or another agency with no agreement, with an
information-sharing agreement, or a dispatch centre that dispatches for the user's agency.

The expected outcome is computed from the documentation's tables by the small interpreter
below, independently of the Cedar policies it checks.
"""

from __future__ import annotations

import itertools
import re
from datetime import date, timedelta
from functools import cache
from pathlib import Path

from corespond.access.decisions import Fact, Subject, decide, validate
from corespond.access.grounds import ConsentTerms, find
from corespond.access.roles import Purpose, Role
from corespond.sources.records import AgencyKind, DataCategory

POLICY_DOC = Path(__file__).resolve().parents[2] / "docs" / "access-policy.md"
TODAY = date(2026, 11, 29)
CONSENT_STATES = ("none", "active", "expired", "revoked", "other agency", "other category")
EMERGENCIES = ("none", "break glass", "serious threat")
CRIMINAL_JUSTICE = {"dispatch", "police"}
HOME, OTHER = 1, 2
OWNERS = ("own", "no agreement", "agreement", "dispatches for us")
"""The fact's owner and how it relates to the user's agency."""


@cache
def tables() -> dict[str, list[dict[str, str]]]:
    """Each '## ' section's first table, as rows of {header: cell}."""
    found: dict[str, list[dict[str, str]]] = {}
    for section in re.split(r"^## ", POLICY_DOC.read_text(), flags=re.M)[1:]:
        title, _, body = section.partition("\n")
        lines = [line for line in body.splitlines() if line.startswith("|")]
        if not lines:
            continue
        headers = [cell.strip() for cell in lines[0].strip("|").split("|")]
        found[title.strip()] = [
            dict(zip(headers, (cell.strip() for cell in line.strip("|").split("|")), strict=True))
            for line in lines[2:]
        ]
    return found


def words(cell: str) -> set[str]:
    return {word.strip() for word in cell.split(",") if word.strip()}


def expected(role: Role, kind: str, category: str, purpose: Purpose, consent: str,
             emergency: str, relation: str) -> bool:  # fmt: skip
    doc = tables()
    roles = {role.value}
    owner = HOME if relation == "own" else OTHER
    own = {row["role"]: words(row["categories"]) for row in doc["Allow: own agency, by role"]}
    allowed = owner == HOME and category in own[role.value]
    for row in doc["Allow: across agencies, and by purpose"]:
        who = row["who"]
        if who != "any role" and not roles & words(who):
            continue
        cats = row["categories"]
        if cats == "every category":
            pass
        elif cats.startswith("every category but "):
            if category in words(cats.removeprefix("every category but ")):
                continue
        elif category not in words(cats):
            continue
        if row["purposes"] != "the consent's" and purpose.value not in words(row["purposes"]):
            continue
        needs = row["needs"]
        met = {
            "an information-sharing agreement": relation == "agreement",
            "a dispatch agreement": relation == "dispatches for us",
            "nothing more": True,
            "the fact is held by the user's own agency": owner == HOME,
            "an active permit consent": consent == "active",
            "such a consent": consent == "active",
            "emergency access": emergency == "break glass",
            "the serious-threat": emergency == "serious threat",
        }
        if any(needs.startswith(start) and ok for start, ok in met.items()):
            allowed = True
    for row in doc["Never"]:
        rule = row["rule"]
        if rule == "part2-needs-consent":
            if (
                category == "substance_use_part2"
                and owner == OTHER
                and not (consent == "active" or emergency == "break glass")
            ):
                allowed = False
        elif rule == "criminal-justice-agencies-only":
            if category == "criminal_justice" and kind not in CRIMINAL_JUSTICE:
                allowed = False
        elif rule.startswith("purpose-"):
            named = rule.removeprefix("purpose-").replace("-", "_")
            unless = {w.removeprefix("the user is a ").removeprefix("the user is an ")
                      for w in re.split(r" or ", row["unless"])}  # fmt: skip
            if purpose.value == named and not roles & unless:
                allowed = False
    return allowed


def consents_for(state: str, category: str, purpose: Purpose) -> list[ConsentTerms]:
    if state == "none":
        return []
    recipient = 99 if state == "other agency" else HOME
    covered = "housing" if state == "other category" and category != "housing" else category
    if state == "other category" and category == "housing":
        covered = "health"
    return [
        ConsentTerms(
            id=12,
            status="inactive" if state == "revoked" else "active",
            decision="permit",
            recipient_agency_id=recipient,
            purposes=frozenset({purpose.value}),
            categories=frozenset({covered}),
            period_start=TODAY - timedelta(days=100),
            period_end=TODAY - timedelta(days=1)
            if state == "expired"
            else TODAY + timedelta(days=90),
            signed_on=TODAY - timedelta(days=100),
            part2=category == "substance_use_part2",
            disclosing_program="Riverbend Behavioral Health outpatient"
            if category == "substance_use_part2"
            else None,
        )
    ]


def test_the_policies_validate_against_their_schema() -> None:
    validate()


def test_every_combination_matches_the_documented_policy() -> None:
    unexpected_allows, unexpected_denies, total = [], [], 0
    # The same Cedar request always gets the same decision: ask each distinct one once.
    decide_once = cache(decide)
    for role, kind, category, purpose, consent, emergency, relation in itertools.product(
        Role, [k.value for k in AgencyKind], [c.value for c in DataCategory], Purpose,
        CONSENT_STATES, EMERGENCIES, OWNERS,
    ):  # fmt: skip
        subject = Subject(7, HOME, "Home agency", kind, kind in CRIMINAL_JUSTICE, frozenset({role}))
        owner = HOME if relation == "own" else OTHER
        owner_kind = (
            kind if owner == HOME else "dispatch" if relation == "dispatches for us"
            else "behavioral_health"
        )  # fmt: skip
        fact = Fact(category, owner, "Owner agency", owner_kind)
        grounds = find(
            purpose=purpose, agency_id=HOME, category=category,
            consents=consents_for(consent, category, purpose),
            agreement_id=5 if relation == "agreement" else None, today=TODAY,
            dispatch_agreement_id=6 if relation == "dispatches for us" else None,
            break_glass_id=3 if emergency == "break glass" else None,
            serious_threat_id=4 if emergency == "serious threat" else None,
        )  # fmt: skip
        decision = decide_once(subject, fact, grounds)
        want = expected(role, kind, category, purpose, consent, emergency, relation)
        total += 1
        case = (role.value, kind, category, purpose.value, consent, emergency, relation)
        if decision.allowed and not want:
            unexpected_allows.append((case, decision.policies))
        elif want and not decision.allowed:
            unexpected_denies.append((case, decision.policies))
        assert decision.reasons, case
    assert total == 9 * 9 * 10 * 6 * 6 * 3 * 4
    assert unexpected_allows == [], unexpected_allows[:5]
    assert unexpected_denies == [], unexpected_denies[:5]


def test_a_dispatch_agreement_opens_calls_only_if_the_owner_is_a_dispatch_agency() -> None:
    officer = Subject(7, HOME, "Riverbend PD", "police", True, frozenset({Role.OFFICER}))
    grounds = find(
        purpose=Purpose.EMERGENCY_RESPONSE, agency_id=HOME, category="call_incident",
        consents=[], agreement_id=None, today=TODAY, dispatch_agreement_id=6,
    )  # fmt: skip

    from_dispatch = decide(officer, Fact("call_incident", OTHER, "Metro 911", "dispatch"), grounds)
    from_fire = decide(officer, Fact("call_incident", OTHER, "Fire", "fire"), grounds)

    assert from_dispatch.allowed and from_dispatch.policies == ("dispatch-shares-calls",)
    assert "Metro 911 dispatches for Riverbend PD" in from_dispatch.reasons[0]
    assert not from_fire.allowed
