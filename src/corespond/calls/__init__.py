"""Calls for service as stored: search and list (the dispatch package handles live intake)."""
