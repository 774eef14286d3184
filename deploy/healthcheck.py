"""Container health probe for sla-connector: exit 0 when the dashboard answers 200.

``python healthcheck.py`` asks ``/healthz`` (the process answers); ``--ready`` asks ``/readyz``
(the daemon has started). The URL comes from ``SLA_HEALTH_URL`` (default
``http://127.0.0.1:8321``). When ``dashboard.token_env`` is set every path, health included,
needs the bearer token: the probe sends the token found in the variable named by
``SLA_HEALTH_TOKEN_ENV`` (default ``DASHBOARD_TOKEN``), or in the file ``<that>_FILE`` names.
Standard library only, so it runs in the image as is.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request
from pathlib import Path


def token() -> str | None:
    variable = os.environ.get("SLA_HEALTH_TOKEN_ENV", "DASHBOARD_TOKEN")
    value = os.environ.get(variable)
    if value:
        return value
    path = os.environ.get(f"{variable}_FILE")
    return Path(path).read_text(encoding="utf-8").strip() if path else None


def main(argv: list[str]) -> int:
    base = os.environ.get("SLA_HEALTH_URL", "http://127.0.0.1:8321").rstrip("/")
    request = urllib.request.Request(base + ("/readyz" if "--ready" in argv else "/healthz"))
    secret = token()
    if secret:
        request.add_header("Authorization", f"Bearer {secret}")
    try:
        with urllib.request.urlopen(request, timeout=4) as response:
            return 0 if response.status == 200 else 1
    except (urllib.error.URLError, OSError) as exc:
        print(f"unhealthy: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
