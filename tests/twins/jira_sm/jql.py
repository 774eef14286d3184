"""The JQL the twin honours: the clauses a connector sends, evaluated for real.

Supported (developer.atlassian.com "Advanced searching" field reference, as summarised in
psa-apis.md section 2.2): clauses ``field op value`` joined by ``AND`` / ``OR`` (``AND`` binds
tighter) with parentheses, and a trailing ``ORDER BY field [ASC|DESC]``. Fields: ``project``
(``=``, ``in``, ``not in``; by key), ``key``/``issue`` (``=``, ``in``), ``status`` (by name),
``statusCategory`` (``=``/``!=``; ``Done``, ``"To Do"``, ``"In Progress"`` or their keys),
``updated``/``created`` (``>=``, ``>``, ``<=``, ``<``) with ``"yyyy-MM-dd HH:mm"`` or
``"yyyy-MM-dd"`` read in the searching user's profile time zone (psa-apis.md section 2.2:
"JQL input is in the user's time zone"; minute precision). A project that does not exist, or
is archived, makes the whole search 400 with ``errorMessages`` "The value 'X' does not exist
for the field 'project'." (the message as the JQL validator words it [3p: widely quoted
Atlassian answers; verify]); anything else the twin cannot read is a 400 too.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

__all__ = ["JqlError", "Query", "parse_jql"]

Issue = Mapping[str, Any]
Predicate = Callable[[Issue], bool]

_TOKEN = re.compile(
    r"""\s*(?:(?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')|(?P<op>!=|>=|<=|=|>|<|~)
    |(?P<paren>[(),])|(?P<word>[A-Za-z0-9_.\-\[\]]+))""",
    re.VERBOSE,
)
_CATEGORIES = {"done": "done", "to do": "new", "new": "new", "in progress": "indeterminate"}


class JqlError(ValueError):
    """A search the twin answers with 400; ``messages`` are Jira's ``errorMessages``."""

    def __init__(self, *messages: str) -> None:
        super().__init__("; ".join(messages))
        self.messages = list(messages)


@dataclass(frozen=True)
class Query:
    where: Predicate
    order_field: str
    descending: bool
    projects: tuple[str, ...]  # every project key the query names


def _unquote(text: str) -> str:
    if text[:1] in "\"'":
        return re.sub(r"\\(.)", r"\1", text[1:-1])
    return text


class _Parser:
    def __init__(self, text: str, zone: ZoneInfo, known: Callable[[str], bool]) -> None:
        self.tokens: list[tuple[str, str]] = []
        pos = 0
        while pos < len(text) and text[pos:].strip():
            match = _TOKEN.match(text, pos)
            if match is None or match.end() == pos:
                raise JqlError(f"Error in the JQL Query: unexpected {text[pos : pos + 10]!r}")
            kind = match.lastgroup or ""
            self.tokens.append((kind, match.group(kind)))
            pos = match.end()
        self.pos = 0
        self.zone = zone
        self.known = known
        self.projects: list[str] = []
        self.errors: list[str] = []

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        tok = self.peek()
        if tok is None:
            raise JqlError("Error in the JQL Query: the query ends too early")
        self.pos += 1
        return tok

    def word(self, *words: str) -> bool:
        tok = self.peek()
        if tok and tok[0] == "word" and tok[1].lower() in words:
            self.pos += 1
            return True
        return False

    def expression(self) -> Predicate:
        terms = [self.conjunction()]
        while self.word("or"):
            terms.append(self.conjunction())
        return terms[0] if len(terms) == 1 else (lambda i: any(t(i) for t in terms))

    def conjunction(self) -> Predicate:
        terms = [self.primary()]
        while self.word("and"):
            terms.append(self.primary())
        return terms[0] if len(terms) == 1 else (lambda i: all(t(i) for t in terms))

    def primary(self) -> Predicate:
        tok = self.peek()
        if tok and tok[1] == "(":
            self.take()
            inner = self.expression()
            if self.take()[1] != ")":
                raise JqlError("Error in the JQL Query: a parenthesis is not closed")
            return inner
        return self.clause()

    def values(self) -> list[str]:
        if self.peek() and self.peek()[1] == "(":  # type: ignore[index]
            self.take()
            found: list[str] = []
            while True:
                found.append(_unquote(self.take()[1]))
                sep = self.take()[1]
                if sep == ")":
                    return found
                if sep != ",":
                    raise JqlError("Error in the JQL Query: expected ',' or ')'")
        return [_unquote(self.take()[1])]

    def clause(self) -> Predicate:
        field = self.take()[1].lower()
        negate = self.word("not")
        op = ("not in" if negate else "in") if self.word("in") else self.take()[1]
        values = self.values()
        if field == "project":
            keys = [v.upper() for v in values]
            self.projects += keys
            self.errors += [
                f"The value '{k}' does not exist for the field 'project'."
                for k in keys
                if not self.known(k)
            ]
            inside = op in ("=", "in")
            return lambda i: (i["project"] in keys) == inside
        if field in ("key", "issue", "issuekey"):
            wanted = {v.upper() for v in values}
            inside = op in ("=", "in")
            # An issue moved to another project is still found by its former key.
            return lambda i: bool({i["key"], *i["former_keys"]} & wanted) == inside
        if field == "status":
            names = {v.casefold() for v in values}
            inside = op in ("=", "in")
            return lambda i: (i["status"].casefold() in names) == inside
        if field == "statuscategory":
            cats = {_CATEGORIES.get(v.casefold(), v.casefold()) for v in values}
            inside = op in ("=", "in")
            return lambda i: (i["category"] in cats) == inside
        if field in ("updated", "created"):
            instant = self.instant(values[0])
            compare = {
                ">=": lambda a: a >= instant,
                ">": lambda a: a > instant,
                "<=": lambda a: a <= instant,
                "<": lambda a: a < instant,
            }.get(op)
            if compare is None:
                raise JqlError(f"Error in the JQL Query: {op} is not supported for {field}")
            return lambda i: bool(compare(i[field]))
        raise JqlError(f"Field '{field}' does not exist or you do not have permission to view it.")

    def instant(self, text: str) -> float:
        for form in ("%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M", "%Y-%m-%d", "%Y/%m/%d"):
            try:
                return datetime.strptime(text, form).replace(tzinfo=self.zone).timestamp()
            except ValueError:
                continue
        raise JqlError(f"Date value '{text}' for field 'updated' is invalid.")


def parse_jql(text: str, zone: ZoneInfo, known_project: Callable[[str], bool]) -> Query:
    """A query over the twin's issues; ``JqlError`` (a 400) when Jira would refuse it."""
    parts = re.split(r"(?i)\border\s+by\b", text, maxsplit=1)
    body = parts[0]
    order = parts[1].strip() if len(parts) > 1 else "key"
    parser = _Parser(body, zone, known_project)
    where: Predicate = (lambda _i: True) if not body.strip() else parser.expression()
    if parser.peek() is not None:
        raise JqlError(f"Error in the JQL Query: unexpected {parser.peek()[1]!r}")  # type: ignore[index]
    if parser.errors:
        raise JqlError(*parser.errors)
    field, _, direction = order.partition(" ")
    return Query(
        where,
        field.lower() or "key",
        direction.strip().lower() == "desc",
        tuple(dict.fromkeys(parser.projects)),
    )
