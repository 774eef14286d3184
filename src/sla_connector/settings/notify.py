"""Config models of the delivery channels (``notify``): the mail server and the default
Slack webhook, shared by escalation notices and reports.

Credentials and webhook URLs are named by environment variable (``*_env``), never written
in the YAML.
"""

from __future__ import annotations

from pydantic import Field, model_validator

from sla_connector.settings.fields import EnvVarName, FieldProblem, Frozen, Port, Text

__all__ = ["NotifyConfig", "SlackConfig", "SmtpConfig"]


class SmtpConfig(Frozen):
    """The mail server that delivers reports and email notifications."""

    host: Text = Field(
        description="SMTP host.",
        examples=["smtp.msp.example"],
    )
    port: Port = Field(
        default=587,
        description="SMTP port.",
        examples=["465"],
    )
    starttls: bool = Field(
        default=True,
        description="STARTTLS on a plain connection (port 587).",
        examples=["true"],
    )
    ssl: bool = Field(
        default=False,
        description="Implicit TLS (port 465); not with `starttls`.",
        examples=["false"],
    )
    username_env: EnvVarName | None = Field(
        default=None,
        description="Variable holding the SMTP user name.",
        examples=["SMTP_USER"],
    )
    password_env: EnvVarName | None = Field(
        default=None,
        description="Variable holding the SMTP password.",
        examples=["SMTP_PASSWORD"],
    )
    sender: Text = Field(
        description="From address.",
        examples=['"SLA Reports <sla@msp.example>"'],
    )

    @model_validator(mode="after")
    def _tls(self) -> SmtpConfig:
        if self.ssl and self.starttls:
            raise FieldProblem(
                "ssl", "use either ssl (implicit TLS, port 465) or starttls, not both"
            )
        return self


class SlackConfig(Frozen):
    """The default Slack incoming webhook for notifications."""

    webhook_env: EnvVarName = Field(
        description=("Variable holding the webhook URL (`VARIABLE_FILE` works too)."),
        examples=["MSP_SLACK_WEBHOOK"],
    )


class NotifyConfig(Frozen):
    """Delivery channels for escalation notices and reports."""

    smtp: SmtpConfig | None = Field(
        default=None,
        description="Mail server for report email.",
    )
    slack: SlackConfig | None = Field(
        default=None,
        description=(
            "Slack webhook for the `notify` action; without it notices go to the log only."
        ),
    )
