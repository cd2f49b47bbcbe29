"""Finding the grounds a decision weighs: which consent, agreement or emergency applies.

Pure functions over the consents and agreements already loaded, so that the same rules run in
the product and in the authorization-matrix test. A consent applies only when it is active, is
a permit, names the asking agency, covers the category and the purpose, and today falls within
its period; a Part 2 consent must also carry every element 42 CFR 2.31 requires.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from corespond.access.decisions import Grounds
from corespond.access.roles import Purpose

PART2 = "substance_use_part2"


@dataclass(frozen=True)
class ConsentTerms:
    """A consent as the decision needs it (from ``models.Consent`` or the consent form)."""

    id: int
    status: str
    """``active``; anything else (``inactive``, ``rejected``, ``entered-in-error``) is not."""
    decision: str
    """``permit`` or ``deny``."""
    recipient_agency_id: int | None
    purposes: frozenset[str]
    categories: frozenset[str]
    period_start: date | None
    period_end: date | None
    signed_on: date | None
    part2: bool
    disclosing_program: str | None = None
    """The Part 2 program that discloses (42 CFR 2.31(a)(2))."""
    expiry_stated: bool = False
    """An expiration date, event or condition is stated (42 CFR 2.31(a)(6))."""


def part2_complete(consent: ConsentTerms) -> bool:
    """Has the 42 CFR 2.31 elements this system can check: who discloses, to whom, what,
    for what purpose, until when, signed and dated."""
    return (
        consent.part2
        and consent.recipient_agency_id is not None
        and consent.disclosing_program is not None
        and PART2 in consent.categories
        and bool(consent.purposes)
        and (consent.period_end is not None or consent.expiry_stated)
        and consent.signed_on is not None
    )


def applies(
    consent: ConsentTerms, agency_id: int | None, category: str, purpose: Purpose, today: date
) -> bool:
    """Active, names this agency, covers this category and purpose, and in force today."""
    return (
        consent.status == "active"
        and agency_id is not None
        and consent.recipient_agency_id == agency_id
        and category in consent.categories
        and purpose.value in consent.purposes
        and (consent.period_start is None or consent.period_start <= today)
        and (consent.period_end is None or today <= consent.period_end)
    )


def find(
    *,
    purpose: Purpose,
    agency_id: int | None,
    category: str,
    consents: Iterable[ConsentTerms],
    agreement_id: int | None,
    today: date,
    dispatch_agreement_id: int | None = None,
    break_glass_id: int | None = None,
    serious_threat_id: int | None = None,
) -> Grounds:
    """The grounds for one user's agency reading one category of a person's facts."""
    consent_id = part2_id = None
    until = None
    relevant = [c for c in consents if applies(c, agency_id, category, purpose, today)]
    if any(consent.decision == "deny" for consent in relevant):
        relevant = []  # the person refused: a deny provision outweighs any permit
    for consent in sorted(relevant, key=lambda c: c.id):
        if category == PART2:
            if part2_complete(consent) and part2_id is None:
                part2_id, until = consent.id, consent.period_end
        elif consent_id is None:
            consent_id, until = consent.id, consent.period_end
    return Grounds(
        purpose=purpose,
        agreement_id=agreement_id,
        dispatch_agreement_id=dispatch_agreement_id,
        consent_id=consent_id,
        consent_until=until,
        part2_consent_id=part2_id,
        break_glass_id=break_glass_id,
        serious_threat_id=serious_threat_id,
    )
