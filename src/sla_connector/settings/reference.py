"""Render ``docs/configuration.md`` from the configuration models, so the reference cannot drift.

``python -m sla_connector.settings.reference > docs/configuration.md`` (``make docs``). Every
key path, type and default is read from ``AppConfig`` and its section models; only the words
(a description and an example per key) live here, in ``TEXT``, and ``render`` refuses to run
while a key has no text or a text names a key the models no longer have. Vendor keys, which
each connector validates itself, are listed in ``VENDOR_KEYS``; ``tests/test_reference.py``
checks that list against the keys every built-in connector reads, and that every key of
``config.example.yaml`` has an entry here.
"""

from __future__ import annotations

import types
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Union, cast, get_args, get_origin

import annotated_types
from pydantic import BaseModel, TypeAdapter
from pydantic.fields import FieldInfo

from sla_connector.settings.app import AppConfig
from sla_connector.settings.fields import (
    DaySpec,
    EnvVarName,
    Interval,
    OpenInterval,
    Percent,
    RegexText,
    StepAfter,
    Target,
    Text,
    TimeOfDay,
    TimeZoneName,
)

__all__ = ["TEXT", "VENDOR_KEYS", "Entry", "VendorKey", "model_entries", "render", "vendor_entries"]


@dataclass(frozen=True, slots=True)
class VendorKey:
    """A key one connector reads from its ``connectors.<name>`` entry (not in the models)."""

    key: str
    type: str
    default: str
    description: str
    example: str | None = None


