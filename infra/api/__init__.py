"""API conventions shared by every DRF endpoint: errors, pagination, throttling."""
