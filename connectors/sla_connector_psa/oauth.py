"""OAuth 2.0 client credentials (RFC 6749 section 4.4) for every connector: one token source.

``ClientCredentialsToken`` is the ``Credentials`` of a connector that authenticates as an
OAuth client (a Zendesk confidential OAuth client, an Atlassian service account's OAuth 2.0
credential). It fetches an access token on first use, renews it before it expires (a tenth
of its lifetime early, at most 60 s) and once after a 401, and serialises renewals so many
concurrent requests cause one token request.

The protocol is authlib's (``authlib.oauth2.client.OAuth2Client``: the token request body,
client authentication ``client_secret_post``, token parsing into ``OAuth2Token`` with its
``expires_at``, RFC 6749 error answers). authlib's own httpx integration is not used: from
1.9 it targets httpx2 and deprecates httpx, while every connector here shares one
``httpx.AsyncClient``. So ``_AuthlibClient`` supplies only the transport, the connector's own
``PsaHttp`` on the token host: retries, timeouts, the request budget and the loopback-only
plain-http rule apply to token requests as to any other. The vendors want the request as
JSON (Zendesk "Create Token for Grant Type"; Atlassian's ``/oauth/token`` examples); a form
body (RFC 6749's own encoding) is one setting away.

Expiry is judged on the wall clock (``time.time`` inside authlib): access tokens expire in
real seconds even when the daemon runs in accelerated virtual time. Neither the client
secret nor a token is ever logged or put in an error message.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Literal

from authlib.common.urls import url_decode
from authlib.oauth2.base import OAuth2Error
from authlib.oauth2.client import OAuth2Client
from authlib.oauth2.rfc6749 import OAuth2Token

from sla_connector.core.errors import RetriableConnectorError
from sla_connector_psa.credentials import AuthDescription
from sla_connector_psa.http import PsaHttp
from sla_connector_psa.http_errors import CredentialsRejectedError, RequestRejectedError

__all__ = ["ClientCredentialsToken"]

log = logging.getLogger("sla_connector_psa.oauth")

MAX_LEEWAY = 60.0
LEEWAY_SHARE = 0.1
BodyFormat = Literal["json", "form"]


class _AuthlibClient(OAuth2Client):  # type: ignore[misc]
    """authlib's OAuth 2.0 client protocol with the connector's HTTP layer as transport."""

    def __init__(self, http: PsaHttp, body: BodyFormat, **kwargs: Any) -> None:
        super().__init__(None, **kwargs)
        self._http = http
        self._body = body

    def _fetch_token(  # authlib calls this with the prepared form body
        self,
        url: str,
        body: str = "",
        headers: Mapping[str, str] | None = None,
        auth: Any = None,
        method: str = "POST",
        **kwargs: Any,
    ) -> Any:
        return self._post(url, body, dict(headers or {}), auth)

    async def _post(self, url: str, body: str, headers: dict[str, str], auth: Any) -> Any:
        url, headers, body = auth.prepare("POST", url, headers, body)
        fields = dict(url_decode(body))
        headers = {"Accept": "application/json"}  # the content type follows the body
        if self._body == "json":
            response = await self._http.send(
                "POST", url, json=fields, headers=headers, idempotent=True
            )
        else:
            response = await self._http.send(
                "POST", url, data=fields, headers=headers, idempotent=True
            )
        return self.parse_response_token(response)


class ClientCredentialsToken:
    """The access token of one OAuth client, fetched and renewed through authlib."""

    def __init__(
        self,
        *,
        http: PsaHttp,
        token_url: str,
        client_id: str,
        client_secret: str,
        scope: str | None,
        required_scopes: tuple[str, ...] = (),
        label: str = "OAuth 2.0 client credentials",
        body: BodyFormat = "json",
    ) -> None:
        self.http = http
        self.token_url = http.url(token_url)
        self.client_id = client_id
        self.scope = scope
        self.required_scopes = required_scopes
        self.label = label
        self._client = _AuthlibClient(
            http,
            body,
            client_id=client_id,
            client_secret=client_secret,
            scope=scope,
            token_endpoint_auth_method="client_secret_post",
            token_endpoint=self.token_url,
            grant_type="client_credentials",
        )
        self._token: OAuth2Token | None = None
        self._lock = asyncio.Lock()
        self.fetched = 0

    # -- Credentials ----------------------------------------------------------------------

    async def headers(self) -> Mapping[str, str]:
        token = await self._current()
        return {"Authorization": f"Bearer {token['access_token']}"}

    async def renew(self, rejected: Mapping[str, str]) -> bool:
        """After a 401: fetch a new token unless another request already did."""
        async with self._lock:
            if self._token is not None and rejected.get("Authorization") != self._bearer():
                return True  # renewed meanwhile by a concurrent request
            await self._fetch()
            return True

    def describe(self) -> AuthDescription:
        token = self._token
        expires = token.get("expires_at") if token is not None else None
        granted = None if token is None else tuple(str(token.get("scope") or "").split())
        missing: tuple[str, ...] = ()
        if granted is not None and self.required_scopes:
            missing = tuple(s for s in self.required_scopes if s not in granted)
        return AuthDescription(
            method="oauth_client_credentials",
            label=f"{self.label} (client {self.client_id})",
            expires_at=(datetime.fromtimestamp(expires, UTC) if isinstance(expires, int) else None),
            scopes=granted,
            missing_scopes=missing,
        )

    # -- internals ------------------------------------------------------------------------

    def _bearer(self) -> str:
        return "" if self._token is None else f"Bearer {self._token['access_token']}"

    async def _current(self) -> OAuth2Token:
        async with self._lock:
            token = self._token
            if token is None or token.is_expired(leeway=self._leeway(token)):
                await self._fetch()
            assert self._token is not None
            return self._token

    @staticmethod
    def _leeway(token: OAuth2Token) -> float:
        lifetime = token.get("expires_in")
        if isinstance(lifetime, int | float) and lifetime > 0:
            return min(MAX_LEEWAY, float(lifetime) * LEEWAY_SHARE)
        return MAX_LEEWAY

    async def _fetch(self) -> None:
        where = f"connector {self.http.name}: token endpoint {self.token_url}"
        try:
            token = await self._client.fetch_token(self.token_url, grant_type="client_credentials")
        except (CredentialsRejectedError, RequestRejectedError) as exc:
            body = getattr(exc, "body", "")
            raise CredentialsRejectedError(
                f"{where} refused OAuth client {self.client_id!r} ({exc.status}"
                f"{': ' + body[:160] if body else ''}); check the client id and secret "
                "variables and that the client is confidential and active",
                url=self.token_url,
                status=exc.status,
            ) from None
        except OAuth2Error as exc:
            raise CredentialsRejectedError(
                f"{where} refused OAuth client {self.client_id!r}: {exc.error} "
                f"({exc.description or 'no description'})",
                url=self.token_url,
            ) from None
        except ValueError as exc:  # authlib: the answer was not a token object
            raise RetriableConnectorError(f"{where}: unreadable token answer ({exc})") from None
        if not isinstance(token, Mapping) or not token.get("access_token"):
            raise RetriableConnectorError(f"{where}: the answer carried no access_token")
        self._token = OAuth2Token.from_dict(dict(token))
        self.fetched += 1
        log.info(
            "connector %s: OAuth access token fetched (expires in %ss)",
            self.http.name,
            self._token.get("expires_in", "?"),
        )
