"""Placeholder replaced by the demo loader (being written)."""
