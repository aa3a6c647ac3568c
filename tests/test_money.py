"""Money: minor units, one rounding function, exact allocation, formatting per locale."""

from __future__ import annotations

from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from infra.money import CurrencyMismatchError, Money, currency_exponent, minor_round


@pytest.mark.parametrize(
    ("amount", "currency", "minor"),
    [("12.34", "CNY", 1234), ("12000", "VND", 12000), ("15000", "IDR", 15000), ("500", "JPY", 500)],
)
def test_major_to_minor_units_follow_each_currency(amount: str, currency: str, minor: int) -> None:
    assert Money.from_major(amount, currency, mode=ROUND_HALF_UP) == Money(minor, currency)
    assert Money(minor, currency).to_major() == Decimal(amount)


def test_the_rounding_mode_is_always_stated_and_applied() -> None:
    assert minor_round(Decimal("10.5"), mode=ROUND_HALF_UP) == 11
    assert minor_round(Decimal("10.99"), mode=ROUND_DOWN) == 10
    assert minor_round(Decimal("-10.99"), mode=ROUND_DOWN) == -10
    with pytest.raises(ValueError, match="unsupported rounding mode"):
        minor_round(Decimal("1.5"), mode="ROUND_CEILING")


def test_a_commission_rate_rounds_down_and_a_fee_rounds_half_up() -> None:
    price = Money(999, "CNY")
    assert price.times(Decimal("0.15"), mode=ROUND_DOWN) == Money(149, "CNY")  # 149.85
    assert price.times(Decimal("0.15"), mode=ROUND_HALF_UP) == Money(150, "CNY")


def test_floats_are_refused() -> None:
    with pytest.raises(TypeError):
        Money.from_major(12.34, "CNY", mode=ROUND_HALF_UP)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Money(100, "CNY").times(0.1, mode=ROUND_DOWN)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Money(1.5, "CNY")  # type: ignore[arg-type]


def test_currencies_never_mix() -> None:
    with pytest.raises(CurrencyMismatchError):
        Money(100, "CNY") + Money(100, "USD")
    with pytest.raises(CurrencyMismatchError):
        assert Money(100, "CNY") < Money(100, "USD")
    with pytest.raises(ValueError, match="ISO 4217"):
        currency_exponent("yuan")


def test_allocation_gives_leftover_units_to_the_largest_remainders() -> None:
    # 100 fen over 1:1:1 -> 34, 33, 33 (the first remainder wins the tie)
    assert [part.minor for part in Money(100, "CNY").allocate([1, 1, 1])] == [34, 33, 33]
    assert [part.minor for part in Money(10, "CNY").allocate([3, 7])] == [3, 7]
    assert [part.minor for part in Money(-100, "CNY").allocate([1, 2])] == [-33, -67]


@given(
    minor=st.integers(min_value=-(10**12), max_value=10**12),
    weights=st.lists(st.integers(min_value=0, max_value=10**6), min_size=1, max_size=30).filter(
        lambda weights: sum(weights) > 0
    ),
)
def test_allocation_always_adds_up_and_stays_proportional(minor: int, weights: list[int]) -> None:
    parts = Money(minor, "CNY").allocate(weights)
    assert sum(part.minor for part in parts) == minor
    total = sum(weights)
    for part, weight in zip(parts, weights, strict=True):
        exact = Decimal(minor) * weight / total
        assert abs(Decimal(part.minor) - exact) < 1


@pytest.mark.parametrize(
    ("money", "locale", "text"),
    [
        (Money(1234, "CNY"), "zh-hans", "¥12.34"),
        (Money(123450, "USD"), "en", "$1,234.50"),
        (Money(15000, "IDR"), "id", "Rp15.000"),
        (Money(12000, "VND"), "vi", "12.000\xa0₫"),
        (Money(9950, "THB"), "th", "฿99.50"),
    ],
)
def test_amounts_are_formatted_per_locale_with_the_right_digits(
    money: Money, locale: str, text: str
) -> None:
    assert money.format(locale) == text