_ROLES = "(`roles`, `to`)"
TEXT: dict[str, tuple[str, str | None]] = {
    "calendars": (
        "Business calendars: when the service desk is open. Tiers measure their "
        "targets in business time of a calendar named here.",
        None,
    ),
    "calendars.<calendar>.timezone": (
        "IANA time zone of `hours` and `holidays`; required unless `always_open` (then UTC).",
        "Europe/London",
    ),
    "calendars.<calendar>.hours": (
        "Weekly opening intervals in local wall-clock time, by day "
        "(`mon`..`sun`, ranges `mon-fri`, lists `sat,sun`, `daily`). "
        "Intervals of a day are unioned, may end at `24:00` and may "
        "not cross midnight. Required unless `always_open`.",
        '{mon-fri: ["08:00-18:00"], sat: ["09:00-13:00"]}',
    ),
    "calendars.<calendar>.holidays": (
        "Closed local dates: public holidays plus `extra` "
        "minus `remove`. A holiday closes the whole date.",
        None,
    ),
    "calendars.<calendar>.holidays.country": (
        "Country code of the `holidays` package (observed days included).",
        "GB",
    ),
    "calendars.<calendar>.holidays.subdivision": (
        "Region of the country (needs `country`).",
        "ENG",
    ),
    "calendars.<calendar>.holidays.extra": ("More closed dates.", '["2026-12-24"]'),
    "calendars.<calendar>.holidays.remove": (
        "Public holidays the desk works anyway.",
        '["2026-08-31"]',
    ),
    "calendars.<calendar>.always_open": (
        "24x7: business time is elapsed time; holidays ignored; `hours` not allowed.",
        "true",
    ),
    "tiers": (
        "SLA tiers, any number. Classification picks the most severe tier that "
        "matches; a ticket's targets are its tier's.",
        None,
    ),
    "tiers.<tier>.name": ("Display name (default: the key).", "Critical"),
    "tiers.<tier>.severity": (
        "1 is the most severe; ties between matching rules go to the rule listed first.",
        "1",
    ),
    "tiers.<tier>.response": ("Response target, business time of the tier's calendar.", "15m"),
    "tiers.<tier>.resolution": (
        "Resolution target; `3bd` is three business days (the same local time N open days later).",
        "4h",
    ),
    "tiers.<tier>.calendar": ("Name of a calendar in `calendars`.", "uk-office"),
    "clocks": ("Clock options (see [semantics.md](semantics.md)).", None),
    "clocks.reopen": (
        "`resume`: a reopen resumes the resolution clock, the time spent "
        "resolved counting like a pause; `new_cycle`: a new cycle with the "
        "full target starts at the reopen.",
        "new_cycle",
    ),
    "classification": (
        "How a ticket gets its tier: every matching rule is a candidate, the "
        "most severe tier wins, ties go to the rule listed first.",
        None,
    ),
    "classification.default_tier": (
        "Tier when no rule matches (a client's `default_tier` "
        "wins); if omitted, the least severe tier.",
        "P3",
    ),
    "classification.respect_manual_priority": (
        "A priority a person sets in the PSA (mapped "
        "back through `priority_map`) sets the tier "
        "from that instant, over rules and floor.",
        "false",
    ),
    "classification.rules": (
        "Rules; within a rule every condition given must hold, within "
        "one list any entry may match.",
        None,
    ),
    "classification.rules[].name": ("Unique name, shown by `explain` and `audit`.", "outage"),
    "classification.rules[].tier": ("Tier this rule gives.", "P1"),
    "classification.rules[].keywords": (
        "Words or phrases matched case-insensitively on word boundaries in `fields`.",
        '["down", "all users"]',
    ),
    "classification.rules[].unless": ("Any match vetoes this rule.", '["not down", "test"]'),
    "classification.rules[].regex": (
        "Python regular expressions searched case-insensitively in `fields`.",
        '["\\\\b(slow|degraded)\\\\b"]',
    ),
    "classification.rules[].fields": ("Where keywords, unless and regex look.", "[subject]"),
    "classification.rules[].channel": (
        "Ticket channel: email, phone, portal, chat, monitoring, api (case-insensitive).",
        "[monitoring]",
    ),
    "classification.rules[].source_priority": (
        "The PSA's own priority value (case-insensitive).",
        "[critical, urgent]",
    ),
    "classification.rules[].client_tier": (
        "The client's contract tier (`clients.<client>.tier`).",
        "[enterprise]",
    ),
    "clients": (
        "Contracts by client key (connectors map PSA companies to these keys). A "
        "client not listed gets the global defaults.",
        None,
    ),
    "clients.<client>.name": ("Display name in the dashboard and reports.", "ACME Corporation"),
    "clients.<client>.tier": (
        "Contract tier label, matched by rules' `client_tier`.",
        "enterprise",
    ),
    "clients.<client>.floor": ("Least severe tier this client's tickets can get.", "P2"),
    "clients.<client>.default_tier": ("This client's tier when no rule matches.", "P3"),
    "clients.<client>.target_adherence": (
        "Adherence the contract promises, shown against the measured figure.",
        "98%",
    ),
    "clients.<client>.calendar": (
        "Replaces the calendar of every tier that is not `always_open`.",
        "us-east",
    ),
    "clients.<client>.tiers": (
        "Per-client changes to tiers; unset keys keep the tier's value.",
        None,
    ),
    "clients.<client>.tiers.<tier>.name": ("Display name for this client.", "Urgent"),
    "clients.<client>.tiers.<tier>.severity": ("Severity for this client.", "1"),
    "clients.<client>.tiers.<tier>.response": ("Response target for this client.", "10m"),
    "clients.<client>.tiers.<tier>.resolution": ("Resolution target for this client.", "2h"),
    "clients.<client>.tiers.<tier>.calendar": ("Calendar for this tier and client.", "always"),
    "clients.<client>.roles": (
        f"Role → person for this client, before the top-level {_ROLES}.",
        "{account_director: alex@msp.example}",
    ),
    "roles": (
        "Role → person for every client. A step's `to` is looked up here (after the "
        "client's roles); a connector maps the person to a PSA user (`users`).",
        "{team_lead: terry@msp.example}",
    ),
    "escalations": (
        "One ladder per tier. A step fires once per ticket and resolution cycle, "
        "at its due instant, whether the ticket is paused or not; a step due "
        "after the ticket was resolved does not fire.",
        None,
    ),
    "escalations.<tier>[].name": (
        "Unique across all ladders: with source, ticket and cycle "
        "it is the firing's idempotency key.",
        "account-director",
    ),
    "escalations.<tier>[].on": (
        "`response_breach`, `resolution_breach`, `breach` (whichever "
        "comes first), `response_at_risk`, `resolution_at_risk`.",
        "breach",
    ),
    "escalations.<tier>[].to": (
        "A role (resolved through the client's `roles`, then `roles`) or a person.",
        "account_director",
    ),
    "escalations.<tier>[].actions": (
        "Any of `reassign`, `set_priority`, `note`, `tag`, "
        "`notify`. Every firing also adds the marker tag "
        "`sla-<step>-c<cycle>`.",
        "[reassign, note, notify]",
    ),
    "escalations.<tier>[].after": (
        "Breach steps: delay after the trigger in business time of "
        "the tier's calendar, or `next_business_day` (first open "
        "instant on a later local date); omitted: at the trigger.",
        "30m",
    ),
    "escalations.<tier>[].at": (
        "At-risk steps (required there): due when elapsed reaches this share of the target.",
        "75%",
    ),
    "escalations.<tier>[].note": (
        "Jinja2 template of the internal note (needs the `note` "
        "action); variables: ticket, step, tier, reason, recipient, "
        "due_at, late, lateness, key, cycle.",
        '"SLA breach on {{ ticket.id }}: {{ recipient }}"',
    ),
    "escalations.<tier>[].tag": ("Tag to add (needs the `tag` action).", "sla-escalated"),
    "escalations.<tier>[].priority": (
        "Tier to set (needs `set_priority`; default: the tier "
        "in force), written through `priority_map`.",
        "P1",
    ),
    "connectors": (
        "One entry per PSA instance; the key is the `source` of its tickets. The "
        "keys below are common to all connectors; vendor keys follow.",
        None,
    ),
    "connectors.<name>.type": (
        "Connector name in the entry-point group `sla_connector.connectors`.",
        "zendesk",
    ),
    "connectors.<name>.base_url": (
        "API root; `https://` (plain `http://` only for loopback). "
        "Required by connectwise and simulator_http.",
        "https://mspco.atlassian.net",
    ),
    "connectors.<name>.poll_interval": (
        "How often the leading replica asks this PSA what changed.",
        "30s",
    ),
    "connectors.<name>.responded_statuses": (
        "Statuses that stop the response clock (case-insensitive).",
        '["In Progress"]',
    ),
    "connectors.<name>.paused_statuses": (
        "Statuses that pause the resolution clock.",
        "[pending, hold]",
    ),
    "connectors.<name>.resolved_statuses": (
        "Statuses that stop the resolution clock; not also paused.",
        "[solved, closed]",
    ),
    "connectors.<name>.priority_map": (
        "Tier → PSA priority: what `set_priority` writes, and "
        "how a person's priority change is read as a tier.",
        "{P1: urgent, P2: high}",
    ),
    "connectors.<name>.client_map": (
        "PSA company / organization → client key; an unmapped "
        "name becomes the lowercased name (logged once).",
        '{"Acme Corp": acme}',
    ),
    "connectors.<name>.users": (
        "Person → PSA user for `reassign` (see the connector page for the form).",
        "{dana@msp.example: dlee}",
    ),
    "connectors.<name>.requests_per_minute": (
        "Request budget in any 60 s window (default: the connector's own).",
        "120",
    ),
    "connectors.<name>.reconcile_interval": (
        "How often a poll is a full read (open tickets and recent ones) instead of incremental.",
        "6h",
    ),
    "store": (
        "Where state lives (cursors, clocks, the escalation ledger, the evidence log). "
        "The schema migrates itself when a process opens the store.",
        None,
    ),
    "store.url": (
        "`sqlite:///FILE` (one process) or `postgresql+psycopg://USER@HOST/DB` "
        "(several replicas; install the `postgres` extra).",
        "sqlite:////var/lib/sla-connector/state.db",
    ),
    "store.url_env": (
        "Variable holding the whole URL (with its password); used when set, "
        "else `url`. `VARIABLE_FILE` works too.",
        "SLA_STORE_URL",
    ),
    "reports": (
        "Weekly (previous Monday-Sunday) and monthly (previous month) adherence "
        "reports and who receives them.",
        None,
    ),
    "reports.timezone": (
        "Time zone of the schedule, the periods and displayed times.",
        "Europe/London",
    ),
    "reports.weekly": ("When the weekly report is sent.", None),
    "reports.weekly.day": ("Day of the week.", "mon"),
    "reports.weekly.at": ("Local time.", '"08:00"'),
    "reports.monthly": ("When the monthly report is sent.", None),
    "reports.monthly.day": ("Day of the month.", "1"),
    "reports.monthly.at": ("Local time.", '"07:30"'),
    "reports.recipients": (
        "By client key (that client's report) or `internal` (the MSP's report of every client).",
        None,
    ),
    "reports.recipients.<recipient>.email": (
        "Addresses (sent through `notify.smtp`).",
        "[it@acme.example]",
    ),
    "reports.recipients.<recipient>.slack_webhook_env": (
        "Variable holding a Slack incoming webhook URL.",
        "ACME_SLACK_WEBHOOK",
    ),
    "reports.recipients.<recipient>.teams_webhook_env": (
        "Variable holding a Microsoft Teams webhook URL.",
        "ACME_TEAMS_WEBHOOK",
    ),
    "notify": ("Delivery channels for reports and escalation notices.", None),
    "notify.smtp": ("Mail server for report email.", None),
    "notify.smtp.host": ("SMTP host.", "smtp.msp.example"),
    "notify.smtp.port": ("SMTP port.", "465"),
    "notify.smtp.starttls": ("STARTTLS on a plain connection (port 587).", "true"),
    "notify.smtp.ssl": ("Implicit TLS (port 465); not with `starttls`.", "false"),
    "notify.smtp.username_env": ("Variable holding the SMTP user name.", "SMTP_USER"),
    "notify.smtp.password_env": ("Variable holding the SMTP password.", "SMTP_PASSWORD"),
    "notify.smtp.sender": ("From address.", '"SLA Reports <sla@msp.example>"'),
    "notify.slack": (
        "Slack webhook for the `notify` action; without it notices go to the log only.",
        None,
    ),
    "notify.slack.webhook_env": (
        "Variable holding the webhook URL (read from the environment only, not `_FILE`).",
        "MSP_SLACK_WEBHOOK",
    ),
    "dashboard": (
        "The dashboard, JSON API, `/metrics`, `/healthz` and `/readyz` served by `run`.",
        None,
    ),
    "dashboard.bind": (
        "Listen address; bind `0.0.0.0` only with a token or behind a proxy.",
        "0.0.0.0",
    ),
    "dashboard.port": ("TCP port.", "8321"),
    "dashboard.token_env": (
        "Variable holding a bearer token; when set, every request "
        "(health included) needs it. `VARIABLE_FILE` works too.",
        "DASHBOARD_TOKEN",
    ),
    "runtime": ("How the daemon behaves.", None),
    "runtime.dry_run": (
        "Shadow mode: compute, plan and record everything (as `would_fire`), "
        "write nothing to the PSA.",
        "true",
    ),
    "runtime.horizon": ("How far ahead escalation steps are planned.", "30d"),
    "runtime.backfill": (
        "On the first start, steps due more than this before it are history and never fire.",
        "2h",
    ),
    "runtime.max_attempts": (
        "Attempts at a step whose write keeps failing before it is recorded as failed.",
        "10",
    ),
    "runtime.retry_backoff": (
        "Wait after a write the PSA could not take; doubles with each "
        "failure in a row, up to ten times this.",
        "1m",
    ),
    "runtime.late_after": (
        "An escalation written more than this after its due instant is late: so shown on "
        "the dashboard, in /metrics, in the PSA note, the Slack notice and the reports.",
        "5m",
    ),
    "runtime.owner": (
        "This replica's name in leadership, claims and logs (default `host:pid`).",
        "sla-1",
    ),
    "runtime.clock": (
        "Accelerated virtual time for demos and soak tests: "
        "`start + (now - anchor) * speed`. Omit in production.",
        None,
    ),
    "runtime.clock.start": ("Virtual time at `anchor`.", '"2026-11-02T00:00:00Z"'),
    "runtime.clock.anchor": (
        "Wall-clock instant virtual time starts from.",
        '"2026-11-01T12:00:00Z"',
    ),
    "runtime.clock.speed": ("Virtual seconds per real second.", "1440"),
    "adherence": ("How live adherence is judged on the dashboard and in the reports.", None),
    "adherence.at_risk": (
        "A running clock that has used this share of its target (not yet breached) is "
        "at risk: listed, counted and exported as such.",
        "80%",
    ),
}

