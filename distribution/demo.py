"""Demo distribution for `make dev`: the whole engine in the demo shop, all made by the real
services and order events (no hand-written ledger rows or states).

Part one, the chain: five members deep, two paid orders earning at three levels, the depth cap
and a partly refunded order reversing its share of the commissions.

Part two, the engine: grades (普通 default, VIP, 区域经理) with the grade as rate source, one
distributor upgraded by the rules and one set by hand (with its audit row); a regional agent;
orders whose commissions end pending, frozen, available, withdrawn and reversed — with a
clawback (a refund after the money was withdrawn); withdrawals paid by bank card and to the
store balance, one rejected and one awaiting review; a risk hold waiting for review; a
distributor application waiting for review; this month's statements; the poster template.

Each part runs once: part one when there are no commissions yet, part two (one transaction)
when there are no grades yet, so running `demo_seed` again adds nothing.
"""

from __future__ import annotations

from datetime import timedelta
from itertools import pairwise

from django.db import transaction
from django.utils import timezone

from distribution.models import Commission, Grade, LedgerAccountKind
from distribution.services.bindings import distributor_make, referral_bind
from distribution.services.grades import grade_create, grade_set_manual
from distribution.services.ledger import ledger_balances
from distribution.services.qualification import distributor_apply, distributor_appoint
from distribution.services.regions import regional_agent_create
from distribution.services.settings import distribution_settings_get, distribution_settings_update
from distribution.services.settlement import settlement_unfreeze
from distribution.services.share import poster_template_get
from distribution.services.statements import statements_generate
from distribution.services.withdrawals import (
    Payee,
    withdrawal_approve,
    withdrawal_mark_paid,
    withdrawal_reject,
    withdrawal_request,
    withdrawal_transfer,
)
from shop.catalog.models import Sku
from shop.core.selectors import shop_context
from shop.customers.models import Member, MemberLogin
from shop.customers.phones import phone_encrypt, phone_index
from shop.customers.services.addresses import AddressFields, address_create
from shop.customers.services.login import member_login_record
from shop.events.models import OutboxEvent
from shop.events.services import event_deliver
from shop.orders.models import Order
from shop.orders.services.after_sales import AfterSaleItem, after_sale_approve, after_sale_request
from shop.orders.services.checkout import CheckoutItem, Client, order_checkout
from shop.orders.services.orders import order_receive, order_ship
from shop.payments.models import Refund
from shop.payments.services.payments import payment_sandbox_confirm, payment_start
from shop.payments.services.refunds import refund_submit

Address = tuple[str, str, str, str]
HANGZHOU: Address = ("浙江省", "杭州市", "西湖区", "文三路 90 号")
SHENZHEN: Address = ("广东省", "深圳市", "福田区", "深南大道 6008 号")
ACTOR = "demo"

# Top of the chain first; the last one buys. Five levels: the top one is beyond the cap of 3.
CHAIN = (
    ("+8613900139001", "总代 Top"),
    ("+8613900139002", "区域 Region"),
    ("+8613900139003", "店长 Lead"),
    ("+8613900139004", "分享 Sharer"),
    ("+8613900139005", "买家 Buyer"),
)
# Part two: two more customers of the Sharer (their third invite makes the Sharer VIP) and a
# member who applies to become a distributor.
CUSTOMER_A = ("+8613900139006", "新客 A", SHENZHEN)  # ships to the regional agent's city
CUSTOMER_B = ("+8613900139007", "新客 B", HANGZHOU)  # orders on the Sharer's phone: held
APPLICANT = ("+8613900139008", "申请 Applicant", HANGZHOU)
# The Sharer logged in on this phone, and customer B orders on it: a shared device.
SHARED_DEVICE = "demo-shared-phone"


def _member(phone: str, nickname: str, address: Address = HANGZHOU) -> Member:
    member, created = Member.objects.get_or_create(
        phone_index=phone_index(phone),
        defaults={"phone_encrypted": phone_encrypt(phone), "nickname": nickname},
    )
    if created:
        province, city, district, detail = address
        address_create(
            member=member,
            fields=AddressFields(
                recipient_name=nickname,
                phone=phone,
                province=province,
                city=city,
                district=district,
                detail=detail,
                postal_code="",
            ),
            is_default=True,
        )
    return member


def _deliver() -> None:
    for event_id in OutboxEvent.objects.filter(settled_at__isnull=True).values_list(
        "pk", flat=True
    ):
        event_deliver(event_id=event_id)


def _paid_order(member: Member, sku: Sku, quantity: int, device_id: str) -> Order:
    """Checkout and a sandbox payment, then the order events (commissions are booked)."""
    order = order_checkout(
        member=member,
        items=[CheckoutItem(sku_id=sku.pk, quantity=quantity)],
        address_id=member.addresses.get(is_default=True).pk,
        client=Client(channel="miniprogram", device_id=device_id, ip="127.0.0.1"),
    )
    started = payment_start(order=order, method="sandbox", notify_url="http://demo/")
    payment_sandbox_confirm(order=order, out_trade_no=started.payment.out_trade_no)
    _deliver()
    order.refresh_from_db()
    return order


