"""``corespond link csv``: link anyone's spreadsheet of person rows, without the store.

Columns (any may be empty; others are ignored): record_id, first_name, middle_name, last_name,
dob, sex, ssn, phone, address, city, state, zip. Output: record_id, person_id,
match_probability. The model is trained on the file itself, as a batch run trains on the store.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from corespond.crypto import FieldCipher, ssn_status
from corespond.linkage.cluster import cluster, collapse
from corespond.linkage.features import Identity, features
from corespond.linkage.model import Backend, LinkageModel, prior_from, to_table
from corespond.sources.parse import FieldError, digits, parse_date

COLUMNS = (
    "record_id", "first_name", "middle_name", "last_name", "dob", "sex", "ssn", "phone",
    "address", "city", "state", "zip",
)  # fmt: skip
SSN_CONTEXT = b"link-csv.ssn"
MIN_ROWS = 50


class CsvLinkError(Exception):
    """The file cannot be linked; the message says why and where."""


@dataclass
class CsvLinkResult:
    rows: int
    persons: int
    unlinkable: int
    problems: list[str]
    """Row-level problems that did not stop the run (an impossible date is treated as empty)."""


def link_csv(
    source: Path,
    out: Path,
    *,
    link_threshold: float,
    review_threshold: float,
    encoding: str = "utf-8-sig",
    backend: Backend = "duckdb",
) -> CsvLinkResult:
    """Link ``source`` and write one output row per input row to ``out``."""
    identities, keys, problems = _read(source, encoding)
    if len(identities) < MIN_ROWS:
        raise CsvLinkError(
            f"{source}: {len(identities)} rows are too few to train a linkage model "
            f"(at least {MIN_ROWS})"
        )
    records = [features(identity) for identity in identities]
    linkable = [record for record in records if record.unlinkable is None]
    representatives, duplicates = collapse(linkable)
    model = LinkageModel(to_table(representatives), backend=backend)
    model.train(prior=prior_from(linkable) or None)
    pairs = model.predict(review_threshold)
    model.close()
    clusters = cluster(
        representatives, pairs, link_threshold=link_threshold, review_threshold=review_threshold
    )
    clusters.add_duplicates(duplicates)
    person_number: dict[int, int] = {}
    with out.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["record_id", "person_id", "match_probability"])
        for record in records:
            root = clusters.of.get(record.unique_id, -record.unique_id)
            number = person_number.setdefault(root, len(person_number) + 1)
            pair = clusters.link_pair.get(record.unique_id)
            probability = f"{pair.probability:.6f}" if pair else ""
            writer.writerow([keys[record.unique_id], f"P{number:07d}", probability])
    unlinkable = len(records) - len(linkable)
    return CsvLinkResult(len(records), len(person_number), unlinkable, problems)


def _read(source: Path, encoding: str) -> tuple[list[Identity], dict[int, str], list[str]]:
    if not source.is_file():
        raise CsvLinkError(f"{source}: no such file")
    cipher = FieldCipher.from_settings()
    identities: list[Identity] = []
    keys: dict[int, str] = {}
    problems: list[str] = []
    seen: set[str] = set()
    try:
        for line, row in _rows(source, encoding):
            number = len(identities) + 1
            key = (row.get("record_id") or "").strip() or f"row {line}"
            if key in seen:
                raise CsvLinkError(f"{source}, line {line}: record_id {key!r} appears twice")
            seen.add(key)
            keys[number] = key
            identities.append(_identity(number, row, cipher, problems, line))
    except UnicodeDecodeError as exc:
        raise CsvLinkError(f"{source}: not {encoding} text ({exc.reason})") from None
    except csv.Error as exc:
        raise CsvLinkError(f"{source}: not a readable CSV ({exc})") from None
    return identities, keys, problems


def _rows(source: Path, encoding: str) -> Iterator[tuple[int, dict[str, str]]]:
    with source.open(newline="", encoding=encoding) as handle:
        reader = csv.DictReader(handle)
        header = [name.strip().lower() for name in reader.fieldnames or []]
        if not set(header) & set(COLUMNS[1:]):
            raise CsvLinkError(
                f"{source}: the header names none of the columns linkage reads "
                f"({', '.join(COLUMNS)})"
            )
        reader.fieldnames = header
        for row in reader:
            yield reader.line_num, {k: v for k, v in row.items() if isinstance(v, str)}


def _identity(
    number: int, row: dict[str, str], cipher: FieldCipher, problems: list[str], line: int
) -> Identity:
    dob: date | None = None
    try:
        dob = parse_date("dob", row.get("dob"))
    except FieldError as exc:
        problems.append(f"line {line}: {exc}; treated as empty")
    ssn = digits(row.get("ssn"))
    index = (
        cipher.blind_index(ssn, context=SSN_CONTEXT) if ssn and ssn_status(ssn) == "valid" else None
    )
    return Identity(
        record_id=number,
        first_name=row.get("first_name"),
        middle_name=row.get("middle_name"),
        last_name=row.get("last_name"),
        dob=dob,
        sex=row.get("sex"),
        ssn_index=index,
        phone=row.get("phone"),
        street=row.get("address"),
        zip=row.get("zip"),
    )
