"""Tenant plane: the distribution (分销) engine; it reacts to shop events, never the reverse."""
