"""What linkage returns to its callers (the CLI prints it; ``--json`` prints it as JSON)."""

from __future__ import annotations

from pydantic import BaseModel


class LinkageSummary(BaseModel):
    run_id: int
    model_version: int | None
    records: int
    """Person records read."""
    unlinkable: int
    """Records with too little to match on: each is a person of its own."""
    pairs_scored: int
    """Blocked pairs scoring at least the review threshold."""
    persons: int
    review_pairs: int
    new_persons: int
    split_persons: int
    merged_persons: int
    seconds: float