_V = VendorKey
VENDOR_KEYS: dict[str, tuple[VendorKey, ...]] = {
    "connectwise": (
        _V("company_id", "text", "required", "Company id entered at login.", "mspco"),
        _V(
            "public_key_env",
            "environment variable name",
            "required",
            "Variable holding the API member's public key.",
            "CW_PUBLIC_KEY",
        ),
        _V(
            "private_key_env",
            "environment variable name",
            "required",
            "Variable holding the API member's private key.",
            "CW_PRIVATE_KEY",
        ),
        _V(
            "client_id_env",
            "environment variable name",
            "required",
            "Variable holding the integration's clientId.",
            "CW_CLIENT_ID",
        ),
        _V(
            "api_version",
            "text",
            "`2026.4`",
            "API version pinned in the Accept header.",
            '"2026.4"',
        ),
        _V(
            "boards",
            "list of text",
            "`[]` (every board)",
            "Service boards to poll, by name.",
            '["Service Desk"]',
        ),
        _V(
            "first_response",
            "one of `notes`, `date_responded`, `both`",
            "`both`",
            "What is the first agent response: a member's discussion note, `dateResponded`, or "
            "`dateResponded` when set and notes otherwise.",
            "notes",
        ),
        _V(
            "automation_members",
            "list of text",
            "`[]`",
            "Member identifiers whose notes are "
            "never replies and whose priority changes are not manual.",
            "[automate]",
        ),
        _V(
            "channel_map",
            "mapping: source name → channel",
            "`{}`",
            "Ticket source → channel, before the built-in names.",
            "{Alert: monitoring}",
        ),
        _V("page_size", "whole number (1-1000)", "`100`", "Tickets per feed page.", "200"),
        _V(
            "overlap",
            "duration",
            "`2m`",
            "Each poll re-reads this far behind the newest `lastUpdated` seen (de-duplicated).",
            "5m",
        ),
        _V(
            "full_read_lookback",
            "duration",
            "`7d`",
            "A full read takes open tickets plus those updated this far back.",
            "14d",
        ),
    ),
    "jira_sm": (
        _V(
            "site",
            "text",
            "none",
            "`<site>` of `https://<site>.atlassian.net`, instead of `base_url`.",
            "mspco",
        ),
        _V(
            "email_env",
            "environment variable name",
            "required",
            "Variable holding the Atlassian account's email.",
            "JIRA_EMAIL",
        ),
        _V(
            "token_env",
            "environment variable name",
            "required",
            "Variable holding its API token.",
            "JIRA_API_TOKEN",
        ),
        _V("projects", "list of text", "required", "Service desk project keys to poll.", "[ITSD]"),
        _V(
            "client_field",
            "text",
            "`organization`",
            "Where the client is: `organization` (JSM Organizations), `project`, or a field id.",
            "customfield_10050",
        ),
        _V(
            "organization_field",
            "text",
            "none (discovered)",
            "Field id of Organizations, when discovery through `/rest/api/3/field` is not wanted.",
            "customfield_10002",
        ),
        _V(
            "default_client",
            "text",
            '`""`',
            "Client of issues without an organization.",
            "internal",
        ),
        _V(
            "channel_field",
            "text",
            "none",
            "Field id whose value is the channel.",
            "customfield_10010",
        ),
        _V(
            "automation_accounts",
            "list of text",
            "`[]`",
            "More app account ids whose comments are automatic (Automation for Jira is known).",
            '["557058:abc"]',
        ),
        _V("page_size", "whole number (≤ 5000)", "`100`", "Issues per search page.", "50"),
        _V(
            "poll_overlap",
            "duration (≥ 1m)",
            "`2m`",
            "Each poll re-reads this far behind the newest `updated` seen (de-duplicated).",
            "5m",
        ),
        _V(
            "full_read_lookback",
            "duration",
            "`30d`",
            "A full read takes issues not Done plus those updated this far back.",
            "7d",
        ),
        _V(
            "jql_timezone",
            "IANA time zone",
            "the API user's profile zone",
            "Zone JQL dates are written in.",
            "Europe/London",
        ),
    ),
    "zendesk": (
        _V(
            "subdomain",
            "text",
            "none",
            "`<subdomain>` of `<subdomain>.zendesk.com`, instead of `base_url`.",
            "mspco",
        ),
        _V(
            "email_env",
            "environment variable name",
            "required",
            "Variable holding the API user's email.",
            "ZENDESK_EMAIL",
        ),
        _V(
            "token_env",
            "environment variable name",
            "required",
            "Variable holding an API token.",
            "ZENDESK_API_TOKEN",
        ),
        _V(
            "default_client",
            "text",
            '`""`',
            "Client of tickets without an organization.",
            "internal",
        ),
        _V(
            "groups",
            "mapping: name → group id",
            "`{}`",
            "Groups a step may assign to (`to: group:NAME`).",
            '{"Tier 2": "360001234567"}',
        ),
        _V(
            "automation_users",
            "list of text",
            "`[]`",
            "User ids or emails whose comments are automatic, never replies.",
            "[alerts@msp.example]",
        ),
        _V(
            "automatic_channels",
            "list of text",
            "`[rule]`",
            "`via` channels whose comments and changes are automatic.",
            "[rule, api]",
        ),
        _V(
            "export_requests_per_minute",
            "whole number",
            "`8`",
            "Budget of the incremental export endpoints (Zendesk allows 10/min).",
            "5",
        ),
        _V(
            "full_read_lookback",
            "duration",
            "`30d`",
            "A full read exports tickets updated this far back.",
            "7d",
        ),
    ),
    "simulator": (
        _V(
            "seed",
            "whole number or text",
            "`1`",
            "With the other keys, fixes the whole ticket stream.",
            "7",
        ),
        _V(
            "tickets_per_day",
            "number (≤ 20000)",
            "`400`",
            "Average arrivals per day over a week.",
            "400",
        ),
        _V(
            "start",
            "RFC 3339 time",
            "the clock's present",
            "First instant the PSA holds tickets for; set it to keep tickets across restarts.",
            '"2026-11-02T00:00:00Z"',
        ),
        _V(
            "clients",
            "list, or mapping: company → {timezone, weight}",
            "`client_map` keys, else acme, globex, initech",
            "Simulated companies.",
            "{ACME: {timezone: America/New_York, weight: 3}}",
        ),
        _V(
            "timezone",
            "IANA time zone",
            "`Europe/London`",
            "The MSP's zone (agents work Mon-Fri 08:00-18:00) and the default zone of arrivals.",
            "Europe/London",
        ),
        _V(
            "statuses",
            "mapping: open, responded, paused, resolved",
            "open, acknowledged, [pending, on-hold], [solved, closed]",
            "Status names the PSA uses; missing ones fall back on the `*_statuses` keys.",
            "{paused: [waiting, on_hold]}",
        ),
        _V(
            "tiers",
            "list of text",
            "`priority_map` keys, else P1, P2, P3",
            "Tiers manual priority changes name, most severe first.",
            "[P1, P2, P3]",
        ),
        _V(
            "agents",
            "list of text",
            "five `@msp.example` people",
            "Who tickets get assigned to.",
            "[kim@msp.example]",
        ),
        _V("page_size", "whole number", "`100`", "Tickets per poll page.", "100"),
    ),
    "simulator_http": (
        _V("timeout", "number (seconds)", "`10`", "Read timeout.", "10"),
        _V("connect_timeout", "number (seconds)", "`5`", "Connect timeout.", "5"),
        _V("max_attempts", "whole number", "`5`", "Attempts per request.", "5"),
        _V("page_size", "whole number", "`100`", "Tickets per bulk read.", "100"),
    ),
}

