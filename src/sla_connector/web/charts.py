"""Server-side inline SVG charts: no JavaScript, no external assets, readable without colour.

Each series differs by dash pattern and marker shape as well as by colour, the target is
a labelled line, and the SVG carries a title and description for screen readers (the
page also shows the same numbers in a table). Weeks with nothing decided leave a gap.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

__all__ = ["Series", "line_chart"]

_WIDTH, _HEIGHT = 640, 280
_LEFT, _RIGHT, _TOP, _BOTTOM = 48, 16, 16, 64
_STYLES = (
    ("#1f5fa8", "", "circle"),
    ("#8a4f00", "8 4", "square"),
    ("#2e6b30", "2 3", "triangle"),
)


@dataclass(frozen=True, slots=True)
class Series:
    """A named line; ``values`` are fractions in [0, 1] or None (nothing to plot)."""

    name: str
    values: Sequence[float | None]


def _marker(shape: str, x: float, y: float, colour: str) -> str:
    if shape == "square":
        return f'<rect x="{x - 3.5:.1f}" y="{y - 3.5:.1f}" width="7" height="7" fill="{colour}"/>'
    if shape == "triangle":
        points = f"{x:.1f},{y - 4.5:.1f} {x - 4.5:.1f},{y + 3.5:.1f} {x + 4.5:.1f},{y + 3.5:.1f}"
        return f'<polygon points="{points}" fill="{colour}"/>'
    return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{colour}"/>'


def _floor(series: Sequence[Series], target: float | None) -> float:
    """The y axis starts at a round 10% below the lowest value, so 95% vs 98% is visible."""
    values = [v for s in series for v in s.values if v is not None]
    if target is not None:
        values.append(target)
    if not values:
        return 0.0
    return max(0.0, round(math.floor(min(values) * 10) / 10 - 0.1, 1))


def line_chart(
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    target: float | None,
    title: str,
    description: str,
    ident: str = "chart",
) -> str:
    """An SVG line chart of percentages over ``labels`` (one x position per label)."""
    low = _floor(series, target)
    plot_w = _WIDTH - _LEFT - _RIGHT
    plot_h = _HEIGHT - _TOP - _BOTTOM
    count = max(len(labels), 1)

    def x_at(index: int) -> float:
        return _LEFT + (plot_w * (index + 0.5) / count)

    def y_at(value: float) -> float:
        return _TOP + plot_h * (1 - (value - low) / (1 - low))

    parts = [
        f'<svg class="chart" viewBox="0 0 {_WIDTH} {_HEIGHT}" role="img" '
        f'aria-labelledby="{ident}-title {ident}-desc" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{ident}-title">{escape(title)}</title>',
        f'<desc id="{ident}-desc">{escape(description)}</desc>',
    ]
    steps = round((1 - low) / 0.1)
    for step in range(steps + 1):
        value = low + step * 0.1
        y = y_at(value)
        parts.append(
            f'<line class="grid" x1="{_LEFT}" x2="{_WIDTH - _RIGHT}" y1="{y:.1f}" y2="{y:.1f}" '
            'stroke="#ccc" stroke-width="1"/>'
        )
        parts.append(
            f'<text x="{_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11">'
            f"{value * 100:.0f}%</text>"
        )
    for index, label in enumerate(labels):
        parts.append(
            f'<text x="{x_at(index):.1f}" y="{_HEIGHT - _BOTTOM + 16}" text-anchor="middle" '
            f'font-size="11">{escape(label)}</text>'
        )
    if target is not None:
        y = y_at(target)
        parts.append(
            f'<line class="target" x1="{_LEFT}" x2="{_WIDTH - _RIGHT}" y1="{y:.1f}" y2="{y:.1f}" '
            'stroke="#b00020" stroke-width="1.5" stroke-dasharray="10 3 2 3"/>'
        )
        parts.append(
            f'<text x="{_WIDTH - _RIGHT}" y="{y - 4:.1f}" text-anchor="end" font-size="11" '
            f'fill="#b00020">target {target * 100:g}%</text>'
        )
    legend_y = _HEIGHT - 18
    for number, line in enumerate(series):
        colour, dash, shape = _STYLES[number % len(_STYLES)]
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        segment: list[str] = []
        segments: list[list[str]] = [segment]
        for index, point in enumerate(line.values):
            if point is None:
                segment = []
                segments.append(segment)
                continue
            x, y = x_at(index), y_at(point)
            segment.append(f"{x:.1f},{y:.1f}")
            parts.append(_marker(shape, x, y, colour))
        for points in segments:
            if len(points) > 1:
                parts.append(
                    f'<polyline class="series-{number}" points="{" ".join(points)}" fill="none" '
                    f'stroke="{colour}" stroke-width="2"{dash_attr}/>'
                )
        lx = _LEFT + number * 170
        parts.append(
            f'<line x1="{lx}" x2="{lx + 28}" y1="{legend_y}" y2="{legend_y}" stroke="{colour}" '
            f'stroke-width="2"{dash_attr}/>'
        )
        parts.append(_marker(shape, lx + 14, legend_y, colour))
        parts.append(
            f'<text x="{lx + 34}" y="{legend_y + 4}" font-size="12">{escape(line.name)}</text>'
        )
    parts.append("</svg>")
    return "\n".join(parts)
