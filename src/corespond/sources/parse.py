"""Field parsers shared by adapters. Each raises :class:`FieldError` naming the field."""

from __future__ import annotations

import re
from datetime import date, datetime, tzinfo
from functools import lru_cache

from pydantic import ValidationError

from corespond.sources.records import CautionSeverity

BLANKS = frozenset({"", "null", "none", "n/a", "na", "nan"})


class FieldError(ValueError):
    """A field's value cannot be used; the message names the field and the value."""

    def __init__(self, field: str, value: object, problem: str) -> None:
        self.field = field
        super().__init__(f"{field}: {problem} ({value!r})")


def blank(value: str | None) -> bool:
    return value is None or value.strip().lower() in BLANKS


def text(value: str | None) -> str | None:
    """The value stripped, or None when blank."""
    return None if blank(value) else value.strip()  # type: ignore[union-attr]


EARLIEST = datetime(1900, 1, 1)
LATEST_YEAR = 2100


_US_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")
_CLOCK = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?\s*([AaPp][Mm])?")


@lru_cache(maxsize=4096)
def _us_date(raw: str) -> tuple[int, int, int] | None:
    match = _US_DATE.fullmatch(raw)
    if match is None:
        return None
    month, day, year = match.groups()
    return int(year), int(month), int(day)


@lru_cache(maxsize=65536)
def _clock(raw: str) -> tuple[int, int, int] | None:
    """``hh:mm[:ss[.fff]] [AM|PM]`` as hour (0-23), minute, second; None if not that form."""
    match = _CLOCK.fullmatch(raw)
    if match is None:
        return None
    hour, minute, second, meridiem = match.groups()
    hour_number = int(hour)
    if meridiem:
        if not 1 <= hour_number <= 12:
            return None
        hour_number = hour_number % 12 + (12 if meridiem.upper() == "PM" else 0)
    return hour_number, int(minute), int(second or 0)


def _us_datetime(raw: str) -> datetime | None:
    """``MM/DD/YYYY hh:mm[:ss] [AM|PM]``, the form most CAD exports use; None if not that form.

    Parsed by hand, date and clock each cached: a CAD file has few distinct days and at most
    86,400 distinct clock readings, and ``strptime`` was the largest single cost of importing one.
    """
    for separator in (" ", "T"):
        day_text, found, clock_text = raw.partition(separator)
        if found:
            break
    else:
        return None
    day, clock = _us_date(day_text), _clock(clock_text.strip())
    if day is None or clock is None:
        return None
    try:
        return datetime(*day, *clock)
    except ValueError:
        return None


@lru_cache(maxsize=8192)
def _parse_timestamp(raw: str, tz: tzinfo, formats: tuple[str, ...]) -> datetime | None:
    # Cached: a CAD export repeats each event's times on every unit row.
    for fmt in formats:
        try:
            parsed = datetime.strptime(raw, fmt)
            break
        except ValueError:
            continue
    else:
        us = _us_datetime(raw) if "/" in raw[:3] else None
        if us is not None:
            parsed = us
        else:
            try:
                parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
            except ValueError:
                return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=tz)
    return parsed


def parse_datetime(
    field: str, value: str | None, tz: tzinfo, formats: tuple[str, ...] = ()
) -> datetime | None:
    """Parse a timestamp; naive values are taken as wall-clock time in ``tz``.

    Tries ``formats`` first, then ISO 8601 (with or without offset), then the US
    ``MM/DD/YYYY hh:mm[:ss] [AM|PM]`` form.
    """
    if blank(value):
        return None
    parsed = _parse_timestamp(value.strip(), tz, formats)  # type: ignore[union-attr]
    if parsed is None:
        raise FieldError(field, value, "not a date and time")
    if not EARLIEST.year <= parsed.year <= LATEST_YEAR:
        raise FieldError(field, value, "year out of range")
    return parsed


def parse_date(field: str, value: str | None, formats: tuple[str, ...] = ()) -> date | None:
    """Parse a calendar date (ISO 8601 by default, then ``formats``, then MM/DD/YYYY)."""
    if blank(value):
        return None
    raw = value.strip()  # type: ignore[union-attr]
    for fmt in (*formats, "%Y-%m-%d", "%m/%d/%Y", "%Y%m%d"):
        try:
            parsed = datetime.strptime(raw, fmt).date()
        except ValueError:
            continue
        if not EARLIEST.year <= parsed.year <= LATEST_YEAR:
            raise FieldError(field, value, "year out of range")
        return parsed
    if "T" in raw or " " in raw:
        try:
            return datetime.fromisoformat(raw.replace("Z", "+00:00")).date()
        except ValueError:
            pass
    raise FieldError(field, value, "not a date")


def parse_int(field: str, value: str | None) -> int | None:
    if blank(value):
        return None
    try:
        return int(value.strip())  # type: ignore[union-attr]
    except ValueError:
        raise FieldError(field, value, "not a whole number") from None


def parse_float(field: str, value: str | None) -> float | None:
    if blank(value):
        return None
    try:
        number = float(value.strip())  # type: ignore[union-attr]
    except ValueError:
        raise FieldError(field, value, "not a number") from None
    if number != number or number in (float("inf"), float("-inf")):
        raise FieldError(field, value, "not a finite number")
    return number


TRUE_WORDS = frozenset({"1", "y", "yes", "true", "t"})
FALSE_WORDS = frozenset({"0", "n", "no", "false", "f"})


def parse_bool(field: str, value: str | None) -> bool | None:
    if blank(value):
        return None
    word = value.strip().lower()  # type: ignore[union-attr]
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise FieldError(field, value, "not yes or no")


def parse_code(field: str, value: str | None, codes: dict[str, str]) -> str | None:
    """Map a source code to ours; an unknown code is an error that lists the known ones."""
    if blank(value):
        return None
    key = value.strip().upper()  # type: ignore[union-attr]
    try:
        return codes[key]
    except KeyError:
        known = ", ".join(sorted(codes))
        raise FieldError(field, value, f"unknown code; expected one of {known}") from None


SEVERITY_WORDS = {s.value: s for s in CautionSeverity}


def parse_severity(field: str, value: str | None) -> CautionSeverity:
    if blank(value) or value.strip().lower() not in SEVERITY_WORDS:  # type: ignore[union-attr]
        raise FieldError(field, value, "severity must be highest, high, normal, low or lowest")
    return SEVERITY_WORDS[value.strip().lower()]  # type: ignore[union-attr]


_NON_DIGITS = re.compile(r"\D")


def digits(value: str | None) -> str | None:
    """Only the digits of a phone number or SSN, or None when there are none."""
    if blank(value):
        return None
    only = _NON_DIGITS.sub("", value)  # type: ignore[arg-type]
    return only or None


def explain(exc: ValueError, columns: dict[str, str] | None = None) -> str:
    """A one-line reason for a row's error, naming the source column where known."""
    if isinstance(exc, ValidationError):
        parts = []
        for error in exc.errors():
            field = ".".join(str(part) for part in error["loc"]) or "row"
            column = (columns or {}).get(str(error["loc"][-1])) if error["loc"] else None
            named = f"{column} ({field})" if column else field
            parts.append(f"{named}: {error['msg']} ({error.get('input')!r})")
        return "; ".join(parts)
    return str(exc)