_INTRO = """
# Configuration reference

<!-- Generated from the configuration models by `make docs`
     (python -m sla_connector.settings.reference); do not edit by hand. -->

One YAML file configures a deployment. `config.example.yaml` is the commented seed policy and
`sla-connector init` writes a starter file; every command that takes `-c FILE` validates it
first and stops with one line naming the key path and the problem.

- `<calendar>`, `<tier>`, `<client>`, `<name>`, `<recipient>` stand for keys you choose;
  `[]` marks an item of a list.
- Durations: `15m`, `4h`, `90s`, `1h30m`, `2d`; targets also take business days (`3bd`).
  Targets and escalation delays are business time in the tier's calendar; intervals
  (`poll_interval`, `reconcile_interval`, `runtime.*`) are wall-clock time.
- Percentages: `75%` or `0.75`. Times of day: `"08:00"` (quote them).
- A list key also accepts a single value (a list of one), except `classification.rules`,
  `holidays.extra` and `holidays.remove`.
- Secrets are never written in the file: a key ending in `_env` names the environment
  variable that holds the secret.
- Booleans are `true` or `false`; `yes`, `no`, `on`, `off` stay text (`country: NO` is Norway).
- Unknown keys are errors, except vendor keys of a connector entry, which the connector checks
  when it is built (`run`). Numbers are accepted where text is expected (PSA ids).
"""

