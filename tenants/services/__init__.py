"""Write services of the tenants app (every one is @audited)."""
