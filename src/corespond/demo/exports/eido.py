"""Write canonical call records as NENA EIDO JSON: one document per incident, one file each.

Each file is named by the CAD event number, percent-encoded so that any key is a safe and
distinct file name (``24-000123.json``). Records must come in the generator's order: a
``CallIn``, then its ``UnitResponseIn``\\ s, ``PersonRecordIn`` + ``CallPersonIn`` pairs and
``CautionIn``\\ s (``call_key`` set), then the next ``CallIn``; only the current incident is held
in memory. Records of other kinds are skipped. The reader is :mod:`corespond.sources.eido`,
whose module documentation describes the mapping and the ``CODE ISO-TIME`` status convention
used for event and unit milestones.

What does not survive a round trip:

- keys the reader rebuilds: units (as in CAD CSV), persons and call-persons
  (``{event}/{person id}``), cautions (``{event}/{caution id}``); a key already of that form
  keeps its id part.
- ``CallIn.initial_call_type`` (EIDO has one incident type: the final type, else the initial,
  is written and read back as ``final_call_type``; a call with neither reads back as
  ``Unknown``, the registry text the schema requires), ``agency_key``, ``call_source`` when there is
  no ``received_at`` (no call component is written), place sector and precinct, ``data_category``.
- person suffix-less aliases keep their parts; height and weight are dropped;
  ``CautionIn.valid_to``; a caution's ``person_key`` that names no person of the incident.
- times keep their instant and are written with the zone's offset, to the microsecond.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import quote
from zoneinfo import ZoneInfo

from corespond.sources.eido_write import Sender, incident_document
from corespond.sources.records import (
    CallIn,
    CallPersonIn,
    CautionIn,
    PersonRecordIn,
    Record,
    UnitResponseIn,
)

DEFAULT_AGENCY = "psap.corespond.example"


def _file_name(event: str) -> str:
    return quote(event, safe="") + ".json"


def write(records: Iterable[Record], out_dir: Path, *, timezone: ZoneInfo) -> list[Path]:
    """Stream call records to one EIDO JSON document per incident in ``out_dir``.

    Each incident is written by :func:`corespond.sources.eido_write.incident_document`, the
    writer live intake uses, issued by the call's agency (``agency_key``, else
    ``psap.corespond.example``).

    Args:
        records: ``CallIn`` each followed by its units, person pairs and cautions.
        out_dir: created if missing; a file of the same name is replaced.
        timezone: the CAD's zone; times are written as ISO 8601 with its offset.

    Returns:
        The files written, one per incident, in the order of the calls.

    Raises:
        ValueError: records out of the expected order.

    Example:
        >>> zone = ZoneInfo("America/Los_Angeles")
        >>> write(generated_calls, Path("out/eido"), timezone=zone)  # doctest: +SKIP
        [PosixPath('out/eido/24-000001.json'), ...]
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    incident: list[Record] = []

    def flush() -> None:
        if not incident:
            return
        call = incident[0]
        assert isinstance(call, CallIn)
        sender = Sender(agency=call.agency_key or DEFAULT_AGENCY)
        document = incident_document(incident, tz=timezone, sender=sender)
        path = out_dir / _file_name(call.source_key)
        path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
        written.append(path)

    for record in records:
        if isinstance(record, CallIn):
            flush()
            incident = [record]
        elif isinstance(record, UnitResponseIn | PersonRecordIn | CallPersonIn | CautionIn):
            if not incident:
                raise ValueError(f"{record.kind} {record.source_key} comes before any CallIn")
            incident.append(record)
    flush()
    return written