_VENDOR_INTRO = """
Each connector reads more keys from its entry; they are checked when the connector is built,
and errors name `connectors.<name>.<key>`. A key written as `something_env` must name an
environment variable; any other key that looks like a secret (`token`, `password`,
`private_key`...) is refused.
"""

_PLACEHOLDERS = {
    "calendars": "calendar",
    "tiers": "tier",
    "clients": "client",
    "clients.<client>.tiers": "tier",
    "escalations": "tier",
    "connectors": "name",
    "reports.recipients": "recipient",
}
_LABELS: tuple[tuple[Any, str], ...] = tuple(
    (get_args(alias)[1], label)
    for alias, label in (
        (Target, "duration (`15m`, `1h30m`, `3bd`)"),
        (Interval, "duration (`60s`, `5m`; no `bd`)"),
        (StepAfter, "duration (no `bd`) or `next_business_day`"),
        (Percent, "percentage (`75%` or `0.75`)"),
        (EnvVarName, "environment variable name"),
        (TimeZoneName, "IANA time zone"),
        (OpenInterval, "interval `HH:MM-HH:MM`"),
        (DaySpec, "days"),
        (RegexText, "regular expression"),
        (TimeOfDay, "time of day `HH:MM`"),
        (Text, "text"),
    )
)
_SCALARS = {bool: "`true` or `false`", int: "whole number", float: "number", str: "text"}
Kind = Literal["section", "sections", "ladders", "section_list", "leaf"]


