"""Which rate a commission is booked at: the shop's rate source resolved per beneficiary, level
and order line, and the merchant's per-product / per-SKU rates.

- global: the settings' rate of the level.
- grade: the beneficiary's grade's rate of the level (a distributor without a grade has the
  default grade); a grade without a rate for that level, or no grade, uses the global rate.
- product: the product's rate of the level, else the global rate.
- sku: the SKU's rate of the level, else its product's, else the global rate.

Rates are basis points (percentage) or minor units per unit (fixed), each with its own kind.
Resolution costs a constant number of queries, whatever the depth and the number of lines:
none for global, one for each of the others.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.db.models import F
from django.utils.translation import gettext as _

from distribution.errors import ProductRateTargetInvalidError
from distribution.models import (
    MAX_DEPTH,
    DistributionSettings,
    Distributor,
    Grade,
    ProductCommissionRate,
    RateKind,
    RateSource,
)
from infra.errors import ValidationFailed
from shop.catalog.models import Product, Sku
from shop.orders.models import OrderLine

RateKey = tuple[int, int, int]  # (level, beneficiary member id, order line id)


@dataclass(frozen=True)
class ResolvedRate:
    """A rate and where it came from (for the commission's rule snapshot)."""

    rate_kind: str
    rate: int
    source: str  # the source actually used: global, grade, product or sku
    grade_id: int | None = None  # the beneficiary's grade, when the shop pays by grade
    grade_name: str = ""

    def snapshot(self) -> dict[str, Any]:
        """What the commission's rule records of this rate."""
        snapshot: dict[str, Any] = {
            "rate_source_used": self.source,
            "rate_kind_used": self.rate_kind,
            "rate_used": self.rate,
        }
        if self.grade_id is not None:
            snapshot.update(grade_id=self.grade_id, grade_name=self.grade_name)
        return snapshot


@dataclass(frozen=True)
class _GradeRates:
    grade_id: int
    name: str
    rate_kind: str
    level_rates: list[int]


def _global(settings: DistributionSettings, level: int) -> ResolvedRate:
    rates = list(settings.level_rates)
    rate = rates[level - 1] if 1 <= level <= len(rates) else 0
    return ResolvedRate(settings.rate_kind, rate, RateSource.GLOBAL)


def _grades_of(member_ids: list[int]) -> dict[int, _GradeRates]:
    """Each distributor's grade (the default grade when they have none): one query."""
    if not member_ids:
        return {}
    grade = Grade._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT d.member_id, g.id, g.name, g.rate_kind, g.level_rates
            FROM "{Distributor._meta.db_table}" d
            JOIN "{grade}" g
              ON g.id = coalesce(d.grade_id, (SELECT id FROM "{grade}" WHERE is_default))
            WHERE d.member_id = ANY(%s::bigint[])
            """,
            [sorted(set(member_ids))],
        )
        rows = cursor.fetchall()
    return {
        int(row[0]): _GradeRates(int(row[1]), str(row[2]), str(row[3]), list(row[4] or []))
        for row in rows
    }


def commission_rates_resolve(
    *,
    settings: DistributionSettings,
    beneficiaries: Sequence[tuple[int, int]],
    lines: Sequence[OrderLine],
) -> dict[RateKey, ResolvedRate]:
    """The rate of each (level, member, line) under the shop's rate source, with its origin."""
    resolved: dict[RateKey, ResolvedRate] = {}
    source = settings.rate_source
    if source == RateSource.GRADE:
        grades = _grades_of([member_id for _level, member_id in beneficiaries])
        for level, member_id in beneficiaries:
            grade = grades.get(member_id)
            if grade is not None and level <= len(grade.level_rates):
                rate = ResolvedRate(
                    grade.rate_kind,
                    grade.level_rates[level - 1],
                    RateSource.GRADE,
                    grade.grade_id,
                    grade.name,
                )
            else:
                fallback = _global(settings, level)
                rate = ResolvedRate(
                    fallback.rate_kind,
                    fallback.rate,
                    fallback.source,
                    grade.grade_id if grade else None,
                    grade.name if grade else "",
                )
            for line in lines:
                resolved[(level, member_id, line.pk)] = rate
        return resolved
    by_product: dict[int, ProductCommissionRate] = {}
    by_sku: dict[int, ProductCommissionRate] = {}
    if source in (RateSource.PRODUCT, RateSource.SKU) and lines:
        rows = ProductCommissionRate.objects.filter(
            product_id__in={line.product_id for line in lines}
        )
        if source == RateSource.PRODUCT:
            rows = rows.filter(sku__isnull=True)
        for row in rows:
            if row.sku_id is None:
                by_product[row.product_id] = row
            else:
                by_sku[row.sku_id] = row
    for level, member_id in beneficiaries:
        fallback = _global(settings, level)
        for line in lines:
            rate = fallback
            for own, origin in (
                (by_sku.get(line.sku_id), RateSource.SKU),
                (by_product.get(line.product_id), RateSource.PRODUCT),
            ):
                if own is not None and level <= len(own.level_rates):
                    rate = ResolvedRate(own.rate_kind, own.level_rates[level - 1], origin)
                    break
            resolved[(level, member_id, line.pk)] = rate
    return resolved


def commission_rates(
    *,
    settings: DistributionSettings,
    beneficiaries: Sequence[tuple[int, int]],
    lines: Sequence[OrderLine],
) -> dict[RateKey, tuple[str, int]]:
    """(rate kind, rate) of each (level, member, line): basis points, or minor units per unit."""
    return {
        key: (rate.rate_kind, rate.rate)
        for key, rate in commission_rates_resolve(
            settings=settings, beneficiaries=beneficiaries, lines=lines
        ).items()
    }


# --- The merchant's per-product and per-SKU rates


def _rates_invalid(rates: Any, kind: Any) -> ValidationFailed | None:
    fields: dict[str, list[dict[str, str]]] = {}
    if kind not in RateKind.values:
        fields["rate_kind"] = [
            {"code": "invalid_choice", "message": _("Choose one of the offered values.")}
        ]
    if not isinstance(rates, list) or not all(
        isinstance(rate, int) and not isinstance(rate, bool) and rate >= 0 for rate in rates
    ):
        fields["level_rates"] = [
            {"code": "invalid", "message": _("Give one rate per level, each at least 0.")}
        ]
    elif len(rates) > MAX_DEPTH:
        fields["level_rates"] = [
            {
                "code": "depth_exceeds_limit",
                "message": _("Commissions go 1 to 3 levels up, never more."),
            }
        ]
    elif kind == RateKind.PERCENTAGE and sum(rates) > 10000:
        fields["level_rates"] = [
            {
                "code": "rates_exceed_sale",
                "message": _("All levels together cannot take more than the whole sale."),
            }
        ]
    return ValidationFailed(_("Some fields are not valid."), fields=fields) if fields else None


@transaction.atomic
def product_rate_set(
    *,
    product_id: int,
    sku_id: int | None = None,
    sku_code: str = "",
    rate_kind: str,
    level_rates: list[int],
) -> ProductCommissionRate:
    """Set the per-level rates of a product (or of one of its SKUs, by id or by code): basis
    points or minor units per unit; replaces what was there."""
    error = _rates_invalid(level_rates, rate_kind)
    if error is not None:
        raise error
    if not Product.objects.filter(pk=product_id, deleted_at__isnull=True).exists():
        raise ProductRateTargetInvalidError
    if sku_code.strip():
        sku_id = (
            Sku.objects.filter(product_id=product_id, code=sku_code.strip())
            .values_list("pk", flat=True)
            .first()
        )
        if sku_id is None:
            raise ProductRateTargetInvalidError
    elif sku_id is not None and not Sku.objects.filter(pk=sku_id, product_id=product_id).exists():
        raise ProductRateTargetInvalidError
    # sku_id None matches the product's own row (IS NULL).
    target: dict[str, Any] = {"product_id": product_id, "sku_id": sku_id}
    rate, _created = ProductCommissionRate.objects.update_or_create(
        **target,
        defaults={"rate_kind": rate_kind, "level_rates": list(level_rates)},
    )
    return rate


@transaction.atomic
def product_rate_delete(*, product_id: int, sku_id: int | None = None) -> bool:
    """Remove a product's (or SKU's) own rates, so it uses the next source; whether any were."""
    target: dict[str, Any] = {"product_id": product_id, "sku_id": sku_id}
    deleted, _details = ProductCommissionRate.objects.filter(**target).delete()
    return deleted > 0


@transaction.atomic
def product_rate_remove(*, rate_id: int) -> bool:
    """Remove one product's or SKU's rates by their id; whether they were there."""
    deleted, _details = ProductCommissionRate.objects.filter(pk=rate_id).delete()
    return deleted > 0


def product_rate_list() -> list[ProductCommissionRate]:
    """Every product's and SKU's own rates, with the product and SKU (one query)."""
    return list(
        ProductCommissionRate.objects.select_related("product", "sku").order_by(
            "product_id", F("sku_id").asc(nulls_first=True)
        )
    )
