"""Engine, sessions and the unit of work."""
