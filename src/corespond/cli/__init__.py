"""The ``corespond`` command line (Typer)."""
