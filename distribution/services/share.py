"""Referral capture: a distributor's share link, the scene of a mini-program code, a plain QR
code for H5, and posters drawn with Pillow from the shop's poster template.

Every image is stored once in the shop's storage (its folder carries the schema) under the
SHA-256 of what made it (a ShareImage row keyed by kind and hash): the same inputs find the
stored file and nothing is drawn or asked of WeChat again, while a changed product title or
price, template, code or font gives a new hash and so a new file. Mini-program codes come from
WeChat's getwxacodeunlimit through the control plane's typed door
(tenants.services.wechat.miniprogram_code_unlimited), which holds the shop's credentials, as
members' WeChat login does.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import os
import re
import secrets
import shutil
import subprocess
from dataclasses import dataclass
from typing import IO, Any

import qrcode
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from PIL import Image, ImageDraw, ImageFont, ImageOps, UnidentifiedImageError

from distribution.errors import (
    NotADistributorError,
    PosterFontMissingError,
    PosterImageInvalidError,
    SharePageInvalidError,
    ShareSceneNotFoundError,
)
from distribution.models import Distributor, PosterLayout, PosterTemplate, ShareImage, ShareScene
from distribution.services.bindings import CODE_ALPHABET
from distribution.services.qualification import distributor_qualify_on_demand
from infra.db import schema_connection
from infra.errors import ValidationFailed
from infra.images import image_checked
from infra.money import Money
from shop.catalog.models import Product
from shop.catalog.selectors.products import product_get, product_price_range
from shop.core.selectors import shop_context
from shop.customers.models import Member
from tenants.selectors.tenancy import shop_host_for
from tenants.selectors.wechat import wechat_payer_appid
from tenants.services.wechat import MiniProgramPageInvalidError, miniprogram_code_unlimited

SCENE_LENGTH = 12  # of CODE_ALPHABET: 60 bits, well under WeChat's 32 characters
HOME_PAGE = "pages/index/index"
PRODUCT_PAGE = "pages/product/index"
PAGE_MAX_LENGTH = 100
PAGE_PATTERN = re.compile(r"^[A-Za-z0-9_-]+(?:/[A-Za-z0-9_-]+)*$")
CODE_WIDTH = 430  # pixels, WeChat's default
POSTER_SIZE = (750, 1334)
# Bump when the drawing changes, so that stored posters are drawn again.
RENDER_VERSION = "1"
FOLDER = "distribution/share"
COLOR_PATTERN = re.compile(r"^#[0-9A-Fa-f]{6}$")
BACKGROUND_MAX_BYTES = 5 * 1024 * 1024
BACKGROUND_MAX_PIXELS = 40_000_000
BACKGROUND_FORMATS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}
# Where Debian (fonts-noto-cjk), Fedora/Arch, Alpine and macOS put a Chinese font.
FONT_CANDIDATES = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Medium.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/wenquanyi/wqy-microhei/wqy-microhei.ttc",
    "/System/Library/Fonts/PingFang.ttc",
)


# --- Distributors, scenes and links


def share_distributor_get(*, member: Member) -> Distributor:
    """The member's active distributor profile, made at this first share when the shop lets
    members become distributors without review; NotADistributorError otherwise."""
    active = Distributor.objects.filter(member=member, status=Distributor.Status.ACTIVE).first()
    if active is not None:
        return active
    try:
        return distributor_qualify_on_demand(member=member)
    except NotADistributorError as error:
        raise NotADistributorError(_("You are not a distributor of this shop (yet).")) from error


def share_page_clean(page: str | None, *, product_id: int | None) -> str:
    """The mini-program page (no leading slash, no query); the home or product page if none."""
    page = (page or "").strip().lstrip("/")
    if not page:
        return PRODUCT_PAGE if product_id is not None else HOME_PAGE
    if len(page) > PAGE_MAX_LENGTH or not PAGE_PATTERN.match(page):
        raise SharePageInvalidError(
            _("A mini-program page is a path like pages/index/index."),
            fields={
                "page": [
                    {
                        "code": "invalid",
                        "message": _("A mini-program page is a path like pages/index/index."),
                    }
                ]
            },
        )
    return page


def _scene_get_or_create(
    *, distributor: Distributor, product_id: int | None, page: str
) -> tuple[ShareScene, bool]:
    lookup = {"distributor": distributor, "product_id": product_id, "page": page}
    existing = ShareScene.objects.filter(**lookup).first()
    if existing is not None:
        return existing, False
    for _attempt in range(5):
        scene = "".join(secrets.choice(CODE_ALPHABET) for _ in range(SCENE_LENGTH))
        try:
            with transaction.atomic():
                return ShareScene.objects.create(scene=scene, **lookup), True
        except IntegrityError:
            # Another request made this share's scene first (or, rarely, the scene was taken).
            existing = ShareScene.objects.filter(**lookup).first()
            if existing is not None:
                return existing, False
    raise RuntimeError("could not find a free share scene")


def share_scene_get_or_create(
    *, distributor: Distributor, product_id: int | None, page: str
) -> ShareScene:
    """The scene of this share: the same one for the same (distributor, product, page)."""
    return _scene_get_or_create(distributor=distributor, product_id=product_id, page=page)[0]


def share_scene_resolve(*, scene: str) -> dict[str, Any]:
    """What a mini-program code's scene stands for: {code, product_id, page}, for onLoad.

    ShareSceneNotFoundError for an unknown scene or one of a distributor no longer active.
    """
    found = (
        ShareScene.objects.filter(
            scene=scene.strip(), distributor__status=Distributor.Status.ACTIVE
        )
        .select_related("distributor")
        .first()
        if scene.strip()
        else None
    )
    if found is None:
        raise ShareSceneNotFoundError(_("This share code is unknown or no longer valid."))
    return {"code": found.distributor.code, "product_id": found.product_id, "page": found.page}


def shop_base_url() -> str:
    """The storefront of the current shop on its platform subdomain, ending in "/"."""
    port = f":{settings.PLATFORM_PORT}" if settings.PLATFORM_PORT else ""
    return f"{settings.PLATFORM_SCHEME}://{shop_host_for(shop_context().slug)}{port}/"


def share_link(*, code: str, product_id: int | None = None) -> str:
    """The H5 share link of a distributor's code: the storefront, or a product's page."""
    if product_id is None:
        return f"{shop_base_url()}?ref={code}"
    return f"{shop_base_url()}products/{product_id}?ref={code}"


# --- Stored images


def _digest(parts: dict[str, Any]) -> str:
    return hashlib.sha256(
        json.dumps(parts, sort_keys=True, ensure_ascii=False).encode()
    ).hexdigest()


def _stored(kind: str, content_hash: str) -> ShareImage | None:
    return ShareImage.objects.filter(kind=kind, content_hash=content_hash).first()


def _store(kind: str, content_hash: str, content: bytes) -> ShareImage:
    """Keep `content` (PNG or JPEG) under its hash; the row of whoever stored it first."""
    with Image.open(io.BytesIO(content)) as image:
        width, height = image.size
        extension = "jpg" if image.format == "JPEG" else "png"
    name = f"{FOLDER}/{kind}/{content_hash[:2]}/{content_hash}.{extension}"
    if not default_storage.exists(name):
        name = default_storage.save(name, ContentFile(content))
    try:
        with transaction.atomic():
            return ShareImage.objects.create(
                kind=kind, content_hash=content_hash, file=name, width=width, height=height
            )
    except IntegrityError:
        stored = _stored(kind, content_hash)
        if stored is None:
            raise
        return stored


def share_image_url(image: ShareImage) -> str:
    """The URL of a stored share image (presigned on S3)."""
    return str(default_storage.url(image.file))


def share_image_bytes(image: ShareImage) -> bytes:
    with default_storage.open(image.file, "rb") as stored:
        return bytes(stored.read())


def _qr_png(text: str) -> bytes:
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=10, border=2)
    code.add_data(text)
    code.make(fit=True)
    image = code.make_image(fill_color="black", back_color="white").get_image().convert("RGB")
    output = io.BytesIO()
    image.save(output, format="PNG")
    return output.getvalue()


def share_qr_image(*, link: str) -> ShareImage:
    """A plain QR code (PNG) of the link, for H5 (stored once per link)."""
    content_hash = _digest({"kind": "qr", "version": RENDER_VERSION, "text": link})
    return _stored(ShareImage.Kind.QR, content_hash) or _store(
        ShareImage.Kind.QR, content_hash, _qr_png(link)
    )


def share_miniprogram_code_image(*, scene: ShareScene) -> ShareImage | None:
    """The shop's mini-program code for the scene (stored once per app, scene and page); None
    when the shop has no mini-program. WeChat's refusals are the control plane's domain errors
    (miniprogram_page_invalid, wechat_quota_exceeded, wechat_unavailable …)."""
    tenant_id = shop_context().tenant_id
    appid = wechat_payer_appid(tenant_id=tenant_id, kind="miniprogram")
    if not appid:
        return None
    content_hash = _digest(
        {
            "kind": "wxacode",
            "appid": appid,
            "scene": scene.scene,
            "page": scene.page,
            "width": CODE_WIDTH,
        }
    )
    stored = _stored(ShareImage.Kind.MINIPROGRAM_CODE, content_hash)
    if stored is not None:
        return stored
    code = miniprogram_code_unlimited(
        tenant_id=tenant_id, scene=scene.scene, page=scene.page, width=CODE_WIDTH
    )
    return _store(ShareImage.Kind.MINIPROGRAM_CODE, content_hash, code.image)


# --- Fonts


def _fc_list_chinese() -> list[str]:
    """Fonts fontconfig knows to cover Chinese (`fc-list :lang=zh`), if fontconfig is there."""
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return []
    try:
        listed = subprocess.run(  # noqa: S603 - a fixed command, no shell, no user input
            [fc_list, ":lang=zh", "file"], capture_output=True, text=True, timeout=5, check=False
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return sorted(line.split(":")[0].strip() for line in listed.splitlines() if line.strip())


@functools.cache
def poster_font_path() -> str:
    """The Chinese font posters are drawn with: the first of FONT_CANDIDATES that exists, else
    one fontconfig lists for Chinese; PosterFontMissingError when the machine has none."""
    for path in (*FONT_CANDIDATES, *_fc_list_chinese()):
        if os.path.isfile(path):
            return path
    raise PosterFontMissingError()


@functools.cache
def _font_index(path: str) -> int:
    """In a collection (.ttc), the face for Simplified Chinese; 0 otherwise."""
    if not path.lower().endswith(".ttc"):
        return 0
    for index in range(12):
        try:
            family, _style = ImageFont.truetype(path, 12, index=index).getname()
        except OSError:
            break
        if family and family.endswith(" SC"):
            return index
    return 0


@functools.cache
def _font(size: int) -> ImageFont.FreeTypeFont:
    path = poster_font_path()
    return ImageFont.truetype(path, size, index=_font_index(path))


def _font_identity() -> dict[str, Any]:
    path = poster_font_path()
    return {"path": path, "index": _font_index(path), "bytes": os.path.getsize(path)}


# --- The poster template


def poster_template_seed() -> PosterTemplate:
    """The shop's default poster template (created once)."""
    existing = PosterTemplate.objects.filter(is_default=True).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            return PosterTemplate.objects.create(
                name="默认海报",
                is_default=True,
                headline="好物推荐",
                footer="长按识别二维码 立即购买",
            )
    except IntegrityError:
        return PosterTemplate.objects.get(is_default=True)


