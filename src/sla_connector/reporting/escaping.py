"""Text from tickets and configs made inert for each channel it is shown in (issue 11 item 6).

A ticket subject is written by whoever e-mails the help desk; shown as is, it could ping a
whole Slack channel, hide a link behind harmless words, or add a header to an e-mail.

- **Slack mrkdwn** treats ``&``, ``<`` and ``>`` as control characters: ``<!channel>``,
  ``<!here>``, ``<@U123>`` and ``<https://evil|harmless words>`` are mentions and disguised
  links. Slack's "Formatting text for app surfaces" asks for exactly these three to be
  escaped as ``&amp;``, ``&lt;`` and ``&gt;``; then they show as typed.
- **Teams Adaptive Cards**: ``TextBlock`` text and ``Fact`` titles and values take a subset
  of CommonMark (``**bold**``, ``_italic_``, lists, ``[title](url)`` links; Microsoft's
  "Text features" page) and ``{{DATE(...)}}``/``{{TIME(...)}}`` functions. Line breaks
  become spaces (no list can start) and CommonMark's punctuation escapes (a backslash
  before ``\\ * _ [ ] ( ) { } < > # ~ ` |``) keep emphasis, links and functions literal.
- **E-mail headers**: a CR or LF in a header value would start a new header (``Bcc:``);
  every control character becomes a space, so a value is always one line.
"""

from __future__ import annotations

import re

__all__ = ["header_text", "slack_escape", "teams_escape"]

_TEAMS_SPECIAL = re.compile(r"([\\*_\[\](){}<>#~`|])")
_LINE_BREAKS = re.compile(r"[\r\n\u2028\u2029]+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")


def slack_escape(text: str) -> str:
    """Slack mrkdwn: ``&``, ``<`` and ``>`` as entities; mentions and links stay text."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def teams_escape(text: str) -> str:
    """Adaptive Card text: one line, CommonMark punctuation backslash-escaped."""
    return _TEAMS_SPECIAL.sub(r"\\\1", _LINE_BREAKS.sub(" ", text))


def header_text(text: str) -> str:
    """An e-mail header value on one line: control characters (CR, LF, ...) as spaces."""
    return _CONTROL.sub(" ", text).strip()
