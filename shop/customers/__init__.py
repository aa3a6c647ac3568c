"""The shop's members (shoppers): login, tokens, profile, addresses, consent, points."""
