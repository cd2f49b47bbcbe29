"""corespond: information sharing for co-response public-safety programs."""

__version__ = "0.1.0"
