"""Adapters of the control plane to the outside world (dataclass in, dataclass out)."""
