"""The adapter contract: bytes in, canonical records and rejections out.

An adapter reads one native format as a stream and yields one item per *source row*: a CSV
row, an NDJSON line, a NEMSIS PatientCareReport, an EIDO document. A row that parses becomes a
:class:`SourceRow` holding the canonical records it carries (a Seattle-style CAD row carries a
call and a unit response); a row that does not becomes a :class:`Rejection` holding the row's
text verbatim and the reason; a row that deletes a record sent before becomes a
:class:`Retraction`. Nothing is dropped silently: ingest counts every item, and
``read = stored + unchanged + quarantined`` holds because each item is exactly one of those.

Adapters never touch the database and never raise on bad data; they raise
:class:`SourceError` only for problems with the whole input that leave nothing to read
(a missing file, a mapping file that is itself invalid).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, tzinfo
from pathlib import Path
from typing import ClassVar, Protocol
from zoneinfo import ZoneInfo

from corespond.sources.records import Record

MAX_RAW_CHARS = 100_000
"""A rejected item keeps at most this much of its text (a whole broken file would be larger)."""


class SourceError(Exception):
    """The input as a whole cannot be read (not a per-row problem)."""


@dataclass(frozen=True, slots=True)
class SourceRow:
    """One item of the source that parsed, with the canonical records it carries."""

    file: str
    locator: str
    """Where in the file: ``row 17``, ``line 4``, ``PatientCareReport 3``."""
    records: tuple[Record, ...]
    raw: str | None = None
    """The row's text, when keeping it is cheap: quarantined verbatim if a reference fails."""


@dataclass(frozen=True, slots=True)
class Rejection:
    """One item of the source that could not be taken, kept verbatim with the reason."""

    file: str
    locator: str
    reason: str
    raw: str

    def __post_init__(self) -> None:
        if len(self.raw) > MAX_RAW_CHARS:
            kept = self.raw[:MAX_RAW_CHARS] + f"\n[... {len(self.raw) - MAX_RAW_CHARS} more chars]"
            object.__setattr__(self, "raw", kept)


@dataclass(frozen=True, slots=True)
class Retraction:
    """A source row saying a record the source sent before is deleted (HMIS ``DateDeleted``).

    Ingest removes the stored record if nothing in the store still depends on it, and otherwise
    keeps it and quarantines this row with the reason.
    """

    file: str
    locator: str
    kind: str
    source_key: str
    deleted_on: date
    raw: str


Item = SourceRow | Rejection | Retraction


@dataclass(frozen=True)
class ReadOptions:
    """How to read a source; the CLI's ``--timezone``, ``--encoding`` and ``--mapping``."""

    timezone: tzinfo = field(default_factory=lambda: ZoneInfo("UTC"))
    """Zone of wall-clock times that carry no offset."""
    encoding: str = "utf-8-sig"
    mapping: Path | None = None
    """The YAML mapping for ``mapped-csv``."""


class Adapter(Protocol):
    """One native format."""

    name: ClassVar[str]
    """The ``--format`` name, e.g. ``cad-csv``."""
    description: ClassVar[str]

    @classmethod
    def sniff(cls, path: Path, head: bytes) -> bool:
        """True when ``path`` (whose first bytes are ``head``) is in this format."""
        ...

    def read(self, path: Path, options: ReadOptions) -> Iterator[Item]:
        """Yield one item per source row, streaming: memory must not grow with file size."""
        ...

    def default_source_name(self, path: Path) -> str:
        """The source-system name to use when the caller names none."""
        ...
