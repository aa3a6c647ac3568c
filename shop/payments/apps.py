from infra import planes


class PaymentsConfig(planes.PlaneAppConfig):
    name = "shop.payments"
    label = "payments"
    plane = "tenant"
    verbose_name = "Payments"

    def outbox_subscribers(self) -> list[planes.OutboxSubscriber]:
        from shop.payments.services.subscribers import (
            after_sale_refund_send,
            cancelled_order_payments_close,
        )

        return [
            planes.OutboxSubscriber(
                name="payments.after_sale_refund",
                topics=frozenset({"after_sale.refunding"}),
                handle=after_sale_refund_send,
            ),
            planes.OutboxSubscriber(
                name="payments.cancelled_order_close",
                topics=frozenset({"order.cancelled"}),
                handle=cancelled_order_payments_close,
            ),
        ]
