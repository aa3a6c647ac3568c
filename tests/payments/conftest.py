"""Fixtures of the payment tests: notifications delivered to the shop host's notify endpoint.
The fake WeChat Pay wired into settings and the shop's sub-merchant account (the fixtures
`fake_wechatpay` and `wechatpay`) are tests/support/wechatpay.py's."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from tenants.models import Tenant
from tests.fakes.wechatpay import Notification
from tests.support.wechatpay import notification_post


@pytest.fixture
def notify(shop: Tenant) -> Callable[[Notification], Any]:
    """Deliver a notification to the test shop's host."""
    client = Client(HTTP_HOST="alpha.localhost")
    return lambda note: notification_post(client, note)
