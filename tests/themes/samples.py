"""Sample template data: the objects of THEME-FORMAT.md, built by hand, for rendering themes.

`sample_context(page_type, full=...)` is everything one page's template and layout see: the
global objects (shop, settings, page, routes, categories, customer, csrf_token, request) and
the page's own object. `empty` is a new shop (no products, no categories, an empty cart, no
orders; `customer` is null on the pages a visitor can open); `full` is a shop with realistic
Chinese data: products with images and variants (one sold out), categories with children, a
cart with an unavailable item, orders in several statuses, a distributor with balances. One
product of the full shop is titled `HOSTILE_TITLE`, to check that themes escape what they print.

`sample_section(...)` is the `section` object of one placed section, its settings resolved the
way the storefront resolves them (images to image objects, a category to a category with its
first products, products to cards).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from themes.manifest import FONT_STACKS, PAGE_TYPES

__all__ = [
    "HOSTILE_TITLE",
    "PRODUCT_PATH",
    "ROUTES",
    "SHOP_URL",
    "SOLD_OUT_SKU",
    "sample_context",
    "sample_section",
    "sample_settings",
]

HOSTILE_TITLE = "<script>alert(1)</script>"
SHOP_URL = "https://xianguo.shop.example/"
MEDIA = "https://media.example/alpha/"
PRODUCT_PATH = "/products/102"
SOLD_OUT_SKU = 9003
CATEGORY_PRODUCTS_DEFAULT = 8

ROUTES: dict[str, str] = {
    "home": "/",
    "search": "/search",
    "cart": "/cart",
    "checkout": "/checkout",
    "orders": "/orders",
    "account": "/account",
    "distribution": "/distribution",
    "login": "/login",
    "logout": "/logout",
    "cart_add": "/cart/add",
    "cart_update": "/cart/update",
    "login_code": "/login/code",
}

# Pages a visitor can open (customer null in the empty samples); the others need a member.
VISITOR_PAGES = frozenset({"home", "category", "search", "product", "login"})


def _image(name: str, *, alt: str = "", width: int = 800, height: int = 800) -> dict[str, Any]:
    return {
        "src": f"{MEDIA}catalog/{name}",
        "thumbnail": f"{MEDIA}catalog/thumbs/{name}",
        "width": width,
        "height": height,
        "alt": alt,
    }


def _card_image(name: str, alt: str) -> dict[str, Any]:
    # List pages carry the 400-pixel rendition only, its height unknown (as the storefront does).
    url = f"{MEDIA}catalog/thumbs/{name}"
    return {"src": url, "thumbnail": url, "width": 400, "height": None, "alt": alt}


def _category(
    category_id: int,
    name: str,
    *,
    image: dict[str, Any] | None = None,
    children: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    return {
        "id": category_id,
        "name": name,
        "url": f"/categories/{category_id}",
        "image": image,
        "children": children or [],
    }


def _categories() -> list[dict[str, Any]]:
    return [
        _category(
            1,
            "新鲜水果",
            image=_image("cat-fruit.jpg", width=240, height=240),
            children=[
                _category(11, "进口水果", image=_image("cat-imported.jpg", width=240, height=240)),
                _category(12, "国产水果"),
                _category(13, "果切果盘"),
            ],
        ),
        _category(2, "时令蔬菜", children=[_category(21, "叶菜"), _category(22, "菌菇")]),
        _category(3, "肉禽蛋品", image=_image("cat-meat.jpg", width=240, height=240)),
        _category(4, "茶饮冲调", children=[_category(41, "绿茶")]),
        _category(5, "粮油调味"),
    ]


def _cards() -> list[dict[str, Any]]:
    return [
        {
            "id": 102,
            "title": "有机圣女果 500g",
            "subtitle": "当季现摘 · 酸甜多汁",
            "url": PRODUCT_PATH,
            "price_min": 1250,
            "price_max": 4590,
            "available": True,
            "image": _card_image("tomato.jpg", "有机圣女果"),
        },
        {
            "id": 101,
            "title": "明前龙井 特级 250g",
            "subtitle": "西湖产区 · 一芽一叶",
            "url": "/products/101",
            "price_min": 12800,
            "price_max": 12800,
            "available": True,
            "image": _card_image("longjing.jpg", "明前龙井"),
        },
        {
            "id": 103,
            "title": HOSTILE_TITLE,
            "subtitle": '<img src=x onerror="alert(2)">',
            "url": "/products/103",
            "price_min": 990,
            "price_max": 990,
            "available": True,
            "image": None,
        },
        {
            "id": 104,
            "title": "阳光玫瑰青提 2kg 礼盒装",
            "subtitle": "",
            "url": "/products/104",
            "price_min": None,
            "price_max": None,
            "available": False,
            "image": _card_image("grape.jpg", "阳光玫瑰青提"),
        },
        {
            "id": 105,
            "title": "散养土鸡蛋 30枚",
            "subtitle": "农家散养 · 蛋黄饱满",
            "url": "/products/105",
            "price_min": 3990,
            "price_max": 3990,
            "available": True,
            "image": _card_image("eggs.jpg", "土鸡蛋"),
        },
        {
            "id": 106,
            "title": "东北五常大米 5kg",
            "subtitle": "",
            "url": "/products/106",
            "price_min": 6900,
            "price_max": 7900,
            "available": True,
            "image": _card_image("rice.jpg", "五常大米"),
        },
    ]


def _pagination(*, page: int, pages: int, count: int, base: str, sep: str = "?") -> dict[str, Any]:
    return {
        "page": page,
        "pages": pages,
        "count": count,
        "previous_url": (base if page == 2 else f"{base}{sep}page={page - 1}")
        if page > 1
        else None,
        "next_url": f"{base}{sep}page={page + 1}" if page < pages else None,
    }


def _sorts(base: str, current: str, *, with_relevance: bool) -> list[dict[str, Any]]:
    labels = [
        ("relevance", "综合"),
        ("newest", "新品"),
        ("price_asc", "价格从低到高"),
        ("price_desc", "价格从高到低"),
    ]
    sep = "&" if "?" in base else "?"
    return [
        {
            "value": value,
            "label": label,
            "url": f"{base}{sep}sort={value}",
            "current": value == current,
        }
        for value, label in labels
        if with_relevance or value != "relevance"
    ]


def _product(*, full: bool) -> dict[str, Any]:
    if not full:
        return {
            "id": 201,
            "title": "Bare",
            "subtitle": "",
            "url": "/products/201",
            "price_min": 100,
            "price_max": 100,
            "available": False,
            "image": None,
            "description": "",
            "images": [],
            "options": [],
            "variants": [
                {
                    "id": 9101,
                    "title": "Bare",
                    "options": [],
                    "price": 100,
                    "stock": 0,
                    "available": False,
                }
            ],
            "category": None,
            "stock": 0,
            "add_action": ROUTES["cart_add"],
        }
    card = _cards()[0]
    images = [
        _image("tomato.jpg", alt="有机圣女果", width=1200, height=1200),
        _image("tomato-2.jpg", alt="", width=1200, height=900),
        {**_image("tomato-3.jpg", alt="果肉特写", width=360, height=360), "thumbnail": None},
    ]
    return {
        **card,
        "image": images[0],
        "description": (
            "产地：云南元谋\n规格：500g/盒，约 40 颗\n<b>不打蜡、不催熟</b>，收到请冷藏。"
        ),
        "images": images,
        "options": [{"name": "规格", "values": ["500g", "1kg", "2.5kg 家庭装"]}],
        "variants": [
            {
                "id": 9001,
                "title": "500g",
                "options": ["500g"],
                "price": 1250,
                "stock": 120,
                "available": True,
            },
            {
                "id": 9002,
                "title": "1kg",
                "options": ["1kg"],
                "price": 2290,
                "stock": 3,
                "available": True,
            },
            {
                "id": SOLD_OUT_SKU,
                "title": "2.5kg 家庭装",
                "options": ["2.5kg 家庭装"],
                "price": 4590,
                "stock": 0,
                "available": False,
            },
        ],
        "category": _category(12, "国产水果"),
        "stock": 123,
        "add_action": ROUTES["cart_add"],
    }


def _cart_items() -> list[dict[str, Any]]:
    cards = {card["id"]: card for card in _cards()}
    return [
        {
            "sku_id": 9001,
            "product_id": 102,
            "title": cards[102]["title"],
            "variant_title": "500g",
            "url": PRODUCT_PATH,
            "image": cards[102]["image"],
            "price": 1250,
            "quantity": 2,
            "line_total": 2500,
            "available": True,
            "stock": 120,
        },
        {
            "sku_id": 7001,
            "product_id": 101,
            "title": cards[101]["title"],
            "variant_title": "",
            "url": "/products/101",
            "image": cards[101]["image"],
            "price": 12800,
            "quantity": 1,
            "line_total": 12800,
            "available": True,
            "stock": 1,
        },
        {
            "sku_id": 6001,
            "product_id": 103,
            "title": HOSTILE_TITLE,
            "variant_title": "默认",
            "url": "/products/103",
            "image": None,
            "price": 990,
            "quantity": 1,
            "line_total": 990,
            "available": True,
            "stock": 5,
        },
        {
            "sku_id": 8001,
            "product_id": 104,
            "title": cards[104]["title"],
            "variant_title": "2kg",
            "url": "/products/104",
            "image": cards[104]["image"],
            "price": 6990,
            "quantity": 1,
            "line_total": 6990,
            "available": False,
            "stock": 0,
        },
    ]


def _addresses() -> list[dict[str, Any]]:
    return [
        {
            "id": 501,
            "name": "李小萌",
            "phone": "138****8000",
            "province": "浙江省",
            "city": "杭州市",
            "district": "西湖区",
            "detail": "文三路 90 号东部软件园 3 号楼 502",
            "is_default": True,
        },
        {
            "id": 502,
            "name": "李建国",
            "phone": "139****1234",
            "province": "上海市",
            "city": "上海市",
            "district": "浦东新区",
            "detail": "张杨路 500 号 12 楼",
            "is_default": False,
        },
    ]


def _order(number: str, status: str, label: str, **changes: Any) -> dict[str, Any]:
    cards = {card["id"]: card for card in _cards()}
    order: dict[str, Any] = {
        "number": number,
        "status": status,
        "status_label": label,
        "created_at": "2025-11-20T14:30:00+08:00",
        "items_total": 2500,
        "shipping": 800,
        "discount": 0,
        "total": 3300,
        "refunded": 0,
        "item_count": 2,
        "url": f"/orders/{number}",
        "lines": [
            {
                "title": cards[102]["title"],
                "variant_title": "500g",
                "image": cards[102]["image"],
                "price": 1250,
                "quantity": 2,
                "line_total": 2500,
                "refunded_quantity": 0,
            }
        ],
        "address": _addresses()[0],
        "carrier": "",
        "tracking_number": "",
        "can_pay": False,
        "pay_action": f"/orders/{number}/pay",
        "can_cancel": False,
        "cancel_action": f"/orders/{number}/cancel",
        "can_receive": False,
        "receive_action": f"/orders/{number}/receive",
        "pay_deadline": None,
        "payment_methods": [],
        "transitions": [
            {
                "status": "pending_payment",
                "status_label": "待付款",
                "at": "2025-11-20T14:30:00+08:00",
            }
        ],
    }
    order.update(changes)
    return order


def _payment_methods() -> list[dict[str, str]]:
    return [
        {"code": "sandbox", "name": "模拟支付（演示）"},
        {"code": "store_balance", "name": "储值余额"},
    ]


def _orders() -> list[dict[str, Any]]:
    cards = {card["id"]: card for card in _cards()}
    return [
        _order(
            "20251120000123",
            "pending_payment",
            "待付款",
            can_pay=True,
            can_cancel=True,
            pay_deadline="2025-11-20T15:00:00+08:00",
            payment_methods=_payment_methods(),
        ),
        _order(
            "20251118000456",
            "shipped",
            "待收货",
            carrier="顺丰速运",
            tracking_number="SF1234567890",
            can_receive=True,
            transitions=[
                {
                    "status": "pending_payment",
                    "status_label": "待付款",
                    "at": "2025-11-18T09:00:00+08:00",
                },
                {"status": "paid", "status_label": "待发货", "at": "2025-11-18T09:01:00+08:00"},
                {"status": "shipped", "status_label": "待收货", "at": "2025-11-18T16:20:00+08:00"},
            ],
        ),
        _order(
            "20251101000789",
            "completed",
            "已完成",
            items_total=16290,
            discount=500,
            total=16590,
            refunded=1250,
            item_count=4,
            lines=[
                {
                    "title": HOSTILE_TITLE,
                    "variant_title": "默认",
                    "image": None,
                    "price": 990,
                    "quantity": 1,
                    "line_total": 990,
                    "refunded_quantity": 0,
                },
                {
                    "title": cards[101]["title"],
                    "variant_title": "",
                    "image": cards[101]["image"],
                    "price": 12800,
                    "quantity": 1,
                    "line_total": 12800,
                    "refunded_quantity": 0,
                },
                {
                    "title": cards[102]["title"],
                    "variant_title": "500g",
                    "image": cards[102]["image"],
                    "price": 1250,
                    "quantity": 2,
                    "line_total": 2500,
                    "refunded_quantity": 1,
                },
            ],
        ),
        _order("20251030000999", "cancelled", "已取消"),
    ]


_STATUS_LABELS = {
    "pending_payment": "待付款",
    "paid": "待发货",
    "shipped": "待收货",
    "received": "已收货",
    "completed": "已完成",
    "cancelled": "已取消",
    "closed": "已退款",
}


def _statuses(counts: Mapping[str, int], current: str) -> list[dict[str, Any]]:
    tabs = [
        {
            "value": "",
            "label": "全部",
            "url": ROUTES["orders"],
            "current": current == "",
            "count": sum(counts.values()),
        }
    ]
    tabs.extend(
        {
            "value": value,
            "label": label,
            "url": f"{ROUTES['orders']}?status={value}",
            "current": current == value,
            "count": counts.get(value, 0),
        }
        for value, label in _STATUS_LABELS.items()
    )
    return tabs


def _orders_by_status(counts: Mapping[str, int]) -> list[dict[str, Any]]:
    return [
        {
            "value": value,
            "label": label,
            "url": f"{ROUTES['orders']}?status={value}",
            "count": counts.get(value, 0),
        }
        for value, label in _STATUS_LABELS.items()
    ]


def _customer(*, full: bool) -> dict[str, Any]:
    if not full:
        return {
            "name": "",
            "phone": "137****0000",
            "avatar_url": "",
            "is_distributor": False,
            "store_balance": 0,
            "cart_count": 0,
        }
    return {
        "name": "李小萌",
        "phone": "138****8000",
        "avatar_url": f"{MEDIA}avatars/8000.jpg",
        "is_distributor": True,
        "store_balance": 12050,
        "cart_count": 5,
    }


def _distributor(*, full: bool) -> dict[str, Any]:
    if not full:
        return {
            "is_distributor": False,
            "can_apply": True,
            "application": None,
            "apply_action": ROUTES["distribution"],
            "errors": [],
            "code": None,
            "grade": None,
            "share_url": None,
            "balances": {"pending": 0, "frozen": 0, "available": 0, "withdrawn": 0, "held": 0},
            "team": {"level_1": 0, "level_2": 0, "level_3": 0, "total": 0},
            "recent": [],
        }
    return {
        "is_distributor": True,
        "can_apply": False,
        "application": {"status": "approved", "note": ""},
        "apply_action": ROUTES["distribution"],
        "errors": [],
        "code": "LXM8K2",
        "grade": "金牌推广员",
        "share_url": f"{SHOP_URL}?ref=LXM8K2",
        "balances": {
            "pending": 4560,
            "frozen": 1200,
            "available": 25880,
            "withdrawn": 100000,
            "held": 300,
        },
        "team": {"level_1": 12, "level_2": 30, "level_3": 5, "total": 47},
        "recent": [
            {
                "order_number": "20251120000123",
                "level": 1,
                "amount": 1280,
                "state": "pending",
                "state_label": "待结算",
                "created_at": "2025-11-20T14:31:00+08:00",
            },
            {
                "order_number": "20251118000456",
                "level": 2,
                "amount": 350,
                "state": "available",
                "state_label": "可提现",
                "created_at": "2025-11-18T09:02:00+08:00",
            },
            {
                "order_number": "20251101000789",
                "level": 1,
                "amount": 0,
                "state": "reversed",
                "state_label": "已扣回",
                "created_at": None,
            },
        ],
    }


_PAGE_META: dict[str, tuple[str, str]] = {
    "home": ("", "/"),
    "category": ("新鲜水果", "/categories/1"),
    "search": ("搜索：番茄", "/search"),
    "product": ("有机圣女果 500g", PRODUCT_PATH),
    "cart": ("购物车", "/cart"),
    "checkout": ("确认订单", "/checkout"),
    "orders": ("我的订单", "/orders"),
    "order": ("订单 20251120000123", "/orders/20251120000123"),
    "account": ("个人中心", "/account"),
    "distribution": ("分销中心", "/distribution"),
    "login": ("登录", "/login"),
}


def _shop(*, full: bool) -> dict[str, Any]:
    return {
        "name": "鲜果小铺",
        "description": "产地直采的新鲜水果与时令好物，次日送达。" if full else "",
        "currency": "CNY",
        "language": "zh-Hans",
        "url": SHOP_URL,
        "contact_email": "hi@xianguo.example" if full else "",
        "contact_phone": "400-820-8820" if full else "",
    }


def _page(page_type: str, shop: Mapping[str, Any], *, full: bool) -> dict[str, Any]:
    title, path = _PAGE_META[page_type]
    product_image = f"{MEDIA}catalog/tomato.jpg"
    return {
        "type": page_type,
        "title": shop["name"] if page_type == "home" else f"{title} - {shop['name']}",
        "description": "当季现摘，酸甜多汁。" if page_type == "product" else shop["description"],
        "url": SHOP_URL.rstrip("/") + path,
        "image": product_image if page_type == "product" and full else None,
        "path": path,
    }


def _page_objects(page_type: str, *, full: bool) -> dict[str, Any]:
    cards = _cards() if full else []
    if page_type == "category":
        category = _categories()[0] if full else _category(9, "空分类")
        base = category["url"]
        return {
            "collection": {
                **category,
                "products": cards,
                "sort": "newest",
                "sorts": _sorts(base, "newest", with_relevance=False),
                "pagination": _pagination(page=2, pages=3, count=46, base=base)
                if full
                else _pagination(page=1, pages=1, count=0, base=base),
            }
        }
    if page_type == "search":
        query = "番茄" if full else ""
        base = f"{ROUTES['search']}?q={query}" if query else ROUTES["search"]
        return {
            "search": {
                "query": query,
                "products": cards[:3],
                "count": 3 if full else 0,
                "pagination": _pagination(page=1, pages=1, count=len(cards[:3]), base=base),
                "sort": "relevance" if query else "newest",
                "sorts": _sorts(
                    base, "relevance" if query else "newest", with_relevance=bool(query)
                ),
            }
        }
    if page_type == "product":
        return {"product": _product(full=full)}
    if page_type == "cart":
        items = _cart_items() if full else []
        return {
            "cart": {
                "items": items,
                "count": sum(item["quantity"] for item in items),
                "subtotal": sum(item["line_total"] for item in items if item["available"]),
                "has_unavailable": any(not item["available"] for item in items),
            }
        }
    if page_type == "checkout":
        items = [item for item in _cart_items() if item["available"]] if full else []
        subtotal = sum(item["line_total"] for item in items)
        shipping = 800 if full else 0
        return {
            "checkout": {
                "items": items,
                "addresses": _addresses() if full else [],
                "address_id": 502 if full else None,
                "subtotal": subtotal,
                "shipping": shipping,
                "total": subtotal + shipping,
                "undeliverable": False,
                "payment_methods": _payment_methods() if full else [],
                "errors": [
                    {"code": "stock_insufficient", "message": "“明前龙井 特级 250g”库存不足"}
                ]
                if full
                else [],
                "action": ROUTES["checkout"],
                "buyer_note": "请尽量上午送达" if full else "",
                "referral_code": "LXM8K2" if full else "",
                "idempotency_key": "k3y-5f0c1d2e" if full else "k3y-00000000",
            }
        }
    if page_type == "orders":
        orders = _orders() if full else []
        counts = {order["status"]: 1 for order in orders}
        return {
            "orders": orders,
            "status": "",
            "statuses": _statuses(counts, ""),
            "pagination": _pagination(page=1, pages=2, count=14, base=ROUTES["orders"])
            if full
            else _pagination(page=1, pages=1, count=0, base=ROUTES["orders"]),
        }
    if page_type == "order":
        if full:
            return {"order": _orders()[0]}
        return {
            "order": _order(
                "20251121000001",
                "cancelled",
                "已取消",
                lines=[
                    {
                        "title": "Bare",
                        "variant_title": "",
                        "image": None,
                        "price": 100,
                        "quantity": 1,
                        "line_total": 100,
                        "refunded_quantity": 0,
                    }
                ],
                items_total=100,
                shipping=0,
                total=100,
                item_count=1,
                transitions=[],
            )
        }
    if page_type == "account":
        counts = {"pending_payment": 1, "shipped": 1, "completed": 1} if full else {}
        return {
            "account": {
                "orders_by_status": _orders_by_status(counts),
                "addresses": _addresses() if full else [],
                "address_action": ROUTES["account"],
                "next": ROUTES["checkout"] if full else "",
                "errors": [],
            }
        }
    if page_type == "distribution":
        return {"distributor": _distributor(full=full)}
    if page_type == "login":
        return {
            "login": {
                "action": ROUTES["login"],
                "code_action": ROUTES["login_code"],
                "phone": "13800138000" if full else "",
                "errors": [{"code": "code_invalid", "message": "验证码错误，请重新输入"}]
                if full
                else [],
                "next": PRODUCT_PATH if full else ROUTES["account"],
                "code_sent": full,
                "needs_consent": full,
            }
        }
    return {}


def _resolve(
    schema: list[dict[str, Any]], values: Mapping[str, Any], *, full: bool
) -> dict[str, Any]:
    """Setting values as templates see them (defaults filled, images and catalog resolved)."""
    limit = CATEGORY_PRODUCTS_DEFAULT
    for spec in schema:
        if spec.get("type") == "range" and spec["id"] == "count":
            limit = int(values.get("count", spec.get("default", limit)))
    products = _cards()[:limit] if full else []
    resolved: dict[str, Any] = {}
    for spec in schema:
        key, kind = spec["id"], spec.get("type")
        value = values.get(key, spec.get("default"))
        if kind == "image":
            size = (320, 96) if key == "logo" else (1500, 750)
            resolved[key] = _image(f"{key}.jpg", width=size[0], height=size[1]) if full else None
        elif kind == "font":
            family = str(value or "system")
            resolved[key] = {"family": family, "stack": FONT_STACKS[family]}
        elif kind == "category" and value:
            category = next((item for item in _categories() if item["id"] == value), None)
            resolved[key] = None if category is None else {**category, "products": products}
        elif kind == "category":
            # Left empty: the whole catalog, newest first.
            resolved[key] = {
                "id": None,
                "name": "",
                "url": ROUTES["search"],
                "image": None,
                "children": [],
                "products": products,
            }
        elif kind == "products":
            resolved[key] = []
        elif kind == "checkbox":
            resolved[key] = bool(value)
        elif kind in ("text", "textarea", "url"):
            resolved[key] = "" if value is None else value
        else:
            resolved[key] = value
    return resolved


def sample_settings(manifest: Mapping[str, Any], *, full: bool) -> dict[str, Any]:
    """The theme settings of `manifest` as templates see them; full adds a logo and a notice."""
    settings = _resolve(list(manifest.get("settings", [])), {}, full=full)
    if "announcement" in settings:
        settings["announcement"] = "双 11 全场满 99 减 20，下单即送鲜果券" if full else ""
    return settings


def sample_section(
    manifest: Mapping[str, Any],
    section_type: str,
    values: Mapping[str, Any] | None = None,
    *,
    full: bool,
    section_id: str = "s1a2b3c4",
) -> dict[str, Any]:
    """The `section` object of a placed section of `section_type` with `values` set."""
    schema = list(manifest["sections"][section_type].get("settings", []))
    return {
        "id": section_id,
        "type": section_type,
        "settings": _resolve(schema, values or {}, full=full),
    }


def sample_context(
    page_type: str, *, full: bool, manifest: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """What the template and the layout of `page_type` see (settings from `manifest`)."""
    if page_type not in PAGE_TYPES:
        raise ValueError(f"unknown page type {page_type!r}")
    shop = _shop(full=full)
    visitor = not full and page_type in VISITOR_PAGES
    context: dict[str, Any] = {
        "shop": shop,
        "settings": sample_settings(manifest, full=full) if manifest is not None else {},
        "page": _page(page_type, shop, full=full),
        "routes": dict(ROUTES),
        "categories": _categories() if full else [],
        "customer": None if visitor else _customer(full=full),
        "notices": [{"level": "error", "text": "<b>库存不足</b>"}] if full and not visitor else [],
        "csrf_token": "" if visitor else "csrf-t0ken",
        "request": {"path": _PAGE_META[page_type][1], "language": "zh-Hans", "preview": False},
    }
    context.update(_page_objects(page_type, full=full))
    return copy.deepcopy(context)
