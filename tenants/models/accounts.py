"""Accounts (people who work on the platform), memberships in shops, agencies."""

from __future__ import annotations

from typing import Any, ClassVar

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class AccountManager(BaseUserManager["Account"]):
    def create_user(
        self, email: str | None = None, password: str | None = None, **fields: Any
    ) -> Account:
        account = self.model(email=self.normalize_email(email) if email else None, **fields)
        account.set_password(password)
        account.save(using=self._db)
        return account

    def create_superuser(
        self, email: str | None = None, password: str | None = None, **fields: Any
    ) -> Account:
        fields.setdefault("is_platform_staff", True)
        fields.setdefault("is_superuser", True)
        return self.create_user(email, password, **fields)


class Account(AbstractBaseUser, PermissionsMixin):
    """A person who logs in to the platform, by e-mail or by phone (at least one is set)."""

    email = models.EmailField(unique=True, null=True, blank=True)
    phone = models.CharField(max_length=20, unique=True, null=True, blank=True)
    name = models.CharField(max_length=120, blank=True, default="")
    email_verified_at = models.DateTimeField(null=True, blank=True)
    phone_verified_at = models.DateTimeField(null=True, blank=True)
    is_active = models.BooleanField(default=True)
    is_platform_staff = models.BooleanField(
        default=False, help_text=_("Platform staff may use the platform admin.")
    )
    language = models.CharField(max_length=10, blank=True, default="")
    date_joined = models.DateTimeField(default=timezone.now)

    objects: ClassVar[AccountManager] = AccountManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(email__isnull=False) | Q(phone__isnull=False),
                name="account_has_email_or_phone",
            )
        ]

    def __str__(self) -> str:
        return str(self.email or self.phone)

    @property
    def is_staff(self) -> bool:
        """Django admin's gate: only platform staff."""
        return self.is_platform_staff

    def get_full_name(self) -> str:
        return self.name or str(self)

    def get_short_name(self) -> str:
        return self.name or str(self)


class Role(models.TextChoices):
    OWNER = "owner", _("Owner")
    ADMIN = "admin", _("Admin")
    STAFF = "staff", _("Staff")
    CLERK = "clerk", _("Store clerk")
    AGENCY = "agency", _("Agency")


class Membership(models.Model):
    """An account's role in one shop."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="memberships")
    tenant = models.ForeignKey(
        "tenants.Tenant", on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=16, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "tenant"], name="membership_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.account} @ {self.tenant_id} ({self.role})"


class Agency(models.Model):
    """A service provider that runs shops for several clients."""

    name = models.CharField(max_length=120)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "agencies"

    def __str__(self) -> str:
        return self.name


class AgencyMembership(models.Model):
    """An account working for an agency; it reaches every client shop with the agency role."""

    class AgencyRole(models.TextChoices):
        OWNER = "owner", _("Owner")
        STAFF = "staff", _("Staff")

    account = models.ForeignKey(
        Account, on_delete=models.CASCADE, related_name="agency_memberships"
    )
    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=AgencyRole.choices, default=AgencyRole.STAFF)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "agency"], name="agency_membership_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.account} @ {self.agency_id} ({self.role})"
