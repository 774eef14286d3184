"""Zendesk credentials and ``check``: which method is in use, until when, what it lacks.

Credentials (psa-apis.md sections 3.1 and "Corrections and changes as of 2026-12"):

- OAuth client credentials: ``POST {base_url}/oauth/tokens`` with ``grant_type``,
  ``client_id``, ``client_secret`` and ``scope`` as JSON ("The POST request takes the
  following parameters, which must be formatted as JSON", developer.zendesk.com
  api-reference/ticketing/oauth/grant_type_tokens/); the token is a ``Bearer`` and expires
  (30 minutes by default for new clients). Scopes ``read`` and ``write`` are what the
  connector needs (export and reads; ticket updates).
- Legacy API token: Basic ``{email}/token:{api_token}``; since 2026-10-27 no account can
  create one and on 2027-04-30 every remaining token stops working, so ``check`` warns.

``check`` authenticates (``/users/me``), reads one export page, resolves the configured status
names against the custom statuses, and reports the credentials: method, expiry, scopes
granted and missing, and the API token's retirement.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sla_connector.core.ports import CheckResult
from sla_connector_psa.checks import CheckAdvice, verdict
from sla_connector_psa.credentials import Credentials, StaticCredentials, basic_header
from sla_connector_psa.http import PsaHttp
from sla_connector_psa.oauth import ClientCredentialsToken
from sla_connector_psa.values import optional_int
from sla_connector_psa.zendesk.settings import API_TOKENS_END, ZendeskSettings

if TYPE_CHECKING:
    from sla_connector_psa.zendesk.connector import ZendeskConnector

__all__ = ["REQUIRED_SCOPES", "TOKEN_PATH", "check", "credentials_for"]

TOKEN_PATH = "/oauth/tokens"
REQUIRED_SCOPES = ("read", "write")
TOKEN_REQUESTS_PER_MINUTE = 30
API_TOKEN_WARNING = (
    "Zendesk API tokens stop working on 2027-04-30 (no account can create new ones since "
    "2026-10-27): create an OAuth client and set oauth_client_id_env and "
    "oauth_client_secret_env (docs/connectors/zendesk.md)"
)


def credentials_for(settings: ZendeskSettings, http: PsaHttp) -> Credentials:
    """The connector's credentials: an OAuth token source, or the legacy API token."""
    if settings.auth == "oauth":
        token_http = http.sibling(
            requests_per_minute=TOKEN_REQUESTS_PER_MINUTE, authenticated=False
        )
        return ClientCredentialsToken(
            http=token_http,
            token_url=TOKEN_PATH,
            client_id=settings.oauth_client_id,
            client_secret=settings.oauth_client_secret,
            scope=settings.oauth_scope,
            required_scopes=REQUIRED_SCOPES,
            label="Zendesk OAuth client credentials",
        )
    basic = basic_header(f"{settings.email}/token", settings.token)
    return StaticCredentials(
        {"Authorization": basic},
        method="api_token",
        label=f"Zendesk API token (legacy) of {settings.email}",
        expires_at=API_TOKENS_END,
        warnings=(API_TOKEN_WARNING,),
    )


def _advice(connector: ZendeskConnector) -> CheckAdvice:
    s = connector.settings
    if s.auth == "oauth":
        ids = f"{s.oauth_env[0]} and {s.oauth_env[1]}"
        rejected = f"check {ids} (the OAuth client must be confidential and active)"
        admin = "the OAuth client's creator must be a Zendesk admin"
    else:
        rejected = (
            f"check {s.email_env} and {s.token_env} (the API token must be active and token "
            "access enabled)"
        )
        admin = f"use an admin's email in {s.email_env}"
    return CheckAdvice(
        credentials=lambda exc: f"credentials rejected (401) by {s.base_url}: {rejected}",
        permission=lambda exc: (
            f"permission missing (403) on {exc.url}: the incremental export needs a Zendesk "
            f"admin and the scopes {' '.join(REQUIRED_SCOPES)}; {admin}"
        ),
        wrong_url=lambda exc: (
            f"wrong URL (404) for {exc.url}: check subdomain/base_url of connector {connector.name}"
        ),
        failed="Zendesk check failed",
    )


async def check(connector: ZendeskConnector) -> CheckResult:
    """Authenticate, read one export page, resolve status names; each failure says what
    to fix, and the credentials are described either way."""
    result = await verdict(lambda: _probe(connector), _advice(connector))
    return _with_auth(connector, result)


def _with_auth(connector: ZendeskConnector, result: CheckResult) -> CheckResult:
    credentials = connector.http.credentials
    if credentials is None:
        return result
    auth = credentials.describe()
    details: dict[str, Any] = {**result.details, "auth": auth.details()}
    warnings = list(details.get("warnings") or ()) + list(auth.warnings)
    if auth.missing_scopes:
        warnings.append(
            f"the access token lacks the scope(s) {' '.join(auth.missing_scopes)}; add them "
            f"to connectors.{connector.name}.oauth_scope and to the OAuth client"
        )
    details["warnings"] = warnings
    health = connector.health()
    details["health"] = {
        "failing": [f"{f.kind} {f.object_id}: {f.error}" for f in health.failures],
        "counters": dict(health.counters),
    }
    summary = f"{result.summary}; auth: {auth.label}"
    ok = result.ok and not auth.missing_scopes
    return CheckResult(ok, summary, details)


async def _probe(connector: ZendeskConnector) -> CheckResult:
    s = connector.settings
    data = await connector.get_json("/api/v2/users/me")
    user = data.get("user") if isinstance(data, Mapping) else None
    if not isinstance(user, Mapping) or optional_int(user.get("id")) is None:
        return CheckResult(
            False,
            (
                f"credentials rejected: Zendesk at {s.base_url} answered as an anonymous "
                "user; check the credentials' variables (and that API token access is "
                "enabled for an API token)"
            ),
        )
    connector.learn_self_id(optional_int(user.get("id")))
    since = int((connector.clock.now() - timedelta(days=1)).timestamp())
    page = await connector.get_json(
        "/api/v2/incremental/tickets/cursor", {"start_time": since}, export=True
    )
    tickets = page.get("tickets") if isinstance(page, Mapping) else None
    count = len(tickets) if isinstance(tickets, list) else 0
    role = str(user.get("role") or "unknown")
    account = str(user.get("email") or user.get("name") or user.get("id"))
    warnings: list[str] = []
    unmatched = await connector.unmatched_statuses()
    if unmatched:
        warnings.append(
            f"status name(s) {', '.join(unmatched)} in connectors.{connector.name} are neither "
            "a status category nor a custom ticket status of this account"
        )
    summary = (
        f"authenticated as {account} ({role}); incremental export readable: "
        f"{count} ticket(s) changed in the last 24 h on the first page"
    )
    if role not in ("admin", "unknown"):
        summary += "; note: the incremental export normally requires an admin"
    return CheckResult(
        True,
        summary,
        {
            "account": account,
            "role": role,
            "tickets_first_page": count,
            "base_url": s.base_url,
            "warnings": warnings,
        },
    )
