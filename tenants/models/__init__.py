"""Control-plane models of the tenants app."""

from tenants.models.accounts import Account, Agency, AgencyMembership, Membership, Role
from tenants.models.audit import AuditLog
from tenants.models.provisioning import SpareSchema
from tenants.models.tenancy import Domain, Tenant, TenantStatus
from tenants.models.verification import VerificationCode
from tenants.models.wechat import (
    MiniProgram,
    MiniProgramMode,
    OfficialAccount,
    OfficialAccountMode,
    WeChatCredential,
)

__all__ = [
    "Account",
    "Agency",
    "AgencyMembership",
    "AuditLog",
    "Domain",
    "Membership",
    "MiniProgram",
    "MiniProgramMode",
    "OfficialAccount",
    "OfficialAccountMode",
    "Role",
    "SpareSchema",
    "Tenant",
    "TenantStatus",
    "VerificationCode",
    "WeChatCredential",
]
