"""Control plane: tenants, domains, accounts, memberships, agencies, provisioning, audit log."""
