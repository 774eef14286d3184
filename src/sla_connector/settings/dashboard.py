"""Config model of the web dashboard, JSON API, /metrics and client portal (``dashboard``).

Besides the listen address and the credentials' variables it refuses the one unsafe
combination at load time: a dashboard reachable from other machines without a token,
unless the operator says so explicitly (``is_loopback`` decides what "this machine" is).
"""

from __future__ import annotations

import ipaddress

from pydantic import Field, model_validator

from sla_connector.settings.fields import EnvVarName, FieldProblem, Frozen, Port, Text, TextList

__all__ = ["DashboardConfig", "is_loopback"]


class DashboardConfig(Frozen):
    """The web dashboard, JSON API and /metrics."""

    bind: Text = Field(
        default="127.0.0.1",
        description="Listen address; bind `0.0.0.0` only with a token or behind a proxy.",
        examples=["0.0.0.0"],
    )
    port: Port = Field(
        default=8321,
        description="TCP port.",
        examples=["8321"],
    )
    token_env: EnvVarName | None = Field(
        default=None,
        description=(
            "Variable holding a bearer token; when set, every request (health included) needs it."
            " `VARIABLE_FILE` works too."
        ),
        examples=["DASHBOARD_TOKEN"],
    )
    portal_link_key_env: EnvVarName | None = Field(
        default=None,
        description=(
            "Variable holding the key that signs expiring client-portal links (HMAC-SHA256);"
            " without it the portal takes only the clients' tokens. `VARIABLE_FILE` works too."
        ),
        examples=["PORTAL_LINK_KEY"],
    )
    portal_link_days: int = Field(
        default=30,
        ge=1,
        le=366,
        description="How many days a signed client-portal link stays valid.",
        examples=["14"],
    )
    allowed_hosts: TextList = Field(
        default=(),
        description=(
            "Host names (or addresses) the dashboard answers to besides the loopback ones and"
            " a specific `bind` address; any other `Host` header gets 400, so DNS rebinding"
            ' cannot reach it. `"*"` turns the check off (a proxy checking it instead).'
        ),
        examples=['["sla.msp.example"]'],
    )
    allow_public_without_token: bool = Field(
        default=False,
        description=(
            "Serve a non-loopback `bind` without `token_env` (a warning is logged); without"
            " it such a configuration is refused."
        ),
        examples=["true"],
    )

    @model_validator(mode="after")
    def _public(self) -> DashboardConfig:
        if (
            not self.token_env
            and not is_loopback(self.bind)
            and not self.allow_public_without_token
        ):
            raise FieldProblem(
                "bind",
                f"{self.bind!r} is reachable from other machines but no token_env is set; "
                "set dashboard.token_env, bind 127.0.0.1, or set "
                "dashboard.allow_public_without_token: true",
            )
        return self


def is_loopback(host: str) -> bool:
    """Whether a bind address or host name is this machine only (127.0.0.0/8, ::1, localhost)."""
    name = host.strip().strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False
