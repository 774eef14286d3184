"""Config model of how live adherence is judged (``adherence``): the share of its target
after which a running clock is at risk, the one threshold ``core.vocabulary`` applies on
the dashboard, in /metrics and in the reports.
"""

from __future__ import annotations

from pydantic import Field

from sla_connector.settings.fields import Frozen, Percent

__all__ = ["AdherenceConfig"]


class AdherenceConfig(Frozen):
    """How live adherence is judged (``core.vocabulary``): when a running clock is at risk."""

    at_risk: Percent = Field(
        default=0.75,
        description=(
            "A running clock that has used this share of its target (not yet breached) is "
            "at risk: listed, counted and exported as such."
        ),
        examples=["80%"],
    )
