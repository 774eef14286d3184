"""ConnectWise ``conditions``: parsed and actually applied, so a wrong query finds nothing.

The syntax (psa-apis.md section 1.2): comparisons ``field op value`` joined by ``AND`` /
``OR`` (``AND`` binds tighter) with parentheses; strings in double quotes, dates in square
brackets (``lastUpdated > [2026-05-01T00:00:00Z]``), numbers, ``true``/``false``/``null``;
operators ``=``, ``!=``, ``<``, ``<=``, ``>``, ``>=``, ``like`` (``%`` wildcard),
``contains``, ``in (...)``, ``not in (...)``; reference fields use slashes (``board/name``),
and ``lastUpdated`` is also reachable as ``_info/lastUpdated`` (psa-apis.md: "Conditions
accept both"). [3p: KerkhoffTechnologies/django-connectwise and
covenanttechnologysolutions/connectwise-rest queries, cited in psa-apis.md]. Keywords are
case-insensitive; an unparseable condition answers 400 as ConnectWise does for a bad query
(the error body shape is [verify]).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

__all__ = ["ConditionError", "Predicate", "parse_conditions"]

Predicate = Callable[[Mapping[str, Any]], bool]

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>"(?:[^"\\]|\\.)*")
      | (?P<date>\[[^\]]*\])
      | (?P<op><=|>=|!=|=|<|>)
      | (?P<paren>[(),])
      | (?P<word>[A-Za-z_][A-Za-z0-9_/.]*)
      | (?P<number>-?\d+(?:\.\d+)?)
    )""",
    re.VERBOSE,
)
_ALIASES = {"lastupdated": "_info/lastUpdated", "dateentered": "_info/dateEntered"}


class ConditionError(ValueError):
    """The conditions string is not ConnectWise's syntax."""


@dataclass(frozen=True)
class _Tok:
    kind: str
    text: str


def _tokens(text: str) -> list[_Tok]:
    found: list[_Tok] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise ConditionError(f"cannot read the condition at {text[pos : pos + 20]!r}")
        kind = match.lastgroup or ""
        found.append(_Tok(kind, match.group(kind)))
        pos = match.end()
    return found


def _value(tok: _Tok) -> Any:
    if tok.kind == "string":
        return re.sub(r"\\(.)", r"\1", tok.text[1:-1])
    if tok.kind == "date":
        return _instant(tok.text[1:-1])
    if tok.kind == "number":
        return float(tok.text) if "." in tok.text else int(tok.text)
    lowered = tok.text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered == "null":
        return None
    raise ConditionError(f"{tok.text!r} is not a value")


def _instant(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ConditionError(f"[{text}] is not a date") from exc


def _lookup(record: Mapping[str, Any], path: str) -> Any:
    node: Any = record
    for part in _ALIASES.get(path.lower(), path).split("/"):
        if not isinstance(node, Mapping):
            return None
        node = next((v for k, v in node.items() if k.lower() == part.lower()), None)
    return node


def _comparable(left: Any, right: Any) -> tuple[Any, Any]:
    if isinstance(right, datetime) and isinstance(left, str):
        return _instant(left), right
    if isinstance(left, str) and isinstance(right, str):
        return left.casefold(), right.casefold()
    return left, right


def _compare(op: str, left: Any, right: Any) -> bool:
    if op in ("=", "!="):
        if right is None or left is None:
            same = left is right
        else:
            a, b = _comparable(left, right)
            same = a == b
        return same if op == "=" else not same
    if left is None or right is None:
        return False
    a, b = _comparable(left, right)
    try:
        return bool(
            {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]  # type: ignore[operator]
        )
    except TypeError:
        return False


class _Parser:
    def __init__(self, tokens: list[_Tok]) -> None:
        self.tokens = tokens
        self.pos = 0

    def peek(self) -> _Tok | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> _Tok:
        tok = self.peek()
        if tok is None:
            raise ConditionError("the condition ends too early")
        self.pos += 1
        return tok

    def keyword(self, *words: str) -> bool:
        tok = self.peek()
        if tok is not None and tok.kind == "word" and tok.text.lower() in words:
            self.pos += 1
            return True
        return False

    def expression(self) -> Predicate:
        terms = [self.conjunction()]
        while self.keyword("or"):
            terms.append(self.conjunction())
        return terms[0] if len(terms) == 1 else (lambda r: any(t(r) for t in terms))

    def conjunction(self) -> Predicate:
        terms = [self.primary()]
        while self.keyword("and"):
            terms.append(self.primary())
        return terms[0] if len(terms) == 1 else (lambda r: all(t(r) for t in terms))

    def primary(self) -> Predicate:
        tok = self.peek()
        if tok is not None and tok.text == "(":
            self.take()
            inner = self.expression()
            if self.take().text != ")":
                raise ConditionError("a parenthesis is not closed")
            return inner
        return self.comparison()

    def comparison(self) -> Predicate:
        field = self.take()
        if field.kind != "word":
            raise ConditionError(f"{field.text!r} is not a field")
        path = field.text
        negate = self.keyword("not")
        if self.keyword("in"):
            values = self.listing()
            wanted = {_comparable(v, v)[0] for v in values}
            return lambda r: (_comparable(_lookup(r, path), "")[0] in wanted) != negate
        if negate:
            raise ConditionError("'not' must be followed by 'in'")
        if self.keyword("like"):
            pattern = self.take()
            text = str(_value(pattern))
            regex = re.compile(
                "^" + ".*".join(re.escape(p) for p in text.split("%")) + "$", re.I | re.S
            )
            return lambda r: bool(regex.match(str(_lookup(r, path) or "")))
        if self.keyword("contains"):
            needle = str(_value(self.take())).casefold()
            return lambda r: needle in str(_lookup(r, path) or "").casefold()
        op = self.take()
        if op.kind != "op":
            raise ConditionError(f"{op.text!r} is not an operator")
        value = _value(self.take())
        return lambda r: _compare(op.text, _lookup(r, path), value)

    def listing(self) -> list[Any]:
        if self.take().text != "(":
            raise ConditionError("'in' needs a list in parentheses")
        values: list[Any] = []
        while True:
            values.append(_value(self.take()))
            sep = self.take().text
            if sep == ")":
                return values
            if sep != ",":
                raise ConditionError("list items are separated by commas")


def parse_conditions(text: str | None) -> Predicate:
    """A predicate over records (JSON objects) for a ``conditions`` string; empty: all."""
    if text is None or not text.strip():
        return lambda record: True
    parser = _Parser(_tokens(text))
    predicate = parser.expression()
    if parser.peek() is not None:
        raise ConditionError(f"unexpected {parser.peek().text!r}")  # type: ignore[union-attr]
    return predicate
