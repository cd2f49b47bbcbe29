"""Reading a page's form fields: an empty field is no value; a wrong one is named, not guessed."""

from __future__ import annotations

from datetime import date


def optional_date(value: str, label: str, errors: list[str]) -> date | None:
    """The date typed in the field ``label`` (None if empty); a wrong one adds an error."""
    if not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        errors.append(f"{label} must be a date like 2025-06-01")
        return None


def optional_int(value: str, label: str, errors: list[str]) -> int | None:
    """The whole number typed in the field ``label`` (None if empty); a wrong one adds an error."""
    if not value.strip():
        return None
    try:
        return int(value.strip())
    except ValueError:
        errors.append(f"{label} must be a whole number")
        return None
