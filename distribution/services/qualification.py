"""Who becomes a distributor, by the shop's qualification setting, and the merchant's decisions.

- everyone: a member becomes one on demand (asking in the distributor center, or at their first
  share: `distributor_qualify_on_demand`).
- apply_review: the member applies (name, phone, reason); the merchant approves or rejects with
  a note; after a rejection the member may apply again.
- appointed: only the merchant appoints (`distributor_appoint`, available in every mode).
- spend_threshold: automatic once the member's paid spend net of refunds reaches the threshold
  (evaluated on order.paid and order.refunded); a refund that takes the spend back under it
  disables a distributor whom the threshold qualified, and a later payment enables them again.
- bought_product: automatic once a paid order contains one of the chosen products.

The merchant may disable and enable a distributor; a disabled one earns nothing (commissions
only go to active distributors). Every status change is recorded (DistributorStatusChange) with
who made it and why.

Paid entry (settings.paid_entry_minor > 0, a risky setting): a member who becomes a distributor
by their own request pays the fee from their store balance, or is refused with
insufficient_store_balance and nothing changes. At once (everyone, a condition met, on demand):
store balance source "distributor_entry", id "member:<id>", recorded on the status change; by
application (apply_review): id "application:<id>", recorded on the application (and its
"applied" status change), given back when the merchant rejects it (source
"distributor_entry_refund"). The automatic qualification on payments makes nobody a
distributor while a fee applies (the member claims it by applying, and pays); the merchant's
appointment is free.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from distribution.errors import (
    AlreadyADistributorError,
    ApplicationDecidedError,
    ApplicationNotFoundError,
    ApplicationPendingError,
    DistributionOffError,
    DistributorNotFoundError,
    DistributorStatusInvalidError,
    NotADistributorError,
    QualificationAppointedOnlyError,
    QualificationNotMetError,
)
from distribution.models import (
    DistributionSettings,
    Distributor,
    DistributorApplication,
    DistributorStatusChange,
    Qualification,
)
from distribution.services.bindings import distributor_make
from distribution.services.settings import distribution_settings_get
from infra.errors import ValidationFailed
from shop.customers.models import Member
from shop.customers.phones import phone_encrypt, phone_index, phone_normalize
from shop.customers.services.store_balance import store_balance_credit, store_balance_debit
from shop.orders.models import Order, OrderLine

Status = Distributor.Status
Reason = DistributorStatusChange.Reason
SYSTEM = "system"
# Where a member who is not (yet) a distributor may come from, per way of becoming one.
NOT_YET = frozenset({"", Status.APPLIED, Status.REJECTED})


@dataclass(frozen=True)
class Progress:
    """How far a member is from qualifying automatically (spend or purchase)."""

    qualified: bool
    spend_minor: int
    threshold_minor: int
    bought_product: bool


def member_net_spend_minor(*, member_id: int) -> int:
    """What the member paid for their orders, net of refunds (minor units); one query."""
    total = Order.objects.filter(member_id=member_id, paid_at__isnull=False).aggregate(
        net=Sum(F("total_minor") - F("refunded_minor"))
    )["net"]
    return int(total or 0)


def member_bought_any(*, member_id: int, product_ids: list[int]) -> bool:
    """Whether a paid order of the member holds one of the products (a line not all refunded)."""
    if not product_ids:
        return False
    return (
        OrderLine.objects.filter(
            order__member_id=member_id,
            order__paid_at__isnull=False,
            product_id__in=product_ids,
            refunded_quantity__lt=F("quantity"),
        )
        .order_by()
        .exists()
    )


def qualification_progress(
    *, member_id: int, settings: DistributionSettings | None = None
) -> Progress:
    """Whether the member meets the shop's automatic condition now, with their figures."""
    settings = settings or distribution_settings_get()
    spend = 0
    bought = False
    qualified = False
    if settings.qualification == Qualification.SPEND_THRESHOLD:
        spend = member_net_spend_minor(member_id=member_id)
        qualified = (
            spend >= settings.qualification_spend_minor
            and Order.objects.filter(member_id=member_id, paid_at__isnull=False).exists()
        )
    elif settings.qualification == Qualification.BOUGHT_PRODUCT:
        bought = member_bought_any(
            member_id=member_id, product_ids=list(settings.qualification_product_ids)
        )
        qualified = bought
    return Progress(
        qualified=qualified,
        spend_minor=spend,
        threshold_minor=settings.qualification_spend_minor,
        bought_product=bought,
    )


