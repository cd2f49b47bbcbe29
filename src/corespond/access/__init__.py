"""Lawful sharing: who may sign in, for what purpose, and what they may see."""
