"""Statements built once per process, for short reads and writes on hot paths.

A short statement (a responder brief runs a score of them, an incident's intake threescore)
spends most of its time in Python, building the statement and its cache key, not in the
database. SQLAlchemy keeps a statement object's cache key, so a statement built once with
named parameters (``bindparam``) and run again with new values costs a fifth of one built
afresh each time. Build such statements at module level where they are fixed; where their form
depends on something known only at run time (the dialect, a table), build them through
:func:`kept`.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any, TypeVar

T = TypeVar("T")

_kept: dict[Hashable, Any] = {}


def kept(key: Hashable, build: Callable[[], T]) -> T:
    """What ``build`` makes (a statement), made once per process under ``key``."""
    found = _kept.get(key)
    if found is None:
        found = _kept[key] = build()
    return found
