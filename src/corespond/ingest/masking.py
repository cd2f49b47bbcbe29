"""Withhold identifiers when showing quarantined rows to people.

Quarantined rows are kept verbatim (encrypted), so they can hold a Social Security number.
Until sign-in and access decisions exist (the access issue), anything shown on a page or in a
listing has SSN-shaped numbers withheld; ``corespond ingest quarantine --raw`` on the server is
the one way to see a row exactly as it came.
"""

from __future__ import annotations

import re

WITHHELD = "[SSN withheld]"
_SSN_SHAPED = re.compile(r"(?<!\d)(?:\d{3}-\d{2}-\d{4}|\d{3} \d{2} \d{4}|\d{9})(?!\d)")


def mask_identifiers(text: str) -> str:
    """``text`` with every SSN-shaped number replaced.

    Example:
        >>> mask_identifiers("Quill,Ada,123-45-6780,5550100")
        'Quill,Ada,[SSN withheld],5550100'
    """
    return _SSN_SHAPED.sub(WITHHELD, text)