@dataclass(frozen=True, slots=True)
class Entry:
    """One documented key: its path pattern and what an operator needs to know about it."""

    path: str
    type: str
    default: str
    description: str
    example: str | None
    leaf: bool = True  # False for a section: its keys are entries of their own
    annotation: Any = None  # the field's full type, to validate ``example``; None: no check


def _peel(annotation: Any) -> tuple[Any, tuple[Any, ...]]:
    """Strip ``Annotated`` (keeping its metadata) and ``X | None`` down to the base type."""
    metadata: list[Any] = []
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            base, *extra = get_args(annotation)
            metadata.extend(extra)
            annotation = base
        elif origin in (Union, types.UnionType):
            members = [arg for arg in get_args(annotation) if arg is not type(None)]
            if len(members) != 1:
                return annotation, tuple(metadata)
            annotation = members[0]
        else:
            return annotation, tuple(metadata)


def _model(annotation: Any) -> type[BaseModel] | None:
    base, _ = _peel(annotation)
    return base if isinstance(base, type) and issubclass(base, BaseModel) else None


def _shape(field: FieldInfo) -> tuple[Kind, type[BaseModel] | None]:
    """What a field holds: a section, sections by name, ladders, a list of sections, a value."""
    base, _ = _peel(field.annotation)
    if (model := _model(base)) is not None:
        return "section", model
    origin, args = get_origin(base), get_args(base)
    if origin is Mapping and len(args) == 2:
        if (model := _model(args[1])) is not None:
            return "sections", model
        value, _ = _peel(args[1])
        if get_origin(value) is tuple and (model := _model(get_args(value)[0])) is not None:
            return "ladders", model
    if origin is tuple and args and (model := _model(args[0])) is not None:
        return "section_list", model
    return "leaf", None


