"""Config models of the reports: their schedule, time zone, branding, archive and recipients
(``reports``; DESIGN section 7).

Kept apart from the delivery channels (``settings.notify``): these say what is sent to
whom and when, the channels say how it travels. A recipient's webhook URL is a secret, so
it is named by its environment variable.
"""

from __future__ import annotations

import re
from datetime import time
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from sla_connector.settings.fields import (
    EnvVarName,
    FieldProblem,
    Frozen,
    FrozenMap,
    Text,
    TextList,
    TimeOfDay,
    TimeZoneName,
)

__all__ = [
    "BrandingConfig",
    "MonthlySchedule",
    "QuarterlySchedule",
    "RecipientConfig",
    "ReportsConfig",
    "WeeklySchedule",
]

_COLOUR_RE = re.compile(r"#[0-9A-Fa-f]{6}")
_LOGO_TYPES = (".png", ".jpg", ".jpeg", ".svg")


class WeeklySchedule(Frozen):
    """When the weekly report (previous Monday-Sunday) is sent, in the reports' time zone."""

    day: Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"] = Field(
        default="mon",
        description="Day of the week.",
        examples=["mon"],
    )
    at: TimeOfDay = Field(
        default=time(8, 0),
        description="Local time.",
        examples=['"08:00"'],
    )


class MonthlySchedule(Frozen):
    """When the monthly report (previous calendar month) is sent; days 1-28 exist every month."""

    day: int = Field(
        default=1,
        ge=1,
        le=28,
        description="Day of the month.",
        examples=["1"],
    )
    at: TimeOfDay = Field(
        default=time(8, 0),
        description="Local time.",
        examples=['"07:30"'],
    )


class QuarterlySchedule(Frozen):
    """When the quarterly evidence pack (previous calendar quarter) is sent: the first
    ``day`` after the quarter ends, in the reports' time zone; client recipients only."""

    day: Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"] = Field(
        default="mon",
        description="Day of the week: the first one after the quarter ends.",
        examples=["mon"],
    )
    at: TimeOfDay = Field(
        default=time(8, 0),
        description="Local time.",
        examples=['"08:00"'],
    )


class BrandingConfig(Frozen):
    """How the client's evidence pack (PDF and HTML) looks: the MSP's name, logo and colours."""

    msp_name: Text = Field(
        default="Your managed service provider",
        description="The MSP's name on the cover and in the executive summary.",
        examples=['"Northwind IT"'],
    )
    logo: Text | None = Field(
        default=None,
        description=(
            "A PNG, JPEG or SVG file for the cover (a path, relative to the working "
            "directory); it must exist when the configuration is loaded."
        ),
        examples=["branding/logo.png"],
    )
    primary_colour: Text = Field(
        default="#1d4ed8",
        description="Headings and the cover band, as `#RRGGBB`.",
        examples=['"#0f766e"'],
    )
    accent_colour: Text = Field(
        default="#f59e0b",
        description="The trend line's target and highlights, as `#RRGGBB`.",
        examples=['"#f59e0b"'],
    )

    @model_validator(mode="after")
    def _files_and_colours(self) -> BrandingConfig:
        for key in ("primary_colour", "accent_colour"):
            if not _COLOUR_RE.fullmatch(getattr(self, key)):
                raise FieldProblem(key, f"{getattr(self, key)!r} is not a colour like #1d4ed8")
        if self.logo is not None:
            path = Path(self.logo)
            if path.suffix.lower() not in _LOGO_TYPES:
                raise FieldProblem("logo", f"{self.logo}: use a .png, .jpg or .svg file")
            if not path.is_file():
                raise FieldProblem(
                    "logo", f"{self.logo} does not exist (or is not a file); fix the path"
                )
        return self


class RecipientConfig(Frozen):
    """Who receives a report: email addresses, a Slack incoming webhook and a Microsoft Teams
    webhook (Workflows or incoming webhook), each webhook URL by variable name."""

    email: TextList = Field(
        default=(),
        description="Addresses (sent through `notify.smtp`).",
        examples=["[it@acme.example]"],
    )
    slack_webhook_env: EnvVarName | None = Field(
        default=None,
        description="Variable holding a Slack incoming webhook URL.",
        examples=["ACME_SLACK_WEBHOOK"],
    )
    teams_webhook_env: EnvVarName | None = Field(
        default=None,
        description="Variable holding a Microsoft Teams webhook URL.",
        examples=["ACME_TEAMS_WEBHOOK"],
    )

    @model_validator(mode="after")
    def _addresses(self) -> RecipientConfig:
        for index, address in enumerate(self.email):
            if "@" not in address:
                raise FieldProblem(("email", index), f"{address!r} is not an email address")
        return self


class ReportsConfig(Frozen):
    """Report schedule, time zone and recipients (keyed by client key, or ``internal``)."""

    timezone: TimeZoneName = Field(
        default="UTC",
        description="Time zone of the schedule, the periods and displayed times.",
        examples=["Europe/London"],
    )
    weekly: WeeklySchedule = Field(
        default_factory=WeeklySchedule,
        description="When the weekly report is sent.",
    )
    monthly: MonthlySchedule = Field(
        default_factory=MonthlySchedule,
        description="When the monthly report (with the client's evidence pack) is sent.",
    )
    quarterly: QuarterlySchedule = Field(
        default_factory=QuarterlySchedule,
        description="When the quarterly evidence pack is sent to each client's recipients.",
    )
    branding: BrandingConfig = Field(
        default_factory=BrandingConfig,
        description="The MSP's name, logo and colours on the evidence packs.",
    )
    archive_dir: Text | None = Field(
        default=None,
        description=(
            "Folder where every delivered pack is also written, as "
            "`<client>-monthly-<YYYY-MM>.pdf` and `<client>-quarterly-<YYYY>-Q<n>.pdf` "
            "(the client portal lists it); created when missing."
        ),
        examples=["/var/lib/sla-connector/packs"],
    )
    recipients: FrozenMap[str, RecipientConfig] = Field(
        default_factory=dict,
        description=(
            "By client key (that client's report) or `internal` (the MSP's report of every client)."
        ),
    )
