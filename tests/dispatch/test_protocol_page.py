"""The triage protocol editor: program managers save new versions, dispatchers read them,
invalid YAML is refused with every problem, and new incidents follow the active version."""

from __future__ import annotations

import html
import json
import re
from typing import Any

from sqlalchemy import func, select

from corespond import models
from corespond.db.engine import unit_of_work
from corespond.dispatch import triage
from support.auth import csrf
from support.incidents import simple

EVENING = "2026-11-30T05:00:00Z"
"""21:00 on a Sunday in Riverbend (America/Los_Angeles): inside the default care-team hours
(06:00-22:00), outside the edited ones (08:00-20:00)."""


def versions() -> list[tuple[int, bool]]:
    with unit_of_work() as session:
        rows = session.execute(
            select(models.TriageProtocol.version, models.TriageProtocol.active).order_by(
                models.TriageProtocol.version
            )
        ).all()
        return [(row.version, row.active) for row in rows]


def protocol_events() -> list[dict[str, Any]]:
    with unit_of_work() as session:
        rows = session.scalars(
            select(models.AuditEvent)
            .where(models.AuditEvent.action == "dispatch.protocol")
            .order_by(models.AuditEvent.seq)
        ).all()
        return [{"actor": row.actor, **json.loads(row.detail or "{}")} for row in rows]


def version_rows(page: str) -> list[tuple[str, str]]:
    """(version, in use) of each row of the versions table."""
    body = page.split("<caption>Versions</caption>", 1)[1].split("</table>", 1)[0]
    return re.findall(
        r'<td class="num"><a href="/dispatch/protocol\?version=\d+">(\d+)</a></td>'
        r"<td>[^<]*</td><td>[^<]*</td><td>([^<]*)</td>",
        body,
    )


def save(client: Any, text: str, note: str = "") -> Any:
    token = csrf(client, "/dispatch/protocol")
    return client.post(
        "/dispatch/protocol",
        data={"text": text, "note": note, "csrf_token": token},
        follow_redirects=False,
    )


def test_first_open_stores_the_packaged_default_as_version_1(bare: Any) -> None:
    manager = bare.client("pm-pruitt", "program_manager")
    assert versions() == []

    page = manager.get("/dispatch/protocol")

    assert page.status_code == 200, page.text
    assert "Recommendations follow version 1" in page.text
    assert version_rows(page.text) == [("1", "yes")]
    assert "<textarea" in page.text  # a program manager may edit
    assert html.escape(triage.default_protocol().name) in page.text
    assert versions() == [(1, True)]
    assert manager.get("/dispatch/protocol").status_code == 200
    assert versions() == [(1, True)]  # opened again: still the one version


def test_an_incident_received_first_stores_the_default_too(bare: Any) -> None:
    answer = bare.send(simple("INC-P1"))
    assert answer.status_code == 201, answer.text
    assert answer.json()["incident"]["recommendation"]["protocol_version"] == 1
    assert versions() == [(1, True)]

    page = bare.client("pm-pruitt", "program_manager").get("/dispatch/protocol")
    assert version_rows(page.text) == [("1", "yes")]


def test_invalid_yaml_is_refused_with_every_problem_and_nothing_saved(bare: Any) -> None:
    manager = bare.client("pm-pruitt", "program_manager")
    manager.get("/dispatch/protocol")
    default = triage.default_protocol_text()
    broken = default.replace(
        "flags: [weapon, violence, crime_in_progress]", "flags: [weapon, jetpack]"
    ).replace("send: care_team", "send: helicopter")
    assert broken.count("jetpack") == 1 and broken.count("helicopter") == 1

    answer = save(manager, broken)

    assert answer.status_code == 422, answer.text
    assert "Not saved: the protocol has 2 problem(s)." in answer.text
    assert "unknown flag &#39;jetpack&#39;" in answer.text
    assert "unknown configuration &#39;helicopter&#39;" in answer.text
    assert "jetpack" in answer.text.split("<textarea", 1)[1]  # the edit is kept for fixing
    assert versions() == [(1, True)]
    assert protocol_events() == []

    not_yaml = save(manager, "rules: [unclosed")
    assert not_yaml.status_code == 422
    assert "not valid YAML" in not_yaml.text
    a_list = save(manager, "- just\n- a list\n")
    assert a_list.status_code == 422
    assert "must be a mapping" in a_list.text
    assert versions() == [(1, True)]
    assert protocol_events() == []


