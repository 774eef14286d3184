"""One rooted error hierarchy, named for how a caller recovers.

A ``ConfigError`` stops start-up with a message naming the key path; a ``TicketError``
rejects one ticket and the run goes on; connector errors say whether a retry can help.
Two connector errors carry a signal the runtime acts on rather than a failure to report:
``TicketGoneError`` (the ticket left the PSA or the connector's scope: withdraw it) and
``WriteConflictError`` (a person changed the ticket since it was read: re-read, re-verify,
write again once).
"""

from __future__ import annotations

__all__ = [
    "WITHDRAWN_REASONS",
    "ConfigError",
    "ConnectorError",
    "FatalConnectorError",
    "RetriableConnectorError",
    "SlaConnectorError",
    "StoreError",
    "TicketError",
    "TicketGoneError",
    "UnavailableError",
    "WriteConflictError",
]

WITHDRAWN_REASONS = ("deleted", "merged", "spam", "out_of_scope")
"""Why a ticket left the open set: deleted, merged into another, marked as spam, or moved
where this connector does not look (another board, project or account)."""


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


class TicketGoneError(FatalConnectorError):
    """The ticket is gone for good (``reason``, one of ``WITHDRAWN_REASONS``): it must leave
    the open set and its pending steps be cancelled, not retried; ``detail`` says more (the
    ticket it was merged into, the board it moved to)."""

    def __init__(self, ticket_id: str, reason: str, detail: str = "") -> None:
        if reason not in WITHDRAWN_REASONS:
            raise ValueError(f"reason must be one of {WITHDRAWN_REASONS}, got {reason!r}")
        self.ticket_id = ticket_id
        self.reason = reason
        self.detail = detail
        text = f"ticket {ticket_id} withdrawn: {reason}"
        super().__init__(f"{text} ({detail})" if detail else text)


class WriteConflictError(RetriableConnectorError):
    """409: the ticket changed since it was read (a person's edit, Zendesk's safe update).

    Nothing was written. Re-read the ticket, re-verify the step and write again once.
    """

    def __init__(self, message: str, *, ticket_id: str = "", url: str = "") -> None:
        super().__init__(message)
        self.ticket_id = ticket_id
        self.url = url
        self.status = 409


class StoreError(SlaConnectorError):
    """The state store cannot be read or written."""


class UnavailableError(SlaConnectorError):
    """Something a command needs is not available now (a busy port, an unreachable host, a
    failed worker): nothing is wrong with the configuration, and trying again later may help.
    The message names the thing and what to do."""
