"""Models of the distribution engine, one module per area."""

from distribution.models.applications import DistributorApplication, DistributorStatusChange
from distribution.models.commissions import Commission, CommissionDecision
from distribution.models.grades import Grade, GradeChange, ProductCommissionRate
from distribution.models.ledger import (
    MEMBER_ACCOUNT_KINDS,
    SHOP_ACCOUNT_KINDS,
    LedgerAccount,
    LedgerAccountKind,
    LedgerEntry,
    LedgerTransaction,
)
from distribution.models.network import Binding, BindingChange, Distributor
from distribution.models.regions import RegionalAgent, TeamBonus, TeamBonusRun
from distribution.models.risk import RiskFlag, RiskRule
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
from distribution.models.share import PosterLayout, PosterTemplate, ShareImage, ShareScene
from distribution.models.statements import SettlementRun, Statement
from distribution.models.withdrawals import Withdrawal, WithdrawalNotification

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
    "DistributorApplication",
    "DistributorStatusChange",
    "Grade",
    "GradeChange",
    "LedgerAccount",
    "LedgerAccountKind",
    "LedgerEntry",
    "LedgerTransaction",
    "Overwrite",
    "PosterLayout",
    "PosterTemplate",
    "ProductCommissionRate",
    "Qualification",
    "RateKind",
    "RateSource",
    "RegionalAgent",
    "RiskFlag",
    "RiskRule",
    "SettlementRun",
    "ShareImage",
    "ShareScene",
    "Statement",
    "TeamBonus",
    "TeamBonusRun",
    "Withdrawal",
    "WithdrawalChannel",
    "WithdrawalNotification",
]
