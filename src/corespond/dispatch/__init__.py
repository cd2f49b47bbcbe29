"""Live CAD intake, responder briefs, triage protocols and recommended responses."""
