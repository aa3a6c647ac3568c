"""Binding members to uplines by the shop's rules; the referral graph never closes a cycle."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from distribution.models import Binding, BindingChange
from distribution.services.bindings import distributor_make, referral_bind, upline_chain
from distribution.services.settings import distribution_settings_update
from shop.customers.models import Member
from tenants.models import Tenant
from tests.support.commerce import member_make, order_make

pytestmark = pytest.mark.django_db


def _on(**changes: object) -> None:
    distribution_settings_update(changes={"enabled": True, **changes}, actor="account:1")


def _code(member: Member) -> str:
    return distributor_make(member=member).code


def test_a_visit_with_a_code_binds_the_member_and_records_why(shop: Tenant) -> None:
    # given
    _on()
    upline, member = member_make(), member_make()
    # when
    result = referral_bind(member=member, code=_code(upline), trigger="first_visit")
    # then
    assert (result.bound, result.reason, result.upline_id) == (True, "bound", upline.pk)
    assert Binding.objects.get(member=member).upline_id == upline.pk
    change = BindingChange.objects.get(member=member)
    assert (change.from_upline_id, change.to_upline_id) == (None, upline.pk)


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("off", "distribution_off"),
        ("trigger", "not_the_trigger"),
        ("code", "unknown_code"),
        ("self", "self_referral"),
    ],
)
def test_a_binding_the_rules_refuse_says_why_and_writes_nothing(
    shop: Tenant, case: str, reason: str
) -> None:
    # given
    if case != "off":
        _on()
    member = member_make()
    code = _code(member if case == "self" else member_make())
    # when
    result = referral_bind(
        member=member,
        code="NOSUCHCODE" if case == "code" else code,
        trigger="register" if case == "trigger" else "first_visit",
    )
    # then
    assert (result.bound, result.reason) == (False, reason)
    assert not Binding.objects.filter(member=member).exists()


def test_never_overwrite_keeps_the_first_upline(shop: Tenant) -> None:
    # given
    _on(overwrite="never")
    first, second, member = member_make(), member_make(), member_make()
    referral_bind(member=member, code=_code(first), trigger="first_visit")
    # when
    result = referral_bind(member=member, code=_code(second), trigger="first_visit")
    # then
    assert (result.bound, result.reason, result.upline_id) == (False, "already_bound", first.pk)
    assert Binding.objects.get(member=member).upline_id == first.pk


def test_always_overwrite_waits_for_the_snatch_protection(shop: Tenant) -> None:
    # given: bound for good, protected 7 days
    _on(overwrite="always", snatch_protection_days=7)
    first, second, member = member_make(), member_make(), member_make()
    referral_bind(member=member, code=_code(first), trigger="first_visit")
    now = timezone.now()
    # when
    early = referral_bind(member=member, code=_code(second), trigger="first_visit", now=now)
    late = referral_bind(
        member=member, code=_code(second), trigger="first_visit", now=now + timedelta(days=8)
    )
    # then
    assert (early.bound, early.reason) == (False, "snatch_protected")
    assert (late.bound, late.reason) == (True, "rebound")
    assert Binding.objects.get(member=member).upline_id == second.pk


def test_after_expiry_a_new_link_takes_the_member(shop: Tenant) -> None:
    # given: bindings last 30 days
    _on(binding_days=30, overwrite="after_expiry")
    first, second, member = member_make(), member_make(), member_make()
    now = timezone.now()
    referral_bind(member=member, code=_code(first), trigger="first_visit", now=now)
    # when
    inside = referral_bind(
        member=member, code=_code(second), trigger="first_visit", now=now + timedelta(days=29)
    )
    after = referral_bind(
        member=member, code=_code(second), trigger="first_visit", now=now + timedelta(days=31)
    )
    # then
    assert (inside.reason, after.reason) == ("already_bound", "rebound")


def test_a_binding_that_would_close_a_cycle_is_refused(shop: Tenant) -> None:
    # given: a ← b ← c (c's upline is b, b's upline is a)
    _on(overwrite="always")
    a, b, c = member_make(), member_make(), member_make()
    referral_bind(member=b, code=_code(a), trigger="first_visit")
    referral_bind(member=c, code=_code(b), trigger="first_visit")
    # when: a would take c as its upline
    result = referral_bind(member=a, code=_code(c), trigger="first_visit")
    # then
    assert (result.bound, result.reason) == (False, "cycle")
    assert not Binding.objects.filter(member=a).exists()
    assert upline_chain(member_id=c.pk, levels=3) == [b.pk, a.pk]


def test_new_users_only_skips_members_who_ordered(shop: Tenant) -> None:
    # given
    _on(binding_scope="new_users")
    upline = member_make()
    buyer = order_make().member
    # when
    result = referral_bind(member=buyer, code=_code(upline), trigger="first_visit")
    # then
    assert (result.bound, result.reason) == (False, "not_a_new_user")


def test_the_chain_stops_at_the_levels_asked(shop: Tenant) -> None:
    # given: five members in a line
    _on(overwrite="always")
    line = [member_make() for _ in range(5)]
    for child, parent in zip(line[1:], line, strict=False):
        referral_bind(member=child, code=_code(parent), trigger="first_visit")
    # when / then
    assert upline_chain(member_id=line[4].pk, levels=3) == [line[3].pk, line[2].pk, line[1].pk]