def _record(
    distributor: Distributor,
    *,
    before: str,
    reason: str,
    actor: str,
    note: str = "",
    entry_fee_minor: int = 0,
) -> None:
    DistributorStatusChange.objects.create(
        distributor=distributor,
        from_status=before,
        to_status=distributor.status,
        reason=reason,
        actor=actor[:64],
        note=note[:500],
        entry_fee_minor=entry_fee_minor,
    )


ENTRY_SOURCE = "distributor_entry"
ENTRY_REFUND_SOURCE = "distributor_entry_refund"


def entry_fee_due(*, settings: DistributionSettings, status: str) -> int:
    """The entry fee (minor units) a member whose distributor status is `status` ("" for
    none) pays to become a distributor now: the shop's paid entry while they are not one (nor
    waiting for review), else 0."""
    return settings.paid_entry_minor if settings.paid_entry_minor > 0 and status in NOT_YET else 0


def _entry_fee_take(*, member: Member, fee_minor: int, key: str) -> int:
    """Take the entry fee from the member's store balance once per key (raises
    insufficient_store_balance when short); the fee taken."""
    if fee_minor <= 0:
        return 0
    store_balance_debit(
        member_id=member.pk,
        amount_minor=fee_minor,
        source=ENTRY_SOURCE,
        source_id=key,
        memo="distributor entry fee",
    )
    return fee_minor


def _locked(member_id: int) -> Distributor | None:
    return Distributor.objects.select_for_update().filter(member_id=member_id).first()


def _transition(
    *,
    member: Member,
    to: str,
    reason: str,
    actor: str,
    allowed_from: frozenset[str],
    note: str = "",
    entry_fee_minor: int = 0,
) -> Distributor:
    """Move the member's distributor status to `to` (making the distributor when there is none)
    and record why (and the entry fee paid for it); a status already `to` is left as it is.
    Refuses other starting statuses ("" stands for no distributor yet)."""
    distributor = _locked(member.pk)
    if distributor is None:
        if "" not in allowed_from:
            raise NotADistributorError()
        made = distributor_make(member=member, status=to)
        distributor = Distributor.objects.select_for_update().get(pk=made.pk)
        if not DistributorStatusChange.objects.filter(distributor=distributor).exists():
            _record(
                distributor,
                before="",
                reason=reason,
                actor=actor,
                note=note,
                entry_fee_minor=entry_fee_minor,
            )
            if distributor.status == to:
                return distributor
    if distributor.status == to:
        return distributor
    if distributor.status not in allowed_from:
        raise DistributorStatusInvalidError()
    before = distributor.status
    distributor.status = to
    fields = ["status"]
    if to == Status.ACTIVE and distributor.activated_at is None:
        distributor.activated_at = timezone.now()
        fields.append("activated_at")
    distributor.save(update_fields=fields)
    _record(
        distributor,
        before=before,
        reason=reason,
        actor=actor,
        note=note,
        entry_fee_minor=entry_fee_minor,
    )
    if to == Status.ACTIVE:
        # Qualified another way (appointed, a condition met): nothing is left to review.
        DistributorApplication.objects.filter(
            member=member, status=DistributorApplication.Status.SUBMITTED
        ).update(
            status=DistributorApplication.Status.APPROVED,
            decided_by=actor[:64],
            decided_at=timezone.now(),
            note=note[:500],
        )
    return distributor


def _member(member_id: int) -> Member:
    member = Member.objects.filter(pk=member_id).first()
    if member is None:
        raise DistributorNotFoundError(_("There is no such member in this shop."))
    return member


def _activation_reason(distributor: Distributor) -> str | None:
    """Why the distributor was last made active (or disabled), from their history."""
    return (
        DistributorStatusChange.objects.filter(distributor=distributor)
        .order_by("-id")
        .values_list("reason", flat=True)
        .first()
    )


