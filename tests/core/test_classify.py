"""Classification (DESIGN section 5, SEMANTICS S15-S16)."""

from __future__ import annotations

from datetime import datetime

from sla_connector.core.classify import classify, rule_matches
from sla_connector.core.evaluate import evaluate
from sla_connector.core.policy import Client, Rule, TierOverride
from tests.core.policies import ACME, make_policy, ticket

NOW = datetime.fromisoformat("2026-11-02T12:00:00Z")
OUTAGE = Rule.build(
    "outage", "P1", keywords=("down", "not responding", "all users"), unless=("not down", "test")
)
MONITORING = Rule.build(
    "monitoring-critical", "P1", channel=("monitoring",), source_priority=("critical", "urgent")
)
DEGRADED = Rule.build("degraded", "P2", regex=(r"\b(slow|degraded|intermittent)\b",))
ENTERPRISE = Rule.build(
    "enterprise-errors", "P2", client_tier=("enterprise",), keywords=("error", "cannot")
)
RULES = (OUTAGE, MONITORING, DEGRADED, ENTERPRISE)


def tier_of(**fields: str) -> tuple[str, str | None]:
    result = classify(
        ticket("2026-11-02T09:00:00Z", **fields), make_policy(rules=RULES, clients={"acme": ACME})
    )
    return result.tier, result.rule


def test_keyword_matches_on_word_boundaries_only() -> None:
    assert tier_of(subject="Server down") == ("P1", "outage")
    assert tier_of(subject="Download the installer") == ("P3", None)


def test_s16_phrase_words_may_be_separated_by_any_whitespace() -> None:
    assert tier_of(subject="VPN not\n  responding") == ("P1", "outage")


def test_s16_each_field_is_searched_on_its_own() -> None:
    assert tier_of(subject="Printer not", description="responding to jobs") == ("P3", None)
    assert tier_of(subject="Printer", description="it is not responding") == ("P1", "outage")


def test_s16_unless_vetoes_only_its_own_rule() -> None:
    assert tier_of(subject="Server down? it is a test, slow though") == ("P2", "degraded")


def test_s16_matching_is_case_insensitive_for_keywords_regex_channel_and_priority() -> None:
    assert tier_of(subject="EMAIL DOWN") == ("P1", "outage")
    assert tier_of(subject="CRM SLOW") == ("P2", "degraded")
    assert tier_of(subject="disk", channel="Monitoring", source_priority="CRITICAL") == (
        "P1",
        "monitoring-critical",
    )


def test_all_conditions_of_a_rule_must_hold() -> None:
    assert tier_of(subject="disk", channel="monitoring", source_priority="low") == ("P3", None)


def test_most_severe_rule_wins_and_ties_go_to_the_rule_listed_first() -> None:
    assert tier_of(subject="CRM slow, now down") == ("P1", "outage")
    both = classify(
        ticket(
            "2026-11-02T09:00:00Z", subject="down", channel="monitoring", source_priority="urgent"
        ),
        make_policy(rules=RULES),
    )
    assert (both.tier, both.rule) == ("P1", "outage")


def test_s16_client_tier_condition_uses_the_configured_client() -> None:
    assert tier_of(subject="Cannot print", client="acme") == ("P2", "enterprise-errors")
    assert tier_of(subject="Cannot print", client="globex") == ("P3", None)


def test_s16_rule_with_no_condition_matches_everything() -> None:
    catch_all = Rule.build("everything", "P2")
    result = classify(
        ticket("2026-11-02T09:00:00Z", subject="anything"), make_policy(rules=(catch_all,))
    )
    assert (result.tier, result.rule) == ("P2", "everything")


def test_client_floor_raises_a_less_severe_result() -> None:
    result = classify(
        ticket("2026-11-02T09:00:00Z", client="acme"),
        make_policy(rules=RULES, clients={"acme": ACME}),
    )
    assert (result.tier, result.rule, result.floor_applied) == ("P2", None, True)


def test_client_default_tier_applies_when_no_rule_matches() -> None:
    client = Client(key="initech", default_tier="P2")
    result = classify(
        ticket("2026-11-02T09:00:00Z", client="initech"), make_policy(clients={"initech": client})
    )
    assert (result.tier, result.rule) == ("P2", None)


def test_s15_rule_is_reported_even_when_a_manual_priority_decides() -> None:
    t = ticket(
        "2026-11-02T09:00:00Z", ("2026-11-02T10:00:00Z", "priority", "P3"), subject="CRM slow"
    )
    evaluation = evaluate(t, make_policy(rules=RULES), NOW)
    assert (evaluation.tier, evaluation.rule) == ("P3", "degraded")


def test_s15_unknown_tier_in_a_priority_event_is_ignored_and_reported() -> None:
    t = ticket(
        "2026-11-02T09:00:00Z", ("2026-11-02T10:00:00Z", "priority", "P9"), subject="CRM slow"
    )
    evaluation = evaluate(t, make_policy(rules=RULES), NOW)
    assert evaluation.tier == "P2"
    assert evaluation.unknown_priorities == ("P9",)


def test_s15_priority_events_accept_the_tier_name_and_report_the_key() -> None:
    t = ticket("2026-11-02T09:00:00Z", ("2026-11-02T10:00:00Z", "priority", "critical"))
    assert evaluate(t, make_policy(), NOW).tier == "P1"


def test_s16_unknown_client_gets_global_defaults() -> None:
    policy = make_policy(rules=RULES, clients={"acme": ACME})
    evaluation = evaluate(
        ticket("2026-11-02T09:00:00Z", client="nobody", subject="CRM slow"), policy, NOW
    )
    assert evaluation.tier == "P2"
    assert policy.terms("nobody", "P2").calendar.name == "uk-office"
    assert policy.recipient("nobody", "account_director") == "dana@msp.example"


def test_s16_tier_override_calendar_wins_over_client_calendar() -> None:
    client = Client(key="x", calendar="us-east", tiers={"P3": TierOverride(calendar="uk-office")})
    policy = make_policy(clients={"x": client})
    assert policy.terms("x", "P3").calendar.name == "uk-office"
    assert policy.terms("x", "P2").calendar.name == "us-east"
    assert policy.terms("x", "P1").calendar.name == "always"


def test_rule_fields_restrict_where_keywords_are_searched() -> None:
    subject_only = Rule.build("subject", "P1", keywords=("down",), fields=("subject",))
    t = ticket("2026-11-02T09:00:00Z", subject="Printer", description="paper tray is down")
    assert not rule_matches(subject_only, t, None)
