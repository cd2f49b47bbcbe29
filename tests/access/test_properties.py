"""Properties of the access decision that no sequence of actions may break."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from corespond.access.decisions import Fact, Grounds, Subject, _evaluate, decide, decide_many
from corespond.access.grounds import ConsentTerms, find, part2_complete
from corespond.access.roles import Purpose, Role
from corespond.sources.records import DataCategory

TODAY = date(2026, 11, 29)
POLICE, DISPATCH, CARE, BH = 1, 2, 3, 4
KINDS = {POLICE: "police", DISPATCH: "dispatch", CARE: "care_team", BH: "behavioral_health"}
PART2 = "substance_use_part2"

consents = st.builds(
    ConsentTerms,
    id=st.integers(1, 10_000),
    status=st.sampled_from(["active", "inactive", "rejected"]),
    decision=st.sampled_from(["permit", "deny"]),
    recipient_agency_id=st.sampled_from([POLICE, DISPATCH, CARE, None]),
    purposes=st.frozensets(st.sampled_from([p.value for p in Purpose]), max_size=3),
    categories=st.frozensets(st.sampled_from([c.value for c in DataCategory]), max_size=4),
    period_start=st.one_of(st.none(), st.just(TODAY - timedelta(days=30))),
    period_end=st.one_of(
        st.none(), st.sampled_from([TODAY - timedelta(days=1), TODAY + timedelta(days=30)])
    ),
    signed_on=st.one_of(st.none(), st.just(TODAY - timedelta(days=30))),
    part2=st.booleans(),
    disclosing_program=st.one_of(st.none(), st.just("Riverbend outpatient")),
)
actions = st.lists(
    st.one_of(
        st.tuples(st.just("consent"), consents),
        st.tuples(st.just("revoke"), st.integers(0, 20)),
        st.tuples(st.just("break glass"), st.booleans()),
        st.tuples(st.just("serious threat"), st.booleans()),
        st.tuples(st.just("agreement"), st.booleans()),
        st.tuples(st.just("dispatch agreement"), st.booleans()),
    ),
    max_size=12,
)


def officer(role: Role = Role.OFFICER, agency: int = POLICE) -> Subject:
    return Subject(1, agency, "Riverbend PD", KINDS[agency], True, frozenset({role}))


@settings(max_examples=400, deadline=None)
@given(actions=actions, purpose=st.sampled_from(list(Purpose)),
       role=st.sampled_from([Role.OFFICER, Role.DISPATCHER]))  # fmt: skip
def test_part2_never_reaches_law_enforcement_without_a_consent_naming_it(
    actions: list[tuple[str, object]], purpose: Purpose, role: Role
) -> None:
    agency = POLICE if role is Role.OFFICER else DISPATCH
    held: list[ConsentTerms] = []
    flags = {
        "break glass": False, "serious threat": False, "agreement": False,
        "dispatch agreement": False,
    }  # fmt: skip
    for kind, value in actions:
        if kind == "consent":
            held.append(value)  # type: ignore[arg-type]
        elif kind == "revoke" and held:
            index = int(value) % len(held)  # type: ignore[call-overload]
            held[index] = replace(held[index], status="inactive")
        elif kind in flags:
            flags[kind] = bool(value)
        grounds = find(
            purpose=purpose, agency_id=agency, category=PART2, consents=held,
            agreement_id=9 if flags["agreement"] else None, today=TODAY,
            dispatch_agreement_id=8 if flags["dispatch agreement"] else None,
            break_glass_id=1 if flags["break glass"] else None,
            serious_threat_id=2 if flags["serious threat"] else None,
        )  # fmt: skip
        decision = decide(
            officer(role, agency), Fact(PART2, BH, "BH", "behavioral_health"), grounds
        )
        naming = [
            c for c in held
            if c.status == "active" and c.decision == "permit" and c.recipient_agency_id == agency
            and part2_complete(c) and purpose.value in c.purposes
            and (c.period_end is None or c.period_end >= TODAY)
        ]  # fmt: skip
        refused = any(
            c.status == "active" and c.decision == "deny" and c.recipient_agency_id == agency
            and PART2 in c.categories and purpose.value in c.purposes
            and (c.period_end is None or c.period_end >= TODAY)
            for c in held
        )  # fmt: skip
        if decision.allowed:
            assert naming and not refused, (held, decision)
            assert decision.obligations == ("42 CFR 2.32 notice",)


@settings(max_examples=200, deadline=None)
@given(
    category=st.sampled_from([c.value for c in DataCategory]),
    purpose=st.sampled_from([Purpose.CARE_COORDINATION, Purpose.EMERGENCY_RESPONSE]),
)
def test_revoking_a_consent_flips_every_decision_that_rested_on_it(
    category: str, purpose: Purpose
) -> None:
    consent = ConsentTerms(
        id=12, status="active", decision="permit", recipient_agency_id=CARE,
        purposes=frozenset({purpose.value}), categories=frozenset({category}),
        period_start=None, period_end=TODAY + timedelta(days=10), signed_on=TODAY,
        part2=True, disclosing_program="Riverbend outpatient",
    )  # fmt: skip
    clinician = Subject(3, CARE, "Care team", "care_team", False, frozenset({Role.CLINICIAN}))
    fact = Fact(category, BH, "Riverbend Behavioral Health", "behavioral_health")

    def decision(held: list[ConsentTerms]) -> bool:
        grounds = find(purpose=purpose, agency_id=CARE, category=category, consents=held,
                       agreement_id=None, today=TODAY)  # fmt: skip
        return decide(clinician, fact, grounds).allowed

    before, after = decision([consent]), decision([replace(consent, status="inactive")])

    if category == "criminal_justice":
        assert not before and not after  # a care team is not a criminal-justice agency
    else:
        assert before and not after


@settings(max_examples=300, deadline=None)
@given(
    role=st.sampled_from(list(Role)),
    agency=st.sampled_from([POLICE, DISPATCH, CARE, BH]),
    owner=st.sampled_from([POLICE, DISPATCH, CARE, BH, None]),
    category=st.sampled_from([c.value for c in DataCategory]),
    purpose=st.sampled_from(list(Purpose)),
    grounds_ids=st.tuples(*[st.one_of(st.none(), st.integers(1, 3)) for _ in range(6)]),
)
def test_a_decision_the_process_keeps_is_the_one_it_would_make_afresh(
    role: Role, agency: int, owner: int | None, category: str, purpose: Purpose,
    grounds_ids: tuple[int | None, ...],
) -> None:  # fmt: skip
    """Decisions are kept per (subject, fact, grounds): asked again, or asked beside other
    questions, each answer is what the policies say of that question alone."""
    subject = Subject(7, agency, "asker", KINDS[agency], agency == POLICE, frozenset({role}))
    fact = Fact(category, owner, "owner", KINDS[owner] if owner else "unknown", owner == POLICE)
    agreement, dispatch, consent, part2, glass, threat = grounds_ids
    grounds = Grounds(
        purpose, agreement_id=agreement, dispatch_agreement_id=dispatch, consent_id=consent,
        part2_consent_id=part2, break_glass_id=glass, serious_threat_id=threat,
    )  # fmt: skip
    fresh = _evaluate(subject, [(fact, grounds)])[0]
    bare = replace(grounds, agreement_id=None, dispatch_agreement_id=None, consent_id=None,
                   part2_consent_id=None, break_glass_id=None, serious_threat_id=None)  # fmt: skip
    assert decide_many(subject, [(fact, bare), (fact, grounds)])[1] == fresh
    assert decide(subject, fact, grounds) == fresh  # kept now
    assert decide(subject, fact, bare) == _evaluate(subject, [(fact, bare)])[0]
