"""Ingest: write canonical records into the store, idempotently, with a ledger and quarantine."""