# --- The member's side


@dataclass(frozen=True)
class ApplyResult:
    distributor: Distributor
    application: DistributorApplication | None


def _application_fields(*, name: str, phone: str, reason: str) -> tuple[str, str, str]:
    fields: dict[str, list[dict[str, str]]] = {}
    name = name.strip()
    reason = reason.strip()
    if not name or len(name) > 64:
        fields["name"] = [{"code": "required", "message": _("Give your name (64 characters).")}]
    if len(reason) > 500:
        fields["reason"] = [
            {"code": "max_length", "message": _("Keep the reason under 500 characters.")}
        ]
    normalized = ""
    try:
        normalized = phone_normalize(phone or "")
    except ValidationFailed as error:
        fields.update(error.fields)
    if fields:
        raise ValidationFailed(_("Some fields are not valid."), fields=fields)
    return name, normalized, reason


@transaction.atomic
def distributor_apply(
    *, member: Member, name: str = "", phone: str = "", reason: str = ""
) -> ApplyResult:
    """The member asks to become a distributor, under the shop's qualification setting: at once
    (everyone, or a condition they meet), as an application for review (apply_review: name,
    phone and reason required), or refused with a stable code (appointed only, condition not
    met, already one, an application waiting, insufficient_store_balance for the entry fee)."""
    settings = distribution_settings_get()
    if not settings.enabled:
        raise DistributionOffError()
    current = _locked(member.pk)
    if current is not None and current.status == Status.ACTIVE:
        raise AlreadyADistributorError()
    if current is not None and current.status == Status.DISABLED:
        raise DistributorStatusInvalidError(
            _("The shop has disabled your distributor account; contact the shop.")
        )
    actor = f"member:{member.pk}"
    mode = settings.qualification
    if mode == Qualification.EVERYONE:
        distributor = _transition(
            member=member,
            to=Status.ACTIVE,
            reason=Reason.EVERYONE,
            actor=actor,
            allowed_from=NOT_YET,
            entry_fee_minor=_entry_fee_take(
                member=member, fee_minor=settings.paid_entry_minor, key=f"member:{member.pk}"
            ),
        )
        return ApplyResult(distributor, None)
    if mode == Qualification.APPOINTED:
        raise QualificationAppointedOnlyError()
    if mode in (Qualification.SPEND_THRESHOLD, Qualification.BOUGHT_PRODUCT):
        progress = qualification_progress(member_id=member.pk, settings=settings)
        if not progress.qualified:
            raise QualificationNotMetError()
        distributor = _transition(
            member=member,
            to=Status.ACTIVE,
            reason=str(mode),
            actor=actor,
            allowed_from=NOT_YET,
            entry_fee_minor=_entry_fee_take(
                member=member, fee_minor=settings.paid_entry_minor, key=f"member:{member.pk}"
            ),
        )
        return ApplyResult(distributor, None)
    name, normalized, reason = _application_fields(name=name, phone=phone, reason=reason)
    if DistributorApplication.objects.filter(
        member=member, status=DistributorApplication.Status.SUBMITTED
    ).exists():
        raise ApplicationPendingError()
    try:
        with transaction.atomic():
            application = DistributorApplication.objects.create(
                member=member,
                name=name,
                phone_encrypted=phone_encrypt(normalized),
                phone_index=phone_index(normalized),
                reason=reason,
            )
    except IntegrityError as error:  # a concurrent application of the same member won
        raise ApplicationPendingError() from error
    fee = _entry_fee_take(
        member=member, fee_minor=settings.paid_entry_minor, key=f"application:{application.pk}"
    )
    if fee:
        application.entry_fee_minor = fee
        application.save(update_fields=["entry_fee_minor"])
    distributor = _transition(
        member=member,
        to=Status.APPLIED,
        reason=Reason.APPLIED,
        actor=actor,
        allowed_from=NOT_YET,
        note=reason,
        entry_fee_minor=fee,
    )
    return ApplyResult(distributor, application)


