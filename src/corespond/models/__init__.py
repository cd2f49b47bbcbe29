"""ORM tables, one module per aggregate. Importing this package registers them all."""

from corespond.models.access import (
    ApiToken,
    EmergencyAccess,
    SharingAgreement,
    SignInAttempt,
    User,
    WebSession,
)
from corespond.models.agency import Agency, Beat, Program, SourceSystem
from corespond.models.audit import AuditArchive, AuditCheckpoint, AuditEvent
from corespond.models.base import Base
from corespond.models.call import CallForService, CallPerson, UnitResponse
from corespond.models.casework import CareTeamContact, CaseNote, Caution, Referral, ResponsePlan
from corespond.models.consent import Consent
from corespond.models.dispatch import (
    DispatchDecision,
    Incident,
    IncidentMatch,
    IncidentMessage,
    Recommendation,
    TriageProtocol,
)
from corespond.models.health import Condition, EmsRun, HospitalEncounter, TreatmentEncounter
from corespond.models.housing import Enrollment, EnrollmentExit, Service
from corespond.models.ingest import IngestFile, IngestRun, QuarantinedRow
from corespond.models.justice import Arrest, InvoluntaryHold, PoliceIncident, UseOfForce
from corespond.models.linkage import (
    LinkageDecision,
    LinkageModel,
    LinkageRun,
    MatchReview,
    NameFrequency,
    PersonEvent,
    PersonMatchKey,
)
from corespond.models.outcomes import Cohort, CohortMember, OutcomeCall, OutcomeState
from corespond.models.person import Person, PersonAlias, PersonLink, PersonRecord
from corespond.models.place import Place

__all__ = [
    "Agency",
    "ApiToken",
    "Arrest",
    "AuditArchive",
    "AuditCheckpoint",
    "AuditEvent",
    "Base",
    "Beat",
    "CallForService",
    "CallPerson",
    "CareTeamContact",
    "CaseNote",
    "Caution",
    "Cohort",
    "CohortMember",
    "Condition",
    "Consent",
    "DispatchDecision",
    "EmergencyAccess",
    "EmsRun",
    "Enrollment",
    "EnrollmentExit",
    "HospitalEncounter",
    "Incident",
    "IncidentMatch",
    "IncidentMessage",
    "IngestFile",
    "IngestRun",
    "InvoluntaryHold",
    "LinkageDecision",
    "LinkageModel",
    "LinkageRun",
    "MatchReview",
    "NameFrequency",
    "OutcomeCall",
    "OutcomeState",
    "Person",
    "PersonAlias",
    "PersonEvent",
    "PersonLink",
    "PersonMatchKey",
    "PersonRecord",
    "Place",
    "PoliceIncident",
    "Program",
    "QuarantinedRow",
    "Recommendation",
    "Referral",
    "ResponsePlan",
    "Service",
    "SharingAgreement",
    "SignInAttempt",
    "SourceSystem",
    "TreatmentEncounter",
    "TriageProtocol",
    "UnitResponse",
    "UseOfForce",
    "User",
    "WebSession",
]
