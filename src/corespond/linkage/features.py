"""What linkage compares: a person record's identity, normalised, with placeholders removed.

Sources fill empty fields with placeholders ("UNKNOWN", 1900-01-01, 000-00-0000, 555-5555):
taken at face value they would link strangers, so they become missing here. A record left with
nothing to match on is *unlinkable*: it becomes a person of its own, and says why.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache

import jellyfish
from nicknames import NickNamer

PLACEHOLDER_NAMES = frozenset(
    {
        "UNKNOWN", "UNK", "UNKN", "NONE", "NA", "NULL", "REFUSED", "NONAME", "NO NAME",
        "BABY", "TEST", "XXX", "NFN", "NLN", "FNU", "LNU",
    }
)  # fmt: skip
"""Names that stand for "not known". A last name DOE makes the whole name a placeholder."""
SUFFIXES = frozenset({"JR", "SR", "II", "III", "IV", "V"})
PLACEHOLDER_DOBS = frozenset({date(1900, 1, 1), date(1901, 1, 1), date(1800, 1, 1)})
STREET_WORDS = {
    "STREET": "ST", "AVENUE": "AVE", "ROAD": "RD", "DRIVE": "DR", "BOULEVARD": "BLVD",
    "LANE": "LN", "COURT": "CT", "PLACE": "PL", "TERRACE": "TER", "HIGHWAY": "HWY",
    "NORTH": "N", "SOUTH": "S", "EAST": "E", "WEST": "W", "APARTMENT": "APT", "SUITE": "STE",
}  # fmt: skip
PLACEHOLDER_STREETS = frozenset(
    {"TRANSIENT", "HOMELESS", "UNKNOWN", "UNK", "NONE", "NO ADDRESS", "GENERAL DELIVERY", "NA"}
)
_NOT_LETTERS = re.compile(r"[^A-Z ]+")
_SPACES = re.compile(r"\s+")
_nicknamer = NickNamer()


@dataclass(frozen=True, slots=True)
class Identity:
    """A person record's identity as a source gave it (every field may be missing)."""

    record_id: int
    first_name: str | None = None
    middle_name: str | None = None
    last_name: str | None = None
    dob: date | None = None
    sex: str | None = None
    ssn_index: str | None = None
    """The keyed blind index of a valid SSN; junk SSNs have none."""
    phone: str | None = None
    street: str | None = None
    zip: str | None = None
    aliases: tuple[tuple[str | None, str | None], ...] = ()
    """Other (first, last) names the source knows the person by."""
    source_system_id: int | None = None


@dataclass(slots=True)
class Features:
    """The normalised fields linkage compares and blocks on."""

    unique_id: int
    first_name: str | None
    last_name: str | None
    first_names: list[str] = field(default_factory=list)
    """The first name, the names it may be a nickname of, and alias first names: blocking
    explodes this list, so BOB and ROBERT meet."""
    last_names: list[str] = field(default_factory=list)
    """The last name and alias or earlier last names."""
    last_sound: str | None = None
    """Phonetic code of the last name (NYSIIS): a spelling-proof blocking key."""
    dob: str | None = None
    birth_year: str | None = None
    sex: str | None = None
    ssn: str | None = None
    phone: str | None = None
    street: str | None = None
    zip: str | None = None
    source: int | None = None
    unlinkable: str | None = None
    """Why the record cannot be linked, or None."""


def normal_name(value: str | None) -> str | None:
    """Upper case, accents and punctuation gone, spaces squeezed; None for a placeholder."""
    if not value:
        return None
    folded = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode().upper()
    words = [word for word in _NOT_LETTERS.sub(" ", folded.replace("-", " ")).split()]
    words = [word for word in words if word not in SUFFIXES]
    name = " ".join(words)
    if not name or name in PLACEHOLDER_NAMES or len(name.replace(" ", "")) < 2:
        return None
    return name


def _names(first: str | None, last: str | None) -> tuple[str | None, str | None]:
    first_name, last_name = normal_name(first), normal_name(last)
    if last_name == "DOE":  # John Doe, Jane Doe: the name of someone not identified
        return None, None
    if first_name is not None:
        first_name = first_name.split()[0]  # the given name, not a middle name typed in
    return first_name, last_name.replace(" ", "") if last_name else None


