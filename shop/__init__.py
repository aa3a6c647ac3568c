"""Tenant plane: the Django apps of one shop, by domain (catalog, customers, orders, payments…)."""
