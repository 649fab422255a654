"""The SOQL subset the sandbox understands: what the adapter's builders emit, parsed strictly.

``SELECT <fields incl. one-level relationship paths> FROM <object> [WHERE <cond> [AND <cond>]…]
[ORDER BY <field> [ASC|DESC] [NULLS FIRST|LAST], …] [LIMIT n]`` where a condition is
``<field> <op> <literal>`` (``= != < <= > >=``) or ``<field> IN (<literal>, …)``. Literals are quoted
strings (with SOQL escapes), datetimes, dates, numbers, ``true``/``false``/``null``. Anything else is a
``MALFORMED_QUERY``, as on a real org.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from .sandbox_records import format_datetime, parse_datetime


class SoqlError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Condition:
    field: str
    op: str
    values: tuple[Any, ...]


@dataclass
class Query:
    fields: list[str]
    object: str
    where: list[Condition] = field(default_factory=list)
    order_by: list[tuple[str, bool, bool]] = field(default_factory=list)  # (field, descending, nulls_last)
    limit: int | None = None


_TOKEN = re.compile(
    r"""\s*(?:
      (?P<string>'(?:[^'\\]|\\.)*')
    | (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?(?:Z|[+-]\d{2}:?\d{2}))
    | (?P<date>\d{4}-\d{2}-\d{2})
    | (?P<number>-?\d+(?:\.\d+)?)
    | (?P<op>>=|<=|!=|<>|=|>|<)
    | (?P<punct>[(),])
    | (?P<name>[A-Za-z][A-Za-z0-9_]*(?:\.[A-Za-z][A-Za-z0-9_]*)*)
    )""",
    re.VERBOSE,
)
_UNESCAPE = {
    "n": "\n",
    "N": "\n",
    "r": "\r",
    "R": "\r",
    "t": "\t",
    "T": "\t",
    "b": "\b",
    "B": "\b",
    "f": "\f",
    "F": "\f",
    '"': '"',
    "'": "'",
    "\\": "\\",
}


def _tokens(soql: str) -> list[tuple[str, str]]:
    tokens = []
    position = 0
    text = soql.rstrip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if not match or match.end() == position:
            raise SoqlError(
                "MALFORMED_QUERY",
                f"unexpected token at position {position}: {text[position : position + 20]!r}",
            )
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        position = match.end()
    return tokens


def _unquote(literal: str) -> str:
    out = []
    body = literal[1:-1]
    index = 0
    while index < len(body):
        char = body[index]
        if char == "\\":
            index += 1
            nxt = body[index]
            if nxt == "u" and re.fullmatch(r"[0-9a-fA-F]{4}", body[index + 1 : index + 5]):
                out.append(chr(int(body[index + 1 : index + 5], 16)))
                index += 5
                continue
            if nxt not in _UNESCAPE:
                raise SoqlError("MALFORMED_QUERY", f"invalid escape sequence \\{nxt}")
            out.append(_UNESCAPE[nxt])
        else:
            out.append(char)
        index += 1
    return "".join(out)


class _Parser:
    def __init__(self, soql: str) -> None:
        self.tokens = _tokens(soql)
        self.position = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise SoqlError("MALFORMED_QUERY", "unexpected end of query")
        self.position += 1
        return token

    def keyword(self, word: str) -> bool:
        token = self.peek()
        if token and token[0] == "name" and token[1].upper() == word:
            self.position += 1
            return True
        return False

    def expect_keyword(self, word: str) -> None:
        if not self.keyword(word):
            raise SoqlError("MALFORMED_QUERY", f"expecting {word}")

    def name(self) -> str:
        kind, value = self.take()
        if kind != "name":
            raise SoqlError("MALFORMED_QUERY", f"expecting a field name, found {value!r}")
        return value

    def literal(self) -> Any:
        kind, value = self.take()
        if kind == "string":
            return _unquote(value)
        if kind == "datetime":
            return format_datetime(parse_datetime(value))
        if kind == "date":
            return value
        if kind == "number":
            return float(value)
        if kind == "name" and value.lower() in ("true", "false"):
            return value.lower() == "true"
        if kind == "name" and value.lower() == "null":
            return None
        raise SoqlError("MALFORMED_QUERY", f"expecting a literal, found {value!r}")

    def parse(self) -> Query:
        self.expect_keyword("SELECT")
        fields = [self.name()]
        while self.peek() == ("punct", ","):
            self.take()
            fields.append(self.name())
        self.expect_keyword("FROM")
        query = Query(fields=fields, object=self.name())
        if self.keyword("WHERE"):
            query.where.append(self.condition())
            while self.keyword("AND"):
                query.where.append(self.condition())
        if self.keyword("ORDER"):
            self.expect_keyword("BY")
            query.order_by.append(self.order_item())
            while self.peek() == ("punct", ","):
                self.take()
                query.order_by.append(self.order_item())
        if self.keyword("LIMIT"):
            kind, value = self.take()
            if kind != "number" or not value.isdigit():
                raise SoqlError("MALFORMED_QUERY", "LIMIT needs a non-negative integer")
            query.limit = int(value)
        if self.peek() is not None:
            raise SoqlError("MALFORMED_QUERY", f"unexpected token {self.peek()[1]!r}")  # type: ignore[index]
        return query

    def condition(self) -> Condition:
        name = self.name()
        if self.keyword("IN"):
            if self.take() != ("punct", "("):
                raise SoqlError("MALFORMED_QUERY", "expecting ( after IN")
            values = [self.literal()]
            while self.peek() == ("punct", ","):
                self.take()
                values.append(self.literal())
            if self.take() != ("punct", ")"):
                raise SoqlError("MALFORMED_QUERY", "expecting ) to close IN")
            return Condition(name, "IN", tuple(values))
        kind, op = self.take()
        if kind != "op":
            raise SoqlError("MALFORMED_QUERY", f"expecting an operator after {name}")
        return Condition(name, "!=" if op == "<>" else op, (self.literal(),))

    def order_item(self) -> tuple[str, bool, bool]:
        name = self.name()
        descending = False
        if self.keyword("DESC"):
            descending = True
        else:
            self.keyword("ASC")
        nulls_last = descending
        if self.keyword("NULLS"):
            if self.keyword("LAST"):
                nulls_last = True
            else:
                self.expect_keyword("FIRST")
                nulls_last = False
        return name, descending, nulls_last


def parse(soql: str) -> Query:
    """Parse ``soql`` or raise ``SoqlError``."""
    return _Parser(soql).parse()


def matches(value: Any, condition: Condition) -> bool:
    """Evaluate one condition on a stored value (REST representation: datetimes compare as strings)."""
    if condition.op == "IN":
        return value in condition.values
    expected = condition.values[0]
    if condition.op == "=":
        return bool(value == expected)
    if condition.op == "!=":
        return bool(value != expected)
    if value is None or expected is None:
        return False
    try:
        if condition.op == ">":
            return bool(value > expected)
        if condition.op == ">=":
            return bool(value >= expected)
        if condition.op == "<":
            return bool(value < expected)
        return bool(value <= expected)
    except TypeError as exc:
        raise SoqlError("INVALID_QUERY_FILTER_OPERATOR", f"cannot compare {condition.field} with that value") from exc
