"""Streaming CSV reading that never loses a row.

Used by every CSV-based adapter. It yields each data row as a dict keyed by header, or a
:class:`Rejection` for a row that is not valid in the file's encoding, has the wrong number of
fields, or ends inside a quoted field (a truncated file). Each row keeps its text exactly as it
was in the file (the lines the csv module consumed for it), for the quarantine.
"""

from __future__ import annotations

import csv
import io
import sys
from collections.abc import Callable, Container, Iterator
from dataclasses import dataclass
from pathlib import Path

from corespond.sources.base import Item, ReadOptions, Rejection, SourceError, SourceRow
from corespond.sources.parse import FieldError, explain, text
from corespond.sources.records import Record

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


class _LineTap:
    """Hands lines to the csv reader and remembers them, so each row's text is kept verbatim."""

    def __init__(self, handle: Iterator[str]) -> None:
        self._handle = handle
        self.lines: list[str] = []

    def __iter__(self) -> _LineTap:
        return self

    def __next__(self) -> str:
        line = next(self._handle)
        self.lines.append(line)
        return line

    def take(self) -> str:
        text = "".join(self.lines).rstrip("\r\n")
        self.lines.clear()
        return text


def _verbatim(text: str) -> str:
    # Surrogate escapes stand for the original undecodable bytes; show them as \xNN.
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def to_csv_line(fields: list[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="").writerow(fields)
    return buffer.getvalue()


def _has_undecodable(fields: list[str]) -> bool:
    # Undecodable bytes were read as lone surrogates, which UTF-8 cannot encode: a C-speed test.
    try:
        "".join(fields).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def read_csv(
    path: Path, *, encoding: str = "utf-8-sig", required: tuple[str, ...] = ()
) -> Iterator[CsvRow | Rejection]:
    """Yield each data row of ``path`` or a rejection for it.

    Raises :class:`SourceError` when the header lacks a ``required`` column: then no row can be
    read correctly, and the caller quarantines the file as a whole.
    """
    file = str(path)
    with path.open(encoding=encoding, errors="surrogateescape", newline="") as handle:
        tap = _LineTap(handle)
        reader = csv.reader(tap, strict=True)
        try:
            header = [name.strip() for name in next(reader)]
        except StopIteration:
            return
        except csv.Error as exc:
            raise SourceError(f"{path.name}: unreadable header: {exc}") from exc
        tap.take()
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
                if "unexpected end of data" in str(exc):
                    # A quote left open ran to the end of the file: that is the only row left.
                    rest = tap.take() + "".join(handle)
                    reason = f"malformed CSV ({exc}); the file may be truncated"
                    yield Rejection(file, f"row {number}", reason, _verbatim(rest))
                    return
                # A stray quote or NUL inside one row: reject that row, read on from the next.
                yield Rejection(
                    file, f"row {number}", f"malformed CSV ({exc})", _verbatim(tap.take())
                )
                continue
            raw = tap.take()
            if not fields or (len(fields) == 1 and fields[0] == ""):
                number -= 1
                continue
            if _has_undecodable(fields):
                yield Rejection(file, f"row {number}", f"not valid {encoding} text", _verbatim(raw))
                continue
            if len(fields) != width:
                yield Rejection(
                    file, f"row {number}", f"has {len(fields)} fields, header has {width}", raw
                )
                continue
            yield CsvRow(number, dict(zip(header, fields, strict=True)), raw)


def header_of(head: bytes, encoding: str = "utf-8-sig") -> list[str]:
    """The header fields in the first bytes of a CSV file (empty when there are none)."""
    first_line = head.decode(encoding, errors="replace").splitlines()[:1]
    try:
        return [name.strip() for name in next(csv.reader(io.StringIO(first_line[0])))]
    except (IndexError, StopIteration, csv.Error):
        return []


def file_header(path: Path, encoding: str = "utf-8-sig") -> list[str]:
    """The header of a CSV file on disk (empty when unreadable)."""
    try:
        with path.open("rb") as handle:
            return header_of(handle.read(64 * 1024), encoding)
    except OSError:
        return []


def csv_files(
    folder: Path, kind_of: Callable[[list[str]], str | None], order: tuple[str, ...]
) -> list[tuple[Path, str]]:
    """The ``(path, kind)`` of each CSV file in ``folder`` whose header ``kind_of`` knows.

    Sorted by the kind's place in ``order`` (so referenced records come first), then by name.
    """
    found: list[tuple[Path, str]] = []
    for path in sorted(folder.glob("*.csv")):
        kind = kind_of(file_header(path))
        if kind is not None and path.is_file():
            found.append((path, kind))
    return sorted(found, key=lambda pair: order.index(pair[1]))


def has_content(path: Path) -> bool:
    """True when the file holds anything but whitespace (read in chunks, not whole)."""
    with path.open("rb") as handle:
        while chunk := handle.read(64 * 1024):
            if chunk.strip():
                return True
    return False


def whole_file(path: Path, reason: str, encoding: str) -> Rejection:
    """One rejection standing for a whole file that cannot be read row by row."""
    lines: list[str] = []
    try:
        with path.open(encoding=encoding, errors="backslashreplace", newline="") as handle:
            for line in handle:
                lines.append(line)
                if len(lines) >= 100:
                    break
    except (OSError, LookupError):
        pass
    return Rejection(str(path), "file", reason, "".join(lines))


RowConverter = Callable[[CsvRow], tuple[Record, ...]]


def convert_rows(
    path: Path,
    options: ReadOptions,
    convert: RowConverter,
    required: tuple[str, ...] = (),
    columns: dict[str, str] | None = None,
    only: Container[int] | None = None,
) -> Iterator[Item]:
    """Read ``path`` with :func:`read_csv` and turn each row into a SourceRow or a Rejection.

    A problem with the whole file (missing required columns, an unreadable header, an empty
    file) becomes one rejection with locator ``file``: rows are never silently lost.

    Args:
        columns: canonical field → source column, so that a reason names the column.
        only: convert just these data-row numbers (the rows a set-based lane handed back).

    Raises:
        SourceError: the file cannot be opened or the encoding is unknown.
    """
    file = str(path)
    produced = False
    try:
        for row in read_csv(path, encoding=options.encoding, required=required):
            produced = True
            if only is not None and _number(row) not in only:
                continue
            if isinstance(row, Rejection):
                yield row
                continue
            try:
                records = convert(row)
            except ValueError as exc:  # FieldError and pydantic's ValidationError
                yield Rejection(file, row.locator, explain(exc, columns), row.raw)
            else:
                yield SourceRow(file, row.locator, records, row.raw)
    except SourceError as exc:
        yield whole_file(path, str(exc), options.encoding)
        return
    except OSError as exc:
        raise SourceError(f"{path}: cannot read: {exc}") from exc
    except LookupError as exc:
        raise SourceError(f"unknown encoding {options.encoding!r}") from exc
    if not produced and only is None and not has_content(path):
        yield Rejection(file, "file", "empty file: no header and no rows", "")


def _number(row: CsvRow | Rejection) -> int:
    if isinstance(row, CsvRow):
        return row.number
    return int(row.locator.removeprefix("row "))


def required_text(values: dict[str, str], column: str) -> str:
    """The stripped value of a column that must be filled."""
    value = text(values.get(column))
    if value is None:
        raise FieldError(column, values.get(column), "missing required field")
    return value
