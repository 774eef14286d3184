"""Parsing of SLA durations: ``15m``, ``1h30m``, ``90s``, ``2d`` and business days ``3bd``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

__all__ = [
    "MAX_BUSINESS_DAYS",
    "MAX_DAYS",
    "BusinessDays",
    "Duration",
    "describe_duration",
    "duration_text",
    "format_seconds",
    "parse_duration",
    "parse_percent",
]

_UNIT_SECONDS = {"d": 86400, "h": 3600, "m": 60, "s": 1}
_CLOCK_RE = re.compile(r"(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")
_BD_RE = re.compile(r"(\d+)bd")
MAX_DAYS = 3660
"""No SLA length exceeds ten years; a longer one is a typo and would overflow date maths."""
MAX_BUSINESS_DAYS = 2610  # ten years of five-day weeks
_MAX_DIGITS = 12  # a number with more digits cannot be a real duration part


@dataclass(frozen=True, slots=True)
class BusinessDays:
    """A target of N open days under the business-day rule (DESIGN section 4)."""

    days: int

    def __str__(self) -> str:
        return f"{self.days}bd"


Duration = timedelta | BusinessDays
"""A business-time length or a number of business days."""


def parse_duration(text: str, *, allow_business_days: bool = True) -> Duration:
    """Parse a config duration; raise ``ValueError`` with a readable reason."""
    raw = str(text).strip().lower().replace(" ", "")
    if not raw:
        raise ValueError("empty duration; write e.g. 15m, 1h30m, 90s or 3bd")
    bd = _BD_RE.fullmatch(raw)
    if bd:
        if not allow_business_days:
            raise ValueError(f"{text!r}: business days are not allowed here")
        if len(bd.group(1)) > _MAX_DIGITS or int(bd.group(1)) > MAX_BUSINESS_DAYS:
            raise ValueError(f"{text!r} is longer than ten years (at most {MAX_BUSINESS_DAYS}bd)")
        days = int(bd.group(1))
        if days <= 0:
            raise ValueError(f"{text!r}: business days must be at least 1")
        return BusinessDays(days)
    match = _CLOCK_RE.fullmatch(raw)
    if not match or not any(match.groups()):
        raise ValueError(f"{text!r} is not a duration; write e.g. 15m, 1h30m, 90s, 2d or 3bd")
    if any(value and len(value) > _MAX_DIGITS for value in match.groups()):
        raise ValueError(f"{text!r} is longer than ten years (at most {MAX_DAYS}d)")
    seconds = sum(
        int(value) * _UNIT_SECONDS[unit]
        for value, unit in zip(match.groups(), "dhms", strict=True)
        if value
    )
    if seconds > MAX_DAYS * 86400:
        raise ValueError(f"{text!r} is longer than ten years (at most {MAX_DAYS}d)")
    return timedelta(seconds=seconds)


def parse_percent(text: str | float | int) -> float:
    """Parse ``75%``, ``0.75`` or ``75`` into a fraction in (0, 1]."""
    raw = str(text).strip()
    if raw.endswith("%"):
        value = float(raw[:-1]) / 100
    else:
        value = float(raw)
        if value > 1:  # a bare 75 means 75%; "150%" must not shrink to 1.5%
            value /= 100
    if not 0 < value <= 1:
        raise ValueError(f"{text!r} is not a percentage between 0% and 100%")
    return value


def format_seconds(seconds: float) -> str:
    """Render a business-time length for humans: ``1h 05m``, ``45s``, ``-2h 10m``."""
    sign = "-" if seconds < 0 else ""
    total = round(abs(seconds))
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{sign}{days}d {hours}h {minutes:02d}m"
    if hours:
        return f"{sign}{hours}h {minutes:02d}m"
    if minutes:
        return f"{sign}{minutes}m {secs:02d}s" if secs else f"{sign}{minutes}m"
    return f"{sign}{secs}s"


def duration_text(value: Duration) -> str:
    """The config spelling of a duration: ``1h30m``, ``90s``, ``3bd``, ``0s``."""
    if isinstance(value, BusinessDays):
        return str(value)
    total = int(value.total_seconds())
    parts = []
    for unit, seconds in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, total = divmod(total, seconds)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts) or "0s"


def describe_duration(value: Duration) -> str:
    """A configured target as people read it, as the configuration wrote it: ``3 business
    days``, ``4h``, ``1h30m`` (never the computed length, ``1d 6h 00m``, that a business-day
    target has for one ticket). The one rendering of a target for check, explain, the
    dashboard and the reports."""
    if isinstance(value, BusinessDays):
        return f"{value.days} business day{'s' if value.days != 1 else ''}"
    return duration_text(value)
