"""``sla-connector init``: write a starter configuration from a few answers or flags.

On a terminal it asks for what the flags did not give (the PSA, its URL, the time zone,
support days and hours, the country and region for public holidays); without a terminal,
or with ``--non-interactive``, it takes the defaults. The file holds the seed tiers and
ladders of ``config.example.yaml`` and one connector of the chosen PSA; it is validated
with the settings loader before it is written, so ``init`` never leaves an invalid file,
and it never replaces an existing file without ``--force``. It ends by listing the
environment variables still to set and what is left to edit.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from string import Template
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import ValidationError

from sla_connector.core.calendars import parse_day_spec, parse_interval
from sla_connector.core.errors import ConfigError
from sla_connector.settings import config_error_from_validation, config_from_mapping, parse_yaml
from sla_connector.settings.models import HolidaysConfig

__all__ = ["PSAS", "Answers", "register", "render_config", "run"]

EXIT_REFUSED = 1
DEFAULT_TIMEZONE = "Europe/London"
DEFAULT_DAYS = "mon-fri"
DEFAULT_HOURS = "08:00-18:00"


@dataclass(frozen=True, slots=True)
class _Psa:
    """What a starter needs to know about one PSA: its connector entry and its secrets."""

    key: str
    url: str | None  # default URL; None: the PSA takes no URL (simulator)
    url_hint: str
    block: str
    secrets: tuple[tuple[str, str], ...]  # (environment variable, what to put in it)
    todo: tuple[str, ...]


PSAS: Mapping[str, _Psa] = {
    "zendesk": _Psa(
        "zd",
        "https://your-subdomain.zendesk.com",
        "https://<subdomain>.zendesk.com",
        """    type: zendesk
    base_url: $url
    email_env: ZENDESK_EMAIL          # the API user's email (an admin: the export needs one)
    token_env: ZENDESK_API_TOKEN
    paused_statuses: [pending, hold]
    resolved_statuses: [solved, closed]
    priority_map: {P1: urgent, P2: high, P3: normal}
    client_map: {}                    # Zendesk organization name -> client key
    users: {}                         # person (roles) -> Zendesk user id or agent email""",
        (
            ("ZENDESK_EMAIL", "email of the Zendesk API user (an admin)"),
            (
                "ZENDESK_API_TOKEN",
                "a Zendesk API token (Admin Center > Apps and integrations > APIs)",
            ),
        ),
        (),
    ),
    "jira_sm": _Psa(
        "jsm",
        "https://your-site.atlassian.net",
        "https://<site>.atlassian.net",
        """    type: jira_sm
    base_url: $url
    email_env: JIRA_EMAIL             # the Atlassian account (a JSM agent on the projects)
    token_env: JIRA_API_TOKEN
    projects: [ITSD]                  # your service desk project keys
    client_field: organization        # the client is the JSM organization
    paused_statuses: ["Waiting for customer"]
    resolved_statuses: ["Resolved", "Closed", "Done"]
    priority_map: {P1: Highest, P2: High, P3: Medium}
    client_map: {}                    # organization name -> client key
    users: {}                         # person (roles) -> email or Atlassian account id""",
        (
            ("JIRA_EMAIL", "email of the Atlassian account the connector uses"),
            ("JIRA_API_TOKEN", "an API token of that account (id.atlassian.com > Security)"),
        ),
        ("set connectors.jsm.projects to your service desk project keys",),
    ),
    "connectwise": _Psa(
        "cw",
        "https://api-na.myconnectwise.net/v4_6_release/apis/3.0",
        "https://api-<region>.myconnectwise.net/v4_6_release/apis/3.0",
        """    type: connectwise
    base_url: $url
    company_id: CHANGE-ME             # the company id you log in with
    public_key_env: CW_PUBLIC_KEY
    private_key_env: CW_PRIVATE_KEY
    client_id_env: CW_CLIENT_ID
    boards: ["Service Desk"]
    responded_statuses: ["Acknowledged", "In Progress"]
    paused_statuses: ["Waiting on Customer", "Scheduled"]
    resolved_statuses: ["Resolved", "Closed"]
    priority_map: {P1: "Priority 1 - Critical", P2: "Priority 2 - High",
                   P3: "Priority 3 - Normal"}
    client_map: {}                    # company identifier -> client key
    users: {}                         # person (roles) -> member identifier""",
        (
            ("CW_PUBLIC_KEY", "the API member's public key"),
            ("CW_PRIVATE_KEY", "the API member's private key"),
            ("CW_CLIENT_ID", "your integration's clientId (developer.connectwise.com)"),
        ),
        ("set connectors.cw.company_id, boards and the status names of your boards",),
    ),
    "simulator": _Psa(
        "sim",
        None,
        "",
        """    type: simulator                   # the embedded PSA: no account, no network
    seed: 7
    tickets_per_day: 400
    responded_statuses: [acknowledged]
    paused_statuses: [pending, on-hold]
    resolved_statuses: [solved, closed]""",
        (),
        (),
    ),
}

