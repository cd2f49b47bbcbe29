"""Small-cell suppression: one rule for every count, table, chart and export outcomes shows.

A count from 1 to ``min_cell - 1`` (and a missing count) is a small cell: it is shown as "<11",
never as its value, nor is any value computed from it. Zero is shown (nobody is identified by
it: the CMS cell-size suppression policy). Exports always suppress; pages suppress for everyone
except a viewer who may see person-level data (``cohorts.viewer_min_cell``).
"""

from __future__ import annotations

import math

import pandas as pd


def is_small(count: float | None, min_cell: int) -> bool:
    """Is ``count`` a small cell (missing, or from 1 to ``min_cell - 1``)?

    Example:
        >>> is_small(10, 11), is_small(11, 11), is_small(0, 11), is_small(None, 11)
        (True, False, False, True)
    """
    if count is None or (isinstance(count, float) and math.isnan(count)):
        return True
    return 0 < count < min_cell


def suppress(count: int, min_cell: int) -> int | None:
    """``count``, or None when it is a small cell, shown as "<11".

    Example:
        >>> suppress(10, 11), suppress(11, 11), suppress(0, 11)
        (None, 11, 0)
    """
    return None if is_small(count, min_cell) else count


def suppress_part(part: int, whole: int, min_cell: int) -> int | None:
    """``part`` of ``whole``, or None when either it or the rest (``whole - part``) is a small
    cell: a shown whole would give away a small rest by subtraction.

    Example:
        >>> suppress_part(40, 45, 11), suppress_part(30, 45, 11)
        (None, 30)
    """
    if suppress(part, min_cell) is None or suppress(whole - part, min_cell) is None:
        return None
    return part


def shown(count: int | None, min_cell: int) -> str:
    """A suppressed count as a page shows it: the number, or "<11"."""
    return f"<{min_cell}" if count is None else f"{count:,}"


def suppress_table(frame: pd.DataFrame, *, count_column: str | None, min_cell: int) -> pd.DataFrame:
    """The table with every value cell of a row counted in a small cell replaced by "<11".

    Value cells are the numeric columns, the count included; text columns (the labels) stay.
    With no ``count_column`` nothing is replaced. The result's columns are text-ready
    objects: numbers stay numbers, suppressed cells are strings.
    """
    result = frame.astype(object)
    if count_column is None or not min_cell:
        return result
    counts = pd.to_numeric(frame[count_column], errors="coerce")
    small = (counts.isna() | ((counts > 0) & (counts < min_cell))).to_numpy()
    for column in frame.columns:
        if pd.api.types.is_numeric_dtype(frame[column]):
            result.loc[small, column] = f"<{min_cell}"
    return result
