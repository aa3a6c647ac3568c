"""Adapters of the tenants app to the outside world."""
