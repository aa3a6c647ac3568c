"""Carts, orders, their lines and history, and after-sale requests of one shop.

Amounts are integer minor units of the shop's currency (ARCHITECTURE §4). An order line is a
snapshot of what was bought: later changes of the product change nothing in the order.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q


class CartItem(models.Model):
    """A SKU in a member's cart, with the referral context of the visit that added it."""

    member = models.ForeignKey(
        "customers.Member", on_delete=models.CASCADE, related_name="cart_items"
    )
    sku = models.ForeignKey("catalog.Sku", on_delete=models.CASCADE, related_name="+")
    quantity = models.PositiveIntegerField()
    # The share link or code the member came through when adding it ("" when none).
    referral_code = models.CharField(max_length=64, blank=True, default="")
    referral_link = models.CharField(max_length=500, blank=True, default="")
    added_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-added_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["member", "sku"], name="orders_cart_one_line_per_sku"),
            models.CheckConstraint(condition=Q(quantity__gte=1), name="orders_cart_quantity_gte_1"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x SKU {self.sku_id} for member {self.member_id}"


class OrderStatus(models.TextChoices):
    PENDING_PAYMENT = "pending_payment"
    PAID = "paid"
    SHIPPED = "shipped"
    RECEIVED = "received"
    COMPLETED = "completed"
    CANCELLED = "cancelled"  # before payment: by the member, the merchant or the timeout
    CLOSED = "closed"  # after payment, everything refunded


class OrderType(models.TextChoices):
    """What kind of sale an order is: checkout makes normal orders; the marketing features
    (group buying, bargaining, flash sales, the points mall) make their own kinds."""

    NORMAL = "normal"
    GROUP_BUY = "group_buy"
    BARGAIN = "bargain"
    FLASH_SALE = "flash_sale"
    POINTS_EXCHANGE = "points_exchange"


class Order(models.Model):
    number = models.CharField(max_length=32, unique=True)
    order_type = models.CharField(
        max_length=16, choices=OrderType.choices, default=OrderType.NORMAL
    )
    member = models.ForeignKey("customers.Member", on_delete=models.PROTECT, related_name="orders")
    status = models.CharField(
        max_length=16, choices=OrderStatus.choices, default=OrderStatus.PENDING_PAYMENT
    )
    currency = models.CharField(max_length=3)
    items_minor = models.BigIntegerField()  # sum of unit price x quantity
    discount_minor = models.BigIntegerField(default=0)
    shipping_minor = models.BigIntegerField(default=0)
    total_minor = models.BigIntegerField()  # what the member pays
    refunded_minor = models.BigIntegerField(default=0)
    # The shipping address, copied (the member may change or delete theirs).
    recipient_name = models.CharField(max_length=64)
    recipient_phone_encrypted = models.TextField()
    province = models.CharField(max_length=64)
    city = models.CharField(max_length=64)
    district = models.CharField(max_length=64, blank=True, default="")
    address_detail = models.CharField(max_length=255)
    postal_code = models.CharField(max_length=16, blank=True, default="")
    buyer_note = models.CharField(max_length=200, blank=True, default="")
    # A referral code (推荐码) the buyer typed at checkout: it outranks the share links the
    # lines carry and the buyer's bound upline when the order's commissions are decided.
    referral_code = models.CharField(max_length=64, blank=True, default="")
    merchant_note = models.CharField(max_length=500, blank=True, default="")
    # Risk control: where the order came from.
    channel = models.CharField(max_length=16, default="h5")
    device_id = models.CharField(max_length=128, blank=True, default="")
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=512, blank=True, default="")
    pay_deadline = models.DateTimeField()
    carrier = models.CharField(max_length=64, blank=True, default="")
    tracking_number = models.CharField(max_length=64, blank=True, default="")
    auto_receive_at = models.DateTimeField(null=True, blank=True)
    complete_at = models.DateTimeField(null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    shipped_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancel_reason = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(
                    items_minor__gte=0,
                    discount_minor__gte=0,
                    shipping_minor__gte=0,
                    total_minor__gte=0,
                    refunded_minor__gte=0,
                ),
                name="orders_order_amounts_gte_0",
            ),
            models.CheckConstraint(
                condition=Q(
                    total_minor=models.F("items_minor")
                    - models.F("discount_minor")
                    + models.F("shipping_minor")
                ),
                name="orders_order_total_adds_up",
            ),
            models.CheckConstraint(
                condition=Q(refunded_minor__lte=models.F("total_minor")),
                name="orders_order_refund_within_total",
            ),
        ]
        indexes = [
            models.Index(fields=["member", "-created_at"], name="orders_order_member_idx"),
            models.Index(fields=["status", "-created_at"], name="orders_order_status_idx"),
            # Risk rules (distribution) look up who else ordered from a device.
            models.Index(
                fields=["device_id", "created_at"],
                name="orders_order_device_idx",
                condition=~Q(device_id=""),
            ),
            models.Index(
                fields=["pay_deadline"],
                name="orders_order_unpaid_idx",
                condition=Q(status="pending_payment"),
            ),
            models.Index(
                fields=["auto_receive_at"],
                name="orders_order_shipped_idx",
                condition=Q(status="shipped"),
            ),
            models.Index(
                fields=["complete_at"],
                name="orders_order_received_idx",
                condition=Q(status="received"),
            ),
        ]

    def __str__(self) -> str:
        return self.number


