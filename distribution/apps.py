from infra import planes


class DistributionConfig(planes.PlaneAppConfig):
    name = "distribution"
    plane = "tenant"
    verbose_name = "Distribution"

    def seed_defaults(self) -> None:
        from distribution.services.settings import distribution_settings_seed
        from distribution.services.share import poster_template_seed

        distribution_settings_seed()
        poster_template_seed()

    def outbox_subscribers(self) -> list[planes.OutboxSubscriber]:
        from distribution.services.commissions import (
            on_order_created,
            on_order_paid,
            on_order_received,
            on_order_refunded,
        )
        from distribution.services.grades import on_order_for_grades
        from distribution.services.invites import on_order_paid_invite
        from distribution.services.qualification import (
            on_order_paid_qualify,
            on_order_refunded_qualify,
        )
        from distribution.services.regions import on_order_paid_region

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
                name="distribution.region_book",
                topics=frozenset({"order.paid"}),
                handle=on_order_paid_region,
            ),
            planes.OutboxSubscriber(
                name="distribution.invite_reward_book",
                topics=frozenset({"order.paid"}),
                handle=on_order_paid_invite,
            ),
            planes.OutboxSubscriber(
                name="distribution.commission_freeze",
                topics=frozenset({"order.received"}),
                handle=on_order_received,
            ),
            # No subscriber on order.completed: frozen → available is the settlement's, after
            # the shop's freeze days (distribution.services.settlement, Celery beat).
            planes.OutboxSubscriber(
                name="distribution.commission_reverse",
                topics=frozenset({"order.refunded"}),
                handle=on_order_refunded,
            ),
            planes.OutboxSubscriber(
                name="distribution.qualify_on_payment",
                topics=frozenset({"order.paid"}),
                handle=on_order_paid_qualify,
            ),
            planes.OutboxSubscriber(
                name="distribution.qualify_on_refund",
                topics=frozenset({"order.refunded"}),
                handle=on_order_refunded_qualify,
            ),
            planes.OutboxSubscriber(
                name="distribution.grades_evaluate",
                topics=frozenset({"order.paid", "order.completed"}),
                handle=on_order_for_grades,
            ),
        ]
