"""The demo shop's storefront: the built-in "daily" theme with a designed home page.

Made through the real design services (the editor's own calls): the home layout gets a banner
with a picture, the category navigation, product grids bound to the demo catalog's categories,
an image with text, the distributor recruitment and a rich text; the theme settings get the
shop's colours and an announcement. Published as a version of its own ("Demo home page"), so the
editor's history shows the default and the designed one; running it again changes nothing.
"""

from __future__ import annotations

import io
from typing import Any

from PIL import Image, ImageDraw

from shop.catalog.models import Category
from themes.storefront.models import StorefrontVersion
from themes.storefront.selectors import storefront_draft_get
from themes.storefront.services.design import (
    storefront_publish,
    storefront_section_add,
    storefront_section_remove,
    storefront_section_update,
    storefront_settings_update,
)
from themes.storefront.services.images import theme_image_upload
from themes.storefront.services.install import storefront_theme_seed

DEMO_NOTE = "Demo home page"
ACTOR = "demo"


def _picture(
    size: tuple[int, int], top: tuple[int, int, int], bottom: tuple[int, int, int]
) -> io.BytesIO:
    """A soft vertical gradient with a few circles: a stand-in for a merchant's photo."""
    width, height = size
    image = Image.new("RGB", size, top)
    draw = ImageDraw.Draw(image)
    for y in range(height):
        mix = y / max(height - 1, 1)
        colour = tuple(int(a + (b - a) * mix) for a, b in zip(top, bottom, strict=True))
        draw.line([(0, y), (width, y)], fill=colour)
    for index, radius in enumerate((height // 3, height // 4, height // 6)):
        x = width - radius - index * radius
        y = height // 2 + (index - 1) * radius // 2
        draw.ellipse(
            [x - radius, y - radius, x + radius, y + radius], outline=(255, 255, 255), width=4
        )
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    buffer.seek(0)
    return buffer


def _category_id(name: str) -> int | None:
    return Category.objects.filter(name=name).values_list("pk", flat=True).first()


def storefront_demo_seed() -> int:
    """Design the demo shop's home page and publish it; 1 when it did, 0 when already done."""
    storefront_theme_seed()
    if StorefrontVersion.objects.filter(note=DEMO_NOTE).exists():
        return 0
    draft = storefront_draft_get()
    assert draft is not None
    revision = draft.revision
    draft = storefront_settings_update(
        revision=revision,
        values={
            "announcement": "新人首单满 99 元包邮 · 分享好友下单赚佣金",
            "color_primary": "#d9383a",
        },
        actor=ACTOR,
    )
    for section in list(draft.pages.get("home", [])):
        draft = storefront_section_remove(
            revision=draft.revision, page="home", section_id=section["id"], actor=ACTOR
        )
    banner_image = theme_image_upload(file=_picture((1200, 600), (217, 56, 58), (247, 160, 114)))
    story_image = theme_image_upload(file=_picture((800, 800), (54, 120, 80), (180, 214, 160)))
    sections: list[tuple[str, dict[str, Any]]] = [
        (
            "banner",
            {
                "image": banner_image,
                "title": "春茶上新 明前龙井",
                "subtitle": "产地直发 · 新人满 99 减 20",
                "link": f"/categories/{_category_id('茶叶')}"
                if _category_id("茶叶")
                else "/search",
                "button_text": "立即选购",
            },
        ),
        ("category_nav", {"title": "", "show_images": True}),
        (
            "product_grid",
            {"title": "好茶推荐", "category": _category_id("茶叶"), "count": 4, "columns": "2"},
        ),
        (
            "image_with_text",
            {
                "image": story_image,
                "title": "从茶园到茶杯",
                "text": "我们与产区茶农直接合作，每一批茶都经过品鉴与检测，\n48 小时内从产地发出。",
                "link": "/search",
                "button_text": "查看全部商品",
                "image_position": "left",
            },
        ),
        (
            "product_grid",
            {"title": "新鲜到家", "category": _category_id("生鲜"), "count": 6, "columns": "3"},
        ),
        (
            "distributor_recruitment",
            {
                "title": "成为分销员，分享赚佣金",
                "text": "好友通过你的链接下单，你最高可得 10% 佣金，三级团队收益清晰可查。",
                "button_text": "立即加入",
            },
        ),
        (
            "rich_text",
            {
                "title": "关于我们",
                "text": "Demo Shop 是一家示例店铺：茶叶、服装与生鲜，全部由平台的真实服务生成。",
                "alignment": "center",
            },
        ),
    ]
    for section_type, values in sections:
        draft, section_id = storefront_section_add(
            revision=draft.revision, page="home", section_type=section_type, actor=ACTOR
        )
        draft = storefront_section_update(
            revision=draft.revision,
            page="home",
            section_id=section_id,
            values={key: value for key, value in values.items() if value is not None},
            actor=ACTOR,
        )
    storefront_publish(revision=draft.revision, actor=ACTOR, note=DEMO_NOTE)
    return 1