def full_type(field: FieldInfo) -> Any:
    """The field's annotation with its constraints, as a ``TypeAdapter`` validates it."""
    if not field.metadata:
        return field.annotation
    return cast(Any, Annotated)[(field.annotation, *field.metadata)]


def _describe(annotation: Any, extra: tuple[Any, ...] = ()) -> str:
    base, metadata = _peel(annotation)
    metadata = (*extra, *metadata)
    for marker, label in _LABELS:
        if marker in metadata:
            return label
    origin, args = get_origin(base), get_args(base)
    if origin is Literal:
        words = "one of " + ", ".join(f"`{arg}`" for arg in args)
    elif origin is tuple:
        words = f"list of {_describe(args[0])}".replace("list of one of", "list of")
    elif origin is Mapping:
        words = f"mapping: {_describe(args[0])} → {_describe(args[1])}"
    elif isinstance(base, type) and issubclass(base, BaseModel):
        words = "section"
    elif base in _SCALARS:
        words = _SCALARS[base]
    else:
        named = {"date": "date `YYYY-MM-DD`", "datetime": "RFC 3339 time with offset"}
        words = named.get(getattr(base, "__name__", ""), str(base))
    return words + _constraints(metadata)


def _constraints(metadata: tuple[Any, ...]) -> str:
    bounds = []
    for item in metadata:
        if isinstance(item, annotated_types.Ge):
            bounds.append(f"≥ {item.ge}")
        elif isinstance(item, annotated_types.Gt):
            bounds.append(f"> {item.gt}")
        elif isinstance(item, annotated_types.Le):
            bounds.append(f"≤ {item.le}")
        elif isinstance(item, annotated_types.MinLen) and item.min_length == 1:
            bounds.append("at least one")
    return f" ({', '.join(bounds)})" if bounds else ""


