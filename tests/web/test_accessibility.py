"""Semantic, labelled HTML: captions and header scopes on every table, text beside colour."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from tests.web.helpers import app_for, client_for

pytestmark = pytest.mark.anyio

PAGES = [
    "/",
    "/clients/acme",
    "/clients/globex",
    "/tickets/zd/A2",
    "/tickets/zd/G3",
    *(f"/portal/acme/{page}" for page in ("", "trend", "breaches")),  # packs: a list
]


class _Audit(HTMLParser):
    """Collects tables (caption first? th scopes), labels, inputs and the html lang."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[dict[str, object]] = []
        self.lang: str | None = None
        self.viewport = False
        self.labels: set[str] = set()
        self.inputs: list[dict[str, str | None]] = []
        self._table: dict[str, object] | None = None
        self._first_child = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "html":
            self.lang = a.get("lang")
        if tag == "meta" and a.get("name") == "viewport":
            self.viewport = True
        if tag == "label":
            self.labels.add(a.get("for") or "")
        if tag == "input":
            self.inputs.append(a)
        if tag == "table":
            self._table = {"caption_first": False, "th_without_scope": 0, "th": 0}
            self.tables.append(self._table)
            self._first_child = True
            return
        if self._table is not None:
            if self._first_child:
                self._table["caption_first"] = tag == "caption"
                self._first_child = False
            if tag == "th":
                self._table["th"] = int(self._table["th"]) + 1  # type: ignore[call-overload]
                if a.get("scope") not in ("col", "row", "colgroup", "rowgroup"):
                    self._table["th_without_scope"] = int(self._table["th_without_scope"]) + 1  # type: ignore[call-overload]

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self._table = None


@pytest.mark.parametrize("path", PAGES)
async def test_every_table_has_a_caption_and_scoped_headers(path: str) -> None:
    async with client_for(app_for()) as http:
        response = await http.get(path)
    assert response.status_code == 200
    audit = _Audit()
    audit.feed(response.text)
    assert audit.lang == "en" and audit.viewport
    assert audit.tables
    for table in audit.tables:
        assert table["caption_first"], table
        assert table["th"] and table["th_without_scope"] == 0, table


async def test_login_inputs_are_labelled() -> None:
    async with client_for(app_for(token="tok")) as http:
        response = await http.get("/", headers={"Accept": "text/html"})
    audit = _Audit()
    audit.feed(response.text)
    visible = [i for i in audit.inputs if i.get("type") != "hidden"]
    assert visible and all(i.get("id") in audit.labels for i in visible)


async def test_adherence_state_is_spelt_out_not_only_coloured() -> None:
    async with client_for(app_for()) as http:
        page = (await http.get("/")).text
    # a below-target cell carries an icon and the words "below 98%"
    start = page.index('data-testid="adherence-acme-P1-ticket-7d"')
    cell = page[start : page.index("</td>", start)]
    assert 'data-status="below"' in cell and "✗" in cell and "below 98%" in cell
    start = page.index('data-testid="adherence-globex-P2-ticket-7d"')
    cell = page[start : page.index("</td>", start)]
    assert "✓" in cell and "meets 50%" in cell
    assert "⚠ late by 2m" in page  # the late escalation says so in words


async def test_pages_are_responsive_and_keep_wide_tables_scrollable() -> None:
    async with client_for(app_for()) as http:
        page = (await http.get("/")).text
    assert "@media (max-width: 640px)" in page
    assert page.count('class="table-wrap" role="region"') == page.count("<table")
    assert '<a class="skip" href="#main">' in page
