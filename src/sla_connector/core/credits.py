"""Service-credit shapes and money (SEMANTICS S29-S30).

A credit is a share of the monthly fee owed when an objective is missed: a fixed share,
a share per percentage point below the target (pro rata, optionally limited), or bands
(the highest band reached applies). Shares and amounts are ``Decimal`` and are never
rounded on the way; ``round_money`` rounds once, at the end, to the currency's minor unit
(ISO 4217), half up.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Context, Decimal, localcontext

__all__ = [
    "PRECISION",
    "Band",
    "Bands",
    "CreditShape",
    "FixedShare",
    "PerPoint",
    "format_money",
    "format_percent",
    "minor_unit",
    "round_money",
]

PRECISION = Context(prec=50)
"""Arithmetic context of every credit computation: far more digits than any fee needs."""

_HUNDRED = Decimal(100)
_ZERO = Decimal(0)
# ISO 4217 currencies whose minor unit is not 2 (the list's other currencies have 2).
_MINOR_UNITS: dict[str, int] = {
    **dict.fromkeys(
        (
            "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG",
            "RWF", "UGX", "UYI", "VND", "VUV", "XAF", "XOF", "XPF",
        ),
        0,
    ),
    **dict.fromkeys(("BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"), 3),
    **dict.fromkeys(("CLF", "UYW"), 4),
}  # fmt: skip


def minor_unit(currency: str | None) -> int:
    """Digits after the decimal point of a currency's smallest unit (2 when not listed)."""
    return _MINOR_UNITS.get((currency or "").upper(), 2)


def round_money(amount: Decimal, currency: str | None) -> Decimal:
    """Round an amount once to the currency's minor unit, half up (S30)."""
    exponent = Decimal(1).scaleb(-minor_unit(currency))
    return amount.quantize(exponent, rounding=ROUND_HALF_UP, context=PRECISION)


def format_money(amount: Decimal, currency: str | None, *, code: bool = True) -> str:
    """``12,000.00 USD``: rounded, with thousands separators (and the code unless not)."""
    rounded = round_money(amount, currency)
    digits = minor_unit(currency)
    text = f"{rounded:,.{digits}f}"
    return f"{text} {currency}" if currency and code else text


def format_percent(share: Decimal, places: int = 2) -> str:
    """A share as a percentage without trailing zeros: ``2.5%``, ``66.67%``, ``100%``."""
    with localcontext(PRECISION):
        value = (share * _HUNDRED).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    text = f"{value:f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return f"{text}%"


@dataclass(frozen=True, slots=True)
class FixedShare:
    """``share`` of the fee whenever the objective is missed."""

    share: Decimal

    def share_for(self, target: Decimal, actual: Decimal) -> Decimal:
        return self.share

    def formula(self, target: Decimal, actual: Decimal) -> str:
        return f"missed: fixed {format_percent(self.share)}"


@dataclass(frozen=True, slots=True)
class PerPoint:
    """``per_point`` of the fee per percentage point below target, pro rata.

    ``max_share`` limits this objective's share (the monthly cap limits the total).
    """

    per_point: Decimal
    max_share: Decimal | None = None

    def points_below(self, target: Decimal, actual: Decimal) -> Decimal:
        with localcontext(PRECISION):
            return max(_ZERO, (target - actual) * _HUNDRED)

    def share_for(self, target: Decimal, actual: Decimal) -> Decimal:
        with localcontext(PRECISION):
            share = self.points_below(target, actual) * self.per_point
        if self.max_share is not None:
            share = min(share, self.max_share)
        return share

    def formula(self, target: Decimal, actual: Decimal) -> str:
        points = self.points_below(target, actual)
        shown = format_percent(points / _HUNDRED).removesuffix("%")
        unit = "point" if points == 1 else "points"
        text = f"{shown} {unit} below target x {format_percent(self.per_point)} per point"
        if self.max_share is not None and self.share_for(target, actual) == self.max_share:
            text += f", limited to {format_percent(self.max_share)}"
        return text


@dataclass(frozen=True, slots=True)
class Band:
    """A band: ``share`` of the fee when the month's actual is below ``below``."""

    below: Decimal
    share: Decimal


@dataclass(frozen=True, slots=True)
class Bands:
    """Banded credits: of the bands whose threshold the actual is below, the highest share."""

    bands: tuple[Band, ...]

    def reached(self, actual: Decimal) -> Band | None:
        reached = [band for band in self.bands if actual < band.below]
        return max(reached, key=lambda band: band.share) if reached else None

    def share_for(self, target: Decimal, actual: Decimal) -> Decimal:
        band = self.reached(actual)
        return _ZERO if band is None else band.share

    def formula(self, target: Decimal, actual: Decimal) -> str:
        band = self.reached(actual)
        if band is None:
            return "missed, but no band reached"
        return f"band below {format_percent(band.below)}: {format_percent(band.share)}"


CreditShape = FixedShare | PerPoint | Bands
"""One objective's credit rule."""
