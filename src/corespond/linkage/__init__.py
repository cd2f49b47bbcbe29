"""Entity resolution: person records from every source → persons."""