def test_a_valid_edit_becomes_version_2_and_new_incidents_follow_it(bare: Any) -> None:
    manager = bare.client("pm-pruitt", "program_manager")
    before = bare.send(simple("INC-P2", received_at=EVENING)).json()["incident"]
    recommended = before["recommendation"]
    assert (recommended["protocol_version"], recommended["configuration"]) == (1, "care_team")
    assert "within care team hours (06:00-22:00)" in recommended["rationale"]
    default = triage.default_protocol_text()
    assert default.count('hours: ["06:00-22:00"]') == 1
    edited = default.replace('hours: ["06:00-22:00"]', 'hours: ["08:00-20:00"]')

    answer = save(manager, edited, note="Care team hours cut to 08:00-20:00")

    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == "/dispatch/protocol?saved=1"
    assert versions() == [(1, False), (2, True)]
    page = manager.get(answer.headers["location"])
    assert "Recommendations follow version 2 (Care team hours cut to 08:00-20:00)" in page.text
    assert "Saved: new incidents follow the new version." in page.text
    assert version_rows(page.text) == [("2", "yes"), ("1", "")]
    assert "08:00-20:00" in page.text.split("<textarea", 1)[1]
    events = protocol_events()
    assert len(events) == 1
    assert events[0]["actor"] == "pm-pruitt"
    assert (events[0]["version"], events[0]["declared_version"]) == (2, 1)

    after = bare.send(simple("INC-P3", received_at=EVENING)).json()["incident"]
    recommended = after["recommendation"]
    assert recommended["protocol_version"] == 2
    assert recommended["configuration"] == "co_responder"
    assert "outside care team hours (08:00-20:00" in recommended["rationale"]
    # An incident already recommended keeps its recommendation (and the version it followed).
    kept = bare.cad.get(f"/api/v1/dispatch/incidents/{before['id']}").json()
    assert kept["recommendation"]["protocol_version"] == 1


def test_removing_a_category_from_the_care_team_rule(bare: Any) -> None:
    manager = bare.client("pm-pruitt", "program_manager")
    manager.get("/dispatch/protocol")
    default = triage.default_protocol_text()
    rule = "        - categories: [behavioral, welfare, person_down,"
    assert default.count(rule) == 1
    edited = default.replace(rule, "        - categories: [behavioral, person_down,")

    assert save(manager, edited).status_code == 303

    welfare = simple("INC-P4", notes=["Neighbour has not seen her for two days."])
    recommended = bare.send(welfare).json()["incident"]["recommendation"]
    assert recommended["protocol_version"] == 2
    assert recommended["rule"] == "otherwise"  # a welfare check no longer goes to the care team
    assert recommended["configuration"] == "police"


def test_a_dispatcher_may_read_but_not_save_and_an_officer_may_not_open(bare: Any) -> None:
    dispatcher = bare.client("dispatcher-diaz", "dispatcher")
    page = dispatcher.get("/dispatch/protocol")
    assert page.status_code == 200, page.text
    assert "Recommendations follow version 1" in page.text
    assert "<textarea" not in page.text and '<pre class="protocol">' in page.text

    answer = save(dispatcher, triage.default_protocol_text().replace("06:00", "07:00"))
    assert answer.status_code == 403
    assert versions() == [(1, True)]
    assert protocol_events() == []

    officer = bare.client("officer-olsen", "officer")
    assert officer.get("/dispatch/protocol").status_code == 403
    assert officer.post("/dispatch/protocol", data={"text": "x"}).status_code == 403
    assert versions() == [(1, True)]


def test_a_save_without_the_csrf_token_is_refused(bare: Any) -> None:
    manager = bare.client("pm-pruitt", "program_manager")
    manager.get("/dispatch/protocol")
    edited = triage.default_protocol_text().replace("06:00-22:00", "08:00-20:00")
    answer = manager.post("/dispatch/protocol", data={"text": edited}, follow_redirects=False)
    assert answer.status_code == 403
    with unit_of_work() as session:
        assert session.scalar(select(func.count()).select_from(models.TriageProtocol)) == 1
