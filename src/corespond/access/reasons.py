"""Decisions in words: what the UI shows next to a fact, and beside "restricted"."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from corespond.access.decisions import Fact, Grounds, Subject

CATEGORY_WORDS = {
    "identity": "identity",
    "contact": "contact details",
    "safety": "cautions",
    "call_incident": "calls and incidents",
    "criminal_justice": "criminal-justice records",
    "health": "health records",
    "behavioral_health": "behavioral-health records",
    "substance_use_part2": "substance-use treatment records (42 CFR Part 2)",
    "housing": "housing records",
    "case_notes": "case notes",
}


def explain(
    policies: tuple[str, ...], subject: Subject, fact: Fact, grounds: Grounds, allowed: bool
) -> tuple[str, ...]:
    what = CATEGORY_WORDS.get(fact.category, fact.category)
    purpose = grounds.purpose.value.replace("_", " ")
    if allowed:
        return tuple(_allowed(policy, what, purpose, subject, fact, grounds) for policy in policies)
    if not policies and fact.owner_agency_id is None:
        return (
            f"restricted: no agency is recorded as holding these {what}, so they are shared "
            "with no one; name the source's agency in the jurisdiction file",
        )
    if not policies and fact.category == "call_incident" and fact.owner_kind == "dispatch":
        return (
            f"restricted: {fact.owner_name} shares its {what} with the agencies it dispatches "
            f"for, with the roles whose work uses them; {subject.agency_name} has no dispatch "
            f"agreement with it, or your role or purpose does not cover calls",
        )
    if not policies:
        return (
            f"restricted: {fact.owner_name}'s {what} are not shared with {subject.agency_name} "
            f"for {purpose} without the person's consent; ask {fact.owner_name} or record a "
            "consent",
        )
    return tuple(_denied(policy, what, purpose, subject, fact) for policy in policies)


def _allowed(
    policy: str, what: str, purpose: str, subject: Subject, fact: Fact, grounds: Grounds
) -> str:
    if policy == "own-agency":
        return (
            f"visible to {subject.agency_name} staff in your role: "
            f"{fact.owner_name} holds these {what}"
        )
    if policy == "agreement-minimal-view":
        return (
            f"visible under information-sharing agreement #{grounds.agreement_id} between "
            f"{fact.owner_name} and {subject.agency_name} for {purpose}"
        )
    if policy == "dispatch-shares-calls":
        return (
            f"visible under dispatch agreement #{grounds.dispatch_agreement_id}: "
            f"{fact.owner_name} dispatches for {subject.agency_name}"
        )
    if policy == "stewardship-identity-review":
        return f"visible to data stewards for identity review of {fact.owner_name}'s records"
    if policy == "stewardship-own-agency":
        return (
            f"visible to {subject.agency_name}'s data stewards for the quality of its own "
            f"records: {fact.owner_name} holds these {what}"
        )
    if policy == "consent":
        until = f" until {grounds.consent_until.isoformat()}" if grounds.consent_until else ""
        return (
            f"visible under consent #{grounds.consent_id} to {subject.agency_name} "
            f"for {purpose}{until}"
        )
    if policy == "part2-consent":
        return (
            f"visible under Part 2 consent #{grounds.part2_consent_id} naming "
            f"{subject.agency_name}; 42 CFR Part 2 prohibits re-disclosure (2.32)"
        )
    if policy == "break-glass":
        return (
            f"visible under emergency access #{grounds.break_glass_id}, "
            "flagged for your auditor's review"
        )
    if policy == "serious-threat":
        return (
            f"visible under the serious-threat exception (HIPAA 164.512(j)), "
            f"record #{grounds.serious_threat_id}"
        )
    return f"visible under policy {policy}"


def _denied(policy: str, what: str, purpose: str, subject: Subject, fact: Fact) -> str:
    if policy == "part2-needs-consent":
        return (
            f"restricted: {what} go to {subject.agency_name} only under a Part 2 consent "
            f"that names it (42 CFR 2.31); ask {fact.owner_name}"
        )
    if policy == "criminal-justice-agencies-only":
        return f"restricted: {what} are shared only with criminal-justice agencies (CJIS 5.1)"
    if policy.startswith("purpose-"):
        return f"restricted: the purpose '{purpose}' is not open to your role; switch purpose"
    return f"restricted under policy {policy}"
