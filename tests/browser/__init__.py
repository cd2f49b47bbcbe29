"""Browser tests: Playwright drives Debian's Chromium against a live server on a demo city.

A package (with this file) so that the live server's ``package``-scoped fixture ends, and the
shared store is emptied, before the rest of the suite runs (pytest scopes ``package`` fixtures
to the session in folders without an ``__init__.py``).
"""