def _flow(value: Any) -> str:
    """A JSON-mode value in YAML flow style: ``[a, b]``, ``{}``, ``true``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_flow(item) for item in value) + "]"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{key}: {_flow(item)}" for key, item in value.items()) + "}"
    return str(value)


def _default(field: FieldInfo, kind: Kind) -> str:
    if field.is_required():
        return "required"
    value = field.get_default(call_default_factory=True)
    if value is None:
        return "none"
    if kind == "section":
        return "see its keys"
    return f"`{_flow(TypeAdapter(full_type(field)).dump_python(value, mode='json'))}`"


def _walk(model: type[BaseModel], prefix: str) -> Iterator[Entry]:
    for name, field in model.model_fields.items():
        path = f"{prefix}.{name}" if prefix else name
        kind, inner = _shape(field)
        if path not in TEXT:
            raise LookupError(f"{path}: no description in sla_connector.settings.reference.TEXT")
        description, example = TEXT[path]
        words = {
            "sections": f"mapping: {_PLACEHOLDERS.get(path)} → section",
            "ladders": f"mapping: {_PLACEHOLDERS.get(path)} → list of steps",
            "section_list": "list of sections",
        }.get(kind) or _describe(field.annotation, tuple(field.metadata))
        if kind == "sections":
            words += _constraints(tuple(field.metadata))
        leaf = kind == "leaf"
        checked = full_type(field) if leaf else None
        yield Entry(path, words, _default(field, kind), description, example, leaf, checked)
        if inner is None:
            continue
        below = {
            "section": path,
            "sections": f"{path}.<{_PLACEHOLDERS.get(path)}>",
            "ladders": f"{path}.<{_PLACEHOLDERS.get(path)}>[]",
            "section_list": f"{path}[]",
        }[kind]
        yield from _walk(inner, below)


def model_entries() -> list[Entry]:
    """Every key of the configuration file as the models define it, in file order."""
    return list(_walk(AppConfig, ""))


def vendor_entries(connector_type: str) -> list[Entry]:
    """The vendor keys of one built-in connector type."""
    return [
        Entry(f"connectors.<name>.{key.key}", key.type, key.default, key.description, key.example)
        for key in VENDOR_KEYS[connector_type]
    ]


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _table(entries: list[Entry]) -> list[str]:
    lines = ["| Key | Type | Default | Description | Example |", "| --- | --- | --- | --- | --- |"]
    for entry in entries:
        example = f"`{_cell(entry.example)}`" if entry.example else ""
        lines.append(
            f"| `{entry.path}` | {_cell(entry.type)} | {_cell(entry.default)} | "
            f"{_cell(entry.description)} | {example} |"
        )
    return lines


def render() -> str:
    """The whole reference as Markdown; the same models always give the same text."""
    entries = model_entries()
    stale = sorted(set(TEXT) - {entry.path for entry in entries})
    if stale:
        raise LookupError(f"descriptions of keys the models do not have: {', '.join(stale)}")
    sections = [entry for entry in entries if "." not in entry.path]
    lines = [_INTRO.strip(), "", "## Contents", ""]
    lines += [f"- [`{entry.path}`](#{entry.path})" for entry in sections]
    for top in sections:
        rows = [entry for entry in entries if entry.path.startswith(top.path + ".")]
        lines += ["", f"## {top.path}", "", _cell(top.description), ""]
        lines.append(f"Type: {top.type}. Default: {top.default}.")
        if top.example:
            lines += ["", f"Example: `{_cell(top.example)}`"]
        if rows:
            lines += ["", *_table(rows)]
        if top.path == "connectors":
            lines += ["", "### Vendor keys", "", _VENDOR_INTRO.strip()]
            for connector_type in VENDOR_KEYS:
                page = "simulator" if connector_type.startswith("simulator") else connector_type
                lines += ["", f"#### type: {connector_type}", ""]
                lines += [f"See [connectors/{page}.md](connectors/{page}.md).", ""]
                lines += _table(vendor_entries(connector_type))
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(render(), end="")