def _received(order: Order, tracking_number: str) -> Order:
    """Shipped and received now (its commissions freeze)."""
    order_ship(
        order=order, carrier="顺丰速运 SF Express", tracking_number=tracking_number, actor=ACTOR
    )
    order_receive(order=order, actor=f"member:{order.member_id}")
    _deliver()
    order.refresh_from_db()
    return order


def _refund(order: Order, items: list[AfterSaleItem], reason: str) -> None:
    """Refund units of the order (refund only) through the after-sale flow and the refund
    gateway; the order.refunded event reverses their commissions."""
    after_sale = after_sale_request(
        order=order,
        kind="refund_only",
        reason=reason,
        items=items,
        actor=f"member:{order.member_id}",
    )
    after_sale_approve(after_sale=after_sale, actor=ACTOR)
    _deliver()
    for refund_id in Refund.objects.filter(status=Refund.Status.PENDING).values_list(
        "pk", flat=True
    ):
        refund_submit(refund_id=refund_id)
    _deliver()  # order.refunded → commissions reversed (a clawback where already withdrawn)


def _available(member: Member) -> int:
    return ledger_balances(member_id=member.pk).get(LedgerAccountKind.COMMISSION_AVAILABLE, 0)


def _chain_seed(sku: Sku) -> None:
    """Part one: the chain, its two orders and a partial refund."""
    with transaction.atomic():
        distribution_settings_update(
            changes={
                "enabled": True,
                "depth": 3,
                "level_rates": [1000, 500, 200],
                "overwrite": "always",
            },
            actor=ACTOR,
        )
        members = [_member(phone, name) for phone, name in CHAIN]
        # Each upline was appointed by the shop (their status history says so); each member
        # below bound to them by a share link.
        for upline, member in pairwise(members):
            distributor = distributor_appoint(
                member_id=upline.pk, actor=ACTOR, note="演示链 / Demo chain"
            )
            referral_bind(member=member, code=distributor.code, trigger="first_visit")
        buyer = members[-1]
        orders = []
        for quantity in (2, 1):
            order = order_checkout(
                member=buyer,
                items=[CheckoutItem(sku_id=sku.pk, quantity=quantity)],
                address_id=buyer.addresses.get(is_default=True).pk,
                client=Client(channel="miniprogram", device_id="demo-chain", ip="127.0.0.1"),
            )
            started = payment_start(order=order, method="sandbox", notify_url="http://demo/")
            payment_sandbox_confirm(order=order, out_trade_no=started.payment.out_trade_no)
            orders.append(order)
    _deliver()  # commissions booked from order.paid
    # One unit of the first order is refunded: its commissions are reversed pro rata.
    refunded = orders[0]
    _refund(refunded, [AfterSaleItem(refunded.lines.get().pk, 1)], "演示退款 / Demo refund")


def _grades_seed() -> Grade:
    """普通 (default), VIP (three invites) and 区域经理 (all of five invites and ¥10,000 of team
    sales, kept while the team sells ¥3,000 in 90 days): each with its own rates; the last."""
    grade_create(
        values={"name": "普通", "rank": 0, "is_default": True, "level_rates": [1000, 500, 200]}
    )
    grade_create(
        values={"name": "VIP", "rank": 10, "level_rates": [1200, 600, 300], "invites_min": 3}
    )
    return grade_create(
        values={
            "name": "区域经理",
            "rank": 20,
            "level_rates": [1500, 800, 400],
            "condition_mode": Grade.Mode.ALL,
            "invites_min": 5,
            "team_spend_min_minor": 1_000_000,
            "retention_days": 90,
            "retention_team_spend_min_minor": 300_000,
        }
    )


