"""Helpers shared by tests (on the path through pytest's ``pythonpath``)."""
