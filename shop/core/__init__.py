"""The shop's own profile and settings, in its schema."""
