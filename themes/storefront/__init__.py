"""Tenant plane: the shop's H5 storefront (a plain page until the themes issue)."""
