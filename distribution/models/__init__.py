"""Models of the distribution engine, one module per area."""

from distribution.models.commissions import Commission, CommissionDecision
from distribution.models.ledger import (
    MEMBER_ACCOUNT_KINDS,
    SHOP_ACCOUNT_KINDS,
    LedgerAccount,
    LedgerAccountKind,
    LedgerEntry,
    LedgerTransaction,
)
from distribution.models.network import Binding, BindingChange, Distributor
from distribution.models.settings import (
    MAX_DEPTH,
    BindingScope,
    BindingTrigger,
    Clawback,
    CommissionBase,
    DistributionSettings,
    Overwrite,
    Qualification,
    RateKind,
    RateSource,
    WithdrawalChannel,
)

__all__ = [
    "MAX_DEPTH",
    "MEMBER_ACCOUNT_KINDS",
    "SHOP_ACCOUNT_KINDS",
    "Binding",
    "BindingChange",
    "BindingScope",
    "BindingTrigger",
    "Clawback",
    "Commission",
    "CommissionBase",
    "CommissionDecision",
    "DistributionSettings",
    "Distributor",
    "LedgerAccount",
    "LedgerAccountKind",
    "LedgerEntry",
    "LedgerTransaction",
    "Overwrite",
    "Qualification",
    "RateKind",
    "RateSource",
    "WithdrawalChannel",
]
