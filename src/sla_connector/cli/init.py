"""``sla-connector init``: write a starter configuration from a few answers or flags.

On a terminal it asks for what the flags did not give (the PSA, its URL, the time zone,
support days and hours, the country and region for public holidays); without a terminal,
or with ``--non-interactive``, it takes the defaults. The file holds the seed tiers and
ladders of ``config.example.yaml`` and one connector of the chosen PSA: the PSAs offered,
their URL question, entry, secrets and to-do list come from the starter each connector
declares (``core.plugins.Starter``), so an installed third-party connector with a starter
is offered too. The file is validated
with the settings loader before it is written, so ``init`` never leaves an invalid file,
and it never replaces an existing file without ``--force``. It ends by listing the
environment variables still to set and what is left to edit.
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from string import Template
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import ValidationError

from sla_connector.cli.common import ExitCode
from sla_connector.core.calendars import parse_day_spec, parse_interval
from sla_connector.core.errors import ConfigError
from sla_connector.core.plugins import ConnectorSettings, Starter
from sla_connector.registry import connector_declarations
from sla_connector.settings import config_error_from_validation, config_from_mapping, parse_yaml
from sla_connector.settings.models import HolidaysConfig

__all__ = ["Answers", "register", "render_config", "run", "starters"]

DEFAULT_TIMEZONE = "Europe/London"
DEFAULT_DAYS = "mon-fri"
DEFAULT_HOURS = "08:00-18:00"


@functools.cache
def starters() -> Mapping[str, ConnectorSettings]:
    """The connector types that declare a starter entry, by type name (loads them all)."""
    return {
        name: declaration
        for name, declaration in connector_declarations().items()
        if declaration.starter is not None
    }


def _starter(psa: str) -> Starter:
    starter = starters()[psa].starter
    assert starter is not None  # starters() keeps only declarations with one
    return starter


class _Offered(Sequence[str]):
    """``--psa`` choices, read from the connectors only when argparse needs them, so
    building the parser (every command does) imports no connector."""

    def __getitem__(self, index: Any) -> Any:
        return list(starters())[index]

    def __len__(self) -> int:
        return len(starters())

    def __contains__(self, value: object) -> bool:
        return value in starters()


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
    parser.add_argument(
        "--psa",
        choices=_Offered(),
        metavar="PSA",  # a metavar keeps argparse from listing (importing) them up front
        help="the PSA: %(choices)s (default simulator)",
    )
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
        return ExitCode.FINDINGS
    interactive = not args.non_interactive and sys.stdin.isatty()
    try:
        answers = gather(args, _prompt if interactive else None)
    except EOFError:
        print("\nsla-connector: init aborted; nothing written", file=sys.stderr)
        return ExitCode.FINDINGS
    text = render_config(answers)
    config_from_mapping(parse_yaml(text, str(out)), str(out))  # a ConfigError writes nothing
    _write(out, text, force=args.force)
    _report(out, answers)
    return ExitCode.OK


Ask = Callable[[str, str], str]


def _prompt(question: str, default: str) -> str:
    return input(f"{question} [{default}]: ").strip() or default


def gather(args: argparse.Namespace, ask: Ask | None) -> Answers:
    """The answers from flags, then (with ``ask``) from the terminal, else the defaults."""
    if ask is not None:
        print("A few questions; Enter keeps the [default].")
    offered = ", ".join(starters())
    psa = _answer(args.psa, f"PSA ({offered})", "simulator", _psa, ask, flag="--psa")
    spec = _starter(psa)
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
    if name not in starters():
        raise ValueError(f"{text!r} is not one of {', '.join(starters())}")
    return name


def _url(psa: str, text: str) -> str:
    url = text.strip().rstrip("/")
    if "://" not in url:
        bare_host = _starter(psa).bare_host
        if bare_host and "." not in url:
            url += bare_host  # a bare Zendesk subdomain or Atlassian site name
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


def _line(key: str, value: str, comment: str = "") -> str:
    text = f"    {key}: {value}"
    return f"{text.ljust(37)} # {comment}" if comment else text


def _entry(psa: str, url: str | None) -> str:
    """The connector entry of the starter file, from the connector's declared starter."""
    spec = _starter(psa)
    lines = [_line("type", psa, spec.type_comment)]
    if spec.url is not None:
        lines.append(_line("base_url", url or ""))
    lines += [_line(line.key, line.value, line.comment) for line in spec.lines]
    return "\n".join(lines)


def render_config(answers: Answers) -> str:
    """The starter file's YAML text for ``answers`` (not validated here)."""
    spec = _starter(answers.psa)
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
        key=spec.entry,
        connector=_entry(answers.psa, answers.url),
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
    spec = _starter(answers.psa)
    print(
        f"Wrote {out}: {answers.psa} connector '{spec.entry}', support {answers.days} "
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
        todo.insert(0, f"set connectors.{spec.entry}.base_url to your {answers.psa} URL")
    if spec.url is not None:
        todo += [
            f"map your PSA's companies to client keys in connectors.{spec.entry}.client_map and "
            "add their contracts under clients:",
            f"put your people in roles: and map them in connectors.{spec.entry}.users",
            "runtime.dry_run is true (shadow mode): after a trial run, set it to false",
        ]
    if todo:
        print("Still to edit in the file:")
        for item in todo:
            print(f"  - {item}")
    print(f"Then: sla-connector run -c {out}")