_TEMPLATE = Template(r"""# Starter configuration written by `sla-connector init`. Every key is
# described in docs/configuration.md; config.example.yaml is a fuller, commented policy.
# Secrets are never written here: a key ending in _env names the variable holding one.

calendars:
  office:
    timezone: $timezone
    hours:
      "$days": [$hours]
$holidays
  always:
    always_open: true

tiers:
  P1: {name: Critical, severity: 1, response: 15m, resolution: 4h, calendar: always}
  P2: {name: High, severity: 2, response: 1h, resolution: 8h, calendar: office}
  P3: {name: Standard, severity: 3, response: 4h, resolution: 3bd, calendar: office}

clocks:
  reopen: resume

classification:
  default_tier: P3
  respect_manual_priority: true
  rules:
    - name: outage
      tier: P1
      keywords: ["down", "outage", "not responding", "ransomware", "all users"]
      unless: ["not down", "test"]
    - name: monitoring-critical
      tier: P1
      channel: [monitoring]
      source_priority: [critical, urgent]
    - name: degraded
      tier: P2
      regex: ["\\b(slow|degraded|intermittent)\\b"]

clients: {}                           # your clients' contracts (see config.example.yaml)

roles:                                # role -> person; connectors.<name>.users maps people
  account_director: account.director@msp.example
  senior_engineer: senior.engineer@msp.example
  team_lead: team.lead@msp.example

escalations:
  P1:
    - {name: account-director, on: breach, after: 30m, to: account_director,
       actions: [reassign, set_priority, note, tag, notify], priority: P1, tag: sla-escalated}
  P2:
    - {name: senior-engineer, on: breach, after: 2h, to: senior_engineer,
       actions: [reassign, note, tag, notify], tag: sla-escalated}
  P3:
    - {name: team-lead, on: breach, after: next_business_day, to: team_lead,
       actions: [reassign, note, tag, notify], tag: sla-escalated}

connectors:
  $key:
$connector

store:
  url: sqlite:///sla-connector.db     # or postgresql+psycopg://user@host/db for two replicas

reports:
  timezone: $timezone
  weekly: {day: mon, at: "08:00"}
  monthly: {day: 1, at: "08:00"}

dashboard:
  bind: 127.0.0.1
  port: 8321
  # token_env: DASHBOARD_TOKEN        # require a bearer token (do so before binding 0.0.0.0)

runtime:
  dry_run: $dry_run$dry_run_note
""")


@dataclass(frozen=True, slots=True)
class Answers:
    """What the starter file is made of."""

    psa: str = "simulator"
    url: str | None = None
    timezone: str = DEFAULT_TIMEZONE
    days: str = DEFAULT_DAYS
    hours: tuple[str, ...] = (DEFAULT_HOURS,)
    country: str | None = "GB"
    subdivision: str | None = "ENG"