@transaction.atomic
def distributor_qualify_on_demand(*, member: Member) -> Distributor:
    """The member's active distributor profile, made now when the shop lets them be one without
    review (everyone; or spend / purchase conditions they meet): for their first share.
    Raises NotADistributorError otherwise, and also while the shop charges an entry fee: that
    is paid only when the member applies (POST /api/v1/distribution/apply), never charged as a
    side effect of sharing."""
    current = Distributor.objects.filter(member=member).first()
    if current is not None and current.status == Status.ACTIVE:
        return current
    settings = distribution_settings_get()
    if (
        not settings.enabled
        or settings.paid_entry_minor > 0
        or (current is not None and current.status == Status.DISABLED)
    ):
        raise NotADistributorError()
    actor = f"member:{member.pk}"
    automatic = settings.qualification in (
        Qualification.SPEND_THRESHOLD,
        Qualification.BOUGHT_PRODUCT,
    )
    if settings.qualification == Qualification.EVERYONE or (
        automatic and qualification_progress(member_id=member.pk, settings=settings).qualified
    ):
        return _transition(
            member=member,
            to=Status.ACTIVE,
            reason=str(settings.qualification),
            actor=actor,
            allowed_from=NOT_YET,
        )
    raise NotADistributorError()


# --- Automatic qualification from order events


@transaction.atomic
def qualification_evaluate(*, member_id: int) -> str | None:
    """Apply the shop's automatic condition (spend threshold net of refunds, or a bought product)
    to the member after a payment or a refund; the reason of the change made, or None.

    A distributor made by the spend threshold whose spend a refund takes back under it is
    disabled (reason spend_refunded) and enabled again when a later payment reaches it; anyone
    the merchant disabled, appointed or approved is left alone.
    """
    settings = distribution_settings_get()
    mode = settings.qualification
    if not settings.enabled or mode not in (
        Qualification.SPEND_THRESHOLD,
        Qualification.BOUGHT_PRODUCT,
    ):
        return None
    member = Member.objects.filter(pk=member_id).first()
    if member is None:
        return None
    current = _locked(member_id)
    status = current.status if current is not None else ""
    progress = qualification_progress(member_id=member_id, settings=settings)
    if progress.qualified:
        if status in NOT_YET and settings.paid_entry_minor > 0:
            return None  # with an entry fee the member claims it by applying (and paying)
        if status in NOT_YET:
            _transition(
                member=member,
                to=Status.ACTIVE,
                reason=str(mode),
                actor=SYSTEM,
                allowed_from=NOT_YET,
            )
            return str(mode)
        if (
            current is not None
            and status == Status.DISABLED
            and _activation_reason(current) == Reason.SPEND_REFUNDED
        ):
            _transition(
                member=member,
                to=Status.ACTIVE,
                reason=Reason.SPEND_THRESHOLD,
                actor=SYSTEM,
                allowed_from=frozenset({Status.DISABLED}),
            )
            return str(Reason.SPEND_THRESHOLD)
        return None
    if (
        mode == Qualification.SPEND_THRESHOLD
        and current is not None
        and status == Status.ACTIVE
        and _activation_reason(current) == Reason.SPEND_THRESHOLD
    ):
        _transition(
            member=member,
            to=Status.DISABLED,
            reason=Reason.SPEND_REFUNDED,
            actor=SYSTEM,
            allowed_from=frozenset({Status.ACTIVE}),
            note=_("Refunds took the spend under the threshold."),
        )
        return str(Reason.SPEND_REFUNDED)
    return None


def on_order_paid_qualify(event: Any) -> None:
    """Outbox subscriber (order.paid): a payment may qualify the buyer."""
    qualification_evaluate(member_id=int(event.payload["member_id"]))


def on_order_refunded_qualify(event: Any) -> None:
    """Outbox subscriber (order.refunded): a refund may take the buyer's spend under the bar."""
    qualification_evaluate(member_id=int(event.payload["member_id"]))


# --- The merchant's side


def _application_locked(application_id: int) -> DistributorApplication:
    application = (
        DistributorApplication.objects.select_for_update()
        .filter(pk=application_id)
        .select_related("member")
        .first()
    )
    if application is None:
        raise ApplicationNotFoundError()
    if application.status != DistributorApplication.Status.SUBMITTED:
        raise ApplicationDecidedError()
    return application


