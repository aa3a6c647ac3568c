"""The storefront's personal pages: login, cart, checkout, payment, orders, account, distribution.

Never cached. Every write is a POST form with the CSRF token, answered by a redirect (or the
page again with the errors), and goes through the shop's services, as the API does.
"""

from __future__ import annotations

import secrets
from typing import Any

from django.conf import settings as django_settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from distribution.services.center import (
    commission_orders,
    commission_row_state,
    distributor_of,
    earnings_summary,
    grade_name_of,
    latest_application_of,
    team_counts,
)
from distribution.services.qualification import distributor_apply
from distribution.services.share import share_link
from infra.errors import DomainError
from shop.core.idempotency import idempotent
from shop.customers.api.views import client_ip
from shop.customers.models import Address, Member
from shop.customers.phones import phone_decrypt, phone_mask
from shop.customers.selectors.addresses import address_list
from shop.customers.selectors.members import member_token_get
from shop.customers.services.addresses import AddressFields, address_create
from shop.customers.services.login import member_login_code_send, member_phone_login
from shop.customers.services.tokens import member_token_revoke
from shop.orders.errors import OrderNotFoundError
from shop.orders.models import Order
from shop.orders.selectors import (
    cart_item_buyable,
    cart_items,
    member_order_get,
    member_orders,
    order_status_counts_of,
)
from shop.orders.services.cart import cart_item_add, cart_item_set
from shop.orders.services.checkout import CheckoutItem, Client, order_checkout, order_quote
from shop.orders.services.orders import order_cancel, order_receive
from shop.payments.errors import PaymentNotFoundError
from shop.payments.selectors import member_payment_get, notify_url_for
from shop.payments.services.payments import (
    METHOD_GATEWAY,
    payment_sandbox_confirm,
    payment_start,
)
from themes.storefront.http import (
    SESSION_TOKEN_KEY,
    PageState,
    page_response,
    preview_member,
    storefront_headers,
    storefront_page,
)
from themes.storefront.objects import (
    image_object,
    pagination_object,
    product_url,
    route,
)
from themes.storefront.rendering import PageMeta
from themes.storefront.views.pages import not_found

# The version of the shop's privacy policy a shopper accepts when registering on the H5 pages.
POLICY_VERSION = "2026-01"
ORDERS_PER_PAGE = 10
RECENT_COMMISSIONS = 10
# What a shopper can pay with on the H5 pages: the sandbox (demo shops) and the store balance.
# WeChat Pay in H5 needs the WeChat browser (JSAPI) or an H5 domain of the merchant's own.
H5_PAYMENT_METHODS = ("sandbox", "store_balance")

# Order statuses as shoppers know them (the console's words are the merchant's).
ORDER_STATUS_LABELS = {
    "pending_payment": gettext_lazy("To pay"),
    "paid": gettext_lazy("To ship"),
    "shipped": gettext_lazy("To receive"),
    "received": gettext_lazy("Received"),
    "completed": gettext_lazy("Completed"),
    "cancelled": gettext_lazy("Cancelled"),
    "closed": gettext_lazy("Refunded"),
}
COMMISSION_STATE_LABELS = {
    "pending": gettext_lazy("Pending"),
    "frozen": gettext_lazy("Frozen"),
    "available": gettext_lazy("Available"),
    "withdrawn": gettext_lazy("Withdrawn"),
    "held": gettext_lazy("Under review"),
    "reversed": gettext_lazy("Reversed"),
}


def _errors(error: DomainError) -> list[dict[str, str]]:
    items = [{"code": error.code, "message": error.message}]
    for field_errors in error.fields.values():
        items.extend({"code": item["code"], "message": item["message"]} for item in field_errors)
    return items


