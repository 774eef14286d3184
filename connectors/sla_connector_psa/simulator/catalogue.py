"""What simulated tickets are about: subjects, channels and priorities by severity.

The wording is chosen so that typical classification rules (config-reference.yaml) split
the stream into tiers: outage words ("down", "outage", "not responding", "all users",
"ransomware") for P1, monitoring alerts with ``source_priority: critical`` for P1,
"slow"/"degraded"/"intermittent" for P2, "error"/"cannot" for enterprise clients, and a
few traps ("not down", "test") that an ``unless`` list must veto.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "CRITICAL",
    "HIGH",
    "HOSTS",
    "HUMAN_SCENARIOS",
    "MONITORING_SCENARIOS",
    "NORMAL",
    "PEOPLE",
    "SITES",
    "Scenario",
]

CRITICAL = 0
HIGH = 1
NORMAL = 2

_HUMAN = ("email", "email", "email", "portal", "portal", "phone", "chat", "api")
_URGENT = ("urgent", "urgent", "high")
_RAISED = ("high", "normal", "normal")
_PLAIN = ("normal", "normal", "normal", "low")


@dataclass(frozen=True, slots=True)
class Scenario:
    """A kind of ticket: its true severity (0 most severe), wording and origin."""

    nature: int
    subject: str
    detail: str
    weight: float
    channels: tuple[str, ...] = _HUMAN
    priorities: tuple[str, ...] = _PLAIN


def _critical(subject: str, detail: str, weight: float) -> Scenario:
    return Scenario(CRITICAL, subject, detail, weight, priorities=_URGENT)


def _high(subject: str, detail: str, weight: float) -> Scenario:
    return Scenario(HIGH, subject, detail, weight, priorities=_RAISED)


def _normal(subject: str, detail: str, weight: float) -> Scenario:
    return Scenario(NORMAL, subject, detail, weight)


HUMAN_SCENARIOS: tuple[Scenario, ...] = (
    _critical("Email server down for all staff", "Nobody can send or receive mail.", 2.0),
    _critical("Internet outage at the {site}", "No connectivity since {n} minutes ago.", 1.5),
    _critical("ERP not responding for all users", "Orders cannot be entered.", 1.0),
    _critical("Ransomware warning on {person}'s laptop", "A ransom note appeared on screen.", 0.4),
    _critical("File server {host} down after power cut", "Shared drives are unavailable.", 1.0),
    _high("VPN slow for remote users", "Connections take minutes and drop.", 3.0),
    _high("Intermittent Wi-Fi drops at the {site}", "Laptops lose the network hourly.", 3.0),
    _high("CRM degraded since this morning", "Pages take {n} seconds to load.", 2.5),
    _high("Shared drive very slow on {host}", "Opening files takes minutes.", 2.5),
    _high("Website not down but very slow", "Customers complain about load times.", 1.0),
    _high("Intermittent call quality on Teams", "Voices drop out in calls.", 2.0),
    _normal("Cannot open attachments in Outlook", "{person} gets a blocked-file message.", 5.0),
    _normal("Error when printing invoices from Sage", "Error code {n} on every invoice.", 4.0),
    _normal("Printer jam on floor 2", "The large printer reports a jam.", 8.0),
    _normal("Password reset for {person}", "Locked out after holidays.", 12.0),
    _normal("New starter account for {person}", "Starts next Monday in sales.", 8.0),
    _normal("Request: install Visio for {person}", "Needed for a project.", 6.0),
    _normal("Monitor flickering at desk {n}", "Second screen flickers.", 5.0),
    _normal("Add {person} to the sales distribution list", "Please add today.", 6.0),
    _normal("Planned test of backup line: internet down 10 minutes", "Notice only.", 1.0),
    _normal("Question about licence renewal", "How many seats do we have?", 4.0),
)

MONITORING_SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        CRITICAL,
        "[Alert] CRITICAL: host {host} unreachable",
        "Ping lost for 5 minutes.",
        3.0,
        ("monitoring",),
        ("critical",),
    ),
    Scenario(
        CRITICAL,
        "[Alert] CRITICAL: backup job failed on {host}",
        "Job exited with {n}.",
        2.0,
        ("monitoring",),
        ("critical",),
    ),
    Scenario(
        NORMAL,
        "[Alert] WARNING: disk {n}% full on {host}",
        "Threshold 85% crossed.",
        4.0,
        ("monitoring",),
        ("warning",),
    ),
    Scenario(
        NORMAL,
        "[Alert] WARNING: certificate expiring on {host}",
        "Expires in 14 days.",
        1.0,
        ("monitoring",),
        ("warning",),
    ),
)

SITES = ("head office", "warehouse", "Leeds office", "Manchester branch", "data room")
HOSTS = ("FS01", "SQL02", "EXCH01", "FW-EDGE", "DC01", "WEB01", "APP03")
PEOPLE = ("Alice Moore", "Ben Ortiz", "Chloe Park", "Dev Singh", "Emma Walsh", "Femi Adeyemi")
