"""Passwords: Argon2id hashes, and a policy that refuses common and short ones."""

from __future__ import annotations

from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from zxcvbn.frequency_lists import FREQUENCY_LISTS

MIN_LENGTH = 12
_hasher = PasswordHasher()  # Argon2id, the library's (RFC 9106 low-memory) parameters


class WeakPassword(ValueError):
    """The password breaks the policy; the message says how."""


@lru_cache(maxsize=1)
def _common() -> frozenset[str]:
    """The 30,000 most common passwords of public breach corpora (zxcvbn's list)."""
    return frozenset(FREQUENCY_LISTS["passwords"])


def check_policy(password: str, *, username: str = "") -> None:
    """Raise ``WeakPassword`` for a short, common or username-based password (NIST 800-63B)."""
    if len(password) < MIN_LENGTH:
        raise WeakPassword(f"use at least {MIN_LENGTH} characters")
    folded = password.lower()
    if folded in _common() or folded.rstrip("0123456789!") in _common():
        raise WeakPassword("that password is on the list of commonly used passwords")
    if username and username.lower() in folded:
        raise WeakPassword("the password must not contain the username")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    return _hasher.check_needs_rehash(stored)
