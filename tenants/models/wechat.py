"""WeChat: each shop's mini-program and Official Account, and our Open Platform component's state.

Both are platform credentials (ARCHITECTURE §1): they live in the control plane. Secrets and
tokens are stored only encrypted (infra.crypto), never in clear.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class MiniProgramMode(models.TextChoices):
    # Authorized to our WeChat Open Platform component: we log members in with its token.
    COMPONENT = "component", _("Authorized to the platform")
    # Run by the merchant: we log members in with the merchant's AppSecret.
    OWN = "own", _("Run by the merchant, with its AppSecret")


class MiniProgram(models.Model):
    """The WeChat mini-program of a shop (one per shop for now); its appid is the platform's."""

    # Indexed by the one-per-tenant constraint below.
    tenant = models.ForeignKey(
        "tenants.Tenant", on_delete=models.CASCADE, related_name="miniprograms", db_index=False
    )
    appid = models.CharField(max_length=32)
    mode = models.CharField(max_length=16, choices=MiniProgramMode.choices)
    # infra.crypto.encrypt_text of the AppSecret; only in mode `own`, empty otherwise.
    app_secret_encrypted = models.TextField(blank=True, default="")
    # When the merchant authorized it to our component (set by the authorization flow).
    authorized_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            # A constraint rather than a one-to-one field, so that a shop may have more later.
            models.UniqueConstraint(fields=["tenant"], name="miniprogram_one_per_tenant"),
            # Named: registration tells "taken by another shop" by this name.
            models.UniqueConstraint(fields=["appid"], name="miniprogram_appid_unique"),
            models.CheckConstraint(
                condition=(Q(mode="own") & ~Q(app_secret_encrypted=""))
                | (Q(mode="component") & Q(app_secret_encrypted="")),
                name="miniprogram_secret_only_when_own",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.appid} ({self.mode})"


class OfficialAccountMode(models.TextChoices):
    # Authorized to our WeChat Open Platform component: web authorization goes through it.
    COMPONENT = "component", _("Authorized to the platform")
    # Run by the merchant: we exchange web authorization codes with the merchant's AppSecret.
    OWN = "own", _("Run by the merchant, with its AppSecret")


class OfficialAccount(models.Model):
    """The WeChat Official Account (服务号) of a shop: members' openids for JSAPI payments in H5.

    Its snsapi_base web authorization tells the shop who a shopper is inside WeChat's browser.
    """

    tenant = models.OneToOneField(
        "tenants.Tenant", on_delete=models.CASCADE, related_name="official_account"
    )
    appid = models.CharField(max_length=32)
    mode = models.CharField(max_length=16, choices=OfficialAccountMode.choices)
    # infra.crypto.encrypt_text of the AppSecret; only in mode `own`, empty otherwise.
    app_secret_encrypted = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            # Named: registration tells "taken by another shop" by this name.
            models.UniqueConstraint(fields=["appid"], name="official_account_appid_unique"),
            models.CheckConstraint(
                condition=(Q(mode="own") & ~Q(app_secret_encrypted=""))
                | (Q(mode="component") & Q(app_secret_encrypted="")),
                name="official_account_secret_only_when_own",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.appid} ({self.mode})"


class WeChatCredential(models.Model):
    """A value wechatpy keeps in its session storage (verify ticket, access tokens), durably.

    Keys carry a prefix per component ("wechat:component:<appid>:component_access_token");
    values are JSON, encrypted. An expired value reads as missing.
    """

    key = models.CharField(max_length=191, unique=True)
    value_encrypted = models.TextField()
    expires_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.key
