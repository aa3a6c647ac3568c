from infra import planes


class DistributionConfig(planes.PlaneAppConfig):
    name = "distribution"
    plane = "tenant"
    verbose_name = "Distribution"

    def seed_defaults(self) -> None:
        from distribution.services.settings import distribution_settings_seed

        distribution_settings_seed()

    def outbox_subscribers(self) -> list[planes.OutboxSubscriber]:
        from distribution.services.commissions import (
            on_order_completed,
            on_order_created,
            on_order_paid,
            on_order_received,
            on_order_refunded,
        )

        return [
            planes.OutboxSubscriber(
                name="distribution.bind_on_first_order",
                topics=frozenset({"order.created"}),
                handle=on_order_created,
            ),
            planes.OutboxSubscriber(
                name="distribution.commission_book",
                topics=frozenset({"order.paid"}),
                handle=on_order_paid,
            ),
            planes.OutboxSubscriber(
                name="distribution.commission_freeze",
                topics=frozenset({"order.received"}),
                handle=on_order_received,
            ),
            planes.OutboxSubscriber(
                name="distribution.commission_release",
                topics=frozenset({"order.completed"}),
                handle=on_order_completed,
            ),
            planes.OutboxSubscriber(
                name="distribution.commission_reverse",
                topics=frozenset({"order.refunded"}),
                handle=on_order_refunded,
            ),
        ]
