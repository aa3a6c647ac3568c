"""Reads of the tenants app."""
