"""Themes: packages (control plane) and the shop's storefront (tenant plane)."""