def _safe_next(request: HttpRequest, default: str) -> str:
    wanted = request.POST.get("next") or request.GET.get("next") or ""
    if wanted and url_has_allowed_host_and_scheme(
        wanted, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return wanted
    return default


def _back(request: HttpRequest, default: str) -> str:
    """The page the form was on (its Referer, when it is this shop's), else `default`."""
    referer = str(request.META.get("HTTP_REFERER", ""))
    if referer and url_has_allowed_host_and_scheme(
        referer, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return referer
    return default


def _login_redirect(request: HttpRequest) -> HttpResponseRedirect:
    target = request.get_full_path()
    from urllib.parse import urlencode

    return HttpResponseRedirect(f"{route('storefront-login')}?{urlencode({'next': target})}")


def _redirect(path: str) -> HttpResponseRedirect:
    return HttpResponseRedirect(path)


def _int(value: Any, default: int = 0) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


# --- login --------------------------------------------------------------------------------------


def _login_page(
    request: HttpRequest,
    state: PageState,
    *,
    phone: str = "",
    errors: list[dict[str, str]] | None = None,
    code_sent: bool = False,
    needs_consent: bool = False,
    status: int = 200,
) -> HttpResponse:
    login = {
        "action": route("storefront-login"),
        "code_action": route("storefront-login-code"),
        "phone": phone,
        "errors": errors or [],
        "next": _safe_next(request, route("storefront-account")),
        "code_sent": code_sent,
        "needs_consent": needs_consent,
    }
    meta = PageMeta(type="login", title=_("Log in"))
    return page_response(request, state, meta, {"login": login}, status=status)


@storefront_page()
def storefront_login(request: HttpRequest, state: PageState) -> HttpResponseBase:
    """GET: the login page. POST: log in with the phone and its SMS code."""
    if request.method != "POST":
        if state.member is not None:
            return _redirect(_safe_next(request, route("storefront-account")))
        return _login_page(request, state)
    phone = request.POST.get("phone", "").strip()
    consent = request.POST.get("accept_policy") in ("1", "on", "true")
    try:
        _member, key = member_phone_login(
            phone=phone,
            code=request.POST.get("code", "").strip(),
            policy_version=POLICY_VERSION if consent else None,
            channel="h5",
            device_id="",
            ip=client_ip(request),
            user_agent=request.META.get("HTTP_USER_AGENT", "")[:512],
        )
    except DomainError as error:
        return _login_page(
            request,
            state,
            phone=phone,
            errors=_errors(error),
            code_sent=True,
            needs_consent=error.code == "consent_required",
            status=400,
        )
    request.session.cycle_key()
    request.session[SESSION_TOKEN_KEY] = key
    return _redirect(_safe_next(request, route("storefront-account")))


@require_POST
@storefront_page()
def storefront_login_code(request: HttpRequest, state: PageState) -> HttpResponseBase:
    """Send the SMS code to the phone typed on the login page."""
    phone = request.POST.get("phone", "").strip()
    try:
        member_login_code_send(phone=phone, ip=client_ip(request))
    except DomainError as error:
        return _login_page(request, state, phone=phone, errors=_errors(error), status=400)
    return _login_page(request, state, phone=phone, code_sent=True)


@require_POST
def storefront_logout(request: HttpRequest) -> HttpResponseBase:
    """End the member's session here (its token is revoked)."""
    key = request.session.get(SESSION_TOKEN_KEY)
    if key:
        token = member_token_get(key=str(key))
        if token is not None:
            member_token_revoke(token=token)
    request.session.flush()
    return storefront_headers(_redirect(route("storefront-home")), preview=False)


def member_required(view: Any) -> Any:
    """The page needs a logged-in member: visitors go to the login page (and come back)."""

    def wrapped(request: HttpRequest, state: PageState, *args: Any, **kwargs: Any) -> Any:
        if state.member is None and not state.preview:
            return _login_redirect(request)
        return view(request, state, *args, **kwargs)

    wrapped.__name__ = view.__name__
    wrapped.__doc__ = view.__doc__
    return wrapped


# --- cart ---------------------------------------------------------------------------------------


def _address_object(address: Address) -> dict[str, Any]:
    return {
        "id": address.pk,
        "name": address.recipient_name,
        "phone": phone_mask(phone_decrypt(address.phone_encrypted)),
        "province": address.province,
        "city": address.city,
        "district": address.district,
        "detail": address.detail,
        "is_default": address.is_default,
    }


def _cart_object(member: Member | None) -> dict[str, Any]:
    rows = cart_items(member=member) if member is not None and member.pk else []
    items = []
    subtotal = 0
    count = 0
    for item, sku in rows:
        available = cart_item_buyable(item, sku)
        price = sku.price_minor if sku is not None else 0
        line_total = price * item.quantity
        items.append(
            {
                "sku_id": item.sku_id,
                "product_id": sku.product_id if sku else None,
                "title": sku.title if sku else _("No longer for sale"),
                "variant_title": " / ".join(_option_values(sku.options)) if sku else "",
                "url": product_url(sku.product_id) if sku else "",
                "image": image_object(src=sku.image, thumbnail=sku.image, width=400)
                if sku and sku.image
                else None,
                "price": price,
                "quantity": item.quantity,
                "line_total": line_total,
                "available": available,
                "stock": sku.stock if sku else 0,
            }
        )
        if available:
            subtotal += line_total
            count += item.quantity
    return {
        "items": items,
        "count": count,
        "subtotal": subtotal,
        "has_unavailable": any(not item["available"] for item in items),
    }


def _option_values(options: Any) -> list[str]:
    values = []
    for option in options or []:
        if isinstance(option, dict):
            values.append(str(option.get("value", "")))
        else:
            values.append(str(option))
    return values


@storefront_page()
@member_required
def storefront_cart(request: HttpRequest, state: PageState) -> HttpResponse:
    """The member's cart."""
    meta = PageMeta(type="cart", title=_("Cart"))
    return page_response(request, state, meta, {"cart": _cart_object(state.member)})


@require_POST
@storefront_page()
@member_required
def storefront_cart_add(request: HttpRequest, state: PageState) -> HttpResponseBase:
    """Add units of a variant to the cart (from the product page); back to the cart."""
    assert state.member is not None
    referral = request.GET.get("ref", "").strip()[:64]
    try:
        cart_item_add(
            member=state.member,
            sku_id=_int(request.POST.get("sku_id")),
            quantity=max(1, _int(request.POST.get("quantity"), 1)),
            referral_code=referral,
            referral_link=request.META.get("HTTP_REFERER", "")[:500] if referral else "",
        )
    except DomainError as error:
        messages.error(request, error.message)
        return _redirect(_back(request, route("storefront-cart")))
    return _redirect(route("storefront-cart"))


@require_POST
@storefront_page()
@member_required
def storefront_cart_update(request: HttpRequest, state: PageState) -> HttpResponseBase:
    """Set a cart line's quantity (0 removes it)."""
    assert state.member is not None
    try:
        cart_item_set(
            member=state.member,
            sku_id=_int(request.POST.get("sku_id")),
            quantity=max(0, _int(request.POST.get("quantity"))),
        )
    except DomainError as error:
        messages.error(request, error.message)
    return _redirect(route("storefront-cart"))


# --- checkout and payment ----------------------------------------------------------------------


def _payment_methods(member: Member, total: int) -> list[dict[str, str]]:
    methods = []
    if django_settings.SANDBOX_PAYMENTS:
        methods.append({"code": "sandbox", "name": _("Sandbox payment (demo)")})
    if member.pk and member.store_balance_minor >= total > 0:
        methods.append({"code": "store_balance", "name": _("Store balance")})
    return methods


def _checkout_object(
    request: HttpRequest,
    member: Member,
    *,
    address_id: int | None,
    errors: list[dict[str, str]],
    values: dict[str, str],
) -> dict[str, Any]:
    cart = _cart_object(member)
    addresses = list(address_list(member=member)) if member.pk else []
    chosen = next((a for a in addresses if a.pk == address_id), addresses[0] if addresses else None)
    buyable = [
        CheckoutItem(item["sku_id"], item["quantity"])
        for item in cart["items"]
        if item["available"]
    ]
    shipping = 0
    total = cart["subtotal"]
    undeliverable = False
    if buyable and member.pk:
        try:
            quote = order_quote(
                member=member, items=buyable, province=chosen.province if chosen else None
            )
            shipping, total = quote.shipping_minor, quote.total_minor
        except DomainError as error:
            undeliverable = True
            errors = [*errors, *_errors(error)]
    return {
        "items": [item for item in cart["items"] if item["available"]],
        "addresses": [_address_object(address) for address in addresses],
        "address_id": chosen.pk if chosen else None,
        "subtotal": cart["subtotal"],
        "shipping": shipping,
        "total": total,
        "undeliverable": undeliverable,
        "payment_methods": _payment_methods(member, total),
        "errors": errors,
        "action": route("storefront-checkout"),
        "buyer_note": values.get("buyer_note", ""),
        "referral_code": values.get("referral_code", ""),
        "idempotency_key": values.get("idempotency_key") or secrets.token_urlsafe(16),
    }


@storefront_page()
@member_required
def storefront_checkout(request: HttpRequest, state: PageState) -> HttpResponseBase:
    """GET: the checkout page. POST: place the order and start paying it."""
    member = state.member or preview_member()
    if request.method != "POST":
        checkout = _checkout_object(
            request,
            member,
            address_id=_int(request.GET.get("address_id")) or None,
            errors=[],
            values={},
        )
        meta = PageMeta(type="checkout", title=_("Checkout"))
        return page_response(request, state, meta, {"checkout": checkout})
    values = {
        "buyer_note": request.POST.get("buyer_note", "").strip()[:200],
        "referral_code": request.POST.get("referral_code", "").strip()[:64],
        "idempotency_key": request.POST.get("idempotency_key", "")[:64],
        "method": request.POST.get("payment_method", ""),
    }
    address_id = _int(request.POST.get("address_id"))
    method = values["method"]

    def place() -> tuple[int, Any]:
        order = order_checkout(
            member=member,
            items=[
                CheckoutItem(item.sku_id, item.quantity, item.referral_code, item.referral_link)
                for item, _sku in cart_items(member=member)
            ],
            address_id=address_id,
            buyer_note=values["buyer_note"],
            client=Client(
                channel="h5",
                device_id="",
                ip=client_ip(request),
                user_agent=request.META.get("HTTP_USER_AGENT", "")[:512],
            ),
            from_cart=True,
            referral_code=values["referral_code"],
        )
        return 201, {"number": order.number}

    try:
        if method not in H5_PAYMENT_METHODS or (
            method == "sandbox" and not django_settings.SANDBOX_PAYMENTS
        ):
            raise DomainError(_("Choose a payment method."), code="payment_method_required")
        _code, body = idempotent(
            scope="checkout",
            owner=f"member:{member.pk}",
            key=values["idempotency_key"] or None,
            request={"address_id": address_id, **values},
            run=place,
        )
    except DomainError as error:
        checkout = _checkout_object(
            request, member, address_id=address_id, errors=_errors(error), values=values
        )
        meta = PageMeta(type="checkout", title=_("Checkout"))
        return page_response(request, state, meta, {"checkout": checkout}, status=400)
    return _pay(request, member, number=str(body["number"]), method=method)


def _pay(request: HttpRequest, member: Member, *, number: str, method: str) -> HttpResponseBase:
    order_path = route("storefront-order", number)
    try:
        order = member_order_get(member=member, number=number)
        if method not in METHOD_GATEWAY:
            raise DomainError(_("Choose a payment method."), code="payment_method_required")
        started = payment_start(
            order=order,
            method=method,
            notify_url=notify_url_for(gateway=METHOD_GATEWAY[method]),
            client_ip=client_ip(request) or "",
            return_url=request.build_absolute_uri(order_path),
        )
    except DomainError as error:
        messages.error(request, error.message)
        return _redirect(order_path)
    if method == "sandbox":
        return _redirect(route("storefront-pay-sandbox", started.payment.out_trade_no))
    return _redirect(order_path)


@require_POST
@storefront_page()
@member_required
def storefront_order_pay(request: HttpRequest, state: PageState, number: str) -> HttpResponseBase:
    """Pay an unpaid order (from its page) with the method chosen."""
    assert state.member is not None
    return _pay(request, state.member, number=number, method=request.POST.get("payment_method", ""))


@storefront_page()
@member_required
def storefront_pay_sandbox(
    request: HttpRequest, state: PageState, out_trade_no: str
) -> HttpResponseBase:
    """The sandbox gateway's page (demo shops): confirm the payment, or go back unpaid."""
    assert state.member is not None
    try:
        order = member_payment_get(member=state.member, out_trade_no=out_trade_no).order
    except PaymentNotFoundError:
        return not_found(request, _("This order does not exist."))
    if request.method == "POST":
        try:
            payment_sandbox_confirm(order=order, out_trade_no=out_trade_no)
        except DomainError as error:
            messages.error(request, error.message)
        return _redirect(route("storefront-order", order.number))
    response = render(
        request,
        "storefront/sandbox_pay.html",
        {
            "shop": request.tenant,  # type: ignore[attr-defined]
            "order": order,
            "out_trade_no": out_trade_no,
            "order_url": route("storefront-order", order.number),
        },
    )
    return storefront_headers(response, preview=False)


# --- orders -----------------------------------------------------------------------------------


def _status_label(status: str) -> str:
    return str(ORDER_STATUS_LABELS.get(status, status))


def _order_object(order: Order, *, detail: bool, member: Member | None = None) -> dict[str, Any]:
    lines = list(order.lines.all())
    number = order.number
    data: dict[str, Any] = {
        "number": number,
        "status": order.status,
        "status_label": _status_label(order.status),
        "created_at": order.created_at.isoformat(),
        "items_total": order.items_minor,
        "shipping": order.shipping_minor,
        "discount": order.discount_minor,
        "total": order.total_minor,
        "refunded": order.refunded_minor,
        "item_count": sum(line.quantity for line in lines),
        "url": route("storefront-order", number),
        "lines": [
            {
                "title": line.title,
                "variant_title": " / ".join(_option_values(line.options)),
                "image": image_object(src=line.image, thumbnail=line.image, width=400)
                if line.image
                else None,
                "price": line.unit_price_minor,
                "quantity": line.quantity,
                "line_total": line.unit_price_minor * line.quantity,
                "refunded_quantity": line.refunded_quantity,
            }
            for line in lines
        ],
        "can_pay": order.status == "pending_payment",
        "pay_action": route("storefront-order-pay", number),
        "can_cancel": order.status == "pending_payment",
        "cancel_action": route("storefront-order-cancel", number),
        "can_receive": order.status == "shipped",
        "receive_action": route("storefront-order-receive", number),
        "pay_deadline": order.pay_deadline.isoformat()
        if order.status == "pending_payment"
        else None,
        "carrier": order.carrier,
        "tracking_number": order.tracking_number,
        "address": None,
        "transitions": [],
    }
    data["payment_methods"] = (
        _payment_methods(member, order.total_minor)
        if member is not None and order.status == "pending_payment"
        else []
    )
    if detail:
        data["address"] = {
            "id": None,
            "name": order.recipient_name,
            "phone": phone_mask(phone_decrypt(order.recipient_phone_encrypted)),
            "province": order.province,
            "city": order.city,
            "district": order.district,
            "detail": order.address_detail,
            "is_default": False,
        }
        data["transitions"] = [
            {
                "status": transition.to_status,
                "status_label": _status_label(transition.to_status),
                "at": transition.created_at.isoformat(),
            }
            for transition in order.transitions.order_by("created_at", "id")
        ]
    return data


@storefront_page()
@member_required
def storefront_orders(request: HttpRequest, state: PageState) -> HttpResponse:
    """The member's orders, by status."""
    member = state.member or preview_member()
    wanted = request.GET.get("status", "")
    status = wanted if wanted in ORDER_STATUS_LABELS else ""
    page = max(1, _int(request.GET.get("page"), 1))
    counts = order_status_counts_of(member=member) if member.pk else {}
    orders_all = member_orders(member=member, status=status or None) if member.pk else None
    count = orders_all.count() if orders_all is not None else 0
    start = (page - 1) * ORDERS_PER_PAGE
    orders = list(orders_all[start : start + ORDERS_PER_PAGE]) if orders_all is not None else []
    base = route("storefront-orders")

    def url(value: str, number: int = 1) -> str:
        from urllib.parse import urlencode

        params = {
            key: val for key, val in (("status", value), ("page", number)) if val and val != 1
        }
        return base + (f"?{urlencode(params)}" if params else "")

    statuses = [
        {
            "value": "",
            "label": _("All"),
            "url": base,
            "current": status == "",
            "count": sum(counts.values()),
        }
    ]
    statuses += [
        {
            "value": value,
            "label": str(label),
            "url": url(value),
            "current": status == value,
            "count": counts.get(value, 0),
        }
        for value, label in ORDER_STATUS_LABELS.items()
    ]
    objects = {
        "orders": [_order_object(order, detail=False) for order in orders],
        "status": status,
        "statuses": statuses,
        "pagination": pagination_object(
            page=page, per_page=ORDERS_PER_PAGE, count=count, url_for=lambda n: url(status, n)
        ),
    }
    return page_response(request, state, PageMeta(type="orders", title=_("My orders")), objects)


@storefront_page()
@member_required
def storefront_order(request: HttpRequest, state: PageState, number: str) -> HttpResponse:
    """One of the member's orders."""
    member = state.member or preview_member()
    try:
        order = member_order_get(member=member, number=number)
    except OrderNotFoundError:
        return not_found(request, _("This order does not exist."))
    meta = PageMeta(type="order", title=_("Order %(number)s") % {"number": number})
    return page_response(
        request, state, meta, {"order": _order_object(order, detail=True, member=member)}
    )


@require_POST
@storefront_page()
@member_required
def storefront_order_cancel(
    request: HttpRequest, state: PageState, number: str
) -> HttpResponseBase:
    """Cancel an unpaid order."""
    assert state.member is not None
    try:
        order = member_order_get(member=state.member, number=number)
        order_cancel(
            order=order, actor=f"member:{state.member.pk}", reason="cancelled by the member"
        )
    except DomainError as error:
        messages.error(request, error.message)
    return _redirect(route("storefront-order", number))


@require_POST
@storefront_page()
@member_required
def storefront_order_receive(
    request: HttpRequest, state: PageState, number: str
) -> HttpResponseBase:
    """Confirm that a shipped order arrived."""
    assert state.member is not None
    try:
        order = member_order_get(member=state.member, number=number)
        order_receive(order=order, actor=f"member:{state.member.pk}")
    except DomainError as error:
        messages.error(request, error.message)
    return _redirect(route("storefront-order", number))


# --- account and distribution ---------------------------------------------------------------


@storefront_page()
@member_required
def storefront_account(request: HttpRequest, state: PageState) -> HttpResponseBase:
    """The member center: orders by status, addresses (POST adds one)."""
    member = state.member or preview_member()
    errors: list[dict[str, str]] = []
    status = 200
    if request.method == "POST" and member.pk:
        fields = AddressFields(
            **{
                name: request.POST.get(name, "")
                for name in (
                    "recipient_name",
                    "phone",
                    "province",
                    "city",
                    "district",
                    "detail",
                    "postal_code",
                )
            }
        )
        try:
            address_create(
                member=member, fields=fields, is_default=not address_list(member=member).exists()
            )
        except DomainError as error:
            errors = _errors(error)
            status = 400
        else:
            return _redirect(_safe_next(request, route("storefront-account")))
    counts = order_status_counts_of(member=member) if member.pk else {}
    base = route("storefront-orders")
    account = {
        "orders_by_status": [
            {
                "value": value,
                "label": str(label),
                "url": f"{base}?status={value}",
                "count": counts.get(value, 0),
            }
            for value, label in ORDER_STATUS_LABELS.items()
        ],
        "addresses": [_address_object(address) for address in address_list(member=member)]
        if member.pk
        else [],
        "address_action": route("storefront-account"),
        "next": _safe_next(request, ""),
        "errors": errors,
    }
    meta = PageMeta(type="account", title=_("My account"))
    return page_response(request, state, meta, {"account": account}, status=status)


@storefront_page()
@member_required
def storefront_distribution(request: HttpRequest, state: PageState) -> HttpResponseBase:
    """The distributor center: balances, team, share link, recent commissions; apply."""
    member = state.member or preview_member()
    errors: list[dict[str, str]] = []
    status = 200
    if request.method == "POST" and member.pk:
        try:
            distributor_apply(
                member=member,
                name=request.POST.get("name", "").strip(),
                phone=request.POST.get("phone", "").strip(),
                reason=request.POST.get("reason", "").strip(),
            )
        except DomainError as error:
            errors = _errors(error)
            status = 400
        else:
            return _redirect(route("storefront-distribution"))
    distributor = distributor_of(member_id=member.pk) if member.pk else None
    active = distributor is not None and distributor.status in ("active", "disabled")
    application = latest_application_of(member_id=member.pk) if member.pk else None
    summary = earnings_summary(member_id=member.pk) if active else {}
    team = team_counts(member_id=member.pk) if active else {}
    center = {
        "is_distributor": active,
        "can_apply": not active and (application is None or application.status != "pending"),
        "application": None
        if application is None
        else {"status": application.status, "note": application.note},
        "apply_action": route("storefront-distribution"),
        "errors": errors,
        "code": distributor.code if active and distributor is not None else None,
        "grade": grade_name_of(distributor) if active and distributor is not None else None,
        "share_url": share_link(code=distributor.code)
        if active and distributor is not None
        else None,
        "balances": {
            "pending": summary.get("pending_minor", 0),
            "frozen": summary.get("frozen_minor", 0),
            "available": summary.get("available_minor", 0),
            "withdrawn": summary.get("withdrawn_minor", 0),
            "held": summary.get("held_minor", 0),
        },
        "team": {
            "level_1": team.get(1, 0),
            "level_2": team.get(2, 0),
            "level_3": team.get(3, 0),
            "total": sum(team.values()),
        },
        "recent": [
            {
                "order_number": row["number"],
                "level": row["level"],
                "amount": int(row["amount_minor"]) - int(row["reversed_minor"]),
                "state": commission_row_state(row["states"]),
                "state_label": str(
                    COMMISSION_STATE_LABELS.get(
                        commission_row_state(row["states"]), commission_row_state(row["states"])
                    )
                ),
                "created_at": row["paid_at"].isoformat() if row["paid_at"] else None,
            }
            for row in (
                commission_orders(member_id=member.pk)[:RECENT_COMMISSIONS] if active else []
            )
        ],
    }
    meta = PageMeta(type="distribution", title=_("Distributor center"))
    return page_response(request, state, meta, {"distributor": center}, status=status)