def poster_template_get() -> PosterTemplate:
    """The shop's poster template (the default, seeded when missing)."""
    return PosterTemplate.objects.filter(is_default=True).first() or poster_template_seed()


def poster_layout_choices() -> list[tuple[str, str]]:
    """The layouts a poster template may take: (value, label)."""
    return [(str(value), str(label)) for value, label in PosterLayout.choices]


# The model's max_length of the template's texts.
TEXT_LIMITS = {"headline": 40, "footer": 60}
TEMPLATE_FIELDS = ("layout", "background_color", "text_color", "accent_color", "headline", "footer")


@transaction.atomic
def poster_template_update(*, changes: dict[str, Any]) -> PosterTemplate:
    """Change the poster template's layout, colours (#RRGGBB) and texts; ValidationFailed with
    the fields at fault changes nothing."""
    template = PosterTemplate.objects.select_for_update().get(pk=poster_template_get().pk)
    errors: dict[str, list[dict[str, str]]] = {}
    cleaned: dict[str, str] = {}
    for name, value in changes.items():
        if name not in TEMPLATE_FIELDS:
            errors[name] = [{"code": "unknown", "message": _("This field cannot be changed.")}]
            continue
        text = str(value or "").strip()
        if name == "layout" and text not in PosterLayout.values:
            errors[name] = [{"code": "invalid_choice", "message": _("Choose a layout.")}]
        elif name.endswith("_color") and not COLOR_PATTERN.match(text):
            errors[name] = [
                {"code": "invalid", "message": _("A colour is # and 6 hexadecimal digits.")}
            ]
        elif name in TEXT_LIMITS:
            limit = TEXT_LIMITS[name]
            if len(text) > limit:
                errors[name] = [
                    {
                        "code": "max_length",
                        "message": _("At most %(limit)d characters.") % {"limit": limit},
                    }
                ]
        cleaned[name] = text.upper() if name.endswith("_color") else text
    if errors:
        raise ValidationFailed(_("Some fields are not valid."), fields=errors)
    for name, text in cleaned.items():
        setattr(template, name, text)
    template.save()
    return template