class OrderLine(models.Model):
    """What was bought, as it was: title, options and prices are copies, not references."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    sku = models.ForeignKey("catalog.Sku", on_delete=models.PROTECT, related_name="+")
    product_id = models.BigIntegerField()
    sku_code = models.CharField(max_length=64)
    title = models.CharField(max_length=200)
    # [{"name": "颜色", "value": "红"}, …] in the product's option order.
    options = models.JSONField(default=list)
    image = models.CharField(max_length=500, blank=True, default="")  # thumbnail's storage name
    unit_price_minor = models.BigIntegerField()
    quantity = models.PositiveIntegerField()
    discount_minor = models.BigIntegerField(default=0)  # the line's share of order discounts
    # unit price x quantity - discount: what the member paid for the line, shipping excluded.
    paid_minor = models.BigIntegerField()
    weight_grams = models.PositiveIntegerField(default=0)  # of one unit
    shipping_template_id = models.BigIntegerField(null=True, blank=True)
    referral_code = models.CharField(max_length=64, blank=True, default="")
    referral_link = models.CharField(max_length=500, blank=True, default="")
    refunded_quantity = models.PositiveIntegerField(default=0)
    refunded_minor = models.BigIntegerField(default=0)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gte=1), name="orders_line_quantity_gte_1"),
            models.CheckConstraint(
                condition=Q(
                    paid_minor=models.F("unit_price_minor") * models.F("quantity")
                    - models.F("discount_minor")
                ),
                name="orders_line_paid_adds_up",
            ),
            models.CheckConstraint(
                condition=Q(
                    refunded_quantity__lte=models.F("quantity"),
                    refunded_minor__lte=models.F("paid_minor"),
                    refunded_minor__gte=0,
                ),
                name="orders_line_refund_within_line",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.title}"


class OrderTransition(models.Model):
    """One change of an order's status, with who made it and why (append-only)."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="transitions")
    from_status = models.CharField(max_length=16, blank=True, default="")
    to_status = models.CharField(max_length=16)
    # "member:12", "account:3", "system"
    actor = models.CharField(max_length=64)
    note = models.CharField(max_length=500, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.order_id}: {self.from_status} → {self.to_status}"


class AfterSale(models.Model):
    """A member's request to have money back (and maybe to send goods back) for some lines."""

    class Kind(models.TextChoices):
        REFUND_ONLY = "refund_only"
        RETURN_REFUND = "return_refund"

    class Status(models.TextChoices):
        REQUESTED = "requested"
        AWAITING_RETURN = "awaiting_return"  # approved; the member sends the goods back
        RETURN_SHIPPED = "return_shipped"
        REFUNDING = "refunding"  # approved (and goods back): the refund is on its way
        REFUNDED = "refunded"
        REJECTED = "rejected"
        WITHDRAWN = "withdrawn"

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="after_sales")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.REQUESTED)
    reason = models.CharField(max_length=200)
    amount_minor = models.BigIntegerField()
    # Whether the refunded units go back on sale (goods returned, or never shipped).
    restock = models.BooleanField(default=False)
    return_carrier = models.CharField(max_length=64, blank=True, default="")
    return_tracking_number = models.CharField(max_length=64, blank=True, default="")
    merchant_note = models.CharField(max_length=500, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    refunded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount_minor__gt=0), name="orders_after_sale_amount_gt_0"
            ),
        ]
        indexes = [models.Index(fields=["status", "-created_at"], name="orders_after_sale_idx")]

    def __str__(self) -> str:
        return f"After-sale {self.pk} of order {self.order_id}"


# Open after-sale requests: their units are neither refundable again nor shippable meanwhile, and
# their order does not complete.
OPEN_AFTER_SALE = (
    AfterSale.Status.REQUESTED,
    AfterSale.Status.AWAITING_RETURN,
    AfterSale.Status.RETURN_SHIPPED,
    AfterSale.Status.REFUNDING,
)


class AfterSaleLine(models.Model):
    after_sale = models.ForeignKey(AfterSale, on_delete=models.CASCADE, related_name="lines")
    order_line = models.ForeignKey(OrderLine, on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField()
    amount_minor = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["after_sale", "order_line"], name="orders_after_sale_line_unique"
            ),
            models.CheckConstraint(
                condition=Q(quantity__gte=1, amount_minor__gte=0),
                name="orders_after_sale_line_positive",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} of line {self.order_line_id}"
