"""The transactional outbox: recorded with the change, delivered to each subscriber exactly once."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.db import transaction

from infra.db import tenant_schema
from infra.planes import OutboxSubscriber
from shop.core.models import ShopProfile
from shop.events.models import OutboxDelivery, OutboxEvent
from shop.events.services import (
    OutboxDeliveryFailedError,
    event_deliver,
    event_record,
    outbox_unsettled_deliver,
)
from tenants.models import Tenant
from tests.support.threads import committed, run_in_threads

TOPIC = "test.happened"


def _append(letter: str) -> None:
    """A subscriber's effect: one letter added to the shop's description."""
    profile = ShopProfile.objects.select_for_update().get()
    profile.description += letter
    profile.save(update_fields=["description"])


class Flaky:
    """A subscriber that fails until it is told to work."""

    def __init__(self) -> None:
        self.working = False

    def __call__(self, event: OutboxEvent) -> None:
        if not self.working:
            raise ValueError("downstream is down")
        _append("f")


@pytest.fixture
def subscribers(monkeypatch: pytest.MonkeyPatch) -> Flaky:
    flaky = Flaky()
    registered = [
        OutboxSubscriber("test.append_a", frozenset({TOPIC}), lambda event: _append("a")),
        OutboxSubscriber("test.flaky", frozenset({TOPIC}), flaky),
        OutboxSubscriber("test.other_topic", frozenset({"other"}), lambda event: _append("x")),
    ]
    monkeypatch.setattr(apps.get_app_config("shop_core"), "outbox_subscribers", lambda: registered)
    return flaky


def _description() -> str:
    return ShopProfile.objects.get().description


def test_an_event_can_only_be_recorded_inside_the_change_s_transaction(shop: Tenant) -> None:
    # given: a connection in autocommit (another thread), outside any transaction
    def record_outside() -> OutboxEvent:
        with tenant_schema(shop):
            return event_record(topic=TOPIC, payload={})

    # when / then
    with pytest.raises(RuntimeError, match="inside the transaction of the change"):
        committed(record_outside)
    assert not OutboxEvent.objects.exists()


def test_every_subscriber_of_the_topic_handles_the_event_once(
    shop: Tenant, subscribers: Flaky
) -> None:
    # given
    subscribers.working = True
    event = event_record(topic=TOPIC, payload={"order": 7})
    # when: delivered twice, as a retried task would
    first = event_deliver(event_id=event.id)
    second = event_deliver(event_id=event.id)
    # then
    assert first == ["test.append_a", "test.flaky"]
    assert second == []
    assert sorted(_description()) == ["a", "f"]
    assert OutboxEvent.objects.get(pk=event.id).settled_at is not None
    deliveries = OutboxDelivery.objects.filter(event=event).order_by("subscriber")
    assert [(d.subscriber, d.attempts, d.delivered_at is not None) for d in deliveries] == [
        ("test.append_a", 1, True),
        ("test.flaky", 1, True),
    ]


def test_a_failing_subscriber_is_retried_alone_and_its_effect_happens_once(
    shop: Tenant, subscribers: Flaky
) -> None:
    # given
    event = event_record(topic=TOPIC, payload={})
    # when: the first delivery fails for one subscriber
    with pytest.raises(OutboxDeliveryFailedError):
        event_deliver(event_id=event.id)
    failed = OutboxDelivery.objects.get(event=event, subscriber="test.flaky")
    # then the other one's effect stays, the failure is recorded, the event stays unsettled
    assert _description() == "a"
    assert (failed.attempts, failed.delivered_at) == (1, None)
    assert failed.last_error == "ValueError: downstream is down"
    assert OutboxEvent.objects.get(pk=event.id).settled_at is None
    # when: the sweep finds it once the subscriber works again
    subscribers.working = True
    settled = outbox_unsettled_deliver(older_than_s=0)
    # then
    assert settled == 1
    assert _description() == "af"
    assert OutboxEvent.objects.get(pk=event.id).settled_at is not None


def test_an_event_without_subscribers_settles(shop: Tenant, subscribers: Flaky) -> None:
    event = event_record(topic="nobody.listens", payload={})
    assert event_deliver(event_id=event.id) == []
    assert OutboxEvent.objects.get(pk=event.id).settled_at is not None


def test_a_subscriber_removed_since_a_failure_does_not_keep_the_event_open(
    shop: Tenant, subscribers: Flaky, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given: a delivery that failed for test.flaky, which a later release no longer has
    event = event_record(topic=TOPIC, payload={})
    with pytest.raises(OutboxDeliveryFailedError):
        event_deliver(event_id=event.id)
    remaining = [
        OutboxSubscriber("test.append_a", frozenset({TOPIC}), lambda event: _append("a")),
    ]
    monkeypatch.setattr(apps.get_app_config("shop_core"), "outbox_subscribers", lambda: remaining)
    # when: the sweep comes by
    settled = outbox_unsettled_deliver(older_than_s=0)
    # then: the event settles; the removed subscriber's row stays as it was (history)
    assert settled == 1
    assert OutboxEvent.objects.get(pk=event.id).settled_at is not None
    assert _description() == "a"
    assert OutboxDelivery.objects.get(event=event, subscriber="test.flaky").delivered_at is None


@pytest.mark.serial
@pytest.mark.django_db(transaction=True)
def test_concurrent_deliveries_of_one_event_apply_it_once(
    shops: dict[str, Tenant], subscribers: Flaky
) -> None:
    # given: a committed event in shop alpha
    alpha = shops["alpha"]
    subscribers.working = True

    def record() -> str:
        with tenant_schema(alpha), transaction.atomic():
            ShopProfile.objects.update(description="")
            return str(event_record(topic=TOPIC, payload={}).id)

    event_id = committed(record)

    def deliver() -> list[str]:
        with tenant_schema(alpha):
            return event_deliver(event_id=event_id)

    # when: four workers deliver it at the same moment
    results = run_in_threads([deliver] * 4)
    # then
    assert all(isinstance(result, list) for result in results), results
    assert sorted(name for result in results for name in result) == [
        "test.append_a",
        "test.flaky",
    ]

    def description() -> str:
        with tenant_schema(alpha):
            return _description()

    assert sorted(committed(description)) == ["a", "f"]

    def cleanup() -> None:
        with tenant_schema(alpha):
            OutboxEvent.objects.all().delete()
            ShopProfile.objects.update(description="")

    committed(cleanup)
