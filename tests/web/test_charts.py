"""The inline SVG line chart: gaps for empty weeks, a labelled target, text for readers."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from sla_connector.web.charts import Series, line_chart


def _chart(values: list[float | None], target: float | None = 0.95) -> str:
    return line_chart(
        [f"w{i}" for i in range(len(values))],
        [Series("Response <all>", values)],
        target=target,
        title="Acme & co",
        description="weekly",
    )


def test_chart_is_well_formed_svg_with_escaped_text() -> None:
    svg = _chart([0.9, 1.0])
    root = ET.fromstring(svg)
    assert root.tag.endswith("svg") and root.get("role") == "img"
    assert "Acme &amp; co" in svg and "Response &lt;all&gt;" in svg


def test_chart_breaks_the_line_at_weeks_with_nothing_decided() -> None:
    svg = _chart([0.9, 1.0, None, 0.8, 0.85])
    polylines = re.findall(r'<polyline[^>]*points="([^"]+)"', svg)
    assert [len(p.split()) for p in polylines] == [2, 2]
    assert svg.count("<circle") == 4 + 1  # four points and the legend marker


def test_chart_axis_starts_below_the_lowest_value_and_shows_the_target() -> None:
    svg = _chart([0.93, 0.97], target=0.98)
    labels = re.findall(r">(\d+)%</text>", svg)
    assert labels[0] == "80" and labels[-1] == "100"
    assert "target 98%" in svg


def test_chart_without_any_figure_still_renders_an_axis() -> None:
    svg = _chart([None, None], target=None)
    ET.fromstring(svg)
    assert "<polyline" not in svg and ">0%</text>" in svg