def _engine_seed(sku: Sku) -> None:
    """Part two (see the module's docstring), in one transaction."""
    _top, region, lead, sharer, _buyer = (
        Member.objects.get(phone_index=phone_index(phone)) for phone, _name in CHAIN
    )
    distribution_settings_update(
        changes={
            # Commissions at the rates of the earner's grade.
            "rate_source": "grade",
            # Members ask to become distributors and the shop reviews them (the chain's members
            # were appointed; the applicant below waits for review).
            "qualification": "apply_review",
            # A refund of money already withdrawn is taken from not-yet-available earnings.
            "clawback": "reverse_pending",
            "withdrawal_channels": ["bank_card", "store_balance"],
            "withdrawal_min_minor": 100,
            "withdrawal_fee_bp": 100,
            "withdrawal_review": True,
            "withdrawal_daily_limit_minor": 1_000_000,
        },
        actor=ACTOR,
    )
    manager = _grades_seed()
    # The Region member runs the 深圳 region and is 区域经理 by the merchant's decision (the
    # grade's conditions are far off): a manual override, locked, with its audit row.
    grade_set_manual(
        member_id=region.pk,
        grade_id=manager.pk,
        actor=ACTOR,
        note="演示: 负责深圳市的区域代理 / Demo: runs the Shenzhen region",
    )
    regional_agent_create(member_id=region.pk, province="广东省", city="深圳市", rate_bp=300)

    # Two new customers bind to the Sharer: with the Buyer that is three invites, and the
    # binding's grade evaluation upgrades the Sharer to VIP (an automatic GradeChange).
    code = distributor_make(member=sharer).code
    phone, name, address = CUSTOMER_A
    customer_a = _member(phone, name, address)
    phone, name, address = CUSTOMER_B
    customer_b = _member(phone, name, address)
    for customer in (customer_a, customer_b):
        referral_bind(member=customer, code=code, trigger="first_visit")

    # Customer A (shipping to 深圳: the regional agent earns too) buys twice; both orders are
    # received, and the settlement, run as if the freeze days had passed, makes their
    # commissions available. (The run is keyed by that future hour: the real hourly job of that
    # hour finds it done and the next hour's job goes on as usual.)
    _received(_paid_order(customer_a, sku, 1, "demo-a-phone"), "SF2000000001")
    refunded = _received(_paid_order(customer_a, sku, 1, "demo-a-phone"), "SF2000000002")
    freeze_days = distribution_settings_get().freeze_days
    settlement_unfreeze(at=timezone.now() + timedelta(days=freeze_days, hours=1))
    # A third order, paid: pending until received (below), then frozen for the freeze days.
    third = _paid_order(customer_a, sku, 2, "demo-a-phone")

    # The Sharer withdraws everything to a bank card; the merchant pays it offline.
    by_card = withdrawal_request(
        member=sharer,
        amount_minor=_available(sharer),
        channel="bank_card",
        payee=Payee(
            account_name="分享 Sharer",
            bank_name="招商银行 China Merchants Bank",
            account_number="6225880212345678",
            branch="杭州分行",
        ),
        idempotency_key="demo-sharer-card",
    )
    withdrawal_approve(withdrawal_id=by_card.pk, actor=ACTOR)
    withdrawal_mark_paid(withdrawal_id=by_card.pk, actor=ACTOR, reference="CMB-DEMO-0001")
    # The Lead takes everything into the shop's store balance (usable at checkout).
    to_balance = withdrawal_request(
        member=lead,
        amount_minor=_available(lead),
        channel="store_balance",
        idempotency_key="demo-lead-balance",
    )
    withdrawal_approve(withdrawal_id=to_balance.pk, actor=ACTOR)
    withdrawal_transfer(withdrawal_id=to_balance.pk)

    # The second order is refunded after its commissions were withdrawn: a clawback, taken
    # from the earnings not yet available (the shop's policy reverse_pending).
    _refund(
        refunded,
        [AfterSaleItem(line.pk, line.quantity) for line in refunded.lines.all()],
        "演示: 提现后退款 / Demo: refunded after the withdrawal",
    )
    _received(third, "SF2000000003")

    # The Region member: a withdrawal refused (its money goes back), another awaiting review.
    refused = withdrawal_request(
        member=region,
        amount_minor=_available(region),
        channel="bank_card",
        payee=Payee(
            account_name="区域 Region",
            bank_name="工商银行 ICBC",
            account_number="6222020200012345",
        ),
        idempotency_key="demo-region-refused",
    )
    withdrawal_reject(
        withdrawal_id=refused.pk,
        actor=ACTOR,
        reason="开户名与会员姓名不符 / The account holder's name does not match",
    )
    withdrawal_request(
        member=region,
        amount_minor=_available(region) // 2,
        channel="store_balance",
        idempotency_key="demo-region-waiting",
    )

    # A risk hold: the Sharer logged in on a phone that customer B then orders on (shared
    # device); the Sharer's commission on that order waits for the merchant's review.
    member_login_record(
        member=sharer,
        method=MemberLogin.Method.PHONE_CODE,
        device_id=SHARED_DEVICE,
        ip=None,
        user_agent="demo",
    )
    _paid_order(customer_b, sku, 1, SHARED_DEVICE)

    # A member applies to become a distributor (the shop reviews applications).
    phone, name, address = APPLICANT
    distributor_apply(
        member=_member(phone, name, address),
        name="陈申请",
        phone=phone,
        reason="我在杭州开茶馆, 想推荐给客人 / I run a tea house and want to recommend the shop",
    )
    # This month's statements (the monthly job writes last month's on the 1st).
    statements_generate(month=timezone.localdate(timezone=shop_context().time_zone))


def distribution_demo_seed() -> int:
    """Make the demo distribution once (each part when missing); how many commissions made."""
    sku = Sku.objects.filter(is_active=True, stock__gte=10).order_by("id").first()
    if sku is None:
        return 0
    poster_template_get()  # the default poster template (seeded with the shop; kept)
    before = Commission.objects.count()
    if not before:
        _chain_seed(sku)
    if not Grade.objects.exists():
        with transaction.atomic():
            _engine_seed(sku)
    return Commission.objects.count() - before
