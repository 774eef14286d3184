"""A dashboard app with the client portal over the hand-made dataset, and its archive."""

from __future__ import annotations

from pathlib import Path

from starlette.applications import Starlette

from sla_connector.web.portal import PortalSettings
from tests.web.dataset import NOW
from tests.web.helpers import app_for

MSP_TOKEN = "msp-dashboard-token"
TOKENS = {"acme": "acme-portal-token", "globex": "globex-portal-token"}
LINK_KEY = "portal-link-signing-key"
WALL = NOW.timestamp()  # the portal's wall clock in these tests
PACKS = {
    "acme": ("acme-monthly-2026-02.pdf", "acme-quarterly-2025-Q4.pdf"),
    "globex": ("globex-monthly-2026-02.pdf",),
}


def write_archive(folder: Path) -> Path:
    """Each client's packs (distinct bytes), plus files the portal must never offer."""
    folder.mkdir(parents=True, exist_ok=True)
    for client, names in PACKS.items():
        for name in names:
            (folder / name).write_bytes(b"%PDF-1.7\n" + f"{client} {name}".encode() + b"\n%%EOF\n")
    (folder / "acme-notes.txt").write_text("not a pack")
    (folder / "acme-monthly-2026-13.pdf").write_bytes(b"%PDF bad month")
    return folder


def portal_app(archive: Path, *, token: str | None = MSP_TOKEN, wall: float = WALL) -> Starlette:
    settings = PortalSettings(
        tokens=dict(TOKENS), link_key=LINK_KEY, archive_dir=archive, clock=lambda: wall
    )
    return app_for(token=token, portal=settings)


def routes(client: str) -> list[str]:
    """Every portal route of one client: pages, JSON, and a download of its own pack."""
    base = f"/portal/{client}"
    return [
        f"{base}/",
        f"{base}/trend",
        f"{base}/breaches",
        f"{base}/packs",
        f"{base}/api/overview",
        f"{base}/api/trend",
        f"{base}/api/breaches",
        f"{base}/api/packs",
        f"{base}/packs/{PACKS[client][0]}",
    ]
