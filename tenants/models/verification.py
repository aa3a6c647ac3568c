"""One-time codes that verify an e-mail address or a phone number, or reset a password."""

from __future__ import annotations

from django.db import models


class VerificationCode(models.Model):
    class Purpose(models.TextChoices):
        VERIFY_EMAIL = "verify_email"
        VERIFY_PHONE = "verify_phone"
        RESET_PASSWORD = "reset_password"  # noqa: S105 - a purpose, not a password

    account = models.ForeignKey(
        "tenants.Account", on_delete=models.CASCADE, related_name="verification_codes"
    )
    purpose = models.CharField(max_length=20, choices=Purpose.choices)
    # The code is stored hashed; the clear code only travels in the message.
    code_hash = models.CharField(max_length=128)
    destination = models.CharField(max_length=254)
    attempts = models.PositiveSmallIntegerField(default=0)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["account", "purpose", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.purpose} code for account {self.account_id}"