def register(commands: Any) -> None:
    parser: argparse.ArgumentParser = commands.add_parser(
        "init",
        help="write a starter config.yaml (asks a few questions on a terminal)",
        description=(
            "Write a starter configuration: the seed tiers and escalation ladders, one "
            "business calendar and one connector. Asks on a terminal for what the flags do "
            "not give; validates the file before writing it; then lists the environment "
            "variables still to set."
        ),
    )
    parser.add_argument(
        "--out", default="config.yaml", metavar="FILE", help="file to write (default config.yaml)"
    )
    parser.add_argument("--psa", choices=tuple(PSAS), help="the PSA (default simulator)")
    parser.add_argument(
        "--url",
        metavar="U",
        help="the PSA's URL (a bare Zendesk subdomain or Atlassian site name works too)",
    )
    parser.add_argument(
        "--timezone", metavar="Z", help="IANA time zone of support hours (default Europe/London)"
    )
    parser.add_argument(
        "--hours",
        metavar="H",
        help="support hours, e.g. 08:00-18:00 or 08:00-12:00,13:00-17:00 (default 08:00-18:00)",
    )
    parser.add_argument(
        "--days", metavar="D", help="support days, e.g. mon-fri or mon-sat (default mon-fri)"
    )
    parser.add_argument(
        "--country",
        metavar="CC",
        help="country for public holidays, e.g. "
        "GB, US; 'none' for no holidays (default GB in Europe/London)",
    )
    parser.add_argument(
        "--subdivision",
        metavar="S",
        help="region for public holidays, e.g. ENG, CA; 'none' for the whole country",
    )
    parser.add_argument(
        "--non-interactive",
        action="store_true",
        help="never ask; take defaults for anything not given",
    )
    parser.add_argument("--force", action="store_true", help="overwrite an existing file")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    out = Path(args.out)
    if out.exists() and not args.force:
        print(
            f"sla-connector: {out} already exists; choose another --out or add --force",
            file=sys.stderr,
        )
        return EXIT_REFUSED
    interactive = not args.non_interactive and sys.stdin.isatty()
    try:
        answers = gather(args, _prompt if interactive else None)
    except EOFError:
        print("\nsla-connector: init aborted; nothing written", file=sys.stderr)
        return EXIT_REFUSED
    text = render_config(answers)
    config_from_mapping(parse_yaml(text, str(out)), str(out))  # a ConfigError writes nothing
    _write(out, text, force=args.force)
    _report(out, answers)
    return 0


Ask = Callable[[str, str], str]


def _prompt(question: str, default: str) -> str:
    return input(f"{question} [{default}]: ").strip() or default


def gather(args: argparse.Namespace, ask: Ask | None) -> Answers:
    """The answers from flags, then (with ``ask``) from the terminal, else the defaults."""
    if ask is not None:
        print("A few questions; Enter keeps the [default].")
    psa = _answer(args.psa, "PSA (" + ", ".join(PSAS) + ")", "simulator", _psa, ask, flag="--psa")
    spec = PSAS[psa]
    url = None
    if spec.url is not None:
        url = _answer(
            args.url,
            f"{psa} URL ({spec.url_hint})",
            spec.url,
            lambda text: _url(psa, text),
            ask,
            flag="--url",
        )
    timezone = _answer(
        args.timezone, "Time zone of support hours", DEFAULT_TIMEZONE, _zone, ask, flag="--timezone"
    )
    days = _answer(args.days, "Support days", DEFAULT_DAYS, _days, ask, flag="--days")
    hours = _answer(args.hours, "Support hours", DEFAULT_HOURS, _hours, ask, flag="--hours")
    uk = timezone == DEFAULT_TIMEZONE
    country = _answer(
        args.country,
        "Country for public holidays ('none': no holidays)",
        "GB" if uk else "none",
        _country,
        ask,
        flag="--country",
    )
    subdivision = None
    if country != "none":
        subdivision = _answer(
            args.subdivision,
            "Region of that country ('none': all of it)",
            "ENG" if country == "GB" else "none",
            lambda text: _subdivision(country, text),
            ask,
            flag="--subdivision",
        )
    return Answers(
        psa=psa,
        url=url,
        timezone=timezone,
        days=days,
        hours=tuple(hours.split(",")),
        country=None if country == "none" else country,
        subdivision=None if subdivision in (None, "none") else subdivision,
    )


def _answer(
    given: str | None,
    question: str,
    default: str,
    check: Callable[[str], str],
    ask: Ask | None,
    *,
    flag: str,
) -> str:
    """A flag's value (checked), else the terminal's answer (asked until valid), else default."""
    if given is not None:
        try:
            return check(given)
        except ValueError as exc:
            raise ConfigError(flag, str(exc)) from None
    if ask is None:
        return check(default)
    while True:
        try:
            return check(ask(question, default))
        except ValueError as exc:
            print(f"  {exc}")


def _psa(text: str) -> str:
    name = text.strip().lower()
    if name not in PSAS:
        raise ValueError(f"{text!r} is not one of {', '.join(PSAS)}")
    return name


