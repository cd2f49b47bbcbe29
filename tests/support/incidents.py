"""Incidents as a CAD sends them, for the dispatch tests (synthetic places and people)."""

from __future__ import annotations

from typing import Any


def simple(incident: str, **fields: Any) -> dict[str, Any]:
    """A simple-form incident (a welfare check unless told otherwise)."""
    return {
        "incident_id": incident,
        "received_at": "2026-11-29T18:00:00Z",
        "call_type": "ASSIST PUBLIC - WELFARE CHECK",
        "priority": 2,
        "source": "911",
        "location": {"street": "400 SYNTHETIC AVE", "city": "Riverbend", "state": "OR",
                     "beat": "B1"},
        "notes": ["Caller reports a man sitting in the rain, talking to himself."],
        **fields,
    }  # fmt: skip
