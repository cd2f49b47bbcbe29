"""Source adapters: one module per native format (see ``registry.py``)."""
