"""Writers of the synthetic city's agency exports, one module per native format."""
