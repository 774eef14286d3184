"""Classification patterns run on RE2: linear time whatever the pattern (issue 11, finding 1)."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from sla_connector.core.classify import classify
from sla_connector.core.errors import ConfigError
from sla_connector.core.patterns import compile_pattern, pattern_problem
from sla_connector.core.policy import Rule
from tests.core.policies import make_policy, ticket

# Under a backtracking engine each of these takes longer than the age of the universe on
# the subjects below; RE2 answers in microseconds. A hang, not a slow run, is the failure.
CATASTROPHIC = [r"^(\w+\s?)+!$", r"(a+)+$", r"^(a|aa)+$", r"(x+x+)+y"]


@contextmanager
def hang_guard(seconds: int = 20) -> Iterator[None]:
    """Turn a hang into a failure (not a timing assertion: the bound is 10^6 times slack)."""

    def fail(signum: int, frame: object) -> None:
        raise AssertionError("pattern evaluation hung: a backtracking engine is in use")

    previous = signal.signal(signal.SIGALRM, fail)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@pytest.mark.parametrize("pattern", CATASTROPHIC)
def test_nested_quantifiers_cannot_run_away(pattern: str) -> None:
    rule = Rule.build("hostile", "P1", regex=(pattern,))
    policy = make_policy(rules=(rule,))
    subjects = ["a" * 40 + "b", "word " * 30 + "?", "x" * 5000]
    with hang_guard():
        tiers = {classify(ticket("2026-11-02T09:00:00Z", subject=s), policy).tier for s in subjects}
    assert tiers == {"P3"}


def test_patterns_match_case_insensitively_as_before() -> None:
    compiled = compile_pattern(r"\b(slow|degraded)\b", "regex[0]")
    assert compiled.search("VPN is SLOW today") is not None
    assert compiled.search("slowly") is None


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [(r"(a)\1", "invalid escape sequence"), (r"(?<!x)y", "invalid perl operator")],
)
def test_what_re2_cannot_do_is_named_with_the_key(pattern: str, reason: str) -> None:
    problem = pattern_problem(pattern)
    assert problem is not None and reason in problem and "no backreferences" in problem
    with pytest.raises(ConfigError, match=r"^regex\[0\]: .*linear-time engine"):
        compile_pattern(pattern, "regex[0]")
