"""Writes of the catalog (run in the shop's schema)."""
