"""Proving what the program does: outcome metrics, frequent-utilizer cohorts, evaluation, reports."""
