"""Classification patterns compiled with a linear-time engine (RE2), so no ticket can stall.

Python's ``re`` backtracks: a rule such as ``^(\\w+\\s?)+!$`` takes exponential time on an
ordinary subject, and one ticket would pin a core and freeze the daemon. RE2 matches in
time linear in the text whatever the pattern; the price is that it has no backreferences
and no lookaround, which ``compile_pattern`` names when a pattern uses them.
"""

from __future__ import annotations

from typing import Protocol

import re2

from sla_connector.core.errors import ConfigError

__all__ = ["Pattern", "compile_pattern", "pattern_problem"]

_OPTIONS = re2.Options()
_OPTIONS.case_sensitive = False  # rules match case-insensitively, as they always have
_OPTIONS.log_errors = False  # RE2 would print its own error line to stderr
_OPTIONS.max_mem = 8 << 20  # a pattern that needs more (e.g. x{1000}{1000}) is refused

_UNSUPPORTED = "RE2 has no backreferences (\\1) and no lookaround ((?=...), (?<!...))"


class Pattern(Protocol):
    """What classification needs from a compiled pattern."""

    def search(self, text: str) -> object | None: ...


def pattern_problem(pattern: str) -> str | None:
    """Why ``pattern`` cannot be used as a classification rule, or None when it can."""
    try:
        re2.compile(pattern, options=_OPTIONS)
    except re2.error as exc:
        reason = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else exc
        return (
            f"{pattern!r} does not compile with the linear-time engine: {reason} ({_UNSUPPORTED})"
        )
    return None


def compile_pattern(pattern: str, path: str) -> Pattern:
    """The compiled pattern; one that RE2 refuses raises ``ConfigError`` at ``path``."""
    problem = pattern_problem(pattern)
    if problem is not None:
        raise ConfigError(path, problem)
    compiled: Pattern = re2.compile(pattern, options=_OPTIONS)
    return compiled
