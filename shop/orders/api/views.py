"""The members' cart, checkout, orders and after-sale API (under /api/v1/ on the shop host).

Responses are built as plain data by the functions below; the nested OutputSerializers
document them in the OpenAPI schema. Checkout honours `Idempotency-Key` (shop.core.idempotency).
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from infra.api.pagination import PagePagination, page_of, page_parameters
from shop.catalog.selectors.skus import catalog_file_url
from shop.core.idempotency import idempotent
from shop.customers.api.authentication import request_member
from shop.customers.api.views import MemberApi, client_ip
from shop.customers.models import Member
from shop.customers.selectors.addresses import address_get, address_list
from shop.orders.models import AfterSale, Order, OrderStatus
from shop.orders.pricing import Quote
from shop.orders.selectors import (
    cart_item_buyable,
    cart_items,
    member_after_sale_get,
    member_order_get,
    member_orders,
)
from shop.orders.services.after_sales import (
    AfterSaleItem,
    after_sale_request,
    after_sale_return_ship,
    after_sale_withdraw,
)
from shop.orders.services.cart import cart_item_add, cart_item_set
from shop.orders.services.checkout import CheckoutItem, Client, order_checkout, order_quote
from shop.orders.services.orders import order_cancel, order_receive

IDEMPOTENCY_HEADER = OpenApiParameter(
    "Idempotency-Key",
    str,
    OpenApiParameter.HEADER,
    required=False,
    description="Repeat a request safely: the first result is returned for the same key.",
)


def quote_data(quote: Quote) -> dict[str, Any]:
    return {
        "currency": quote.currency,
        "items_minor": quote.items_minor,
        "discount_minor": quote.discount_minor,
        "shipping_minor": quote.shipping_minor,
        "total_minor": quote.total_minor,
        "shipping_known": quote.shipping_known,
        "adjustments": [
            {"code": a.code, "label": a.label, "amount_minor": a.amount_minor}
            for a in quote.adjustments
        ],
    }


class QuoteSerializer(serializers.Serializer[Any]):
    class Meta:
        ref_name = "OrderQuote"

    class AdjustmentSerializer(serializers.Serializer[Any]):
        class Meta:
            ref_name = "OrderQuoteAdjustment"

        code = serializers.CharField()
        label = serializers.CharField()  # type: ignore[assignment]
        amount_minor = serializers.IntegerField()

    currency = serializers.CharField()
    items_minor = serializers.IntegerField()
    discount_minor = serializers.IntegerField()
    shipping_minor = serializers.IntegerField()
    total_minor = serializers.IntegerField()
    shipping_known = serializers.BooleanField()
    adjustments = AdjustmentSerializer(many=True)


def _default_province(member: Member) -> str | None:
    address = address_list(member=member).first()
    return address.province if address else None


def cart_data(member: Member) -> dict[str, Any]:
    rows = cart_items(member=member)
    items = []
    buyable: list[CheckoutItem] = []
    for item, sku in rows:
        available = cart_item_buyable(item, sku)
        items.append(
            {
                "sku_id": item.sku_id,
                "product_id": sku.product_id if sku else None,
                "title": sku.title if sku else "",
                "options": sku.options if sku else [],
                "thumbnail_url": catalog_file_url(sku.image) if sku else None,
                "unit_price_minor": sku.price_minor if sku else None,
                "quantity": item.quantity,
                "stock": sku.stock if sku else 0,
                "available": available,
                "referral_code": item.referral_code,
            }
        )
        if available:
            buyable.append(CheckoutItem(item.sku_id, item.quantity, item.referral_code))
    quote = (
        quote_data(order_quote(member=member, items=buyable, province=_default_province(member)))
        if buyable
        else None
    )
    return {"items": items, "quote": quote}


class CartItemSerializer(serializers.Serializer[Any]):
    class Meta:
        ref_name = "CartItem"

    sku_id = serializers.IntegerField()
    product_id = serializers.IntegerField(allow_null=True)
    title = serializers.CharField()
    options = serializers.ListField(child=serializers.DictField(child=serializers.CharField()))
    thumbnail_url = serializers.CharField(allow_null=True)
    unit_price_minor = serializers.IntegerField(allow_null=True)
    quantity = serializers.IntegerField()
    stock = serializers.IntegerField()
    available = serializers.BooleanField()
    referral_code = serializers.CharField()


class CartSerializer(serializers.Serializer[Any]):
    class Meta:
        ref_name = "Cart"

    items = CartItemSerializer(many=True)
    quote = QuoteSerializer(allow_null=True)


class CartApi(MemberApi):
    @extend_schema(responses=CartSerializer, operation_id="cart_get")
    def get(self, request: Request) -> Response:
        return Response(cart_data(request_member(request)))


class CartItemsApi(MemberApi):
    class InputSerializer(serializers.Serializer[Any]):
        class Meta:
            ref_name = "CartItemAddInput"

        sku_id = serializers.IntegerField(min_value=1)
        quantity = serializers.IntegerField(min_value=1, max_value=999, default=1)
        referral_code = serializers.CharField(max_length=64, required=False, default="")
        referral_link = serializers.CharField(max_length=500, required=False, default="")

    @extend_schema(request=InputSerializer, responses=CartSerializer, operation_id="cart_item_add")
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        member = request_member(request)
        cart_item_add(member=member, **data.validated_data)
        return Response(cart_data(member))


class CartItemApi(MemberApi):
    class InputSerializer(serializers.Serializer[Any]):
        class Meta:
            ref_name = "CartItemSetInput"

        quantity = serializers.IntegerField(min_value=0, max_value=999)

    @extend_schema(request=InputSerializer, responses=CartSerializer, operation_id="cart_item_set")
    def patch(self, request: Request, sku_id: int) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        member = request_member(request)
        cart_item_set(member=member, sku_id=sku_id, quantity=data.validated_data["quantity"])
        return Response(cart_data(member))

    @extend_schema(responses=CartSerializer, operation_id="cart_item_remove")
    def delete(self, request: Request, sku_id: int) -> Response:
        member = request_member(request)
        cart_item_set(member=member, sku_id=sku_id, quantity=0)
        return Response(cart_data(member))


class CheckoutItemSerializer(serializers.Serializer[Any]):
    class Meta:
        ref_name = "CheckoutItem"

    sku_id = serializers.IntegerField(min_value=1)
    quantity = serializers.IntegerField(min_value=1, max_value=999)
    referral_code = serializers.CharField(max_length=64, required=False, default="")
    referral_link = serializers.CharField(max_length=500, required=False, default="")


class CheckoutInputSerializer(serializers.Serializer[Any]):
    class Meta:
        ref_name = "CheckoutInput"

    items = CheckoutItemSerializer(many=True, required=False)
    from_cart = serializers.BooleanField(default=False)
    address_id = serializers.IntegerField(min_value=1)
    buyer_note = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)
    channel = serializers.ChoiceField(choices=["h5", "miniprogram"], default="h5")
    device_id = serializers.CharField(max_length=128, required=False, default="", allow_blank=True)
    requests = serializers.DictField(required=False, default=dict)
    referral_code = serializers.CharField(
        max_length=64,
        required=False,
        default="",
        allow_blank=True,
        help_text="A distributor's referral code (推荐码) the buyer typed at checkout.",
    )


def _checkout_items(member: Member, data: dict[str, Any]) -> list[CheckoutItem]:
    if data["from_cart"]:
        return [
            CheckoutItem(item.sku_id, item.quantity, item.referral_code, item.referral_link)
            for item, _sku in cart_items(member=member)
        ]
    return [CheckoutItem(**item) for item in data.get("items") or []]


class CheckoutQuoteApi(MemberApi):
    @extend_schema(
        request=CheckoutInputSerializer, responses=QuoteSerializer, operation_id="checkout_quote"
    )
    def post(self, request: Request) -> Response:
        data = CheckoutInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        member = request_member(request)

        address = address_get(member=member, address_id=values["address_id"])
        quote = order_quote(
            member=member,
            items=_checkout_items(member, values),
            province=address.province,
            requests=values["requests"],
        )
        return Response(quote_data(quote))


def order_data(order: Order, *, detail: bool = False) -> dict[str, Any]:
    data: dict[str, Any] = {
        "number": order.number,
        "status": order.status,
        "currency": order.currency,
        "items_minor": order.items_minor,
        "discount_minor": order.discount_minor,
        "shipping_minor": order.shipping_minor,
        "total_minor": order.total_minor,
        "refunded_minor": order.refunded_minor,
        "created_at": order.created_at.isoformat(),
        "pay_deadline": order.pay_deadline.isoformat(),
        "lines": [
            {
                "id": line.pk,
                "sku_id": line.sku_id,
                "product_id": line.product_id,
                "title": line.title,
                "options": line.options,
                "thumbnail_url": catalog_file_url(line.image),
                "unit_price_minor": line.unit_price_minor,
                "quantity": line.quantity,
                "discount_minor": line.discount_minor,
                "paid_minor": line.paid_minor,
                "refunded_quantity": line.refunded_quantity,
                "refunded_minor": line.refunded_minor,
            }
            for line in order.lines.all()
        ],
    }
    if detail:
        data.update(
            recipient_name=order.recipient_name,
            address=" ".join(
                part
                for part in (order.province, order.city, order.district, order.address_detail)
                if part
            ),
            buyer_note=order.buyer_note,
            carrier=order.carrier,
            tracking_number=order.tracking_number,
            paid_at=order.paid_at.isoformat() if order.paid_at else None,
            shipped_at=order.shipped_at.isoformat() if order.shipped_at else None,
            auto_receive_at=order.auto_receive_at.isoformat() if order.auto_receive_at else None,
            after_sales=[after_sale_data(a) for a in order.after_sales.all()],
        )
    return data


def after_sale_data(after_sale: AfterSale) -> dict[str, Any]:
    return {
        "id": after_sale.pk,
        "kind": after_sale.kind,
        "status": after_sale.status,
        "reason": after_sale.reason,
        "amount_minor": after_sale.amount_minor,
        "merchant_note": after_sale.merchant_note,
        "return_carrier": after_sale.return_carrier,
        "return_tracking_number": after_sale.return_tracking_number,
        "created_at": after_sale.created_at.isoformat(),
    }


class AfterSaleSerializer(serializers.Serializer[Any]):
    class Meta:
        ref_name = "AfterSale"

    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=AfterSale.Kind.choices)
    status = serializers.ChoiceField(choices=AfterSale.Status.choices)
    reason = serializers.CharField()
    amount_minor = serializers.IntegerField()
    merchant_note = serializers.CharField()
    return_carrier = serializers.CharField()
    return_tracking_number = serializers.CharField()
    created_at = serializers.DateTimeField()


class OrderLineSerializer(serializers.Serializer[Any]):
    class Meta:
        ref_name = "OrderLine"

    id = serializers.IntegerField()
    sku_id = serializers.IntegerField()
    product_id = serializers.IntegerField()
    title = serializers.CharField()
    options = serializers.ListField(child=serializers.DictField(child=serializers.CharField()))
    thumbnail_url = serializers.CharField(allow_null=True)
    unit_price_minor = serializers.IntegerField()
    quantity = serializers.IntegerField()
    discount_minor = serializers.IntegerField()
    paid_minor = serializers.IntegerField()
    refunded_quantity = serializers.IntegerField()
    refunded_minor = serializers.IntegerField()


class OrderSerializer(serializers.Serializer[Any]):
    class Meta:
        ref_name = "Order"

    number = serializers.CharField()
    status = serializers.ChoiceField(choices=OrderStatus.choices)
    currency = serializers.CharField()
    items_minor = serializers.IntegerField()
    discount_minor = serializers.IntegerField()
    shipping_minor = serializers.IntegerField()
    total_minor = serializers.IntegerField()
    refunded_minor = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    pay_deadline = serializers.DateTimeField()
    lines = OrderLineSerializer(many=True)


class OrderDetailSerializer(OrderSerializer):
    class Meta:
        ref_name = "OrderDetail"

    recipient_name = serializers.CharField()
    address = serializers.CharField()
    buyer_note = serializers.CharField()
    carrier = serializers.CharField()
    tracking_number = serializers.CharField()
    paid_at = serializers.DateTimeField(allow_null=True)
    shipped_at = serializers.DateTimeField(allow_null=True)
    auto_receive_at = serializers.DateTimeField(allow_null=True)
    after_sales = AfterSaleSerializer(many=True)


class CheckoutApi(MemberApi):
    @extend_schema(
        request=CheckoutInputSerializer,
        responses={201: OrderDetailSerializer},
        parameters=[IDEMPOTENCY_HEADER],
        operation_id="checkout",
    )
    def post(self, request: Request) -> Response:
        data = CheckoutInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        member = request_member(request)

        def run() -> tuple[int, Any]:
            order = order_checkout(
                member=member,
                items=_checkout_items(member, values),
                address_id=values["address_id"],
                buyer_note=values["buyer_note"],
                client=Client(
                    channel=values["channel"],
                    device_id=values["device_id"],
                    ip=client_ip(request),
                    user_agent=request.META.get("HTTP_USER_AGENT", ""),
                ),
                requests=values["requests"],
                from_cart=values["from_cart"],
                referral_code=values["referral_code"],
            )
            return status.HTTP_201_CREATED, order_data(order, detail=True)

        code, body = idempotent(
            scope="checkout",
            owner=f"member:{member.pk}",
            key=request.headers.get("Idempotency-Key"),
            request=dict(values),
            run=run,
        )
        return Response(body, status=code)


class OrderListApi(MemberApi):
    @extend_schema(
        parameters=[
            OpenApiParameter("status", str, enum=OrderStatus.values, required=False),
            *page_parameters(),
        ],
        responses=page_of(OrderSerializer, "OrderPage"),
        operation_id="order_list",
    )
    def get(self, request: Request) -> Response:
        wanted = request.query_params.get("status") or None
        if wanted is not None and wanted not in OrderStatus.values:
            wanted = "__none__"
        orders = member_orders(member=request_member(request), status=wanted)
        paginator = PagePagination()
        page = paginator.paginate_queryset(orders, request, view=self) or []
        return paginator.get_paginated_response([order_data(order) for order in page])


class OrderDetailApi(MemberApi):
    @extend_schema(responses=OrderDetailSerializer, operation_id="order_detail")
    def get(self, request: Request, number: str) -> Response:
        order = member_order_get(member=request_member(request), number=number)
        return Response(order_data(order, detail=True))


class OrderCancelApi(MemberApi):
    @extend_schema(request=None, responses=OrderDetailSerializer, operation_id="order_cancel")
    def post(self, request: Request, number: str) -> Response:
        member = request_member(request)
        order = member_order_get(member=member, number=number)
        order_cancel(order=order, actor=f"member:{member.pk}", reason="cancelled by the member")
        return Response(order_data(order, detail=True))


class OrderReceiveApi(MemberApi):
    @extend_schema(request=None, responses=OrderDetailSerializer, operation_id="order_receive")
    def post(self, request: Request, number: str) -> Response:
        member = request_member(request)
        order = member_order_get(member=member, number=number)
        order_receive(order=order, actor=f"member:{member.pk}")
        return Response(order_data(order, detail=True))


class AfterSaleCreateApi(MemberApi):
    class InputSerializer(serializers.Serializer[Any]):
        class Meta:
            ref_name = "AfterSaleInput"

        class ItemSerializer(serializers.Serializer[Any]):
            class Meta:
                ref_name = "AfterSaleItemInput"

            line_id = serializers.IntegerField(min_value=1)
            quantity = serializers.IntegerField(min_value=1)

        kind = serializers.ChoiceField(choices=AfterSale.Kind.choices)
        reason = serializers.CharField(max_length=200)
        items = ItemSerializer(many=True)

    @extend_schema(
        request=InputSerializer,
        responses={201: AfterSaleSerializer},
        parameters=[IDEMPOTENCY_HEADER],
        operation_id="after_sale_create",
    )
    def post(self, request: Request, number: str) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        member = request_member(request)
        order = member_order_get(member=member, number=number)

        def run() -> tuple[int, Any]:
            after_sale = after_sale_request(
                order=order,
                kind=values["kind"],
                reason=values["reason"],
                items=[AfterSaleItem(**item) for item in values["items"]],
                actor=f"member:{member.pk}",
            )
            return status.HTTP_201_CREATED, after_sale_data(after_sale)

        code, body = idempotent(
            scope="after_sale",
            owner=f"member:{member.pk}",
            key=request.headers.get("Idempotency-Key"),
            request={"order": number, **values},
            run=run,
        )
        return Response(body, status=code)


class AfterSaleWithdrawApi(MemberApi):
    @extend_schema(request=None, responses=AfterSaleSerializer, operation_id="after_sale_withdraw")
    def post(self, request: Request, after_sale_id: int) -> Response:
        member = request_member(request)
        after_sale = member_after_sale_get(member=member, after_sale_id=after_sale_id)
        after_sale_withdraw(after_sale=after_sale, actor=f"member:{member.pk}")
        return Response(after_sale_data(after_sale))


class AfterSaleReturnApi(MemberApi):
    class InputSerializer(serializers.Serializer[Any]):
        class Meta:
            ref_name = "AfterSaleReturnInput"

        carrier = serializers.CharField(max_length=64)
        tracking_number = serializers.CharField(max_length=64)

    @extend_schema(
        request=InputSerializer, responses=AfterSaleSerializer, operation_id="after_sale_return"
    )
    def post(self, request: Request, after_sale_id: int) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        member = request_member(request)
        after_sale = member_after_sale_get(member=member, after_sale_id=after_sale_id)
        after_sale_return_ship(
            after_sale=after_sale, actor=f"member:{member.pk}", **data.validated_data
        )
        return Response(after_sale_data(after_sale))
