"""``ConnectorConfig``: one PSA connection in the YAML (``connectors.<name>``).

The keys every connector shares (its type, base URL, poll cadence, status names, maps) are
typed here; vendor keys stay extras for the connector to validate against its own declared
settings. Secrets never appear in the YAML: a key ending in ``_env`` names the environment
variable that holds one (``settings.secret_env.resolve_secret`` reads it), and a vendor key
that looks like a secret is refused with that advice.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import timedelta
from types import MappingProxyType
from typing import Any

from pydantic import ConfigDict, Field, model_validator

from sla_connector.core.policy import StatusSets
from sla_connector.core.secrets import mask_userinfo
from sla_connector.settings.fields import FieldProblem, Frozen, FrozenMap, Interval, Text, TextList

__all__ = ["ConnectorConfig"]

_CONNECTOR_TYPE_RE = re.compile(r"[A-Za-z0-9_.-]+")
# Vendor keys that would hold a secret if written in the YAML; their ``<key>_env`` form
# names the variable instead.
_SECRET_KEY_RE = re.compile(
    r"(?:.*_)?(?:password|passwd|token|secret|api_key|apikey|private_key|public_key|client_secret)"
)


class ConnectorConfig(Frozen):
    """One PSA connection: common keys typed here, vendor keys kept as extras."""

    model_config = ConfigDict(extra="allow")

    type: Text = Field(
        description="Connector name in the entry-point group `sla_connector.connectors`.",
        examples=["zendesk"],
    )
    base_url: str | None = Field(
        default=None,
        description=(
            "API root; `https://` (plain `http://` only for loopback). Required by connectwise "
            "and simulator_http."
        ),
        examples=["https://mspco.atlassian.net"],
    )
    poll_interval: Interval = Field(
        default=timedelta(seconds=60),
        description="How often the leading replica asks this PSA what changed.",
        examples=["30s"],
    )
    responded_statuses: TextList = Field(
        default=(),
        description="Statuses that stop the response clock (case-insensitive).",
        examples=['["In Progress"]'],
    )
    paused_statuses: TextList = Field(
        default=(),
        description="Statuses that pause the resolution clock.",
        examples=["[pending, hold]"],
    )
    resolved_statuses: TextList = Field(
        default=(),
        description="Statuses that stop the resolution clock; not also paused.",
        examples=["[solved, closed]"],
    )
    priority_map: FrozenMap[str, Text] = Field(
        default_factory=dict,
        description=(
            "Tier → PSA priority: what `set_priority` writes, and how a person's priority change "
            "is read as a tier."
        ),
        examples=["{P1: urgent, P2: high}"],
    )
    client_map: FrozenMap[str, Text] = Field(
        default_factory=dict,
        description=(
            "PSA company / organization → client key; an unmapped name becomes the lowercased "
            "name (logged once)."
        ),
        examples=['{"Acme Corp": acme}'],
    )
    users: FrozenMap[str, Text] = Field(
        default_factory=dict,
        description="Person → PSA user for `reassign` (see the connector page for the form).",
        examples=["{dana@msp.example: dlee}"],
    )
    requests_per_minute: int | None = Field(
        default=None,
        gt=0,
        le=100_000,
        description="Request budget in any 60 s window (default: the connector's own).",
        examples=["120"],
    )
    reconcile_interval: Interval | None = Field(
        default=None,
        description=(
            "How often a poll is a full read (open tickets and recent ones) instead of "
            "incremental (default: the connector's own, 24h for ConnectWise; else 1h)."
        ),
        examples=["6h"],
    )

    @model_validator(mode="after")
    def _check(self) -> ConnectorConfig:
        if not _CONNECTOR_TYPE_RE.fullmatch(self.type):
            raise FieldProblem("type", f"{self.type!r} is not a connector name (e.g. zendesk)")
        if self.base_url is not None and not self.base_url.startswith(("https://", "http://")):
            raise FieldProblem(
                "base_url", f"{mask_userinfo(self.base_url)!r} is not an http(s) URL"
            )
        paused = {name.casefold() for name in self.paused_statuses}
        for index, name in enumerate(self.resolved_statuses):
            if name.casefold() in paused:
                raise FieldProblem(
                    ("resolved_statuses", index),
                    f"{name!r} is also in paused_statuses; a status either pauses or resolves",
                )
        for key, value in (self.model_extra or {}).items():
            if key.endswith("_env"):
                if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", value):
                    raise FieldProblem(key, f"{value!r} is not an environment variable name")
            elif _SECRET_KEY_RE.fullmatch(key):
                raise FieldProblem(
                    key,
                    f"secrets are never written in the YAML; write {key}_env: VARIABLE "
                    "and put the secret in that environment variable",
                )
        return self

    @property
    def options(self) -> Mapping[str, Any]:
        """The vendor-specific keys (``subdomain``, ``boards``, ``token_env``...), read-only."""
        return MappingProxyType(dict(self.model_extra or {}))

    def status_sets(self) -> StatusSets:
        """The clock rules' status names for tickets from this connector."""
        return StatusSets.of(
            responded=self.responded_statuses,
            paused=self.paused_statuses,
            resolved=self.resolved_statuses,
        )
