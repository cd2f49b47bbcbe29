"""The call-type catalogue: how often each kind of call comes, when, how urgent, what follows.

Type names are Seattle CAD's (``domain.md`` section 1.1 and 1.3). ``eligible`` marks the calls a
care team may take under the CAHOOTS/STAR/Seattle CARE criteria: non-violent, non-medical, no
crime in progress. Rates are rough but ordered as in published data: most calls name no one,
behavioral calls name a person most often, arrests are rare outside crime calls.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from corespond.sources.records import CallSource

HOUR_PROFILES: dict[str, tuple[float, ...]] = {
    # Relative volume per local hour 0..23.
    "day": (2, 1.5, 1, 1, 1, 1.5, 3, 5, 7, 8, 9, 9, 9, 9, 9, 9, 8.5, 8, 7, 6, 5, 4, 3, 2.5),
    "evening": (6, 5, 4, 3, 2, 1.5, 1.5, 2, 3, 4, 5, 5.5, 6, 6, 6.5, 7, 7.5, 8, 8.5, 9, 9, 9, 8, 7),
    "night": (9, 9, 8, 6, 4, 2, 1.5, 1.5, 2, 2.5, 3, 3.5, 4, 4, 4.5, 5, 5.5, 6, 6.5, 7, 8, 8.5, 9,
              9),
    "commute": (1, 0.7, 0.5, 0.5, 0.7, 2, 5, 9, 8, 6, 6, 6.5, 7, 7, 7.5, 8.5, 9.5, 9.5, 7, 5, 4, 3,
                2, 1.5),
    "flat": (4, 3.5, 3, 3, 3, 3.5, 4, 5, 6, 6.5, 7, 7, 7, 7, 7, 7, 7, 7, 7, 6.5, 6, 5.5, 5, 4.5),
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class CallType:
    """One kind of call and what tends to follow it."""

    code: str
    name: str
    share: float
    category: str
    priorities: tuple[float, ...]
    """Weights of priorities 1, 2, 3, 4, ... (index 0 is priority 1)."""
    sources: tuple[tuple[CallSource, float], ...]
    hours: str = "flat"
    weekend: float = 1.0
    summer: float = 0.1
    """Seasonal amplitude: volume is multiplied by 1 + summer * cos(distance from mid-July)."""
    eligible: bool = False
    person_share: float = 0.2
    """Share of calls on which the call-taker records a named person."""
    pool: str = "general"
    """Who that person is likely to be: general, behavioral, medical, street, victim."""
    role: str = "subject"
    police_units: float = 1.3
    ems_share: float = 0.0
    fire_share: float = 0.0
    scene_minutes: float = 25.0
    report_share: float = 0.0
    offense: tuple[str, str] | None = None
    """NIBRS UCR offense code and description for an incident report."""
    arrest_share: float = 0.0
    """Custody arrests per call that names a subject."""
    cite_share: float = 0.0
    hold_share: float = 0.0
    transport_share: float = 0.0
    """EMS transports to the ER per EMS patient contact."""
    referral_share: float = 0.0
    force_share: float = 0.06
    """Use of force per custody arrest or involuntary hold."""
    weapon: str | None = None


_911 = CallSource.E911
_PHONE = CallSource.PHONE
_VIEW = CallSource.ON_VIEW
_ALARM = CallSource.ALARM
_IN_PERSON = CallSource.IN_PERSON
_TEXT = CallSource.TEXT

CALL_TYPES: tuple[CallType, ...] = (
    CallType("crisis", "CRISIS - PERSON IN BEHAVIORAL/EMOTIONAL CRISIS", 0.05, "behavioral",
             (0.1, 0.5, 0.35, 0.05), ((_911, 0.75), (_PHONE, 0.2), (_TEXT, 0.05)), "evening",
             eligible=True, person_share=0.8, pool="behavioral", ems_share=0.25,
             scene_minutes=45, hold_share=0.09, transport_share=0.45, arrest_share=0.04,
             cite_share=0.01, referral_share=0.15, force_share=0.1),
    CallType("suicide", "SUICIDE - IP/JO SUICIDAL PERSON AND ATTEMPTS", 0.012, "behavioral",
             (0.7, 0.3), ((_911, 0.9), (_PHONE, 0.1)), "night", person_share=0.9,
             pool="behavioral", ems_share=0.7, police_units=2.0, scene_minutes=60,
             hold_share=0.3, transport_share=0.6, referral_share=0.1, force_share=0.08),
    CallType("welfare", "ASSIST PUBLIC - WELFARE CHECK", 0.07, "assist",
             (0.05, 0.35, 0.5, 0.1), ((_911, 0.45), (_PHONE, 0.5), (_TEXT, 0.05)), "day",
             eligible=True, person_share=0.6, pool="behavioral", ems_share=0.12,
             scene_minutes=30, hold_share=0.02, transport_share=0.35, referral_share=0.08),
    CallType("person_down", "PERSON DOWN - INJURY OR ILLNESS UNKNOWN", 0.03, "assist",
             (0.2, 0.5, 0.3), ((_911, 0.85), (_PHONE, 0.15)), "day", summer=0.25,
             eligible=True, person_share=0.5, pool="street", ems_share=0.5,
             scene_minutes=20, transport_share=0.35, referral_share=0.06, arrest_share=0.01),
    CallType("intox", "INTOX - LIQUOR VIOLATIONS/INTOXICATED PERSON", 0.02, "behavioral",
             (0.05, 0.4, 0.45, 0.1), ((_911, 0.6), (_PHONE, 0.3), (_VIEW, 0.1)), "night",
             weekend=1.4, eligible=True, person_share=0.6, pool="street", ems_share=0.2,
             scene_minutes=25, transport_share=0.4, arrest_share=0.04, cite_share=0.03,
             referral_share=0.06),
    CallType("trespass", "TRESPASS - UNWANTED PERSON", 0.05, "quality",
             (0.02, 0.3, 0.5, 0.18), ((_911, 0.4), (_PHONE, 0.55), (_VIEW, 0.05)), "day",
             eligible=True, person_share=0.45, pool="street", scene_minutes=20,
             report_share=0.1, offense=("90J", "TRESPASS OF REAL PROPERTY"), arrest_share=0.06,
             cite_share=0.05, referral_share=0.04),
    CallType("disturbance", "DISTURBANCE, MISCELLANEOUS/OTHER", 0.07, "quality",
             (0.05, 0.4, 0.45, 0.1), ((_911, 0.6), (_PHONE, 0.35), (_VIEW, 0.05)), "evening",
             weekend=1.25, summer=0.2, eligible=True, person_share=0.3, pool="behavioral",
             scene_minutes=25, report_share=0.05, offense=("90C", "DISORDERLY CONDUCT"),
             arrest_share=0.05, cite_share=0.03, referral_share=0.04, hold_share=0.01),
    CallType("noise", "NOISE - DISTURBANCE (PARTY, ETC)", 0.04, "quality",
             (0.0, 0.1, 0.5, 0.4), ((_PHONE, 0.7), (_911, 0.3)), "night", weekend=1.8,
             summer=0.35, person_share=0.05, scene_minutes=15),
    CallType("suspicious", "SUSPICIOUS PERSON, VEHICLE OR INCIDENT", 0.09, "suspicion",
             (0.05, 0.4, 0.45, 0.1), ((_911, 0.55), (_PHONE, 0.3), (_VIEW, 0.15)), "evening",
             person_share=0.15, pool="street", scene_minutes=20, report_share=0.04,
             offense=("90Z", "ALL OTHER OFFENSES"), arrest_share=0.05),
    CallType("shoplift", "THEFT - SHOPLIFT", 0.04, "property",
             (0.0, 0.3, 0.5, 0.2), ((_911, 0.4), (_PHONE, 0.6)), "day", person_share=0.4,
             pool="street", scene_minutes=40, report_share=0.7,
             offense=("23C", "SHOPLIFTING"), arrest_share=0.2, cite_share=0.25),
    CallType("burglary", "BURGLARY - RESIDENTIAL, UNOCCUPIED", 0.03, "property",
             (0.1, 0.3, 0.5, 0.1), ((_911, 0.5), (_PHONE, 0.5)), "day", person_share=0.3,
             pool="victim", role="victim", police_units=1.6, scene_minutes=50, report_share=0.85,
             offense=("220", "BURGLARY/BREAKING AND ENTERING")),
    CallType("auto_theft", "AUTO THEFT - VEHICLE THEFT OR RECOVERY", 0.03, "property",
             (0.0, 0.2, 0.6, 0.2), ((_PHONE, 0.7), (_911, 0.3)), "flat", person_share=0.4,
             pool="victim", role="victim", scene_minutes=30, report_share=0.8,
             offense=("240", "MOTOR VEHICLE THEFT")),
    CallType("assault", "ASLT - IP/JO WITH OR W/O WPNS (NO SHOOTINGS)", 0.035, "violent",
             (0.6, 0.35, 0.05), ((_911, 0.9), (_VIEW, 0.1)), "night", weekend=1.4, summer=0.25,
             person_share=0.7, pool="general", police_units=2.4, ems_share=0.3,
             scene_minutes=60, report_share=0.8, offense=("13B", "SIMPLE ASSAULT"),
             arrest_share=0.3, cite_share=0.03, transport_share=0.5, force_share=0.12,
             weapon="40"),
    CallType("dv", "DV - DOMESTIC VIOLENCE (ARGUMENTS, DISTURBANCE)", 0.035, "violent",
             (0.5, 0.45, 0.05), ((_911, 0.95), (_PHONE, 0.05)), "evening", weekend=1.3,
             person_share=0.85, pool="general", police_units=2.2, ems_share=0.1,
             scene_minutes=70, report_share=0.75, offense=("13B", "SIMPLE ASSAULT"),
             arrest_share=0.35, transport_share=0.3, force_share=0.08, weapon="40"),
    CallType("collision", "TRAFFIC - MV COLLISION INVESTIGATION", 0.05, "traffic",
             (0.2, 0.4, 0.3, 0.1), ((_911, 0.8), (_PHONE, 0.15), (_VIEW, 0.05)), "commute",
             person_share=0.25, pool="victim", role="other", police_units=1.5, ems_share=0.3,
             fire_share=0.2, scene_minutes=45, report_share=0.3, transport_share=0.3,
             cite_share=0.15, offense=("90Z", "ALL OTHER OFFENSES")),
    CallType("traffic_stop", "TRAFFIC STOP - OFFICER INITIATED ONVIEW", 0.1, "proactive",
             (0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0), ((_VIEW, 1.0),), "commute",
             person_share=0.15, pool="general", police_units=1.1, scene_minutes=15,
             cite_share=0.3, arrest_share=0.04),
    CallType("premise_check", "PREMISE CHECK, OFFICER INITIATED ONVIEW ONLY", 0.04, "proactive",
             (0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0), ((_VIEW, 1.0),), "night", person_share=0.0,
             police_units=1.0, scene_minutes=10),
    CallType("alarm", "ALARM - COMM, SILENT/AUD BURG (INCL BANKS)", 0.06, "alarm",
             (0.05, 0.35, 0.5, 0.1), ((_ALARM, 1.0),), "night", weekend=0.8, person_share=0.0,
             police_units=1.4, scene_minutes=15),
    CallType("medical", "MEDICAL - AID RESPONSE", 0.06, "medical",
             (0.4, 0.45, 0.15), ((_911, 0.95), (_PHONE, 0.05)), "day", summer=-0.1,
             person_share=0.35, pool="medical", police_units=0.2, ems_share=1.0, fire_share=0.6,
             scene_minutes=25, transport_share=0.6),
    CallType("overdose", "OVERDOSE - DRUG RELATED CASUALTY", 0.012, "medical",
             (0.9, 0.1), ((_911, 1.0),), "evening", person_share=0.6, pool="substance",
             police_units=0.6, ems_share=1.0, fire_share=0.5, scene_minutes=30,
             transport_share=0.5, referral_share=0.05),
    CallType("narcotics", "NARCOTICS - VIOLATIONS (LOITER, USE, SELL, NARCS)", 0.015, "drugs",
             (0.0, 0.2, 0.5, 0.3), ((_PHONE, 0.5), (_VIEW, 0.4), (_911, 0.1)), "evening",
             person_share=0.5, pool="substance", scene_minutes=30, report_share=0.4,
             offense=("35A", "DRUG/NARCOTIC VIOLATIONS"), arrest_share=0.15, cite_share=0.1,
             referral_share=0.05),
    CallType("warrant", "WARRANT - FELONY PICKUP", 0.012, "warrant",
             (0.0, 0.5, 0.5), ((_VIEW, 0.6), (_PHONE, 0.4)), "day", person_share=1.0,
             pool="general", police_units=2.0, scene_minutes=45, arrest_share=0.7,
             force_share=0.08),
    CallType("vandalism", "PROPERTY DAMAGE - NON RESIDENTIAL", 0.03, "property",
             (0.0, 0.2, 0.6, 0.2), ((_PHONE, 0.7), (_911, 0.3)), "night", person_share=0.15,
             pool="street", scene_minutes=30, report_share=0.6,
             offense=("290", "DESTRUCTION/DAMAGE/VANDALISM OF PROPERTY"), arrest_share=0.05),
    CallType("parking", "PARKING VIOLATION (EXCEPT ABANDONED CAR)", 0.04, "traffic",
             (0.0, 0.0, 0.2, 0.8), ((_PHONE, 0.8), (_VIEW, 0.2)), "day", weekend=0.8,
             person_share=0.0, police_units=1.0, scene_minutes=10),
    CallType("assist", "ASSIST PUBLIC - NO WELFARE CHK OR DV ORDER SERVICE", 0.02, "assist",
             (0.0, 0.2, 0.5, 0.3), ((_PHONE, 0.6), (_IN_PERSON, 0.3), (_911, 0.1)), "day",
             person_share=0.3, pool="general", role="caller", scene_minutes=20,
             referral_share=0.05),
)  # fmt: skip


def season_factor(call_type: CallType, day_of_year: int) -> float:
    """Seasonal multiplier: peaks in mid-July for a positive amplitude."""
    return 1.0 + call_type.summer * math.cos(2 * math.pi * (day_of_year - 196) / 365.25)


def weekday_factor(call_type: CallType, weekday: int) -> float:
    """Friday and Saturday nights carry the weekend factor; Sunday carries half of it."""
    if weekday in (4, 5):
        return call_type.weekend
    if weekday == 6:
        return 1.0 + (call_type.weekend - 1.0) / 2
    return 1.0
