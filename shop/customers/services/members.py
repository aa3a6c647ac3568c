"""Members change their own profile."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.utils.translation import gettext as _

from infra.errors import ValidationFailed
from shop.customers.models import Member

NICKNAME_MAX_LENGTH = 64
AVATAR_URL_MAX_LENGTH = 500


def member_profile_update(
    *, member: Member, nickname: str | None = None, avatar_url: str | None = None
) -> Member:
    """Change the nickname and/or avatar address (None leaves a field as it is)."""
    fields: dict[str, list[dict[str, str]]] = {}
    changes: dict[str, str] = {}
    if nickname is not None:
        nickname = nickname.strip()
        if len(nickname) > NICKNAME_MAX_LENGTH:
            fields["nickname"] = [{"code": "too_long", "message": _("Use at most 64 characters.")}]
        changes["nickname"] = nickname
    if avatar_url is not None:
        avatar_url = avatar_url.strip()
        if avatar_url:
            try:
                URLValidator(schemes=["https", "http"])(avatar_url)
            except ValidationError:
                fields["avatar_url"] = [{"code": "invalid", "message": _("Enter a valid URL.")}]
        if len(avatar_url) > AVATAR_URL_MAX_LENGTH:
            fields["avatar_url"] = [
                {"code": "too_long", "message": _("Use at most 500 characters.")}
            ]
        changes["avatar_url"] = avatar_url
    if fields:
        raise ValidationFailed(_("Some fields are not valid."), fields=fields)
    if changes:
        Member.objects.filter(pk=member.pk).update(**changes)
        for name, value in changes.items():
            setattr(member, name, value)
    return member
