"""Proving what the program does: metrics, frequent-utilizer cohorts, evaluation, reports."""
