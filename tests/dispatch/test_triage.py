"""Triage protocols: parsing with clear errors, and the recommendation engine."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from corespond.demo.calltypes import CALL_TYPES
from corespond.dispatch.protocol import (
    CONFIGURATION_RESPONDERS,
    RESPONDERS,
    SEVERITIES,
    Protocol,
    packaged_protocol,
    packaged_protocol_text,
)
from corespond.dispatch.triage import (
    CONFIGURATIONS,
    FLAGS,
    ProtocolError,
    Recommendation,
    Situation,
    categorise,
    default_protocol,
    default_protocol_text,
    dump_protocol,
    parse_protocol,
    recommend,
)
from corespond.sources.records import CautionSeverity, ResponderType

DOCS = Path(__file__).resolve().parents[2] / "docs" / "triage-protocols.md"

# Tuesday 4 March 2025, 10:00 in Los Angeles (PST, UTC-8): inside every default hour.
DAY = datetime(2025, 3, 4, 18, 0, tzinfo=UTC)


def situation(**values: object) -> Situation:
    values.setdefault("received_at", DAY)
    return Situation(**values)  # type: ignore[arg-type]


def triage(protocol: Protocol | None = None, **values: object) -> Recommendation:
    return recommend(protocol or default_protocol(), situation(**values))


MINIMAL = """\
name: Test program
version: 1
timezone: America/Los_Angeles
responders:
  care_team:
    hours: ["22:00-06:00"]
categories:
  welfare:
    label: Welfare check
    codes: [welfare]
rules:
  - id: care
    when:
      categories: [welfare]
    send: care_team
fallback:
  care_team: [police]
