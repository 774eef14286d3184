"""Jira SM credentials and ``check``: the method in use, until when, the scopes it lacks.

Credentials (psa-apis.md "Corrections and changes as of 2026-12"; support.atlassian.com
user-management "Create OAuth 2.0 credential for service accounts"):

- a service account's OAuth 2.0 credential: ``POST {oauth_token_url}`` (JSON
  ``grant_type: client_credentials``, ``client_id``, ``client_secret``) gives a Bearer access
  token valid 60 minutes, sent to ``https://api.atlassian.com/ex/jira/{cloudId}``; the shared
  token source renews it before it expires and after a 401;
- a service account's scoped API token (Basic ``email:token``, 1-365 days) through the same
  gateway; its expiry is not readable through the API;
- a person's API token (Basic) on the site URL.

The classic scopes the connector needs are those the spec's ``x-atlassian-oauth2-scopes``
name for the operations it calls (``jira-combined.json``): ``read:jira-work`` (search,
issues, changelogs, fields), ``write:jira-work`` (edit, assign), ``read:jira-user``
(``/myself``, user search), ``read:servicedesk-request`` and ``write:servicedesk-request``
(request comments). ``check`` lists the missing ones: from the token's granted ``scope`` for
OAuth, and from 403 answers of its read probes for an API token.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from sla_connector.core.ports import CheckResult
from sla_connector_psa.checks import CheckAdvice, verdict
from sla_connector_psa.credentials import Credentials, StaticCredentials, basic_header
from sla_connector_psa.http import PermissionDeniedError, PsaHttp
from sla_connector_psa.jira_sm.cursor import jql_quote
from sla_connector_psa.jira_sm.settings import JiraSettings
from sla_connector_psa.oauth import ClientCredentialsToken

if TYPE_CHECKING:
    from sla_connector_psa.jira_sm.connector import JiraServiceManagement

__all__ = ["REQUIRED_SCOPES", "check", "credentials_for"]

REQUIRED_SCOPES = (
    "read:jira-work",
    "write:jira-work",
    "read:jira-user",
    "read:servicedesk-request",
    "write:servicedesk-request",
)
TOKEN_REQUESTS_PER_MINUTE = 30
_PROBE_SCOPES = {
    "/rest/api/3/myself": "read:jira-user",
    "/rest/servicedeskapi/servicedesk": "read:servicedesk-request",
    "/rest/api/3/search/approximate-count": "read:jira-work",
    "/rest/api/3/field": "read:jira-work",
}


def credentials_for(settings: JiraSettings, http: PsaHttp) -> Credentials:
    """An OAuth token source, or the Basic API token of a service account or a person."""
    if settings.auth == "oauth":
        parts = urlsplit(settings.oauth_token_url)
        token_http = http.sibling(
            requests_per_minute=TOKEN_REQUESTS_PER_MINUTE,
            base_url=f"{parts.scheme}://{parts.netloc}",
            authenticated=False,
        )
        return ClientCredentialsToken(
            http=token_http,
            token_url=settings.oauth_token_url,
            client_id=settings.oauth_client_id,
            client_secret=settings.oauth_client_secret,
            scope=None,  # the credential's scopes were chosen in admin.atlassian.com
            required_scopes=REQUIRED_SCOPES,
            label="Atlassian service account OAuth 2.0 client credentials",
        )
    header = basic_header(settings.email, settings.token)
    if settings.auth == "service_token":
        return StaticCredentials(
            {"Authorization": header},
            method="service_account_api_token",
            label=f"Atlassian service account API token of {settings.email} (scoped)",
            warnings=(
                "a service account's API token expires (1-365 days, set when it was created "
                "in admin.atlassian.com); the API does not tell when",
            ),
        )
    return StaticCredentials(
        {"Authorization": header},
        method="api_token",
        label=f"personal API token of {settings.email} on the site URL",
    )


def _advice(connector: JiraServiceManagement) -> CheckAdvice:
    name = connector.name
    projects = ", ".join(connector.settings.projects)
    where = (
        f"connectors.{name}.oauth_client_id_env/oauth_client_secret_env"
        if connector.settings.auth == "oauth"
        else f"connectors.{name}.email_env/token_env"
    )
    return CheckAdvice(
        credentials=lambda exc: f"credentials rejected: check the values of {where} ({exc})",
        permission=lambda exc: (
            "permission missing: the account must be a Jira Service Management agent on "
            f"{projects} with the scopes {', '.join(REQUIRED_SCOPES)} ({exc})"
        ),
        wrong_url=lambda exc: (
            f"wrong URL: {connector.http.base_url} does not serve the Jira Cloud REST API; "
            f"check connectors.{name}.cloud_id, base_url or site ({exc})"
        ),
    )


async def check(connector: JiraServiceManagement) -> CheckResult:
    """The verdict, with the credentials (method, expiry, scopes) and the health."""
    missing: list[str] = []
    result = await verdict(lambda: _probe(connector, missing), _advice(connector))
    details: dict[str, Any] = dict(result.details)
    warnings = list(details.get("warnings") or ())
    credentials = connector.http.credentials
    if credentials is not None:
        auth = credentials.describe()
        missing = sorted(set(missing) | set(auth.missing_scopes))
        details["auth"] = {**auth.details(), "missing_scopes": missing}
        warnings += list(auth.warnings)
    if missing:
        warnings.append(f"the credential lacks the scope(s): {', '.join(missing)}")
    health = connector.health()
    details["warnings"] = warnings
    details["health"] = {
        "failing": [f"{f.kind} {f.object_id}: {f.error}" for f in health.failures],
        "counters": dict(health.counters),
    }
    summary = result.summary
    if credentials is not None:
        summary += f"; auth: {credentials.describe().label}"
    return CheckResult(result.ok and not missing, summary, details)


async def _get(
    connector: JiraServiceManagement, path: str, missing: list[str], **params: Any
) -> Any:
    """A probe read; a 403 on it names the scope that operation needs."""
    try:
        return await connector.get(path, params or None)
    except PermissionDeniedError:
        if path in _PROBE_SCOPES and connector.settings.auth != "site_token":
            missing.append(_PROBE_SCOPES[path])
            return None
        raise


async def _probe(connector: JiraServiceManagement, missing: list[str]) -> CheckResult:
    me = await connector.identity()
    desks = await _get(connector, "/rest/servicedeskapi/servicedesk", missing, limit=100)
    keys = (
        {str(d.get("projectKey")) for d in desks.get("values", []) if isinstance(d, Mapping)}
        if isinstance(desks, Mapping)
        else set()
    )
    projects = connector.settings.projects
    absent = [p for p in projects if p not in keys] if desks is not None else []
    scope = ", ".join(jql_quote(p) for p in projects if p not in absent) or jql_quote(projects[0])
    try:
        counted = PsaHttp.decode(
            await connector.send(
                "POST",
                "/rest/api/3/search/approximate-count",
                {"jql": f"project in ({scope}) AND statusCategory != Done"},
            )
        )
    except PermissionDeniedError:
        if connector.settings.auth == "site_token":
            raise
        missing.append("read:jira-work")
        counted = None
    client_field = await connector.client_field_id()
    details: dict[str, Any] = {
        "account": me.get("displayName") or me.get("accountId"),
        "account_id": me.get("accountId"),
        "service_desks": sorted(keys),
        "client_field": client_field,
        "base_url": connector.http.base_url,
    }
    if isinstance(counted, Mapping) and isinstance(counted.get("count"), int):
        details["open_issues"] = counted["count"]
    if absent:
        return CheckResult(
            False,
            (
                f"projects {', '.join(absent)} are not service desks this account can see "
                f"(visible: {', '.join(sorted(keys)) or 'none'}); fix "
                f"connectors.{connector.name}.projects or the account's agent access"
            ),
            details,
        )
    summary = f"authenticated as {details['account']}; {len(projects)} project(s)"
    if "open_issues" in details:
        summary += f", about {details['open_issues']} open issues"
    return CheckResult(True, summary, details)
