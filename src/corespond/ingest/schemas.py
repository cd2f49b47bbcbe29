"""What an ingest reports."""

from __future__ import annotations

from pydantic import BaseModel


class FileCounts(BaseModel):
    path: str
    read: int = 0
    stored: int = 0
    unchanged: int = 0
    quarantined: int = 0


class IngestSummary(BaseModel):
    """Counts of one run. ``read == stored + unchanged + quarantined`` always."""

    run_id: int | None = None
    source: str
    format: str
    status: str = "completed"
    read: int = 0
    stored: int = 0
    unchanged: int = 0
    quarantined: int = 0
    seconds: float = 0.0
    files: list[FileCounts] = []
    error: str | None = None


class IngestReport(BaseModel):
    """Totals over the runs of one ``corespond ingest`` (a folder may hold several sources)."""

    read: int = 0
    stored: int = 0
    unchanged: int = 0
    quarantined: int = 0
    runs: list[IngestSummary] = []
    files: list[FileCounts] = []

    def add(self, summary: IngestSummary) -> None:
        self.runs.append(summary)
        self.files.extend(summary.files)
        self.read += summary.read
        self.stored += summary.stored
        self.unchanged += summary.unchanged
        self.quarantined += summary.quarantined