def _decide(application: DistributorApplication, *, status: str, actor: str, note: str) -> None:
    application.status = status
    application.note = note[:500]
    application.decided_by = actor[:64]
    application.decided_at = timezone.now()
    application.save(update_fields=["status", "note", "decided_by", "decided_at"])


@transaction.atomic
def distributor_application_approve(
    *, application_id: int, actor: str, note: str = ""
) -> DistributorApplication:
    """Approve a waiting application: the member becomes an active distributor."""
    application = _application_locked(application_id)
    note = note.strip()
    _decide(application, status=DistributorApplication.Status.APPROVED, actor=actor, note=note)
    _transition(
        member=application.member,
        to=Status.ACTIVE,
        reason=Reason.APPROVED,
        actor=actor,
        allowed_from=NOT_YET,
        note=note,
    )
    return application


@transaction.atomic
def distributor_application_reject(
    *, application_id: int, actor: str, note: str
) -> DistributorApplication:
    """Reject a waiting application with a note the member sees; they may apply again. An entry
    fee paid with it goes back to the member's store balance."""
    note = note.strip()
    if not note:
        raise ValidationFailed(
            _("Some fields are not valid."),
            fields={"note": [{"code": "required", "message": _("Say why you reject it.")}]},
        )
    application = _application_locked(application_id)
    _decide(application, status=DistributorApplication.Status.REJECTED, actor=actor, note=note)
    if application.entry_fee_minor > 0:
        store_balance_credit(
            member_id=application.member_id,
            amount_minor=application.entry_fee_minor,
            source=ENTRY_REFUND_SOURCE,
            source_id=f"application:{application.pk}",
            memo="distributor entry fee returned",
        )
    current = _locked(application.member_id)
    if current is None or current.status == Status.APPLIED:
        _transition(
            member=application.member,
            to=Status.REJECTED,
            reason=Reason.REJECTED,
            actor=actor,
            allowed_from=frozenset({"", Status.APPLIED}),
            note=note,
        )
    return application


@transaction.atomic
def distributor_appoint(*, member_id: int, actor: str, note: str = "") -> Distributor:
    """The merchant makes a member an active distributor (in any qualification mode); their
    waiting application, if any, is approved with it."""
    member = _member(member_id)
    current = _locked(member_id)
    if current is not None and current.status == Status.ACTIVE:
        raise AlreadyADistributorError()
    if current is not None and current.status == Status.DISABLED:
        raise DistributorStatusInvalidError(_("This distributor is disabled: enable them."))
    note = note.strip()
    waiting = (
        DistributorApplication.objects.select_for_update()
        .filter(member_id=member_id, status=DistributorApplication.Status.SUBMITTED)
        .first()
    )
    if waiting is not None:
        _decide(waiting, status=DistributorApplication.Status.APPROVED, actor=actor, note=note)
    return _transition(
        member=member,
        to=Status.ACTIVE,
        reason=Reason.APPOINTED,
        actor=actor,
        allowed_from=NOT_YET,
        note=note,
    )


def _existing(member_id: int) -> Distributor:
    distributor = _locked(member_id)
    if distributor is None:
        raise DistributorNotFoundError()
    return distributor


@transaction.atomic
def distributor_disable(*, member_id: int, actor: str, note: str = "") -> Distributor:
    """Disable an active distributor: from now on they earn nothing (their balance stays)."""
    distributor = _existing(member_id)
    if distributor.status != Status.ACTIVE:
        raise DistributorStatusInvalidError()
    return _transition(
        member=distributor.member,
        to=Status.DISABLED,
        reason=Reason.DISABLED,
        actor=actor,
        allowed_from=frozenset({Status.ACTIVE}),
        note=note.strip(),
    )


@transaction.atomic
def distributor_enable(*, member_id: int, actor: str, note: str = "") -> Distributor:
    """Enable a disabled distributor again."""
    distributor = _existing(member_id)
    if distributor.status != Status.DISABLED:
        raise DistributorStatusInvalidError()
    return _transition(
        member=distributor.member,
        to=Status.ACTIVE,
        reason=Reason.ENABLED,
        actor=actor,
        allowed_from=frozenset({Status.DISABLED}),
        note=note.strip(),
    )
