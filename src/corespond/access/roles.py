"""Roles users hold and purposes of use they work under."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    DISPATCHER = "dispatcher"
    OFFICER = "officer"
    CLINICIAN = "clinician"
    """A care-team clinician."""
    CASEWORKER = "caseworker"
    EMS = "ems"
    DATA_STEWARD = "data_steward"
    PROGRAM_MANAGER = "program_manager"
    AGENCY_ADMIN = "agency_admin"
    AUDITOR = "auditor"


class Purpose(StrEnum):
    EMERGENCY_RESPONSE = "emergency_response"
    CARE_COORDINATION = "care_coordination"
    TREATMENT = "treatment"
    PROGRAM_EVALUATION = "program_evaluation"
    AUDIT = "audit"
    DATA_STEWARDSHIP = "data_stewardship"
    """Identity review across agencies (who is who) and the quality of the agency's own data."""


ROLE_LABELS = {
    Role.DISPATCHER: "Dispatcher",
    Role.OFFICER: "Officer",
    Role.CLINICIAN: "Care-team clinician",
    Role.CASEWORKER: "Caseworker",
    Role.EMS: "EMS",
    Role.DATA_STEWARD: "Data steward",
    Role.PROGRAM_MANAGER: "Program manager",
    Role.AGENCY_ADMIN: "Agency administrator",
    Role.AUDITOR: "Auditor",
}


def parse_roles(text: str) -> frozenset[Role]:
    """Roles from a space- or comma-separated list; an unknown role is an error naming it."""
    found = set()
    for word in text.replace(",", " ").split():
        try:
            found.add(Role(word.strip().lower()))
        except ValueError:
            known = ", ".join(role.value for role in Role)
            raise ValueError(f"unknown role {word!r}; roles are {known}") from None
    if not found:
        raise ValueError("a user needs at least one role")
    return frozenset(found)


ROLE_PURPOSES: dict[Role, tuple[Purpose, ...]] = {
    Role.DISPATCHER: (Purpose.EMERGENCY_RESPONSE,),
    Role.OFFICER: (Purpose.EMERGENCY_RESPONSE,),
    Role.CLINICIAN: (Purpose.CARE_COORDINATION, Purpose.TREATMENT, Purpose.EMERGENCY_RESPONSE),
    Role.CASEWORKER: (Purpose.CARE_COORDINATION,),
    Role.EMS: (Purpose.EMERGENCY_RESPONSE, Purpose.TREATMENT),
    Role.DATA_STEWARD: (Purpose.DATA_STEWARDSHIP, Purpose.CARE_COORDINATION),
    Role.PROGRAM_MANAGER: (Purpose.PROGRAM_EVALUATION, Purpose.CARE_COORDINATION),
    Role.AGENCY_ADMIN: (Purpose.CARE_COORDINATION,),
    Role.AUDITOR: (Purpose.AUDIT,),
}
"""The purposes of use each role may work under; the first is its default."""


def purposes_for(roles: frozenset[Role]) -> tuple[Purpose, ...]:
    """The purposes open to someone holding ``roles``, defaults first."""
    found: list[Purpose] = []
    for role in sorted(roles):
        for purpose in ROLE_PURPOSES[role]:
            if purpose not in found:
                found.append(purpose)
    return tuple(found)
