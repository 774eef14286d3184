"""Config models of how the daemon runs: where its state lives (``store``), its planning
and retry behaviour (``runtime``) and, for demos and soak tests, accelerated time.

The store URL may carry a password, so it can come whole from an environment variable
(``url_env``) and is masked in every message about it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import Field, model_validator

from sla_connector.core.secrets import mask_userinfo
from sla_connector.settings.fields import EnvVarName, FieldProblem, Frozen, Interval, Text

__all__ = ["RuntimeConfig", "StoreConfig", "VirtualClockConfig"]

_STORE_SCHEMES = ("sqlite", "postgresql")


class StoreConfig(Frozen):
    """Where state lives: SQLite by default, PostgreSQL for high availability."""

    url: Text = Field(
        default="sqlite:///sla-connector.db",
        description=(
            "`sqlite:///FILE` (one process) or `postgresql+psycopg://USER@HOST/DB` (several "
            "replicas; install the `postgres` extra)."
        ),
        examples=["sqlite:////var/lib/sla-connector/state.db"],
    )
    url_env: EnvVarName | None = Field(
        default=None,
        description=(
            "Variable holding the whole URL (with its password); used when set, else `url`. "
            "`VARIABLE_FILE` works too."
        ),
        examples=["SLA_STORE_URL"],
    )
    evidence_key_env: EnvVarName | None = Field(
        default=None,
        description=(
            "Variable holding the secret key of the evidence log (HMAC-SHA256 chain; "
            "`VARIABLE_FILE` works too). Without it the chain is unkeyed: it still catches an "
            "edited or deleted entry but not a rewrite of the whole log, and `check` warns. "
            "Every process reading or writing the store needs the same key."
        ),
        examples=["SLA_EVIDENCE_KEY"],
    )

    @model_validator(mode="after")
    def _scheme(self) -> StoreConfig:
        scheme = self.url.split(":", 1)[0].split("+", 1)[0].lower()
        if "://" not in self.url or scheme not in _STORE_SCHEMES:
            raise FieldProblem(
                "url",
                f"{mask_userinfo(self.url)!r} is not a supported store; use sqlite:///FILE or "
                "postgresql+psycopg://HOST/DB (the user and password in the URL the variable "
                "url_env names)",
            )
        return self


class VirtualClockConfig(Frozen):
    """Accelerated virtual time for demos and soak tests: start + (wall - anchor) x speed."""

    start: datetime = Field(
        description="Virtual time at `anchor`.",
        examples=['"2026-11-02T00:00:00Z"'],
    )
    anchor: datetime = Field(
        description="Wall-clock instant virtual time starts from.",
        examples=['"2026-11-01T12:00:00Z"'],
    )
    speed: float = Field(
        gt=0,
        le=1_000_000,
        allow_inf_nan=False,
        description="Virtual seconds per real second.",
        examples=["1440"],
    )

    @model_validator(mode="after")
    def _aware(self) -> VirtualClockConfig:
        for name in ("start", "anchor"):
            value = getattr(self, name)
            if value.tzinfo is None:
                raise FieldProblem(name, f"{value.isoformat()} needs a UTC offset")
        return self


class RuntimeConfig(Frozen):
    """Daemon behaviour."""

    dry_run: bool = Field(
        default=False,
        description=(
            "Shadow mode: compute, plan and record everything (as `would_fire`), write nothing to"
            " the PSA."
        ),
        examples=["true"],
    )
    horizon: Interval = Field(
        default=timedelta(days=90),
        description="How far ahead escalation steps are planned.",
        examples=["30d"],
    )
    backfill: Interval = Field(
        default=timedelta(hours=1),
        description=(
            "On the first start, steps due more than this before it are history and never fire."
        ),
        examples=["2h"],
    )
    max_attempts: int = Field(
        default=20,
        ge=1,
        le=1000,
        description=(
            "Attempts at a step whose write keeps failing before it is recorded as failed."
        ),
        examples=["10"],
    )
    retry_backoff: Interval = Field(
        default=timedelta(seconds=30),
        description=(
            "Wait after a write the PSA could not take; doubles with each failure in a row, up to"
            " ten times this."
        ),
        examples=["1m"],
    )
    late_after: Interval = Field(
        default=timedelta(seconds=60),
        description=(
            "An escalation written more than this after its due instant is late: so shown on "
            "the dashboard, in /metrics, in the PSA note, the Slack notice and the reports."
        ),
        examples=["5m"],
    )
    owner: Text | None = Field(
        default=None,
        description="This replica's name in leadership, claims and logs (default `host:pid`).",
        examples=["sla-1"],
    )
    clock: VirtualClockConfig | None = Field(
        default=None,
        description=(
            "Accelerated virtual time for demos and soak tests: `start + (now - anchor) * speed`."
            " Omit in production."
        ),
    )