def _background_checked(file: IO[bytes]) -> tuple[bytes, str]:
    checked = image_checked(
        file,
        max_bytes=BACKGROUND_MAX_BYTES,
        max_pixels=BACKGROUND_MAX_PIXELS,
        formats=BACKGROUND_FORMATS,
    )
    if checked is None:
        raise PosterImageInvalidError(_("Upload a JPEG, PNG or WebP picture of at most 5 MB."))
    return checked.content, checked.extension


def poster_background_set(*, file: IO[bytes] | None) -> PosterTemplate:
    """Put an uploaded picture behind the posters (None: back to the plain colour)."""
    name = ""
    if file is not None:
        content, extension = _background_checked(file)
        digest = hashlib.sha256(content).hexdigest()
        name = f"distribution/posters/backgrounds/{digest}.{extension}"
        if not default_storage.exists(name):
            name = default_storage.save(name, ContentFile(content))
    with transaction.atomic():
        template = PosterTemplate.objects.select_for_update().get(pk=poster_template_get().pk)
        template.background_image = name
        template.save(update_fields=["background_image", "updated_at"])
    return template


def poster_background_url(template: PosterTemplate) -> str | None:
    return (
        str(default_storage.url(template.background_image)) if template.background_image else None
    )


# --- Drawing


@dataclass(frozen=True)
class PosterContent:
    """What a poster shows besides its template (all of it goes into the cache key)."""

    title: str
    price: str  # formatted, "" for none
    image: str  # storage name of the product picture, "" for none
    nickname: str
    code_hash: str  # the content hash of the code image drawn in


