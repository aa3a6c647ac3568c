"""Members (shoppers) of one shop, in its schema: identity, consent, logins, tokens, addresses.

Phone numbers are personal data (PIPL): they are stored only encrypted (infra.crypto), with a
keyed blind index of the E.164 number for exact lookups; the clear number is never stored.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q


class MemberTag(models.Model):
    """A label the merchant puts on members (segments for marketing)."""

    name = models.CharField(max_length=32, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


class Member(models.Model):
    """A shopper of this shop."""

    # infra.crypto.encrypt_text of the E.164 number; empty for members without a phone.
    phone_encrypted = models.TextField(blank=True, default="")
    # blind_index(E.164 number, purpose="member_phone"): exact lookup without the clear number.
    phone_index = models.CharField(max_length=64, unique=True, null=True, blank=True)
    nickname = models.CharField(max_length=64, blank=True, default="")
    avatar_url = models.URLField(max_length=500, blank=True, default="")
    points_balance = models.PositiveIntegerField(default=0)
    # Store balance (储值余额) in minor units of the shop's currency: a cache of the sum of the
    # member's StoreBalanceEntry rows, changed only by shop.customers.services.store_balance in
    # the same transaction as the entry it adds.
    store_balance_minor = models.BigIntegerField(default=0)
    tags = models.ManyToManyField(MemberTag, blank=True, related_name="members")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_login_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(points_balance__gte=0), name="member_points_balance_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(store_balance_minor__gte=0), name="member_store_balance_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"Member {self.pk}"


class Channel(models.TextChoices):
    H5 = "h5"
    MINIPROGRAM = "miniprogram"


class MemberConsent(models.Model):
    """The member's consent to a version of the shop's privacy policy, at registration or later."""

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="consents")
    policy_version = models.CharField(max_length=32)
    channel = models.CharField(max_length=16, choices=Channel.choices)
    consented_at = models.DateTimeField(auto_now_add=True)
    ip = models.GenericIPAddressField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Consent of member {self.member_id} to {self.policy_version}"


class MemberLogin(models.Model):
    """One login, with what risk control needs: the device and the client address."""

    class Method(models.TextChoices):
        PHONE_CODE = "phone_code"
        WECHAT = "wechat"

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="logins")
    method = models.CharField(max_length=16, choices=Method.choices)
    device_id = models.CharField(max_length=128, blank=True, default="")
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=512, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            models.Index(fields=["member", "-created_at"], name="member_login_recent_idx"),
            # Risk rules (distribution) look up who else used a device.
            models.Index(
                fields=["device_id", "created_at"],
                condition=~Q(device_id=""),
                name="member_login_device_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.method} login of member {self.member_id}"


class MemberIdentity(models.Model):
    """An external identity of a member (WeChat openid per app); login by it comes later."""

    class Provider(models.TextChoices):
        WECHAT_MINIPROGRAM = "wechat_miniprogram"
        WECHAT_OFFICIAL_ACCOUNT = "wechat_official_account"

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="identities")
    provider = models.CharField(max_length=32, choices=Provider.choices)
    appid = models.CharField(max_length=64)
    openid = models.CharField(max_length=128)
    unionid = models.CharField(max_length=128, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "appid", "openid"], name="member_identity_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.provider} identity of member {self.member_id}"


class PhoneCode(models.Model):
    """A login code sent by SMS; the phone is known only by its blind index, the code by a hash."""

    phone_index = models.CharField(max_length=64)
    code_hash = models.CharField(max_length=64)
    attempts = models.PositiveSmallIntegerField(default=0)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            models.Index(fields=["phone_index", "-created_at"], name="phone_code_recent_idx")
        ]

    def __str__(self) -> str:
        return f"Login code {self.pk}"


class MemberToken(models.Model):
    """A bearer token of the member API; only its SHA-256 is stored, in the shop's schema."""

    key_hash = models.CharField(max_length=64, unique=True)
    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="tokens")
    device_id = models.CharField(max_length=128, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            # Risk rules (distribution) look up who else used a device.
            models.Index(
                fields=["device_id", "created_at"],
                condition=~Q(device_id=""),
                name="member_token_device_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"Token {self.pk} of member {self.member_id}"


class Address(models.Model):
    """A shipping address of a member; at most one is the default."""

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="addresses")
    recipient_name = models.CharField(max_length=64)
    # infra.crypto.encrypt_text of the recipient's E.164 number.
    phone_encrypted = models.TextField()
    province = models.CharField(max_length=64)
    city = models.CharField(max_length=64)
    district = models.CharField(max_length=64, blank=True, default="")
    detail = models.CharField(max_length=255)
    postal_code = models.CharField(max_length=16, blank=True, default="")
    is_default = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["member"],
                condition=Q(is_default=True),
                name="address_one_default_per_member",
            ),
        ]
        indexes = [models.Index(fields=["member", "-created_at"], name="address_member_idx")]

    def __str__(self) -> str:
        return f"Address {self.pk} of member {self.member_id}"


class StoreBalanceEntry(models.Model):
    """One change of a member's store balance: append-only (database triggers refuse UPDATE and
    DELETE, migration 0002); a correction is a new entry. `amount_minor` is signed, in minor
    units: positive adds to the balance (withdrawal to balance, refund), negative spends it."""

    member = models.ForeignKey(
        Member,
        # Money history outlives nothing: a member with balance entries is never hard-deleted.
        on_delete=models.PROTECT,
        related_name="store_balance_entries",
    )
    amount_minor = models.BigIntegerField()
    # The member's balance right after this entry (minor units); the history shows it.
    balance_after_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    # What caused it ("withdrawal", "payment", "refund", …) and that thing's id: the entry's
    # idempotency key, so a replay books nothing twice.
    source = models.CharField(max_length=32)
    source_id = models.CharField(max_length=64)
    memo = models.CharField(max_length=255, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["source", "source_id"], name="store_balance_entry_key_unique"
            ),
            models.CheckConstraint(
                condition=~Q(amount_minor=0), name="store_balance_entry_amount_not_zero"
            ),
            models.CheckConstraint(
                condition=Q(balance_after_minor__gte=0),
                name="store_balance_entry_balance_not_negative",
            ),
        ]
        indexes = [
            models.Index(fields=["member", "-id"], name="store_balance_entry_member_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.source}:{self.source_id} ({self.amount_minor:+d}) of member {self.member_id}"
