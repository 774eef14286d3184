"""The evidence pack's trend chart as server-side SVG: no JavaScript, no fonts to fetch.

One line per figure over the pack's last 12 periods ("All clocks met" solid, response and
resolution thinner), a dashed line at the contract target, a point for every period that
decided a clock and a gap for one that decided none (said in words under the chart). Every
text is escaped; the SVG is inlined in the HTML, which WeasyPrint draws as vectors.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from sla_connector.reporting.model import Adherence

__all__ = ["trend_svg"]

WIDTH, HEIGHT = 680, 240
LEFT, RIGHT, TOP, BOTTOM = 44, 30, 14, 46
_FLOORS = ((0.9, 0.02), (0.8, 0.04), (0.5, 0.1), (0.0, 0.2))
"""The chart's possible lowest values, each with its gridline step (five steps to 100%)."""


def _y(rate: float, low: float) -> float:
    span = 1.0 - low
    return TOP + (1.0 - (rate - low) / span) * (HEIGHT - TOP - BOTTOM)


def _floor(rates: Sequence[float], target: float | None) -> float:
    """The chart's lowest value: the highest of ``_FLOORS`` below every point and the target."""
    values = [*rates, *([target] if target is not None else [])]
    lowest = min(values, default=0.0)
    return next(low for low, _ in _FLOORS if low <= lowest - 0.005 or low == 0.0)


def _series(cells: Sequence[Adherence], xs: Sequence[float], low: float) -> list[list[str]]:
    """Runs of consecutive points (a period without a decided clock breaks the line)."""
    runs: list[list[str]] = [[]]
    for x, cell in zip(xs, cells, strict=True):
        if cell.rate is None:
            if runs[-1]:
                runs.append([])
            continue
        runs[-1].append(f"{x:.1f},{_y(cell.rate, low):.1f}")
    return [run for run in runs if run]


def trend_svg(
    labels: Sequence[str],
    lines: Sequence[tuple[str, Sequence[Adherence], str, float]],
    target: float | None,
    *,
    accent: str = "#f59e0b",
    title: str = "Adherence trend",
) -> str:
    """An SVG line chart: ``lines`` are (name, cells per period, colour, stroke width)."""
    count = max(1, len(labels))
    step = (WIDTH - LEFT - RIGHT) / max(1, count - 1)
    xs = [LEFT + i * step for i in range(count)]
    rates = [c.rate for _, cells, _, _ in lines for c in cells if c.rate is not None]
    low = _floor(rates, target)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(title)}" '
        'font-family="Helvetica, Arial, sans-serif" font-size="10">',
        f"<title>{escape(title)}</title>",
    ]
    for tick in range(6):
        rate = low + (1.0 - low) * tick / 5
        y = _y(rate, low)
        out.append(
            f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" '
            'stroke="#e5e7eb" stroke-width="1"/>'
        )
        out.append(
            f'<text x="{LEFT - 6}" y="{y + 3:.1f}" text-anchor="end" fill="#6b7280">'
            f"{rate * 100:.0f}%</text>"
        )
    if target is not None:
        y = _y(target, low)
        out.append(
            f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" stroke="{accent}" '
            'stroke-width="1.5" stroke-dasharray="6 4"/>'
        )
        out.append(
            f'<text x="{WIDTH - RIGHT}" y="{y - 4:.1f}" text-anchor="end" fill="{accent}">'
            f"target {target * 100:.1f}%</text>"
        )
    for x, label in zip(xs, labels, strict=True):
        out.append(
            f'<text x="{x:.1f}" y="{HEIGHT - BOTTOM + 14}" text-anchor="middle" fill="#374151">'
            f"{escape(label)}</text>"
        )
    for _, cells, colour, width in lines:
        for run in _series(cells, xs, low):
            if len(run) > 1:
                out.append(
                    f'<polyline points="{" ".join(run)}" fill="none" stroke="{colour}" '
                    f'stroke-width="{width}"/>'
                )
            for point in run:
                cx, cy = point.split(",")
                out.append(f'<circle cx="{cx}" cy="{cy}" r="{width + 1}" fill="{colour}"/>')
    legend_y = HEIGHT - 12
    at = float(LEFT)
    for name, _, colour, width in lines:
        out.append(
            f'<line x1="{at}" y1="{legend_y - 3}" x2="{at + 18}" y2="{legend_y - 3}" '
            f'stroke="{colour}" stroke-width="{width}"/>'
        )
        out.append(f'<text x="{at + 22}" y="{legend_y}" fill="#111827">{escape(name)}</text>')
        at += 30 + 6 * len(name)
    out.append("</svg>")
    return "".join(out)
