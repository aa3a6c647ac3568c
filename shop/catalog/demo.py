"""A catalog worth browsing for the demo shop of `make dev` (idempotent: once per shop)."""

from __future__ import annotations

import io
from dataclasses import dataclass

from django.db import transaction
from PIL import Image, ImageDraw

from shop.catalog.models import Category, Product
from shop.catalog.services.categories import category_create
from shop.catalog.services.images import product_image_add
from shop.catalog.services.products import OptionSpec, product_create


@dataclass(frozen=True)
class _DemoProduct:
    title: str
    subtitle: str
    category: str
    price_minor: int
    stock: int
    options: tuple[OptionSpec, ...]
    colour: tuple[int, int, int]


_CATEGORIES = {
    "服装 Clothing": ("女装 Women", "男装 Men"),
    "生鲜 Fresh food": ("水果 Fruit", "蔬菜 Vegetables"),
    "茶叶 Tea": (),
}
_PRODUCTS = (
    _DemoProduct(
        "红色连衣裙 Red dress",
        "真丝面料，夏季新款",
        "女装 Women",
        29900,
        40,
        (OptionSpec("颜色", ["红", "黑"]), OptionSpec("尺码", ["S", "M", "L"])),
        (220, 60, 70),
    ),
    _DemoProduct(
        "蓝色衬衫 Blue shirt",
        "纯棉免烫 Cotton, no iron",
        "男装 Men",
        15900,
        60,
        (OptionSpec("尺码", ["M", "L", "XL"]),),
        (60, 110, 200),
    ),
    _DemoProduct(
        "亚麻长裤 Linen trousers",
        "透气宽松",
        "男装 Men",
        19900,
        0,
        (OptionSpec("尺码", ["M", "L"]),),
        (190, 170, 130),
    ),
    _DemoProduct(
        "阳光玫瑰葡萄 Shine Muscat grapes",
        "产地直发，2 斤装",
        "水果 Fruit",
        6800,
        120,
        (OptionSpec("规格", ["2斤", "5斤"]),),
        (140, 200, 90),
    ),
    _DemoProduct(
        "赣南脐橙 Navel oranges",
        "现摘现发",
        "水果 Fruit",
        4990,
        200,
        (),
        (245, 150, 40),
    ),
    _DemoProduct(
        "有机小番茄 Cherry tomatoes",
        "当日采摘",
        "蔬菜 Vegetables",
        1990,
        80,
        (),
        (230, 70, 50),
    ),
    _DemoProduct(
        "武夷山大红袍 Da Hong Pao tea",
        "岩茶 250g",
        "茶叶 Tea",
        36800,
        25,
        (OptionSpec("包装", ["罐装", "礼盒"]),),
        (120, 70, 40),
    ),
    _DemoProduct(
        "西湖龙井 Longjing green tea",
        "明前特级 100g",
        "茶叶 Tea",
        25800,
        30,
        (),
        (110, 160, 80),
    ),
)


def _picture(colour: tuple[int, int, int]) -> io.BytesIO:
    """A simple generated product picture (no network, no stock photos)."""
    image = Image.new("RGB", (800, 800), colour)
    draw = ImageDraw.Draw(image)
    light = tuple(min(255, channel + 60) for channel in colour)
    draw.ellipse((180, 180, 620, 620), fill=light)
    draw.rectangle((330, 80, 470, 200), fill=(255, 255, 255))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=85)
    buffer.seek(0)
    return buffer


def catalog_demo_seed() -> int:
    """Create the demo categories and products in the current shop; how many products."""
    if Product.objects.exists():
        return 0
    with transaction.atomic():
        categories: dict[str, Category] = {}
        for position, (name, children) in enumerate(_CATEGORIES.items()):
            parent = category_create(name=name, position=position)
            categories[name] = parent
            for child_position, child in enumerate(children):
                categories[child] = category_create(
                    name=child, parent=parent, position=child_position
                )
        for position, item in enumerate(_PRODUCTS):
            product = product_create(
                title=item.title,
                subtitle=item.subtitle,
                description=f"{item.title}。{item.subtitle}。",
                category=categories[item.category],
                on_shelf=True,
                position=position,
                options=item.options,
                price_minor=item.price_minor,
                stock=item.stock,
            )
            product_image_add(product=product, file=_picture(item.colour), alt=item.title)
    return len(_PRODUCTS)
