"""Base URLs of PSA endpoints: what a connector accepts, and the credentials kept out of them.

A base URL is https (plain http only on loopback, for twins and local stand-ins) and carries
no query or fragment; user-info written into it becomes a Basic header so that no message,
log line or page that shows a request's URL ever shows the password.
"""

from __future__ import annotations

import base64
import ipaddress
from urllib.parse import unquote, urlsplit

from sla_connector.core.errors import FatalConnectorError
from sla_connector.core.secrets import mask_userinfo

__all__ = ["split_userinfo", "validate_base_url"]


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def validate_base_url(url: str, setting: str) -> str:
    """The base URL without a trailing slash; ``http://`` only for loopback hosts.

    A message about it never shows user-info written in it (``https://user:pw@host``).
    """
    if not isinstance(url, str) or not url.strip():
        raise FatalConnectorError(f"{setting}: a base URL is required")
    shown = mask_userinfo(url)
    try:
        parts = urlsplit(url.strip())
        hostname = parts.hostname
    except ValueError:  # a bad port or bracket: urlsplit's message may quote the URL
        raise FatalConnectorError(f"{setting}: {shown!r} is not an http(s) URL") from None
    if parts.scheme not in ("http", "https") or not hostname:
        raise FatalConnectorError(f"{setting}: {shown!r} is not an http(s) URL")
    if parts.scheme == "http" and not _is_loopback(hostname):
        raise FatalConnectorError(
            f"{setting}: {shown!r} uses plain http; use https (http is allowed only for "
            "127.0.0.1, ::1 and localhost)"
        )
    if parts.query or parts.fragment:
        raise FatalConnectorError(f"{setting}: {shown!r} must not carry a query or fragment")
    return url.strip().rstrip("/")


def split_userinfo(url: str) -> tuple[str, dict[str, str]]:
    """``url`` without user-info, and the Basic ``Authorization`` header it stood for.

    httpx would send ``https://user:pw@host`` as Basic auth; taking it out of the URL keeps
    it out of every message, log line and page that shows a request's URL.
    """
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url, {}
    host = parts.netloc.rpartition("@")[2]
    user, password = unquote(parts.username or ""), unquote(parts.password or "")
    token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
    return parts._replace(netloc=host).geturl(), {"Authorization": f"Basic {token}"}
