"""Synthetic canonical tickets (DESIGN section 3) for benchmarks, demos and tests.

Standalone and stdlib-only, so it runs before the package is installed and can be imported
as a module (``generate_tickets``, ``showcase_tickets``, ``write_tickets``). Output is one
JSON object per line, deterministic for a seed, and streamed: a million tickets never sit
in memory at once.

Realism that the SLA engine cares about:

- arrivals follow each client's local working week (weekday office hours, a thin evening
  and weekend tail), tickets in ``created_at`` order with increasing numeric ids;
- subjects and descriptions that classification rules match (outages, slowness, requests,
  "error" / "cannot" wording), channels and ``source_priority`` that fit them;
- lifecycles worked by agents in local office hours (P1-ish and critical alerts 24x7):
  agent replies (some late, some after a customer chase), ``pending`` spells waiting on
  the customer, ``solved`` / ``closed``, reopens, manual ``priority`` changes,
  ``assignee`` changes and internal ``comment`` notes.

The export is taken at the end of the window (``start`` + ``days``): later events are cut
and ``status`` is the last status reached by then, so recent tickets are still running.

    python bench/gen_tickets.py --count 1000000 --seed 1 --out /tmp/tickets.jsonl
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from bisect import bisect
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import accumulate, chain
from operator import itemgetter
from random import Random
from typing import Any, TextIO
from zoneinfo import ZoneInfo

__all__ = [
    "DEFAULT_TIMEZONE",
    "generate_tickets",
    "main",
    "parse_clients",
    "showcase_tickets",
    "write_tickets",
]

DEFAULT_TIMEZONE = "Europe/London"
_HOUR = 3600
_DAY = 86400
_OPEN = 7 * _HOUR  # the service desk's local hours, weekdays
_CLOSE = 19 * _HOUR

# Relative arrival rate per local hour of day.
_WEEKDAY_RATE = (
    0.04, 0.03, 0.03, 0.03, 0.04, 0.06, 0.12, 0.35, 0.85, 1.0, 1.0, 0.9,
    0.65, 0.8, 0.9, 0.85, 0.7, 0.5, 0.22, 0.12, 0.08, 0.07, 0.06, 0.05,
)  # fmt: skip
_WEEKEND_RATE = (
    0.03, 0.03, 0.02, 0.02, 0.02, 0.03, 0.04, 0.05, 0.07, 0.09, 0.1, 0.1,
    0.1, 0.09, 0.09, 0.08, 0.07, 0.06, 0.06, 0.05, 0.05, 0.04, 0.04, 0.03,
)  # fmt: skip

_FIRST_NAMES = ("Priya", "Tom", "Sofia", "James", "Mei", "Oliver", "Amara", "Lucas", "Hannah",
                "Diego", "Grace", "Yusuf", "Chloe", "Ben", "Aisha", "Ravi")  # fmt: skip
_AGENTS = ("alex.kim", "dana.lee", "sam.ortiz", "terry.ng", "jo.walsh", "max.berg", "nina.roy")
_CONTEXT = ("", "", "Screenshot attached.", "I have already restarted my PC.",
            "Please call me on my mobile if easier.", "This started after lunch.",
            "My manager asked me to raise this.", "Same thing happened last month.")  # fmt: skip


@dataclass(frozen=True, slots=True)
class _Profile:
    """One family of tickets: what they say, where they come from, how they are worked."""

    weight: float
    texts: tuple[tuple[str, str], ...]  # (subject, description body)
    channels: tuple[tuple[str, float], ...]
    priorities: tuple[tuple[str, float], ...]
    around_the_clock: bool  # worked 24x7 instead of in office hours
    reply_minutes: float  # mean working minutes to the first agent reply
    work_minutes: float  # mean working minutes from first reply to solved
    manual: tuple[str, ...]  # tiers a human may set after triage (a `priority` event)
    auto_resolve: float = 0.0  # chance it is solved with no agent reply (alerts that clear)


_P1_WORK = 100  # minutes; also how long a ticket upgraded to P1 takes from then on
_PROFILES: tuple[_Profile, ...] = (
    _Profile(  # P1-ish: system down, security incident
        weight=0.05,
        texts=(
            ("Email server down for all staff", "Nobody can send or receive email since 8am."),
            ("Ransomware alert on file server", "Antivirus flagged encrypted files on FS01."),
            ("VPN not responding", "Remote staff cannot connect, the VPN gateway times out."),
            ("Internet outage at head office", "No internet on any floor, phones are down too."),
            ("ERP system down", "The ERP login page returns an error for all users."),
            ("Domain controller not responding", "Logons failing across the office."),
        ),
        channels=(
            ("phone", 45),
            ("email", 15),
            ("chat", 15),
            ("portal", 5),
            ("monitoring", 15),
            ("api", 5),
        ),
        priorities=(("urgent", 50), ("critical", 30), ("high", 20)),
        around_the_clock=True,
        reply_minutes=4,
        work_minutes=_P1_WORK,
        manual=("P2", "P2", "P3"),  # a false alarm, or only one user affected
    ),
    _Profile(  # monitoring alerts that something is down: the NOC treats them as P1
        weight=0.02,
        texts=(
            ("[Monitoring] Host SQL02 not responding", "Ping loss 100% for 5 minutes."),
            ("[Monitoring] UPS on battery at branch office", "Mains power lost."),
            ("[Monitoring] Website down", "HTTP check failed from 3 locations."),
        ),
        channels=(("monitoring", 80), ("api", 20)),
        priorities=(("critical", 50), ("urgent", 20), ("high", 30)),
        around_the_clock=True,
        reply_minutes=4,
        work_minutes=80,
        manual=("P2", "P3"),
    ),
    _Profile(  # monitoring warnings: mostly noise that clears itself, one a vetoed test
        weight=0.04,
        texts=(
            ("[Monitoring] Disk C: 95% full on FS01", "Free space below threshold."),
            ("[Monitoring] Backup job failed on NAS01", "Job 'Nightly' ended with an error."),
            ("[Monitoring] Test alert from RMM", "Weekly test alert, not down."),
            ("[Monitoring] Certificate expires in 14 days", "TLS certificate on the portal."),
        ),
        channels=(("monitoring", 80), ("api", 20)),
        priorities=(("critical", 8), ("high", 25), ("normal", 50), ("low", 17)),
        around_the_clock=True,
        reply_minutes=30,
        work_minutes=90,
        manual=("P1", "P3"),
        auto_resolve=0.4,
    ),
    _Profile(  # P2-ish: degraded, intermittent
        weight=0.22,
        texts=(
            ("CRM slow for sales team", "Pages take 30 seconds to load since this morning."),
            ("Intermittent Wi-Fi drops", "Laptops on the 2nd floor lose Wi-Fi every few minutes."),
            ("Shared drive very slow", "Opening files on the S: drive takes minutes."),
            ("Teams calls dropping intermittently", "Calls cut out after a few minutes."),
            ("Remote desktop slow from branch office", "Typing lags by several seconds."),
            ("Finance app error when posting invoices", "Error 500 on submit, cannot post."),
        ),
        channels=(("email", 35), ("phone", 25), ("portal", 20), ("chat", 20)),
        priorities=(("high", 45), ("normal", 40), ("urgent", 10), ("low", 5)),
        around_the_clock=False,
        reply_minutes=20,
        work_minutes=200,
        manual=("P1", "P1", "P3"),  # it turns out the whole office is affected, or not
    ),
    _Profile(  # P3-ish: requests and minor faults, some with "error" / "cannot" wording
        weight=0.67,
        texts=(
            ("New starter laptop", "Please set up a laptop and accounts for a new starter."),
            ("Printer toner low", "The 3rd floor printer says toner low."),
            ("Password reset request", "Locked out after the password change prompt."),
            ("Add user to Finance distribution list", "Please add me to finance@."),
            ("Install Adobe Acrobat", "Need Acrobat Pro to edit contracts."),
            ("Cannot open shared mailbox", "Outlook says I cannot open the sales mailbox."),
            ("Error when printing PDF", "Printing any PDF gives a spooler error."),
            ("Request: second monitor", "Could I get a second monitor for my desk?"),
            ("Leaver: disable account", "Please disable the account of a leaver on Friday."),
            ("Update email signature", "New company logo for the signature please."),
        ),
        channels=(("email", 45), ("portal", 35), ("phone", 10), ("chat", 10)),
        priorities=(("normal", 55), ("low", 35), ("high", 10)),
        around_the_clock=False,
        reply_minutes=30,
        work_minutes=300,
        manual=("P2",),
    ),
)
_PROFILE_CUM = list(accumulate(p.weight for p in _PROFILES))


def _pick(rng: Random, options: Sequence[tuple[str, float]]) -> str:
    """A weighted choice from (value, weight) pairs."""
    return rng.choices([value for value, _ in options], [weight for _, weight in options])[0]


class _Zone:
    """UTC offsets of one IANA zone, cached per UTC hour (transitions fall on the hour)."""

    def __init__(self, name: str) -> None:
        self.tz = ZoneInfo(name)
        self._cache: dict[int, int] = {}

    def offset(self, t: int) -> int:
        """Seconds east of UTC at epoch second ``t``."""
        hour = t // _HOUR
        cached = self._cache.get(hour)
        if cached is None:
            delta = datetime.fromtimestamp(hour * _HOUR, self.tz).utcoffset()
            cached = int(delta.total_seconds()) if delta is not None else 0
            self._cache[hour] = cached
        return cached

    def next_working(self, t: int) -> int:
        """The first instant at or after ``t`` inside local weekday office hours."""
        local = t + self.offset(t)
        day, sec = divmod(local, _DAY)
        if (day + 3) % 7 < 5:  # 1970-01-01 was a Thursday; Monday is 0
            if sec < _OPEN:
                return self._to_utc(day * _DAY + _OPEN, t)
            if sec < _CLOSE:
                return t
        day += 1
        while (day + 3) % 7 >= 5:
            day += 1
        return self._to_utc(day * _DAY + _OPEN, t)

    def add_working(self, t: int, seconds: int) -> int:
        """``t`` plus ``seconds`` of local office time (agents do not work nights)."""
        t = self.next_working(t)
        while True:
            local = t + self.offset(t)
            left_today = _CLOSE - local % _DAY
            if seconds <= left_today:
                return t + seconds
            seconds -= left_today
            t = self.next_working(t + left_today)

    def _to_utc(self, local: int, near: int) -> int:
        guess = local - self.offset(near)
        return local - self.offset(guess)


class _Formatter:
    """RFC 3339 UTC strings from epoch seconds, with the date part cached per day."""

    def __init__(self) -> None:
        self._days: dict[int, str] = {}

    def __call__(self, t: int) -> str:
        day, sec = divmod(t, _DAY)
        prefix = self._days.get(day)
        if prefix is None:
            prefix = datetime.fromtimestamp(day * _DAY, UTC).strftime("%Y-%m-%dT")
            self._days[day] = prefix
        hours, rest = divmod(sec, _HOUR)
        minutes, seconds = divmod(rest, 60)
        return f"{prefix}{hours:02d}:{minutes:02d}:{seconds:02d}Z"


def parse_clients(text: str, default_timezone: str = DEFAULT_TIMEZONE) -> list[tuple[str, str]]:
    """``acme:America/New_York,globex`` -> [(client, IANA zone)], the default zone filling gaps."""
    clients: list[tuple[str, str]] = []
    for item in text.split(","):
        name, _, zone = item.strip().partition(":")
        if not name:
            raise ValueError(f"empty client name in {text!r}")
        clients.append((name, zone.strip() or default_timezone))
    if not clients:
        raise ValueError("no clients given")
    return clients


def _hourly_counts(count: int, weights: Sequence[float]) -> Iterator[int]:
    """Split ``count`` over hours in proportion to ``weights``, exactly, by cumulative rounding."""
    total = sum(weights)
    done = 0
    running = 0.0
    for weight in weights:
        running += weight
        upto = round(count * running / total) if total else 0
        yield upto - done
        done = upto


def _arrivals(
    rng: Random, count: int, start: int, days: int, zones: Sequence[_Zone]
) -> Iterator[tuple[int, int]]:
    """(created epoch second, client index) in time order, shaped by local working weeks."""
    per_hour: list[list[float]] = []
    for hour in range(days * 24):
        t = start + hour * _HOUR
        row: list[float] = []
        for zone in zones:
            local = t + zone.offset(t)
            weekday = (local // _DAY + 3) % 7
            rates = _WEEKDAY_RATE if weekday < 5 else _WEEKEND_RATE
            row.append(rates[local % _DAY // _HOUR])
        per_hour.append(row)
    totals = [sum(row) for row in per_hour]
    for hour, n in enumerate(_hourly_counts(count, totals)):
        if n <= 0:
            continue
        cum = list(accumulate(per_hour[hour]))
        base = start + hour * _HOUR
        batch = [
            (base + rng.randrange(_HOUR), bisect(cum, rng.random() * cum[-1])) for _ in range(n)
        ]
        batch.sort()
        yield from batch


def _minutes(rng: Random, mean: float) -> int:
    """A waiting time in seconds (at least 30 s): exponential, ``mean`` minutes, long tail."""
    return max(30, int(rng.expovariate(1.0 / mean) * 60))


def _effort(rng: Random, mean: float) -> int:
    """Agent working time in seconds (at least 30 s): gamma(2), ``mean`` minutes, short tail."""
    return max(30, int(rng.gammavariate(2.0, mean / 2.0) * 60))


def _lifecycle(
    rng: Random, profile: _Profile, priority: str, created: int, zone: _Zone
) -> list[tuple[int, dict[str, str]]]:
    """The events of one ticket as (epoch second, event without ``at``), in time order."""
    urgent = priority == "critical"
    always = profile.around_the_clock or urgent

    def later(t: int, seconds: int) -> int:
        return t + seconds if always else zone.add_working(t, seconds)

    events: list[tuple[int, dict[str, str]]] = []
    roll = rng.random
    if roll() < 0.75:
        events.append((created + _minutes(rng, 6), {"type": "assignee", "to": rng.choice(_AGENTS)}))
    replied = urgent or roll() >= profile.auto_resolve
    t = created
    if replied:
        delay = _effort(rng, 4 if urgent else profile.reply_minutes)
        if roll() < (0.03 if always else 0.08):  # a late first reply: backlog, missed alert
            delay *= rng.randint(3, 8)
        reply = later(created, delay)
        if roll() < 0.1:  # the customer chases before anyone answers
            chase = created + max(30, (reply - created) // 2)
            events.append((chase, {"type": "public_reply", "by": "customer"}))
        events.append((reply, {"type": "public_reply", "by": "agent"}))
        t = reply
    if roll() < 0.3:
        events.append((t + rng.randint(60, 1800), {"type": "comment"}))
    work = _effort(rng, profile.work_minutes)
    changed = created
    if roll() < 0.04:
        to = rng.choice(profile.manual)
        changed = created + rng.randint(1800, 3 * _HOUR)
        events.append((changed, {"type": "priority", "to": to}))
        if to == "P1":  # all hands from now on
            always = True
            work = _effort(rng, _P1_WORK)
    if replied and roll() < 0.3:
        spells = 2 if roll() < 0.2 else 1
        for _ in range(spells):  # waiting on the customer, who answers hours or days later
            t = later(t, _minutes(rng, 40))
            events.append((t, {"type": "status", "to": "pending"}))
            t += _minutes(rng, 18 * 60)
            events.append((t, {"type": "public_reply", "by": "customer"}))
            t += rng.randint(0, 900)
            events.append((t, {"type": "status", "to": "open"}))
    t = later(t, work)
    if t <= changed:  # solved after the human looked at it, not before
        t = changed + _effort(rng, 30)
    events.append((t, {"type": "status", "to": "solved"}))
    if roll() < 0.08:  # reopened: "still broken"
        t += _minutes(rng, 20 * 60)
        events.append((t, {"type": "public_reply", "by": "customer"}))
        t += rng.randint(30, 600)
        events.append((t, {"type": "status", "to": "open"}))
        t = later(t, _effort(rng, 30))
        events.append((t, {"type": "public_reply", "by": "agent"}))
        t = later(t, _effort(rng, profile.work_minutes / 2))
        events.append((t, {"type": "status", "to": "solved"}))
    if roll() < 0.7:
        events.append((t + rng.randint(3 * _DAY, 4 * _DAY), {"type": "status", "to": "closed"}))
    events.sort(key=itemgetter(0))
    return events


def generate_tickets(
    count: int,
    *,
    seed: int = 1,
    start: datetime | None = None,
    days: int = 28,
    clients: Sequence[tuple[str, str]] = (("acme", DEFAULT_TIMEZONE), ("globex", DEFAULT_TIMEZONE)),
    source: str = "sim",
    first_id: int = 10001,
) -> Iterator[dict[str, Any]]:
    """Yield ``count`` canonical ticket objects created in [start, start + days), streamed."""
    if count < 0 or days <= 0:
        raise ValueError("count must be >= 0 and days > 0")
    if start is None:
        start = datetime(2026, 10, 5, tzinfo=UTC)
    if start.tzinfo is None:
        raise ValueError("start must be an aware datetime")
    rng = Random(seed)
    origin = int(start.timestamp())
    horizon = origin + days * _DAY
    zones = [_Zone(zone) for _, zone in clients]
    fmt = _Formatter()
    for number, (created, client) in enumerate(
        _arrivals(rng, count, origin, days, zones), start=first_id
    ):
        profile = _PROFILES[bisect(_PROFILE_CUM, rng.random() * _PROFILE_CUM[-1])]
        subject, body = rng.choice(profile.texts)
        context = rng.choice(_CONTEXT)
        description = f"Hi,\n\n{body}\n{context}\n\nThanks,\n{rng.choice(_FIRST_NAMES)}"
        priority = _pick(rng, profile.priorities)
        channel = _pick(rng, profile.channels)
        status = "open"
        events: list[dict[str, str]] = []
        for at, event in _lifecycle(rng, profile, priority, created, zones[client]):
            if at >= horizon:
                break
            if event["type"] == "status":
                status = event["to"]
            events.append({"at": fmt(at), **event})
        yield {
            "id": str(number),
            "source": source,
            "client": clients[client][0],
            "subject": subject,
            "description": description,
            "channel": channel,
            "source_priority": priority,
            "status": status,
            "created_at": fmt(created),
            "events": events,
        }


def _event(at: datetime, kind: str, **fields: str) -> dict[str, str]:
    return {"at": at.strftime("%Y-%m-%dT%H:%M:%SZ"), "type": kind, **fields}


def showcase_tickets(
    start: datetime | None = None, source: str = "sim", clients: Sequence[str] = ("acme", "globex")
) -> list[dict[str, Any]]:
    """Hand-written tickets for ``explain`` demos, placed in the weeks after ``start``.

    Times are UTC, anchored on the first Monday at or after ``start`` (2026-10-05 for the
    bundled example); ``clients`` are (24x7 / US-hours client, UK-hours client).
    """
    start = (start or datetime(2026, 10, 5, tzinfo=UTC)).astimezone(UTC)
    monday = datetime(start.year, start.month, start.day, tzinfo=UTC)
    monday += timedelta(days=(7 - monday.weekday()) % 7)
    us, uk = clients[0], clients[-1]

    def at(day: int, clock: str) -> datetime:
        hours, minutes = clock.split(":")
        return monday + timedelta(days=day, hours=int(hours), minutes=int(minutes))

    def ticket(
        ident: str, client: str, subject: str, body: str, channel: str, priority: str,
        created: datetime, events: list[dict[str, str]],
    ) -> dict[str, Any]:  # fmt: skip
        statuses = [e["to"] for e in events if e["type"] == "status"]
        return {
            "id": ident, "source": source, "client": client, "subject": subject,
            "description": body, "channel": channel, "source_priority": priority,
            "status": statuses[-1] if statuses else "open",
            "created_at": created.strftime("%Y-%m-%dT%H:%M:%SZ"), "events": events,
        }  # fmt: skip

    return [
        # P1 answered in 9 min but solved 4h35m after creation: resolution breached at +4h.
        ticket("demo-p1-breach", uk, "Email server down for all staff",
               "Nobody can send or receive email since 9am. Outlook shows disconnected.",
               "phone", "urgent", at(1, "08:12"), [
                   _event(at(1, "08:14"), "assignee", to="dana.lee"),
                   _event(at(1, "08:21"), "public_reply", by="agent"),
                   _event(at(1, "09:30"), "comment"),
                   _event(at(1, "12:47"), "status", to="solved"),
                   _event(at(4, "13:00"), "status", to="closed"),
               ]),
        # Waiting on the customer from Friday afternoon to Monday morning.
        ticket("demo-weekend-pause", uk, "Intermittent Wi-Fi drops in the warehouse",
               "Scanners lose Wi-Fi every few minutes near the loading bay.",
               "email", "high", at(4, "13:30"), [
                   _event(at(4, "14:05"), "public_reply", by="agent"),
                   _event(at(4, "15:10"), "status", to="pending"),
                   _event(at(7, "08:40"), "public_reply", by="customer"),
                   _event(at(7, "08:41"), "status", to="open"),
                   _event(at(7, "12:20"), "status", to="solved"),
                   _event(at(10, "12:30"), "status", to="closed"),
               ]),
        # Solved, reopened by the customer the next day, solved again.
        ticket("demo-reopen", us, "Cannot open shared mailbox",
               "Outlook says I cannot open the sales mailbox since the password change.",
               "portal", "normal", at(9, "14:40"), [
                   _event(at(9, "14:45"), "assignee", to="sam.ortiz"),
                   _event(at(9, "15:20"), "public_reply", by="agent"),
                   _event(at(9, "18:05"), "status", to="solved"),
                   _event(at(10, "13:10"), "public_reply", by="customer"),
                   _event(at(10, "13:12"), "status", to="open"),
                   _event(at(10, "13:40"), "public_reply", by="agent"),
                   _event(at(10, "14:00"), "comment"),
                   _event(at(10, "16:30"), "status", to="solved"),
                   _event(at(14, "17:00"), "status", to="closed"),
               ]),
        # Classified P2, raised to P1 by a human 2h in: the P1 clock counts from creation.
        ticket("demo-upgrade-p1", uk, "CRM slow for sales team",
               "Quotes take minutes to save; the whole sales team is blocked.",
               "chat", "high", at(15, "08:00"), [
                   _event(at(15, "08:20"), "public_reply", by="agent"),
                   _event(at(15, "08:21"), "assignee", to="jo.walsh"),
                   _event(at(15, "09:45"), "comment"),
                   _event(at(15, "10:00"), "priority", to="P1"),
                   _event(at(15, "10:02"), "assignee", to="alex.kim"),
                   _event(at(15, "13:30"), "status", to="solved"),
                   _event(at(18, "14:00"), "status", to="closed"),
               ]),
        # A Saturday-night P1 alert answered after 25 minutes: response breached.
        ticket("demo-response-breach", us, "VPN not responding",
               "[Monitoring] VPN gateway VPN01 not responding to health checks.",
               "monitoring", "critical", at(19, "02:15"), [
                   _event(at(19, "02:40"), "public_reply", by="agent"),
                   _event(at(19, "03:30"), "status", to="solved"),
                   _event(at(22, "09:00"), "status", to="closed"),
               ]),
        # Still waiting on the customer at the end of the window: the clock is paused.
        ticket("demo-still-pending", us, "New starter laptop",
               "Please set up a laptop for a new starter on Monday; which model do you prefer?",
               "portal", "low", at(24, "15:00"), [
                   _event(at(24, "15:35"), "public_reply", by="agent"),
                   _event(at(24, "15:50"), "status", to="pending"),
               ]),
    ]  # fmt: skip


def write_tickets(stream: TextIO, tickets: Iterable[dict[str, Any]]) -> int:
    """Write tickets as JSONL in buffered chunks; returns how many were written."""
    encode = json.JSONEncoder(separators=(", ", ": "), check_circular=False).encode
    written = 0
    chunk: list[str] = []
    for ticket in tickets:
        chunk.append(encode(ticket))
        chunk.append("\n")
        written += 1
        if len(chunk) >= 8192:
            stream.write("".join(chunk))
            chunk.clear()
    stream.write("".join(chunk))
    return written


def _parse_start(text: str) -> datetime:
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r} has no UTC offset")
    return parsed


def main(argv: Sequence[str] | None = None) -> int:
    """The command line; prints the count and elapsed time to stderr."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--start", type=_parse_start, default="2026-10-05T00:00:00Z")
    parser.add_argument("--days", type=int, default=28)
    parser.add_argument(
        "--clients", default="acme,globex", help="client keys, each optionally name:IANA/Zone"
    )
    parser.add_argument(
        "--timezone", default=DEFAULT_TIMEZONE, help="local zone of clients that name none"
    )
    parser.add_argument("--source", default="sim")
    parser.add_argument("--first-id", type=int, default=10001)
    parser.add_argument(
        "--showcase", action="store_true", help="prepend the hand-written demo tickets"
    )
    parser.add_argument("--out", default="-", help="output file (default: stdout)")
    args = parser.parse_args(argv)
    try:
        clients = parse_clients(args.clients, args.timezone)
    except ValueError as exc:
        parser.error(str(exc))
    began = time.perf_counter()
    tickets: Iterable[dict[str, Any]] = generate_tickets(
        args.count, seed=args.seed, start=args.start, days=args.days, clients=clients,
        source=args.source, first_id=args.first_id,
    )  # fmt: skip
    if args.showcase:
        names = [name for name, _ in clients]
        tickets = chain(showcase_tickets(args.start, args.source, names), tickets)
    if args.out == "-":
        written = write_tickets(sys.stdout, tickets)
    else:
        with open(args.out, "w", encoding="utf-8", newline="\n") as out:
            written = write_tickets(out, tickets)
    print(f"{written} tickets in {time.perf_counter() - began:.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
