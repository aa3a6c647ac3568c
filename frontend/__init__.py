"""Consoles for merchants, agencies and platform admins (server-rendered, htmx)."""
