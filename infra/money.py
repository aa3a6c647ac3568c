"""Money: integer minor units with an ISO 4217 currency (ARCHITECTURE §4).

One value type for every amount in code, and one rounding function, `minor_round`, whose mode
is stated at every call: ROUND_HALF_UP for prices and fees shown to shoppers, ROUND_DOWN for
commissions (the remainder is not paid). Rates are Decimals built from strings, never floats.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from typing import Final

from babel import Locale

# Digits after the decimal point, where they differ from 2. VND and IDR are priced in whole units
# in practice (IDR's ISO exponent of 2 is unused), so amounts in them have no minor unit here.
_EXPONENTS: Final[dict[str, int]] = {
    "JPY": 0,
    "KRW": 0,
    "VND": 0,
    "IDR": 0,
    "CLP": 0,
    "ISK": 0,
    "BHD": 3,
    "KWD": 3,
    "OMR": 3,
    "JOD": 3,
    "TND": 3,
}
ROUNDING_MODES: Final = frozenset({ROUND_HALF_UP, ROUND_DOWN})


class CurrencyMismatchError(ValueError):
    """Two amounts in different currencies were combined."""


def currency_exponent(currency: str) -> int:
    """How many decimal digits the currency's minor unit has (0 for VND, 2 for CNY)."""
    if len(currency) != 3 or not currency.isalpha() or not currency.isupper():
        raise ValueError(f"not an ISO 4217 currency code: {currency!r}")
    return _EXPONENTS.get(currency, 2)


def minor_round(amount: Decimal, *, mode: str) -> int:
    """An amount in minor units (possibly fractional) rounded to a whole one, by `mode`.

    `mode` is ROUND_HALF_UP (prices, fees) or ROUND_DOWN (commissions: towards zero).
    """
    if mode not in ROUNDING_MODES:
        raise ValueError(f"unsupported rounding mode {mode!r}")
    return int(amount.to_integral_value(rounding=mode))


@dataclass(frozen=True, slots=True)
class Money:
    """An amount of one currency in its minor unit (fen for CNY, dong for VND)."""

    minor: int
    currency: str

    def __post_init__(self) -> None:
        if not isinstance(self.minor, int) or isinstance(self.minor, bool):
            raise TypeError(f"minor units must be an int, not {type(self.minor).__name__}")
        currency_exponent(self.currency)

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(0, currency)

    @classmethod
    def from_major(cls, amount: Decimal | str | int, currency: str, *, mode: str) -> Money:
        """From a decimal amount in major units ("12.34" CNY -> 1234 fen), rounded by `mode`."""
        if isinstance(amount, float):
            raise TypeError("amounts are never floats: pass a Decimal or a string")
        scaled = Decimal(amount).scaleb(currency_exponent(currency))
        return cls(minor_round(scaled, mode=mode), currency)

    def to_major(self) -> Decimal:
        """The amount in major units, exact (1234 fen -> Decimal("12.34"))."""
        exponent = currency_exponent(self.currency)
        return Decimal(self.minor).scaleb(-exponent).quantize(Decimal(1).scaleb(-exponent))

    def _same_currency(self, other: Money) -> None:
        if other.currency != self.currency:
            raise CurrencyMismatchError(f"{self.currency} and {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.minor + other.minor, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.minor - other.minor, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.minor, self.currency)

    def __lt__(self, other: Money) -> bool:
        self._same_currency(other)
        return self.minor < other.minor

    def __le__(self, other: Money) -> bool:
        self._same_currency(other)
        return self.minor <= other.minor

    def __gt__(self, other: Money) -> bool:
        self._same_currency(other)
        return self.minor > other.minor

    def __ge__(self, other: Money) -> bool:
        self._same_currency(other)
        return self.minor >= other.minor

    def times(self, factor: Decimal | int, *, mode: str) -> Money:
        """This amount times a quantity or a rate (Decimal("0.05") for 5 %), rounded by `mode`."""
        if isinstance(factor, float):
            raise TypeError("rates are never floats: pass a Decimal built from a string")
        return Money(minor_round(Decimal(self.minor) * Decimal(factor), mode=mode), self.currency)

    def allocate(self, weights: Sequence[int]) -> list[Money]:
        """Split into parts proportional to `weights` that add up to exactly this amount.

        Largest remainder: each part is rounded down, then the minor units left over go one each
        to the parts with the largest remainders (ties to the earlier part). Used to spread an
        order discount over its lines.
        """
        if not weights or any(weight < 0 for weight in weights) or sum(weights) == 0:
            raise ValueError("weights must be non-negative with a positive sum")
        total = sum(weights)
        sign = -1 if self.minor < 0 else 1
        magnitude = abs(self.minor)
        shares = [magnitude * weight // total for weight in weights]
        remainders = [magnitude * weight % total for weight in weights]
        left = magnitude - sum(shares)
        order = sorted(range(len(weights)), key=lambda index: (-remainders[index], index))
        for index in order[:left]:
            shares[index] += 1
        return [Money(sign * share, self.currency) for share in shares]

    def format(self, locale: str) -> str:
        """For people, with this table's minor unit: "¥12.34" in zh_Hans, "Rp15.000" in id."""
        parsed = Locale.parse(locale.replace("-", "_"))
        pattern = copy.copy(parsed.currency_formats["standard"])
        digits = currency_exponent(self.currency)
        pattern.frac_prec = (digits, digits)
        return str(
            pattern.apply(self.to_major(), parsed, currency=self.currency, currency_digits=False)
        )

    def __str__(self) -> str:
        return f"{self.to_major()} {self.currency}"
