"""HTML to PDF with WeasyPrint, and a one-line error naming the missing system library.

WeasyPrint draws with Pango (text), HarfBuzz (shaping) and fontconfig, which come from the
operating system (Debian: ``libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b
libfontconfig1``; docs/operations.md). When one is missing, importing WeasyPrint raises an
``OSError`` naming the shared object; ``render_pdf`` turns it into ``PdfUnavailable`` whose
message names the Debian package to install, and nothing else.
"""

from __future__ import annotations

import re

from sla_connector.core.errors import SlaConnectorError

__all__ = ["PACKAGES", "PdfUnavailable", "render_pdf"]

PACKAGES = {
    "pangoft2": "libpangoft2-1.0-0",
    "pango": "libpango-1.0-0",
    "harfbuzz": "libharfbuzz0b",
    "fontconfig": "libfontconfig1",
    "gobject": "libglib2.0-0",
    "glib": "libglib2.0-0",
    "cairo": "libcairo2",
}
"""Fragment of a shared object's name -> the Debian package that ships it."""
_ALL = "libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b libfontconfig1"


class PdfUnavailable(SlaConnectorError):
    """The PDF cannot be drawn on this machine: a system library WeasyPrint needs is missing."""


def missing_package(message: str) -> str:
    """The Debian package to install for WeasyPrint's library-loading error ``message``."""
    found = re.search(r"cannot load library '?([A-Za-z0-9_.+-]+)", message)
    name = (found.group(1) if found else message).lower()
    for fragment, package in PACKAGES.items():
        if fragment in name:
            return package
    return _ALL


def render_pdf(html: str) -> bytes:
    """The PDF of a standalone HTML document (images inlined as ``data:`` URIs)."""
    try:
        from weasyprint import HTML  # noqa: PLC0415 - loads system libraries: only when drawing
    except OSError as exc:
        package = missing_package(str(exc))
        raise PdfUnavailable(
            f"PDF packs need the system library of the Debian package {package} "
            f"(apt-get install {package}; docs/operations.md lists them all)"
        ) from None
    pdf: bytes = HTML(string=html).write_pdf()
    return pdf
