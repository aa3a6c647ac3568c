"""What payments do when orders change (outbox subscribers, declared on the AppConfig)."""

from __future__ import annotations

import logging
from typing import Any

from shop.core.selectors import shop_context
from shop.payments.gateways import gateway_get
from shop.payments.gateways.base import GatewayError
from shop.payments.models import Gateway, Payment, Refund
from shop.payments.services.payments import payment_apply_state
from shop.payments.services.refunds import refund_create

logger = logging.getLogger(__name__)


def after_sale_refund_send(event: Any) -> None:
    """An after-sale was approved for refund: refund it on the payment that paid the order.

    The refund's reference is the request's (`AS<id>`), so a redelivered event is the same refund.
    """
    payload = event.payload
    payment = Payment.objects.filter(order_id=payload["order_id"], paid_order=True).first()
    if payment is None:
        logger.error(
            "after-sale %s: order %s has no payment", payload["after_sale_id"], payload["order_id"]
        )
        return
    refund_create(
        payment=payment,
        amount_minor=int(payload["amount_minor"]),
        reason=Refund.Reason.AFTER_SALE,
        out_refund_no=f"{payment.out_trade_no}AS{payload['after_sale_id']}",
        requested_by=str(payload.get("actor", "")),
        after_sale_id=int(payload["after_sale_id"]),
    )


def cancelled_order_payments_close(event: Any) -> None:
    """An order was cancelled: close its attempts still open at the provider.

    A payment that succeeds anyway (the payer was faster than the close) is refunded by
    payment_apply_state.
    """
    tenant_id = shop_context().tenant_id
    for payment in Payment.objects.filter(
        order_id=event.payload["order_id"], status=Payment.Status.PENDING
    ):
        if payment.gateway in (Gateway.WECHATPAY, Gateway.STRIPE):
            gateway = gateway_get(payment.gateway)
            try:
                gateway.payment_close(tenant_id=tenant_id, out_trade_no=payment.out_trade_no)
            except GatewayError as error:
                if error.code != "already_paid":
                    logger.warning("closing payment %s failed", payment.out_trade_no, exc_info=True)
                    raise
                # Paid before the close arrived: apply it now (refunded, the order is cancelled)
                # rather than wait for a notification that may be lost.
                payment_apply_state(
                    state=gateway.payment_query(
                        tenant_id=tenant_id, out_trade_no=payment.out_trade_no
                    ),
                    source="close",
                )
                continue
        Payment.objects.filter(pk=payment.pk, status=Payment.Status.PENDING).update(
            status=Payment.Status.CLOSED
        )