@lru_cache(maxsize=65536)
def nickname_forms(first: str) -> tuple[str, ...]:
    """``first`` and the names it may be a nickname of (BOB → BOB, ROBERT, ...), sorted."""
    forms = {first} | {name.upper() for name in _nicknamer.canonicals_of(first.lower())}
    return tuple(sorted(forms))


def placeholder_dob(value: date | None) -> bool:
    return value is not None and (
        value in PLACEHOLDER_DOBS or (value.month == 1 and value.day == 1) or value.year < 1890
    )


def normal_phone(value: str | None) -> str | None:
    """Ten digits of a US number, or None for junk (all one digit, 1234567890, 555-01xx)."""
    if not value:
        return None
    digits = re.sub(r"\D", "", value)
    if len(digits) == 11 and digits.startswith("1"):
        digits = digits[1:]
    if len(digits) != 10 or digits[0] in "01" or len(set(digits)) == 1:
        return None
    if digits in {"1234567890", "0123456789", "9876543210"} or digits[3:7] == "5550":
        return None
    return digits


def normal_street(value: str | None) -> str | None:
    if not value:
        return None
    words = _SPACES.sub(" ", re.sub(r"[^A-Z0-9 ]", " ", value.upper())).split()
    street = " ".join(STREET_WORDS.get(word, word) for word in words)
    return None if not street or street in PLACEHOLDER_STREETS else street


def normal_zip(value: str | None) -> str | None:
    digits = re.sub(r"\D", "", value or "")[:5]
    return digits if len(digits) == 5 and digits != "00000" else None


def features(identity: Identity) -> Features:
    """The comparable form of ``identity``, with ``unlinkable`` set when nothing can match."""
    first, last = _names(identity.first_name, identity.last_name)
    dob = None if placeholder_dob(identity.dob) else identity.dob
    first_names = list(nickname_forms(first)) if first else []
    last_names = [last] if last else []
    for alias_first, alias_last in identity.aliases:
        other_first, other_last = _names(alias_first, alias_last)
        if other_first and other_first not in first_names:
            first_names.append(other_first)
        if other_last and other_last not in last_names:
            last_names.append(other_last)
    sex = (identity.sex or "").strip().lower()[:1] or None
    result = Features(
        unique_id=identity.record_id,
        first_name=first,
        last_name=last,
        first_names=first_names,
        last_names=last_names,
        last_sound=jellyfish.nysiis(last) if last else None,
        dob=dob.isoformat() if dob else None,
        birth_year=str(dob.year) if dob else None,
        sex=sex if sex in {"m", "f"} else None,
        ssn=identity.ssn_index or None,
        phone=normal_phone(identity.phone),
        street=normal_street(identity.street),
        zip=normal_zip(identity.zip),
        source=identity.source_system_id,
    )
    result.unlinkable = unlinkable_reason(result, identity)
    return result


def unlinkable_reason(found: Features, identity: Identity) -> str | None:
    """Why ``found`` has too little to link on, or None when it can be linked.

    A record can be linked with a valid SSN, or with a last name and one more identifier
    (a first name, a date of birth or a phone number). Anything less would link strangers.
    """
    if found.ssn:
        return None
    if found.last_name and (found.first_name or found.dob or found.phone):
        return None
    missing = ["no valid SSN"]
    if not found.last_name:
        missing.append("no usable last name" if identity.last_name else "no last name")
    if not (found.first_name or found.dob or found.phone):
        missing.append("no first name, date of birth or phone")
    if identity.dob and not found.dob:
        missing.append(f"date of birth {identity.dob.isoformat()} is a placeholder")
    return "; ".join(missing)


def compared_fields(record: Features) -> tuple[object, ...]:
    """Everything a comparison reads: records equal here score alike against anyone."""
    return (
        record.first_name, record.last_name, tuple(record.first_names), tuple(record.last_names),
        record.dob, record.sex, record.ssn, record.phone, record.street, record.zip,
    )  # fmt: skip