"""


# --- the packaged protocols ------------------------------------------------------------------


def test_packaged_protocols_parse() -> None:
    default = default_protocol()
    assert default.name and default.version >= 1 and default.timezone == "America/Los_Angeles"
    assert [rule.id for rule in default.rules] == [
        "safety-police", "medical-emergency", "crisis-safety", "care-team", "police-matter",
    ]  # fmt: skip
    assert default_protocol() is default
    assert parse_protocol(default_protocol_text()) == default
    dual = packaged_protocol("dual-dispatch")
    assert dual.responders["care_team"].hours == ("11:00-23:00",)
    assert dual.responders["care_team"].area is not None


@pytest.mark.parametrize("name", ["default", "dual-dispatch"])
def test_dump_round_trip(name: str) -> None:
    protocol = packaged_protocol(name)
    dumped = dump_protocol(protocol)
    again = parse_protocol(dumped)
    assert again == protocol
    assert again.fingerprint == protocol.fingerprint
    assert parse_protocol(dump_protocol(again)) == protocol


def test_fingerprint_tells_versions_apart() -> None:
    text = packaged_protocol_text("dual-dispatch")
    first = parse_protocol(text)
    reformatted = parse_protocol("# a comment\n" + text.replace("[K, M, D, E]", "[K,M,D,E]"))
    changed = parse_protocol(text.replace('"11:00-23:00"', '"10:00-23:00"'))
    assert reformatted.fingerprint == first.fingerprint
    assert changed.fingerprint != first.fingerprint
    assert changed != first


def test_closed_sets_match_the_record_enums() -> None:
    assert set(RESPONDERS) == {r.value for r in ResponderType} - {"other"}
    assert tuple(s.value for s in CautionSeverity) == SEVERITIES
    assert set(CONFIGURATIONS) == set(CONFIGURATION_RESPONDERS)
    for responders in CONFIGURATION_RESPONDERS.values():
        assert set(responders) <= set(RESPONDERS)


def test_docs_name_every_flag_configuration_and_key() -> None:
    text = DOCS.read_text()
    for name in [*FLAGS, *CONFIGURATIONS, *Protocol.model_fields]:
        assert f"`{name}`" in text, name


# --- call types ------------------------------------------------------------------------------

DEMO_CATEGORIES = {
    "crisis": "behavioral", "suicide": "suicide", "welfare": "welfare",
    "person_down": "person_down", "intox": "intoxication", "trespass": "trespass",
    "disturbance": "disturbance", "noise": "noise", "suspicious": "suspicious",
    "shoplift": "property", "burglary": "property", "auto_theft": "property",
    "assault": "violent", "dv": "violent", "collision": "traffic", "traffic_stop": "traffic",
    "premise_check": "proactive", "alarm": "alarm", "medical": "medical",
    "overdose": "overdose", "narcotics": "narcotics", "warrant": "warrant",
    "vandalism": "property", "parking": "traffic", "assist": "assist",
}  # fmt: skip


@pytest.mark.parametrize("call_type", CALL_TYPES, ids=lambda c: c.code)
def test_every_demo_call_type_is_categorised(call_type: object) -> None:
    protocol = default_protocol()
    code, name = call_type.code, call_type.name  # type: ignore[attr-defined]
    assert categorise(protocol, code) == DEMO_CATEGORIES[code]
    assert categorise(protocol, name) == DEMO_CATEGORIES[code]
    assert categorise(protocol, f"  {code.upper()} ") == DEMO_CATEGORIES[code]
    assert categorise(protocol, name.lower()) == DEMO_CATEGORIES[code]


@pytest.mark.parametrize("call_type", CALL_TYPES, ids=lambda c: c.code)
def test_demo_eligible_call_types_go_to_a_care_team(call_type: object) -> None:
    for value in (call_type.code, call_type.name):  # type: ignore[attr-defined]
        found = triage(call_type=value)
        if call_type.eligible:  # type: ignore[attr-defined]
            assert found.configuration in ("care_team", "co_responder"), found.rationale
            assert found.rule == "care-team"
        else:
            assert "care_team" not in found.responders, found.rationale


@pytest.mark.parametrize(
    ("code", "configuration"),
    [("assault", "police"), ("dv", "police"), ("burglary", "police"),
     ("overdose", "fire_ems"), ("medical", "fire_ems"), ("suicide", "co_responder")],
)  # fmt: skip
def test_excluded_call_types(code: str, configuration: str) -> None:
    assert triage(call_type=code).configuration == configuration


def test_unknown_call_type_falls_to_otherwise() -> None:
    found = triage(call_type="SOMETHING ENTIRELY NEW")
    assert (found.category, found.rule, found.configuration) == (None, "otherwise", "police")
    assert "No rule matched" in found.rationale
    assert triage(call_type=None).rule == "otherwise"


# --- the six rules ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("notes", "flags", "configuration"),
    [
        ("neighbour says he has a knife", (), "police"),
        ("", ("violence",), "police"),
        ("break-in in progress at the back door", (), "police"),
        ("has a knife and is bleeding", (), "police_ems"),
        ("has a knife, hearing voices", (), "police_co_responder"),
        ("armed, bleeding, paranoid", (), "police_ems_co_responder"),
    ],
)
def test_rule_1_weapon_violence_crime_goes_to_police(
    notes: str, flags: tuple[str, ...], configuration: str
) -> None:
    found = triage(call_type="welfare", notes=notes, flags=frozenset(flags))
    assert (found.rule, found.configuration) == ("safety-police", configuration)
    assert found.responders == CONFIGURATION_RESPONDERS[configuration]


def test_rule_1_adds_a_co_responder_for_a_mental_health_caution() -> None:
    found = triage(call_type="assault", caution_types=frozenset({"Mental Health"}))
    assert found.configuration == "police_co_responder"
    assert [step.kind for step in found.steps] == ["rule", "add"]
    assert "'mental health' caution" in found.rationale


def test_rule_2_medical_emergency_goes_to_fire_ems() -> None:
    found = triage(call_type="person_down", notes="caller says he is not breathing")
    assert (found.rule, found.configuration) == ("medical-emergency", "fire_ems")
    assert "'not breathing' in notes" in found.rationale
    unsafe = triage(call_type="person_down", notes="unconscious", flags=frozenset({"scene_unsafe"}))
    assert unsafe.configuration == "fire_ems_police"
    assert [step.kind for step in unsafe.steps][:2] == ["rule", "add"]


@pytest.mark.parametrize(
    "values",
    [
        {"call_type": "crisis", "notes": "suicidal, standing on the bridge"},
        {"call_type": "welfare", "flags": frozenset({"suicide_in_progress"})},
        {"call_type": "suicide"},
        {"call_type": "crisis", "highest_caution": "highest"},
        {"call_type": "crisis", "highest_caution": "high"},
        {"call_type": "crisis", "caution_types": frozenset({"Weapons"})},
        {"call_type": None, "notes": "hearing voices, hostile to staff"},
    ],
)
def test_rule_3_crisis_with_safety_concern_goes_to_a_co_responder_pair(values: dict) -> None:
    found = triage(**values)
    assert (found.rule, found.configuration) == ("crisis-safety", "co_responder")


@pytest.mark.parametrize(
    "values",
    [
        {"call_type": "ASSIST PUBLIC - WELFARE CHECK"},
        {"call_type": "INTOX - LIQUOR VIOLATIONS/INTOXICATED PERSON"},
        {"call_type": "PERSON DOWN - INJURY OR ILLNESS UNKNOWN", "notes": "breathing, talking"},
        {"call_type": "TRESPASS - UNWANTED PERSON"},
        {"call_type": "INDECENT EXPOSURE"},
        {"call_type": "NEEDLE PICKUP"},
        {"call_type": "ENCAMPMENT COMPLAINT"},
        {"call_type": "crisis", "highest_caution": "normal"},
        {"call_type": None, "notes": "man sleeping in a doorway, seems drunk"},
        {"call_type": None, "notes": "he says he is suicidal but denies any attempt"},
    ],
)
def test_rule_4_low_risk_calls_go_to_the_care_team(values: dict) -> None:
    found = triage(**values)
    assert (found.rule, found.configuration) == ("care-team", "care_team"), found.rationale


def test_rule_4_rationale_names_the_facts() -> None:
    found = triage(call_type="welfare")
    assert found.rationale == (
        "Welfare check, no safety flags, within care team hours (06:00-22:00) → care team."
    )
    assert found.category == "welfare"
    assert (found.protocol, found.version) == (default_protocol().name, 1)


@pytest.mark.parametrize(
    "values",
    [
        {"flags": frozenset({"doubt"})},
        {"notes": "caller unsure if he is safe to approach"},
        {"highest_caution": "high"},
        {"highest_caution": "HIGHEST"},
        {"caution_types": frozenset({"Officer Safety"})},
    ],
)
def test_rule_5_doubt_or_caution_escalates_one_level(values: dict) -> None:
    found = triage(call_type="welfare", **values)
    assert found.rule == "care-team"
    assert found.configuration == "co_responder"
    assert [step.kind for step in found.steps] == ["rule", "escalate"]
    assert "Escalated to co-responder pair:" in found.rationale


def test_rule_5_escalation_names_the_caution() -> None:
    found = triage(call_type="welfare", highest_caution="high")
    assert found.rationale == (
        "Welfare check, no safety flags, within care team hours (06:00-22:00) → care team. "
        "Escalated to co-responder pair: a HIGH caution on a matched person."
    )


def test_rule_5_escalation_moves_only_one_level() -> None:
    found = triage(call_type="welfare", flags=frozenset({"doubt"}), highest_caution="highest")
    assert found.configuration == "co_responder"
    assert found.steps[-1].name == "doubt,high-caution"
    crisis = triage(call_type="suicide", flags=frozenset({"doubt"}))
    assert crisis.configuration == "co_responder"  # not on the ladder: stays
    medical = triage(call_type="medical", flags=frozenset({"doubt"}))
    assert medical.configuration == "fire_ems_police"


def test_low_and_normal_cautions_do_not_escalate() -> None:
    for severity in ("normal", "low", "lowest", "unheard-of", None):
        assert triage(call_type="welfare", highest_caution=severity).configuration == "care_team"


def test_rule_6_no_care_team_free_falls_back_to_a_co_responder_pair() -> None:
    found = triage(call_type="welfare", available={"care_team": 0, "co_responder": 2})
    assert found.configuration == "co_responder"
    assert found.steps[-1].kind == "fallback"
    assert "no care team unit free" in found.rationale


def test_rule_6_nothing_free_falls_back_to_police() -> None:
    found = triage(call_type="welfare", available={"care_team": 0, "co_responder": 0})
    assert found.configuration == "police"
    assert "co-responder pair skipped: no co-responder pair unit free" in found.rationale
    none_free = triage(call_type="welfare", available={"care_team": 0, "co_responder": 0,
                                                       "police": 0})  # fmt: skip
    assert none_free.configuration == "police"
    assert "goes when free" in none_free.rationale


def test_rule_6_unknown_availability_is_taken_as_free() -> None:
    assert triage(call_type="welfare", available=None).configuration == "care_team"
    assert triage(call_type="welfare", available={"police": 3}).configuration == "care_team"
    assert triage(call_type="welfare", available={"care_team": 1}).configuration == "care_team"


def test_rule_6_outside_hours_falls_back() -> None:
    # 23:30 in Los Angeles.
    found = triage(call_type="welfare", received_at=datetime(2025, 3, 5, 7, 30, tzinfo=UTC))
    assert found.configuration == "co_responder"
    assert "outside care team hours (06:00-22:00; it is Tue 23:30)" in found.rationale


def test_unavailable_without_a_fallback_keeps_the_configuration() -> None:
    found = triage(call_type="medical", available={"ems": 0})
    assert found.configuration == "fire_ems"
    assert found.steps[-1].kind == "unavailable"
    assert "No EMS unit free: no fallback in the protocol" in found.rationale


# --- first match wins ------------------------------------------------------------------------


def test_first_matching_rule_wins() -> None:
    # Weapon (rule 1) and medical emergency (rule 2): rule 1 fires, EMS is added.
    found = triage(call_type="welfare", notes="has a gun, unconscious")
    assert (found.rule, found.configuration) == ("safety-police", "police_ems")
    text = MINIMAL.replace(
        "rules:\n",
        "rules:\n  - id: first\n    when:\n      categories: [welfare]\n    send: police\n",
    )
    assert triage(parse_protocol(text), call_type="welfare").rule == "first"


# --- notes and negation ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("notes", "weapon"),
    [
        ("man with a knife outside the store", True),
        ("KNIFE in his waistband", True),
        ("no weapons seen", False),
        ("caller denies any weapons", False),
        ("walking around without a knife", False),
        ("no sign of a weapon", False),
        ("no gun or knife seen", False),
        ("no weapons seen but he has a knife", True),
        ("no weapons seen. later: has a knife", True),
        ("doesn't have a gun", False),
        ("knifed", False),
        ("unknown if armed", True),
    ],
)
def test_weapon_detection_handles_simple_negation(notes: str, weapon: bool) -> None:
    found = triage(call_type="welfare", notes=notes)
    assert ("weapon" in found.flags) is weapon
    assert (found.rule == "safety-police") is weapon


def test_not_breathing_is_not_a_negation() -> None:
    assert "medical_emergency" in triage(notes="he is not breathing").flags
    assert "medical_emergency" not in triage(notes="breathing, not unconscious").flags


def test_evidence_says_where_each_flag_came_from() -> None:
    found = triage(call_type="assault", notes="bleeding", flags=frozenset({"doubt", "bogus"}))
    sources = {e.flag: (e.source, e.text) for e in found.evidence}
    assert sources["doubt"] == ("call-taker", "")
    assert sources["violence"] == ("call type", "Assault or domestic violence")
    assert sources["injury"] == ("notes", "bleeding")
    assert "bogus" not in found.flags
    assert found.flags == {"doubt", "violence", "injury"}


def test_suicide_attempt_needs_a_cue() -> None:
    assert "suicide_in_progress" in triage(notes="suicidal, took pills").flags
    assert "suicide_in_progress" not in triage(notes="suicidal thoughts, no pills").flags
    assert "suicidal" in triage(notes="suicidal thoughts, no pills").flags


# --- hours and time zones --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("local", "inside"),
    [("23:30", True), ("22:00", True), ("05:59", True), ("06:00", False), ("12:00", False),
     ("21:59", False), ("00:00", True)],
)  # fmt: skip
def test_hours_across_midnight(local: str, inside: bool) -> None:
    protocol = parse_protocol(MINIMAL)  # care team 22:00-06:00 Los Angeles
    hour, minute = map(int, local.split(":"))
    received = datetime(2025, 3, 4, hour, minute, tzinfo=UTC) + timedelta(hours=8)  # PST
    found = triage(protocol, call_type="welfare", received_at=received)
    assert found.configuration == ("care_team" if inside else "police")


def test_hours_are_judged_in_the_protocol_timezone() -> None:
    # 03:00 UTC is outside 06:00-22:00 in UTC but 19:00 in Los Angeles: inside.
    evening = triage(call_type="welfare", received_at=datetime(2025, 3, 4, 3, 0, tzinfo=UTC))
    assert evening.configuration == "care_team"
    assert evening.local_time.hour == 19
    # 13:00 UTC is inside in UTC but 05:00 in Los Angeles: outside.
    early = triage(call_type="welfare", received_at=datetime(2025, 3, 4, 13, 0, tzinfo=UTC))
    assert early.configuration == "co_responder"
    # Daylight saving time: 13:30 UTC in July is 06:30 PDT, inside.
    summer = triage(call_type="welfare", received_at=datetime(2025, 7, 4, 13, 30, tzinfo=UTC))
    assert summer.configuration == "care_team"
    # A naive time is taken as UTC.
    naive = triage(call_type="welfare", received_at=datetime(2025, 3, 4, 13, 0))
    assert naive.configuration == "co_responder"


def test_hours_with_days_cross_midnight_into_the_next_day() -> None:
    text = MINIMAL.replace('["22:00-06:00"]', '["fri 22:00-02:00", "sat,sun 10:00-16:00"]')
    protocol = parse_protocol(text)

    def at(day: int, hour: int) -> str:  # March 2025: the 7th is a Friday
        received = datetime(2025, 3, day, hour, tzinfo=UTC) + timedelta(hours=8)
        return triage(protocol, call_type="welfare", received_at=received).configuration

    assert at(7, 23) == "care_team"  # Friday 23:00
    assert at(8, 1) == "care_team"  # Saturday 01:00, from Friday's window
    assert at(7, 1) == "police"  # Friday 01:00: Thursday has no window
    assert at(8, 12) == "care_team"
    assert at(10, 12) == "police"  # Monday


# --- service area ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("place", "configuration"),
    [
        ({"sector": "K"}, "care_team_police"),
        ({"sector": "k", "beat": "K2"}, "care_team_police"),
        ({"sector": "Q", "beat": "K1"}, "police"),
        ({"beat": "Q1"}, "care_team_police"),  # the area lists sectors: a beat says nothing
        ({}, "care_team_police"),
    ],
)
def test_service_area(place: dict, configuration: str) -> None:
    dual = packaged_protocol("dual-dispatch")
    found = triage(dual, call_type="welfare", priority=3,
                   received_at=datetime(2025, 3, 4, 20, tzinfo=UTC), **place)  # fmt: skip
    assert found.configuration == configuration, found.rationale
    if configuration == "police":
        assert "sector Q is outside the CARE team area (sectors K, M, D, E)" in found.rationale


def test_area_by_beat_and_precinct() -> None:
    text = MINIMAL.replace(
        '    hours: ["22:00-06:00"]\n',
        "    area:\n      beats: [K1, K2]\n      precincts: [Downtown]\n",
    )
    protocol = parse_protocol(text)
    assert triage(protocol, call_type="welfare", beat="K2").configuration == "care_team"
    assert triage(protocol, call_type="welfare", precinct="downtown").configuration == "care_team"
    assert triage(protocol, call_type="welfare", beat="Q1").configuration == "police"
    assert triage(protocol, call_type="welfare", beat="Q1", precinct="Downtown").configuration == (
        "care_team"
    )


def test_dual_dispatch_escalation_and_hours() -> None:
    dual = packaged_protocol("dual-dispatch")
    evening = datetime(2025, 3, 4, 20, tzinfo=UTC)  # Tuesday 12:00 local
    known = triage(dual, call_type="welfare", priority=2, received_at=evening,
                   highest_caution="high", known_to_programs=True)  # fmt: skip
    assert known.configuration == "co_responder"
    unknown = triage(dual, call_type="welfare", priority=2, received_at=evening,
                     highest_caution="high")  # fmt: skip
    assert unknown.configuration == "care_team_police"
    # Saturday 20:00 local: the crisis response team is off (10:00-18:00 at weekends).
    saturday = datetime(2025, 3, 9, 4, tzinfo=UTC)
    crisis = triage(dual, call_type="crisis", priority=1, received_at=saturday)
    assert (crisis.rule, crisis.configuration) == ("crisis-response-team", "police")


# --- validation ------------------------------------------------------------------------------


def problems_of(text: str) -> list[str]:
    with pytest.raises(ProtocolError) as caught:
        parse_protocol(text, source="test.yaml")
    assert str(caught.value).startswith("test.yaml is not a valid triage protocol:")
    for problem in caught.value.problems:
        assert problem in str(caught.value)
    return caught.value.problems


def test_minimal_protocol_parses() -> None:
    protocol = parse_protocol(MINIMAL)
    assert (protocol.name, protocol.version, protocol.otherwise) == ("Test program", 1, "police")


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("name: Test program\n", "name: [unclosed\n", "line 2: not valid YAML"),
        ("version: 1\n", "version: one\n", "version (line 2): expected a whole number, not 'one'"),
        ("version: 1\n", "version: 0\n", "version (line 2): Input should be greater than or equal"),
        ("version: 1\n", "", "version: missing (required)"),
        (
            "version: 1\n",
            "version: 1\nnmae: x\n",
            "nmae (line 3): unknown key (allowed here: name, version, timezone, description,",
        ),
        (
            "    send: care_team\n",
            "    sned: care_team\n",
            "rules[0].sned (line 15): unknown key (allowed here: id, label, when, send, add)",
        ),
        (
            "    send: care_team\n",
            "    send: care_teem\n",
            "rules[0].send (line 15): unknown configuration 'care_teem' (known: care_team, ",
        ),
        (
            "      categories: [welfare]\n",
            "      flags: [weapn]\n",
            "rules[0].when.flags (line 14): unknown flag 'weapn' (known: weapon, violence, ",
        ),
        (
            "      categories: [welfare]\n",
            "      categories: [welfar]\n",
            "rules[0].when.categories (line 14): unknown category 'welfar' (defined: welfare)",
        ),
        (
            "    codes: [welfare]\n",
            "    codes: [welfare]\n    implies: [medical]\n",
            "categories.welfare.implies (line 11): unknown flag 'medical'",
        ),
        (
            '["22:00-06:00"]',
            '["25:00-06:00"]',
            "responders.care_team.hours (line 6): '25:00-06:00': '25:00' is not a time",
        ),
        ('["22:00-06:00"]', '["22:00-06:60"]', "'06:60' is not a time"),
        ('["22:00-06:00"]', '["24:00-06:00"]', "'24:00' is not a time"),
        ('["22:00-06:00"]', '["mnday 08:00-16:00"]', "unknown day 'mnday'"),
        ('["22:00-06:00"]', '["08:00-08:00"]', "starts and ends at the same time"),
        ('["22:00-06:00"]', '["from eight to four"]', "is not hours like '07:00-22:00'"),
        ('["22:00-06:00"]', "[]", "responders.care_team.hours (line 6): empty;"),
        (
            "timezone: America/Los_Angeles\n",
            "timezone: Mars/Olympus\n",
            "timezone (line 3): unknown timezone 'Mars/Olympus' (an IANA name",
        ),
        ("timezone: America/Los_Angeles\n", "timezone: ../../etc/passwd\n", "unknown timezone"),
        (
            "  care_team:\n    hours",
            "  care_teams:\n    hours",
            "responders (line 4): unknown responder 'care_teams' (known: police, fire, ems,",
        ),
        (
            "fallback:\n  care_team: [police]\n",
            "fallback:\n  care_team: []\n",
            "fallback (line 16): 'care_team': name at least one configuration",
        ),
        (
            "fallback:\n  care_team: [police]\n",
            "escalation:\n  ladder: {care_team: care_team}\n",
            "escalation.ladder (line 17): 'care_team' escalates to itself",
        ),
        ("    codes: [welfare]\n", "    keywords: ['*fare']\n", "'*' may only end a word"),
        ("    codes: [welfare]\n", "", "categories.welfare (line 8): give 'codes' or 'keywords'"),
        ("  welfare:\n", "  Welfare Check:\n", "category id 'Welfare Check': use lower-case"),
        ("  - id: care\n", "  - id: Care Team!\n", "id 'Care Team!': use lower-case letters"),
        (
            "    send: care_team\n",
            "    send: fire_ems\n    add:\n      - responder: care_team\n"
            "        when: {flags: [doubt]}\n",
            "rules[0].add (line 16): fire_ems + care_team is not a configuration",
        ),
        (
            "      categories: [welfare]\n",
            "      caution: [severe]\n",
            "unknown caution severity 'severe' (known: highest, high, normal, low, lowest)",
        ),
        (
            "      categories: [welfare]\n",
            "      flags: weapon\n",
            "rules[0].when.flags (line 14): expected a list, not text",
        ),
        (
            "    when:\n",
            "    when: 3\n    ignored:\n",
            "rules[0].when (line 13): expected a mapping of keys, not a number",
        ),
        (
            "name: Test program\n",
            "name: Test program\nname: Other\n",
            "top level (line 2): duplicate key 'name'",
        ),
    ],
)
def test_validation_errors_name_the_place_and_the_problem(
    old: str, new: str, expected: str
) -> None:
    assert old in MINIMAL
    problems = problems_of(MINIMAL.replace(old, new, 1))
    assert any(expected in problem for problem in problems), problems


def test_numbers_are_names_where_names_are_expected() -> None:
    text = MINIMAL.replace('    hours: ["22:00-06:00"]\n', "    area:\n      beats: [101, 102]\n")
    protocol = parse_protocol(text.replace("codes: [welfare]", "codes: [welfare, 911]"))
    assert protocol.responders["care_team"].area.beats == ("101", "102")  # type: ignore[union-attr]
    assert triage(protocol, call_type="911", beat="101").configuration == "care_team"
    problems = problems_of(MINIMAL.replace("label: Welfare check", "label: no"))
    assert problems == [
        "categories.welfare.label (line 9): expected text, not false (YAML reads yes, no, on and "
        "off as true or false: put the word in quotes)"
    ]


def test_not_a_mapping() -> None:
    assert problems_of("- a\n- b\n") == [
        "the protocol must be a mapping of keys (name, version, timezone, rules, ...), not a list"
    ]
    assert "not nothing" in problems_of("")[0]


def test_empty_and_missing_rules() -> None:
    head = MINIMAL.split("rules:")[0]
    empty = problems_of(head + "rules: []\n")
    assert empty == ["rules (line 11): no rules: give at least one (the first that holds fires)"]
    assert "rules: missing (required)" in problems_of(head)


def test_duplicate_rule_ids() -> None:
    text = MINIMAL.replace("fallback:", "  - id: care\n    send: police\nfallback:")
    assert "rules[1].id (line 16): duplicate rule id 'care' (also rules[0])" in problems_of(text)


def test_a_rule_without_when_must_be_last() -> None:
    text = MINIMAL.replace("rules:\n", "rules:\n  - id: everything\n    send: police\n")
    problems = problems_of(text)
    assert problems == [
        "rules[0] (line 12): rule 'everything' has no 'when', so it matches every call and the "
        "rules after it never fire; give it a 'when' or move it last"
    ]


def test_every_problem_is_reported_at_once() -> None:
    text = MINIMAL.replace("version: 1", "version: x").replace("send: care_team", "send: nobody")
    problems = problems_of(text.replace("America/Los_Angeles", "Nowhere/Land"))
    assert len(problems) == 3
    assert [p.split(" ")[0] for p in problems] == ["version", "timezone", "rules[0].send"]


def test_errors_inside_nested_conditions() -> None:
    text = MINIMAL.replace(
        "      categories: [welfare]\n",
        "      any:\n        - flags: [doubt]\n        - all:\n            - categories: [nope]\n",
    )
    assert problems_of(text) == [
        "rules[0].when.any[1].all[0].categories (line 17): unknown category 'nope' "
        "(defined: welfare)"
    ]


# --- properties ------------------------------------------------------------------------------

WORDS = ["knife", "no", "gun", "not breathing", "suicidal", "pills", "drunk", "unsure", "denies",
         "but", ",", ".", "bleeding", "hostile", "homeless", "crisis", "fight"]  # fmt: skip
PROTOCOLS = [default_protocol(), packaged_protocol("dual-dispatch")]

situations = st.builds(
    Situation,
    call_type=st.none() | st.sampled_from([c.name for c in CALL_TYPES]) | st.text(max_size=40),
    priority=st.none() | st.integers(-5, 10),
    notes=st.lists(st.sampled_from(WORDS) | st.text(max_size=12), max_size=12).map(" ".join),
    flags=st.frozensets(st.sampled_from(sorted(FLAGS)) | st.text(max_size=8), max_size=5),
    received_at=st.datetimes(timezones=st.timezones()) | st.datetimes(),
    beat=st.none() | st.sampled_from(["K1", "Q2", ""]) | st.text(max_size=4),
    sector=st.none() | st.sampled_from(["K", "Q", "M"]) | st.text(max_size=3),
    precinct=st.none() | st.sampled_from(["Downtown", "North"]),
    highest_caution=st.none() | st.sampled_from([*SEVERITIES, "HIGH", "bogus"]),
    caution_types=st.frozensets(
        st.sampled_from(["weapons", "Violence", "medical", "mental health"]) | st.text(max_size=8),
        max_size=3,
    ),
    known_to_programs=st.booleans(),
    available=st.none()
    | st.dictionaries(st.sampled_from([*RESPONDERS, "other"]), st.integers(-2, 3), max_size=6),
)


@settings(max_examples=300, deadline=None)
@given(situation=situations, which=st.sampled_from([0, 1]))
def test_recommend_never_raises_and_names_a_known_configuration(
    situation: Situation, which: int
) -> None:
    protocol = PROTOCOLS[which]
    found = recommend(protocol, situation)
    assert found.configuration in CONFIGURATIONS
    assert found.label == CONFIGURATIONS[found.configuration]
    assert found.responders == CONFIGURATION_RESPONDERS[found.configuration]
    assert found.rule in {rule.id for rule in protocol.rules} | {"otherwise"}
    assert found.rationale and found.steps[0].kind == "rule"
    assert found.steps[-1].configuration == found.configuration
    assert found.flags <= set(FLAGS)
    assert recommend(protocol, situation) == found
