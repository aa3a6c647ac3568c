"""Control plane: plans, subscriptions (a trial row for now; Stripe billing comes later)."""