def _url(psa: str, text: str) -> str:
    url = text.strip().rstrip("/")
    if "://" not in url:
        if psa in ("zendesk", "jira_sm") and "." not in url:
            url += ".zendesk.com" if psa == "zendesk" else ".atlassian.net"
        url = "https://" + url
    parts = urlsplit(url)
    local = parts.hostname in ("localhost", "127.0.0.1", "::1")
    if (
        parts.scheme not in ("https", "http")
        or not parts.hostname
        or (parts.scheme == "http" and not local)
    ):
        raise ValueError(f"{text!r} is not an https:// URL")
    return url


def _zone(text: str) -> str:
    try:
        ZoneInfo(text.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {text!r}; use an IANA name such as "
            "Europe/London or America/New_York"
        ) from None
    return text.strip()


def _days(text: str) -> str:
    spec = text.strip().lower().replace(" ", "")
    parse_day_spec(spec)
    return spec


def _hours(text: str) -> str:
    intervals = [part.strip() for part in text.split(",") if part.strip()]
    if not intervals:
        raise ValueError("give at least one interval such as 08:00-18:00")
    for interval in intervals:
        parse_interval(interval)
    return ",".join(intervals)


def _holidays(country: str, subdivision: str | None) -> None:
    try:
        HolidaysConfig(country=country, subdivision=subdivision)
    except ValidationError as exc:
        raise ValueError(config_error_from_validation(exc, HolidaysConfig).problem) from None


def _country(text: str) -> str:
    code = text.strip().upper()
    if code in ("", "NONE", "-"):
        return "none"
    _holidays(code, None)
    return code


def _subdivision(country: str, text: str) -> str:
    code = text.strip().upper()
    if code in ("", "NONE", "-"):
        return "none"
    _holidays(country, code)
    return code


def render_config(answers: Answers) -> str:
    """The starter file's YAML text for ``answers`` (not validated here)."""
    spec = PSAS[answers.psa]
    holidays = "    # holidays: {country: GB, subdivision: ENG}   # public holidays close it"
    if answers.country:
        region = f', subdivision: "{answers.subdivision}"' if answers.subdivision else ""
        holidays = f'    holidays: {{country: "{answers.country}"{region}}}'
    real = answers.url is not None
    note = "    # shadow mode: record, write nothing back; false after a trial" if real else ""
    return _TEMPLATE.substitute(
        timezone=answers.timezone,
        days=answers.days,
        hours=", ".join(f'"{interval}"' for interval in answers.hours),
        holidays=holidays,
        key=spec.key,
        connector=Template(spec.block).substitute(url=answers.url or ""),
        dry_run="true" if real else "false",
        dry_run_note=note,
    )


def _write(out: Path, text: str, *, force: bool) -> None:
    """Create ``out`` (exclusively unless ``force``), via a temporary file when replacing."""
    out.parent.mkdir(parents=True, exist_ok=True)
    if not force:
        try:
            with out.open("x", encoding="utf-8") as handle:
                handle.write(text)
        except FileExistsError:
            raise ConfigError("--out", f"{out} appeared while init ran; not overwritten") from None
        return
    temporary = out.with_name(f".{out.name}.init-{os.getpid()}")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, out)


def _report(out: Path, answers: Answers) -> None:
    spec = PSAS[answers.psa]
    print(
        f"Wrote {out}: {answers.psa} connector '{spec.key}', support {answers.days} "
        f"{','.join(answers.hours)} {answers.timezone}"
        + (
            f", holidays {'-'.join(filter(None, (answers.country, answers.subdivision)))}"
            if answers.country
            else ", no public holidays"
        )
        + "."
    )
    missing = [(name, what) for name, what in spec.secrets if not os.environ.get(name)]
    if missing:
        print("Environment variables still to set:")
        width = max(len(name) for name, _ in missing)
        for name, what in missing:
            print(f"  {name.ljust(width)}  {what}")
    elif spec.secrets:
        print("Every environment variable it names is set.")
    todo = list(spec.todo)
    if spec.url is not None and answers.url == spec.url and "your-" in spec.url:
        todo.insert(0, f"set connectors.{spec.key}.base_url to your {answers.psa} URL")
    if spec.url is not None:
        todo += [
            f"map your PSA's companies to client keys in connectors.{spec.key}.client_map and "
            "add their contracts under clients:",
            f"put your people in roles: and map them in connectors.{spec.key}.users",
            "runtime.dry_run is true (shadow mode): after a trial run, set it to false",
        ]
    if todo:
        print("Still to edit in the file:")
        for item in todo:
            print(f"  - {item}")
    print(f"Then: sla-connector run -c {out}")