def _rgb(color: str) -> tuple[int, int, int]:
    value = int(color.lstrip("#"), 16)
    return (value >> 16) & 255, (value >> 8) & 255, value & 255


def _open_stored(name: str) -> Image.Image | None:
    if not name:
        return None
    try:
        with default_storage.open(name, "rb") as stored:
            image = Image.open(io.BytesIO(stored.read()))
            return ImageOps.exif_transpose(image).convert("RGB")
    except (OSError, UnidentifiedImageError, ValueError):
        return None  # a picture gone missing: the poster is still useful without it


def _cover(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    return ImageOps.fit(image, size, method=Image.Resampling.LANCZOS)


def _wrap(draw: ImageDraw.ImageDraw, text: str, font: Any, width: int, lines: int) -> list[str]:
    """`text` cut into at most `lines` lines of at most `width` pixels (CJK breaks anywhere);
    an ellipsis ends a text that did not fit."""
    result: list[str] = []
    current = ""
    for character in text:
        if draw.textlength(current + character, font=font) <= width:
            current += character
            continue
        result.append(current)
        current = character
        if len(result) == lines:
            break
    else:
        if current:
            result.append(current)
        return result
    last = result[-1]
    while last and draw.textlength(last + "…", font=font) > width:
        last = last[:-1]
    result[-1] = last + "…"
    return result


def _draw_lines(
    draw: ImageDraw.ImageDraw,
    lines: list[str],
    *,
    x: int,
    y: int,
    font: Any,
    fill: tuple[int, int, int],
    spacing: int,
) -> int:
    for line in lines:
        draw.text((x, y), line, font=font, fill=fill)
        y += spacing
    return y


def poster_draw(
    *, template: PosterTemplate, content: PosterContent, code: Image.Image
) -> Image.Image:
    """The poster (RGB, POSTER_SIZE) of the template with the content and the code drawn in."""
    width, height = POSTER_SIZE
    text_color = _rgb(template.text_color)
    accent = _rgb(template.accent_color)
    poster = Image.new("RGB", POSTER_SIZE, _rgb(template.background_color))
    background = _open_stored(template.background_image)
    if background is not None:
        poster.paste(_cover(background, POSTER_SIZE), (0, 0))
    draw = ImageDraw.Draw(poster)
    picture = _open_stored(content.image)
    margin = 40
    inner = width - 2 * margin
    code_size = 220
    if template.layout == PosterLayout.CARD:
        if picture is not None:
            poster.paste(_cover(picture, POSTER_SIZE), (0, 0))
        else:
            draw.rectangle((0, 0, width, height), fill=accent)
        card_top = height - 440
        draw.rounded_rectangle(
            (30, card_top, width - 30, height - 30), radius=24, fill=(255, 255, 255)
        )
        if template.headline:
            draw.rectangle((0, 0, width, 110), fill=(0, 0, 0))
            draw.text((margin, 30), template.headline, font=_font(44), fill=(255, 255, 255))
        text_left, text_width = 60, width - 60 - code_size - 80
        y = card_top + 36
        title_lines = _wrap(draw, content.title, _font(34), text_width, 3)
        y = _draw_lines(
            draw, title_lines, x=text_left, y=y, font=_font(34), fill=text_color, spacing=48
        )
        if content.price:
            draw.text((text_left, y + 10), content.price, font=_font(46), fill=accent)
            y += 76
        if content.nickname:
            recommended = _("%(name)s recommends") % {"name": content.nickname}
            draw.text((text_left, y + 10), recommended, font=_font(26), fill=text_color)
        if template.footer:
            footer_lines = _wrap(draw, template.footer, _font(24), text_width, 2)
            _draw_lines(
                draw,
                footer_lines,
                x=text_left,
                y=height - 30 - 36 - 34 * len(footer_lines),
                font=_font(24),
                fill=(136, 136, 136),
                spacing=34,
            )
        code_box = (width - 60 - code_size, card_top + (440 - 60 - code_size) // 2 + 30)
    else:
        y = margin
        if template.headline:
            headline_width = draw.textlength(template.headline, font=_font(44))
            draw.text(
                ((width - headline_width) / 2, y), template.headline, font=_font(44), fill=accent
            )
        y += 80
        picture_box = (margin, y, width - margin, y + inner)
        if picture is not None:
            poster.paste(_cover(picture, (inner, inner)), (margin, y))
        else:
            draw.rectangle(picture_box, fill=accent)
        y += inner + 30
        title_lines = _wrap(draw, content.title, _font(36), inner, 2)
        y = _draw_lines(
            draw, title_lines, x=margin, y=y, font=_font(36), fill=text_color, spacing=50
        )
        if content.price:
            draw.text((margin, y + 6), content.price, font=_font(48), fill=accent)
        bottom = height - margin - code_size
        text_width = inner - code_size - 30
        lower_y = bottom + 20
        if content.nickname:
            recommended = _("%(name)s recommends") % {"name": content.nickname}
            lines = _wrap(draw, recommended, _font(30), text_width, 2)
            lower_y = _draw_lines(
                draw, lines, x=margin, y=lower_y, font=_font(30), fill=text_color, spacing=44
            )
        if template.footer:
            footer_lines = _wrap(draw, template.footer, _font(26), text_width, 3)
            _draw_lines(
                draw,
                footer_lines,
                x=margin,
                y=lower_y + 16,
                font=_font(26),
                fill=(136, 136, 136),
                spacing=38,
            )
        code_box = (width - margin - code_size, bottom)
    code_image = code.convert("RGB").resize((code_size, code_size), Image.Resampling.LANCZOS)
    poster.paste(code_image, code_box)
    return poster


def _png(image: Image.Image) -> bytes:
    output = io.BytesIO()
    image.save(output, format="PNG", optimize=True)
    return output.getvalue()


def _template_identity(template: PosterTemplate) -> dict[str, Any]:
    return {name: getattr(template, name) for name in (*TEMPLATE_FIELDS, "background_image")}


def share_poster_image(
    *, template: PosterTemplate, content: PosterContent, code: ShareImage
) -> ShareImage:
    """The poster of `content` with `code` on the template: stored once per hash of the
    template, the content, the code and the font; drawn only when that hash is new."""
    content_hash = _digest(
        {
            "kind": "poster",
            "version": RENDER_VERSION,
            "template": _template_identity(template),
            "content": content.__dict__,
            "font": _font_identity(),
            "language": _("%(name)s recommends"),
        }
    )
    stored = _stored(ShareImage.Kind.POSTER, content_hash)
    if stored is not None:
        return stored
    with Image.open(io.BytesIO(share_image_bytes(code))) as code_image:
        drawn = poster_draw(template=template, content=content, code=code_image)
    return _store(ShareImage.Kind.POSTER, content_hash, _png(drawn))


def _shop_name() -> str:
    tenant = schema_connection().tenant
    return str(getattr(tenant, "name", "") or "")


def poster_content_for(
    *, product: Product | None, member: Member, code: ShareImage
) -> PosterContent:
    """What a poster of `product` (or of the shop, when None) shared by `member` shows."""
    nickname = member.nickname or ""
    if product is None:
        return PosterContent(
            title=_shop_name(), price="", image="", nickname=nickname, code_hash=code.content_hash
        )
    prices = product_price_range(product)
    price = Money(prices[0], shop_context().currency).format("zh_CN") if prices else ""
    cover = product.images.order_by("position", "id").values_list("image", flat=True).first()
    return PosterContent(
        title=product.title,
        price=price,
        image=str(cover or ""),
        nickname=nickname,
        code_hash=code.content_hash,
    )


def poster_preview(*, template: PosterTemplate | None = None) -> bytes:
    """A PNG of the template drawn with sample content (the console's preview; not stored)."""
    template = template or poster_template_get()
    sample = PosterContent(
        title=_("Sample product: the title of a product shows here, on up to two lines"),
        price=Money(19900, shop_context().currency).format("zh_CN"),
        image="",
        nickname=_("Distributor"),
        code_hash="",
    )
    code = Image.open(io.BytesIO(_qr_png(shop_base_url())))
    return _png(poster_draw(template=template, content=sample, code=code))


# --- A distributor's share


@dataclass(frozen=True)
class Share:
    link: str
    scene: str
    qr_url: str
    miniprogram_code_url: str | None
    poster_url: str


def share_create(
    *, member: Member, product_id: int | None = None, page: str | None = None
) -> Share:
    """A distributor's share of the shop or of a product: the H5 link with their code, the
    mini-program code's scene, a QR code, the mini-program code (when the shop has a
    mini-program) and a poster with the code (the mini-program's when there is one).

    NotADistributorError for a member who is not an active distributor; ProductNotFoundError
    for a product not on sale; share_page_invalid for a malformed page; WeChat's refusals as
    the control plane's errors. Images already made are reused, not made again.
    """
    distributor = share_distributor_get(member=member)
    product = product_get(product_id=product_id) if product_id is not None else None
    page = share_page_clean(page, product_id=product_id)
    scene, created = _scene_get_or_create(distributor=distributor, product_id=product_id, page=page)
    try:
        miniprogram_code = share_miniprogram_code_image(scene=scene)
    except MiniProgramPageInvalidError:
        # No code can ever exist for a page the mini-program lacks: the bad input leaves nothing.
        if created:
            ShareScene.objects.filter(pk=scene.pk).delete()
        raise
    link = share_link(code=distributor.code, product_id=product_id)
    qr = share_qr_image(link=link)
    code = miniprogram_code or qr
    poster = share_poster_image(
        template=poster_template_get(),
        content=poster_content_for(product=product, member=member, code=code),
        code=code,
    )
    return Share(
        link=link,
        scene=scene.scene,
        qr_url=share_image_url(qr),
        miniprogram_code_url=share_image_url(miniprogram_code) if miniprogram_code else None,
        poster_url=share_image_url(poster),
    )
