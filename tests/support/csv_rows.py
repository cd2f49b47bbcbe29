"""An independent count of the items a CSV reading must account for."""

from __future__ import annotations

import csv
import io


def expected_items(data: bytes) -> int:
    """How many items a complete reading must give: one per CSV record after the header.

    Mirrors csvio by its documented rules, not its code: blank lines carry nothing; a quote
    left open at the end of the file is one rejected row; any other CSV error rejects that row
    alone. An unusable header makes one rejection for the whole file.
    """
    handle = io.StringIO(data.decode("utf-8-sig", errors="surrogateescape"), newline="")
    reader = csv.reader(handle, strict=True)
    try:
        next(reader)
    except StopIteration:
        return 1 if data.strip() else 0
    except csv.Error:
        return 1
    count = 0
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            return count
        except csv.Error as exc:
            if "unexpected end of data" in str(exc):
                return count + 1
            count += 1
            continue
        if fields and fields != [""]:
            count += 1
