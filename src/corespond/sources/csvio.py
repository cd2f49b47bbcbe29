"""Streaming CSV reading that never loses a row.

Used by every CSV-based adapter. It yields each data row as a dict keyed by header, or a
:class:`Rejection` for a row that is not valid in the file's encoding, has the wrong number of
fields, or ends inside a quoted field (a truncated file). Rows are rebuilt as CSV text for the
quarantine, since the csv module does not keep raw lines.
"""

from __future__ import annotations

import csv
import io
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from corespond.sources.base import Rejection, SourceError

csv.field_size_limit(min(sys.maxsize, 2**31 - 1))


@dataclass(frozen=True, slots=True)
class CsvRow:
    number: int
    """1-based data-row number (the header is row 0)."""
    values: dict[str, str]
    raw: str

    @property
    def locator(self) -> str:
        return f"row {self.number}"


def to_csv_line(fields: list[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="").writerow(fields)
    return buffer.getvalue()


def _has_undecodable(fields: list[str]) -> bool:
    return any("\udc80" <= ch <= "\udcff" for value in fields for ch in value)


def _printable(fields: list[str]) -> str:
    # Surrogate escapes stand for the original undecodable bytes; show them as \xNN.
    return to_csv_line(
        [
            value.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
            for value in fields
        ]
    )


def read_header(path: Path, encoding: str = "utf-8-sig") -> list[str]:
    """The header fields of a CSV file, stripped; empty when the file is empty."""
    with path.open(encoding=encoding, errors="surrogateescape", newline="") as handle:
        first = next(csv.reader(handle), [])
    return [name.strip() for name in first]


def read_csv(
    path: Path, *, encoding: str = "utf-8-sig", required: tuple[str, ...] = ()
) -> Iterator[CsvRow | Rejection]:
    """Yield each data row of ``path`` or a rejection for it.

    Raises :class:`SourceError` when the header lacks a ``required`` column: then no row can be
    read correctly, and the caller quarantines the file as a whole.
    """
    file = str(path)
    with path.open(encoding=encoding, errors="surrogateescape", newline="") as handle:
        reader = csv.reader(handle, strict=True)
        try:
            header = [name.strip() for name in next(reader)]
        except StopIteration:
            return
        except csv.Error as exc:
            raise SourceError(f"{path.name}: unreadable header: {exc}") from exc
        if _has_undecodable(header):
            raise SourceError(f"{path.name}: header is not valid {encoding} text")
        missing = [name for name in required if name not in header]
        if missing:
            raise SourceError(f"{path.name}: missing required columns: {', '.join(missing)}")
        width = len(header)
        number = 0
        while True:
            number += 1
            try:
                fields = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                # A quote left open runs to the end of the file: that is the only row left.
                rest = handle.read()
                yield Rejection(
                    file, f"row {number}", f"malformed CSV ({exc}); file may be truncated", rest
                )
                return
            if not fields or (len(fields) == 1 and fields[0] == ""):
                number -= 1
                continue
            if _has_undecodable(fields):
                yield Rejection(
                    file, f"row {number}", f"not valid {encoding} text", _printable(fields)
                )
                continue
            if len(fields) != width:
                yield Rejection(
                    file,
                    f"row {number}",
                    f"has {len(fields)} fields, header has {width}",
                    to_csv_line(fields),
                )
                continue
            yield CsvRow(number, dict(zip(header, fields, strict=True)), to_csv_line(fields))
