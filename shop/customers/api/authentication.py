"""Bearer-token authentication of members on the shop's /api/v1/.

A token lives in the schema of the shop that issued it, so on another shop's host it is simply
not found (401). request.user is a `MemberUser` (never an Account); request.auth the token.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions, permissions
from rest_framework.request import Request
from rest_framework.views import APIView

from shop.customers.models import Member, MemberToken
from shop.customers.selectors.members import member_token_get
from shop.customers.services.tokens import member_token_touch


class MemberUser:
    """The authenticated shopper, shaped enough like a user for DRF (throttles, permissions)."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False

    def __init__(self, member: Member) -> None:
        self.member = member
        # Throttle keys use pk: prefixed so that it never meets an Account's id.
        self.pk = f"member-{member.pk}"

    def __str__(self) -> str:
        return self.pk


class MemberTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[MemberUser, MemberToken] | None:
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(_("Invalid token header."))
        try:
            key = header[1].decode()
        except UnicodeError as error:
            raise exceptions.AuthenticationFailed(_("Invalid token header.")) from error
        token = member_token_get(key=key)
        if token is None:
            raise exceptions.AuthenticationFailed(_("Invalid or expired token."))
        member_token_touch(token=token)
        return MemberUser(token.member), token

    def authenticate_header(self, request: Request) -> str:
        return f'{self.keyword} realm="api"'


class IsMember(permissions.BasePermission):
    """Only a member authenticated by a token of this shop."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        return isinstance(request.user, MemberUser)


def request_member(request: Request) -> Member:
    """The member of a request that passed IsMember."""
    user = request.user
    if not isinstance(user, MemberUser):
        raise exceptions.NotAuthenticated()
    return user.member


class MemberTokenScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    target_class = "shop.customers.api.authentication.MemberTokenAuthentication"
    name = "memberToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer"}
