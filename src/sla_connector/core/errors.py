"""One rooted error hierarchy, named for how a caller recovers.

A ``ConfigError`` stops start-up with a message naming the key path; a ``TicketError``
rejects one ticket and the run goes on; connector errors say whether a retry can help.
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "ConnectorError",
    "FatalConnectorError",
    "RetriableConnectorError",
    "SlaConnectorError",
    "StoreError",
    "TicketError",
]


class SlaConnectorError(Exception):
    """Root of every error the product raises on purpose."""


class ConfigError(SlaConnectorError):
    """The policy or configuration is invalid; ``path`` names the offending key."""

    def __init__(self, path: str, problem: str) -> None:
        self.path = path
        self.problem = problem
        super().__init__(f"{path}: {problem}" if path else problem)


class TicketError(SlaConnectorError):
    """One ticket cannot be evaluated (bad times, unknown source, malformed data)."""


class ConnectorError(SlaConnectorError):
    """A PSA call failed."""


class RetriableConnectorError(ConnectorError):
    """Worth retrying later: network trouble, rate limits, 5xx."""


class FatalConnectorError(ConnectorError):
    """Retrying will not help until an operator acts: credentials, permissions, bad URL."""


class StoreError(SlaConnectorError):
    """The state store cannot be read or written."""
