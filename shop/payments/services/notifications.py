"""Providers' notifications: verified on the raw body, stored once, answered fast, processed once.

`notification_receive` runs in the request: the gateway verifies the signature on the raw body
and refuses stale notifications (older than settings.PAYMENT_NOTIFICATION_MAX_AGE_S); the
notification is inserted under a unique (gateway, event id), so duplicates and concurrent
deliveries never reach a payment's row lock, and a Celery task processes it after the commit.
`notification_process` claims the row (SKIP LOCKED), applies the payment or refund state it
carries and records the outcome; the sweep processes what a lost task left.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from shop.payments.errors import NotificationInvalidError
from shop.payments.gateways import gateway_get
from shop.payments.gateways.base import NotificationRejected
from shop.payments.lock_objects import notification_claim
from shop.payments.models import PaymentNotification
from shop.payments.services.payments import payment_apply_state
from shop.payments.services.refunds import refund_apply_state

logger = logging.getLogger(__name__)
Outcome = PaymentNotification.Outcome


def notification_receive(
    *, gateway: str, headers: dict[str, str], body: bytes
) -> PaymentNotification | None:
    """Verify and store a notification; None when it was stored before (a duplicate).

    NotificationInvalidError (nothing stored) when it is not genuine, stale or malformed.
    """
    try:
        verified = gateway_get(gateway).notification_verify(headers=headers, body=body)
    except NotificationRejected as error:
        logger.warning("%s notification rejected: %s (%s)", gateway, error.code, error)
        raise NotificationInvalidError(code=error.code) from error
    resource = dict(verified.resource)
    if verified.payment is not None:
        resource["_payment"] = {
            "out_trade_no": verified.payment.out_trade_no,
            "status": verified.payment.status,
            "amount_minor": verified.payment.amount_minor,
            "currency": verified.payment.currency,
            "provider_ref": verified.payment.provider_ref,
            "payer_ref": verified.payment.payer_ref,
            "paid_at": verified.payment.paid_at.isoformat() if verified.payment.paid_at else None,
        }
    if verified.refund is not None:
        resource["_refund"] = {
            "out_refund_no": verified.refund.out_refund_no,
            "status": verified.refund.status,
            "amount_minor": verified.refund.amount_minor,
            "provider_ref": verified.refund.provider_ref,
            "failure": verified.refund.failure,
        }
    try:
        with transaction.atomic():
            notification = PaymentNotification.objects.create(
                gateway=gateway,
                event_id=verified.event_id,
                event_type=verified.event_type,
                body=body.decode("utf-8", errors="replace"),
                resource=resource,
            )
            notification_id = notification.pk
            transaction.on_commit(lambda: _process_later(notification_id))
    except IntegrityError:
        return None  # delivered before (or right now, by another of the provider's servers)
    return notification


def _process_later(notification_id: int) -> None:
    from shop.payments.tasks import payment_notification_process_task

    try:
        payment_notification_process_task.apply_async(args=[notification_id], retry=False)
    except Exception:  # the sweep processes it
        logger.warning("could not enqueue notification %s", notification_id, exc_info=True)


def notification_process(*, notification_id: int) -> str | None:
    """Apply a stored notification once; its outcome, or None if processed (or being) already."""
    from shop.payments.gateways.base import PaymentState, RefundState

    with transaction.atomic():
        notification = notification_claim(notification_id=notification_id)
        if notification is None:
            return None
        outcome: str = Outcome.IGNORED
        payment = notification.resource.get("_payment")
        refund = notification.resource.get("_refund")
        if payment is not None:
            paid_at = payment.get("paid_at")
            outcome = payment_apply_state(
                state=PaymentState(
                    out_trade_no=payment["out_trade_no"],
                    status=payment["status"],
                    amount_minor=int(payment["amount_minor"]),
                    currency=payment["currency"],
                    provider_ref=payment.get("provider_ref", ""),
                    payer_ref=payment.get("payer_ref", ""),
                    paid_at=datetime.fromisoformat(paid_at) if paid_at else None,
                ),
                source=f"{notification.gateway} notification {notification.event_id}",
            )
        elif refund is not None:
            outcome = refund_apply_state(
                state=RefundState(
                    out_refund_no=refund["out_refund_no"],
                    status=refund["status"],
                    amount_minor=int(refund["amount_minor"]),
                    provider_ref=refund.get("provider_ref", ""),
                    failure=refund.get("failure", ""),
                ),
                source=f"{notification.gateway} notification {notification.event_id}",
            )
        PaymentNotification.objects.filter(pk=notification.pk).update(
            processed_at=timezone.now(), outcome=outcome
        )
        return outcome


def notifications_unprocessed_process(*, older_than_s: float = 60, limit: int = 500) -> int:
    """Process notifications a lost task left behind (the sweep); how many were processed."""
    cutoff = timezone.now() - timedelta(seconds=older_than_s)
    done = 0
    for notification_id in (
        PaymentNotification.objects.filter(processed_at__isnull=True, received_at__lte=cutoff)
        .order_by("received_at")
        .values_list("pk", flat=True)[:limit]
    ):
        if notification_process(notification_id=notification_id) is not None:
            done += 1
    return done
