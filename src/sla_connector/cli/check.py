"""``sla-connector check``: a pre-flight of the configuration, the PSAs and the channels.

First every secret the configuration names that is not set, all of them in one run. Then
every connector gets a verdict line (auth and one read; a connector missing a secret is
not tried); wrong credentials, a wrong URL, an unreachable host (one attempt when the name
does not resolve) and a missing permission each come back from the connector as their own
actionable message. Then each delivery channel (SMTP, Slack, Teams) is reached without
sending anything (``preflight``), unless ``--send-test``. The last line is the verdict.

Below a connector's line, indented, what it reports in ``details``: the credentials in
use (``auth``: the method, when the credential stops working, the scopes it lacks), its
warnings (an API token that Zendesk retires, an audit trail that cannot be read) and the
objects failing now (``health``). Exit code 0 when all pass, 1 when a secret, a connector or a
channel fails, 2 for a bad configuration.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from sla_connector.cli.common import ExitCode, add_config_argument
from sla_connector.cli.preflight import NOT_TRIED, check_channels
from sla_connector.core.errors import ConfigError, ConnectorError
from sla_connector.core.ports import CheckResult
from sla_connector.registry import load_connector_factory
from sla_connector.runtime.redaction import scrub
from sla_connector.runtime.service import build_clock, connector_settings
from sla_connector.settings import AppConfig, load_config
from sla_connector.settings.secret_env import missing_secrets

__all__ = ["register", "run"]


def register(commands: Any) -> None:
    parser: argparse.ArgumentParser = commands.add_parser(
        "check",
        help="validate the config and reach each PSA (auth, one read)",
        description="Validate the configuration, then authenticate and read one page per PSA.",
    )
    add_config_argument(parser)
    parser.add_argument("--connector", metavar="NAME", help="check only this connector")
    parser.add_argument(
        "--no-connect",
        action="store_true",
        help="validate the configuration and its secrets only; reach no PSA or channel",
    )
    parser.add_argument(
        "--send-test",
        action="store_true",
        help="also send one test message on each channel (email, Slack, Teams)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    config = load_config(Path(args.config))
    tiers = ", ".join(config.policy.tiers)
    print(
        f"configuration OK: tiers {tiers}; {len(config.clients)} client(s); "
        f"{len(config.connectors)} connector(s)"
    )
    if config.store.evidence_key_env is None:
        print(
            "warning: store.evidence_key_env is not set: the evidence log is unkeyed, so "
            "whoever can write the store could rewrite it undetected (docs/operations.md)"
        )
    names = list(config.connectors)
    if args.connector:
        if args.connector not in config.connectors:
            raise ConfigError(
                "--connector",
                f"no connector named {args.connector!r}; configured: {', '.join(names) or 'none'}",
            )
        names = [args.connector]
    missing = missing_secrets(config)
    problems = 0
    for secret, why in missing:
        if (
            args.connector
            and secret.section.startswith("connectors.")
            and (secret.section != f"connectors.{args.connector}")
        ):
            continue
        problems += 1
        print(f"FAIL secret {secret.path}: {why}")
    if args.no_connect:
        return _verdict(problems, "configuration and secrets")
    lacking = frozenset(secret.section for secret, _ in missing)
    results = asyncio.run(_check_all(config, names, lacking))
    for name, result in results.items():
        skipped = f"connectors.{name}" in lacking
        mark = "skip" if skipped else "ok  " if result.ok else "FAIL"
        # A base_url written with credentials shows masked (``runtime.redaction``).
        print(scrub(f"{mark} {name} ({config.connectors[name].type}): {result.summary}"))
        for line in detail_lines(result.details):
            print(scrub(f"     {line}"))
        problems += not result.ok and not skipped
    if not args.connector:
        channels = check_channels(config, send_test=args.send_test, lacking=lacking)
        for channel in asyncio.run(channels):
            mark = "skip" if channel.skipped else "ok  " if channel.ok else "FAIL"
            print(scrub(f"{mark} {channel.name}: {channel.summary}"))
            problems += not channel.ok and not channel.skipped
    return _verdict(problems, "configuration, secrets, connectors and channels")


def _verdict(problems: int, what: str) -> int:
    if problems:
        print(f"verdict: NOT READY: {problems} problem(s) above to fix before `run`")
        return ExitCode.FINDINGS
    print(f"verdict: ready ({what} checked)")
    return ExitCode.OK


def detail_lines(details: Mapping[str, Any]) -> Iterator[str]:
    """The credentials, warnings and failing objects a connector reported, one line each."""
    auth = details.get("auth")
    if isinstance(auth, Mapping):
        expires = auth.get("expires_at") or "not reported by the PSA"
        yield f"auth: {auth.get('label') or auth.get('method')}; expires: {expires}"
        missing = auth.get("missing_scopes") or []
        if auth.get("scopes") is not None or missing:
            lacking = ", ".join(missing) if missing else "none"
            yield f"scopes lacking: {lacking}"
    for warning in details.get("warnings") or ():
        yield f"warning: {warning}"
    health = details.get("health")
    if isinstance(health, Mapping):
        for failing in health.get("failing") or ():
            yield f"failing: {failing}"


async def _check_all(
    config: AppConfig, names: list[str], lacking: frozenset[str]
) -> dict[str, CheckResult]:
    clock = build_clock(config)
    results: dict[str, CheckResult] = {}
    for name in names:
        if f"connectors.{name}" in lacking:
            results[name] = CheckResult(ok=False, summary=NOT_TRIED)
            continue
        try:
            factory = load_connector_factory(config.connectors[name].type, name)
            connector = factory(name, connector_settings(config, name), clock)
        except (ConfigError, ConnectorError) as exc:
            results[name] = CheckResult(ok=False, summary=str(exc))
            continue
        try:
            results[name] = await connector.check()
        except ConnectorError as exc:
            results[name] = CheckResult(ok=False, summary=str(exc))
        finally:
            await connector.aclose()
    return results
