"""Referral capture: the scenes behind mini-program codes, the shop's poster template, and the
share images made from them (cached by the hash of what went into them).

WeChat's getwxacodeunlimit carries at most 32 characters of `scene`, too few for a distributor's
code, a product and a page: a ShareScene is a short id that stands for them, one per
(distributor, product, page), which the mini-program resolves on launch.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

SCENE_MAX_LENGTH = 32


class ShareScene(models.Model):
    """The short `scene` of a mini-program code: whose share it is, of what, opening which page."""

    scene = models.CharField(max_length=SCENE_MAX_LENGTH, unique=True)
    distributor = models.ForeignKey(
        "distribution.Distributor", on_delete=models.CASCADE, related_name="share_scenes"
    )
    product = models.ForeignKey(
        "catalog.Product", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    # A mini-program page path as WeChat takes it: no leading slash, no query.
    page = models.CharField(max_length=100)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            # One scene per share: asking again gives the same one (NULL product included).
            models.UniqueConstraint(
                fields=["distributor", "product", "page"],
                name="distribution_share_scene_once",
                nulls_distinct=False,
            ),
        ]

    def __str__(self) -> str:
        return self.scene


class PosterLayout(models.TextChoices):
    # The product picture on top, title and price below it, the code in the bottom corner.
    CLASSIC = "classic", _("Picture on top, code at the bottom")
    # The picture fills the poster; a white card at the bottom holds the text and the code.
    CARD = "card", _("Full picture with a card at the bottom")


class PosterTemplate(models.Model):
    """How the shop's share posters look (one default, seeded with the shop)."""

    name = models.CharField(max_length=60)
    is_default = models.BooleanField(default=False)
    layout = models.CharField(
        max_length=16, choices=PosterLayout.choices, default=PosterLayout.CLASSIC
    )
    # #RRGGBB
    background_color = models.CharField(max_length=7, default="#FFFFFF")
    text_color = models.CharField(max_length=7, default="#222222")
    accent_color = models.CharField(max_length=7, default="#E4393C")
    # Storage name of an uploaded background picture ("" for the plain colour).
    background_image = models.CharField(max_length=500, blank=True, default="")
    headline = models.CharField(max_length=40, blank=True, default="")
    footer = models.CharField(max_length=60, blank=True, default="")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"],
                condition=Q(is_default=True),
                name="distribution_poster_template_one_default",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class ShareImage(models.Model):
    """A share image stored in the shop's storage, keyed by the hash of what made it: the same
    inputs find the stored file instead of drawing (or asking WeChat) again."""

    class Kind(models.TextChoices):
        QR = "qr"
        MINIPROGRAM_CODE = "wxacode"
        POSTER = "poster"

    kind = models.CharField(max_length=8, choices=Kind.choices)
    content_hash = models.CharField(max_length=64)
    file = models.CharField(max_length=500)  # storage name, under the shop's folder
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "content_hash"], name="distribution_share_image_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.content_hash[:12]}"
