"""Key paths as error messages spell them: ``calendars.uk-office.hours.mon-fri[0]``.

Mapping keys join with dots, list indices go in brackets, and a key that would read
ambiguously (a dot, a space, brackets) is quoted: ``client_map["Acme Corp"]``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable

__all__ = ["format_path", "join_path"]

_PLAIN_KEY_RE = re.compile(r"[A-Za-z0-9_@-]+")


def format_path(parts: Iterable[str | int]) -> str:
    """Render location parts (keys and list indices) as one dotted path."""
    text = ""
    for part in parts:
        if isinstance(part, int) and not isinstance(part, bool):
            text += f"[{part}]"
            continue
        key = str(part)
        if _PLAIN_KEY_RE.fullmatch(key):
            text += f".{key}" if text else key
        else:
            text += f"[{json.dumps(key, ensure_ascii=False)}]"
    return text


def join_path(prefix: str, relative: str) -> str:
    """Anchor a path relative to a section (``hours.mon[0]``) under its prefix."""
    if not relative:
        return prefix
    if not prefix:
        return relative
    return prefix + relative if relative.startswith("[") else f"{prefix}.{relative}"
