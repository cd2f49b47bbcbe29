"""EIDO documents as intake sees them: their digest, and merging an update into an incident.

A CAD sends an incident more than once: when it is created, then as notes, units, statuses and
a disposition are added. Some CADs send the whole incident each time, others only what
changed; merging covers both, so the incident's document is always the union of what was sent:

- objects merge key by key, the later message's value winning;
- arrays of components (objects with a ``$id``) merge by ``$id``: a component sent again is
  merged into the earlier one, a new one is added;
- other arrays (status strings such as ``"ARRIVED 2026-11-29T18:03:00Z"``, references) keep
  every value ever sent, in the order first sent.

Nothing is ever removed by an update: a CAD that retracts a note or a unit must send the
change (a cleared unit, a disposition), as EIDO intends.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any


def digest(document: object) -> str:
    """SHA-256 of the document's canonical JSON: the same message, however its keys are
    ordered or spaced, has one digest."""
    text = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def merge(earlier: Any, later: Any) -> Any:
    """``later`` merged into ``earlier`` (neither is changed)."""
    if isinstance(earlier, dict) and isinstance(later, dict):
        merged = dict(earlier)
        for key, value in later.items():
            merged[key] = merge(earlier[key], value) if key in earlier else value
        return merged
    if isinstance(earlier, list) and isinstance(later, list):
        if _components(earlier) and _components(later):
            by_id = {item["$id"]: item for item in earlier}
            order = [item["$id"] for item in earlier]
            for item in later:
                key = item["$id"]
                if key in by_id:
                    by_id[key] = merge(by_id[key], item)
                else:
                    by_id[key] = item
                    order.append(key)
            return [by_id[key] for key in order]
        merged_list = list(earlier)
        seen = {_canonical(item) for item in earlier}
        for item in later:
            if _canonical(item) not in seen:
                seen.add(_canonical(item))
                merged_list.append(item)
        return merged_list
    return later


def _components(items: list[Any]) -> bool:
    return bool(items) and all(
        isinstance(item, dict) and isinstance(item.get("$id"), str) for item in items
    )


def _canonical(value: object) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))
