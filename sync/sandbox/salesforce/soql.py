"""A SOQL subset for the Salesforce sandbox: parse, bind to a schema, then filter and sort rows.

Grammar (keywords case-insensitive)::

    SELECT field, Rel.Field, ... | COUNT()  FROM Object
    [WHERE cond] [ORDER BY field [ASC|DESC] [NULLS FIRST|LAST], ...] [LIMIT n]
    cond  := term (AND term)* | term (OR term)*      -- mixing AND and OR needs parentheses, as in SOQL
    term  := NOT term | ( cond ) | field op literal | field [NOT] IN (literal, ...) | field LIKE 'pat'
    op    := = != <> < <= > >=
    literal := 'string' (backslash escapes) | number | true | false | null
             | 2026-11-27T10:00:00Z | 2026-11-27T10:00:00.000+0000 | 2026-11-27

Binding checks names against the object's fields and relationships and checks that a literal
has its field's type (a quoted datetime is an error, as it is in Salesforce). Errors carry
Salesforce's codes (``MALFORMED_QUERY``, ``INVALID_FIELD``, ``INVALID_TYPE``) and its
"ERROR at Row:1:Column:N" message shape. ``salesforce_soql`` filters and sorts rows by a bound
query.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import Any

KEYWORDS = frozenset({"SELECT", "FROM", "WHERE", "AND", "OR", "NOT", "IN", "LIKE", "ORDER", "BY", "ASC", "DESC",
                      "NULLS", "FIRST", "LAST", "LIMIT", "COUNT", "TRUE", "FALSE", "NULL"})
_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<string>'(?:[^'\\]|\\.)*')
  | (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?(?:Z|[+-]\d{2}:?\d{2}))
  | (?P<date>\d{4}-\d{2}-\d{2})
  | (?P<number>[+-]?\d+(?:\.\d+)?)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
  | (?P<op><=|>=|!=|<>|=|<|>)
  | (?P<punct>[(),])
""", re.VERBOSE)
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "'": "'", '"': '"', "\\": "\\"}
_EXPECTED = {"string": ("string", True), "id": ("id", True), "datetime": ("dateTime", False),
             "date": ("date", False), "boolean": ("boolean", False), "number": ("double", False)}


class SoqlError(Exception):
    """A query Salesforce would refuse: ``code`` is its errorCode, ``str()`` its message."""

    def __init__(self, code: str, message: str, text: str = "", pos: int | None = None) -> None:
        if text and pos is not None:
            line_start = text.rfind("\n", 0, pos) + 1
            line_end = text.find("\n", pos)
            line = text[line_start:None if line_end < 0 else line_end]
            row, col = text.count("\n", 0, pos) + 1, pos - line_start
            message = f"\n{line}\n{' ' * col}^\nERROR at Row:{row}:Column:{col + 1}\n{message}"
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Column:
    """A queryable field: its API name and SOQL kind (string, id, boolean, datetime, date, number)."""

    name: str
    kind: str


@dataclass(frozen=True)
class Entity:
    """An object as the binder sees it; keys of both maps are lower case."""

    name: str
    columns: Mapping[str, Column]
    relationships: Mapping[str, tuple[str, str, str]]  # rel → (Relationship, ReferenceFieldId, TargetObject)


@dataclass(frozen=True)
class FieldRef:
    """A field in a query: ``path`` as Salesforce names it (``Account.Name``); bound refs know their kind."""

    path: str
    pos: int = 0
    field: str = ""
    kind: str = ""
    relationship: str | None = None
    reference: str | None = None
    target: str | None = None


@dataclass(frozen=True)
class Compare:
    """``field op value``."""

    field: FieldRef
    op: str
    value: Any
    pos: int


@dataclass(frozen=True)
class InList:
    """``field [NOT] IN (values)``."""

    field: FieldRef
    values: tuple[Any, ...]
    negate: bool
    pos: int


@dataclass(frozen=True)
class Like:
    """``field LIKE 'pattern'``."""

    field: FieldRef
    pattern: str
    pos: int


@dataclass(frozen=True)
class BoolOp:
    """``a AND b AND …`` or ``a OR b OR …``."""

    op: str
    items: tuple[Cond, ...]


@dataclass(frozen=True)
class Not:
    """``NOT cond``."""

    item: Cond


Cond = Compare | InList | Like | BoolOp | Not


@dataclass(frozen=True)
class Order:
    """One ORDER BY key."""

    field: FieldRef
    descending: bool = False
    nulls_first: bool = True  # Salesforce's default, whatever the direction


@dataclass(frozen=True)
class Query:
    """A parsed (and, after ``bind``, resolved) query."""

    text: str
    sobject: str
    sobject_pos: int
    fields: tuple[FieldRef, ...]
    count: bool
    where: Cond | None
    order: tuple[Order, ...]
    limit: int | None


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str
    value: Any
    pos: int


def _lex(text: str) -> list[_Token]:
    tokens, pos = [], 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match:
            raise SoqlError("MALFORMED_QUERY", f"unexpected token: '{text[pos:].split()[0][:40]}'", text, pos)
        kind, raw = match.lastgroup or "", match.group()
        if kind != "ws":
            tokens.append(_Token(kind, raw, _literal_value(kind, raw), pos))
        pos = match.end()
    tokens.append(_Token("eof", "", None, len(text)))
    return tokens


def _literal_value(kind: str, raw: str) -> Any:
    if kind == "string":
        # \% and \_ stay escaped: they only mean something to LIKE
        return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), "\\" + m.group(1)), raw[1:-1])
    if kind == "number":
        return float(raw) if "." in raw else int(raw)
    if kind == "datetime":
        value = datetime.fromisoformat(raw)
        return value.astimezone(UTC)
    if kind == "date":
        return date.fromisoformat(raw)
    return None


class _Parser:
    def __init__(self, text: str) -> None:
        self.text, self.tokens, self.i = text, _lex(text), 0

    def peek(self, ahead: int = 0) -> _Token:
        return self.tokens[min(self.i + ahead, len(self.tokens) - 1)]

    def take(self) -> _Token:
        token = self.peek()
        self.i += 1
        return token

    def is_keyword(self, *words: str, ahead: int = 0) -> bool:
        token = self.peek(ahead)
        return token.kind == "name" and token.text.upper() in words

    def keyword(self, *words: str) -> bool:
        if self.is_keyword(*words):
            self.i += 1
            return True
        return False

    def fail(self, token: _Token | None = None, message: str = "") -> SoqlError:
        token = token or self.peek()
        shown = token.text or "<EOF>"
        return SoqlError("MALFORMED_QUERY", message or f"unexpected token: '{shown}'", self.text, token.pos)

    def expect(self, text: str) -> _Token:
        token = self.take()
        if token.text.upper() != text:
            raise self.fail(token)
        return token

    def field(self) -> FieldRef:
        token = self.take()
        if token.kind != "name" or token.text.upper() in KEYWORDS:
            raise self.fail(token)
        return FieldRef(token.text, token.pos)

    def query(self) -> Query:
        self.expect("SELECT")
        count, fields = False, []
        if self.is_keyword("COUNT") and self.peek(1).text == "(":
            self.i += 1
            self.expect("(")
            self.expect(")")
            count = True
        else:
            fields.append(self.field())
            while self.peek().text == ",":
                self.i += 1
                fields.append(self.field())
        self.expect("FROM")
        sobject = self.take()
        if sobject.kind != "name" or "." in sobject.text or sobject.text.upper() in KEYWORDS:
            raise self.fail(sobject)
        where = self.condition() if self.keyword("WHERE") else None
        order: list[Order] = []
        if self.keyword("ORDER"):
            self.expect("BY")
            order.append(self.order_key())
            while self.peek().text == ",":
                self.i += 1
                order.append(self.order_key())
        limit = None
        if self.keyword("LIMIT"):
            token = self.take()
            if token.kind != "number" or not isinstance(token.value, int) or token.value < 0:
                raise self.fail(token)
            limit = token.value
        if self.peek().kind != "eof":
            raise self.fail()
        return Query(self.text, sobject.text, sobject.pos, tuple(fields), count, where, tuple(order), limit)

    def order_key(self) -> Order:
        field = self.field()
        descending = self.keyword("DESC")
        if not descending:
            self.keyword("ASC")
        nulls_first = True
        if self.keyword("NULLS"):
            if not self.is_keyword("FIRST", "LAST"):
                raise self.fail()
            nulls_first = self.take().text.upper() == "FIRST"
        return Order(field, descending, nulls_first)

    def condition(self) -> Cond:
        items, joiner = [self.term()], None
        while self.is_keyword("AND", "OR"):
            word = self.peek().text.upper()
            if joiner and word != joiner:  # SOQL refuses "a AND b OR c" without parentheses
                raise self.fail()
            joiner = word
            self.i += 1
            items.append(self.term())
        return items[0] if joiner is None else BoolOp(joiner, tuple(items))

    def term(self) -> Cond:
        if self.keyword("NOT"):
            return Not(self.term())
        if self.peek().text == "(":
            self.i += 1
            inner = self.condition()
            self.expect(")")
            return inner
        field = self.field()
        token = self.peek()
        if self.keyword("NOT"):
            if not self.keyword("IN"):
                raise self.fail()
            return InList(field, self.literal_list(), True, token.pos)
        if self.keyword("IN"):
            return InList(field, self.literal_list(), False, token.pos)
        if self.keyword("LIKE"):
            value = self.take()
            if value.kind != "string":
                raise self.fail(value)
            return Like(field, value.value, value.pos)
        if token.kind != "op":
            raise self.fail()
        self.i += 1
        op = "!=" if token.text == "<>" else token.text
        value_pos = self.peek().pos
        return Compare(field, op, self.literal(), value_pos)

    def literal_list(self) -> tuple[Any, ...]:
        self.expect("(")
        values = [self.literal()]
        while self.peek().text == ",":
            self.i += 1
            values.append(self.literal())
        self.expect(")")
        return tuple(values)

    def literal(self) -> Any:
        token = self.take()
        if token.kind in ("string", "number", "datetime", "date"):
            return token.value
        if token.kind == "name" and token.text.upper() in ("TRUE", "FALSE", "NULL"):
            return {"TRUE": True, "FALSE": False, "NULL": None}[token.text.upper()]
        raise self.fail(token)


def parse(text: str, catalog: Mapping[str, Entity] | None = None) -> Query:
    """Parse ``text``; with a ``catalog``, also resolve names and check literal types (see ``bind``)."""
    query = _Parser(text).query()
    return bind(query, catalog) if catalog is not None else query


# --- binding -------------------------------------------------------------------------------------

def bind(query: Query, catalog: Mapping[str, Entity]) -> Query:
    """Resolve the object and every field against ``catalog`` (lower-case object name → Entity)."""
    entity = catalog.get(query.sobject.lower())
    if entity is None:
        raise SoqlError("INVALID_TYPE", f"sObject type '{query.sobject}' is not supported. If you are attempting "
                        "to use a custom object, be sure to append the '__c' after the entity name. Please "
                        "reference your WSDL or the describe call for the appropriate names.",
                        query.text, query.sobject_pos)

    def resolve(ref: FieldRef) -> FieldRef:
        return _resolve(ref, entity, catalog, query.text)

    fields, seen = [], set()
    for ref in query.fields:
        bound = resolve(ref)
        if bound.path.lower() in seen:
            raise SoqlError("INVALID_FIELD", f"duplicate field selected: {bound.path}", query.text, ref.pos)
        seen.add(bound.path.lower())
        fields.append(bound)
    where = _bind_cond(query.where, resolve, query.text) if query.where is not None else None
    order = tuple(replace(o, field=resolve(o.field)) for o in query.order)
    return replace(query, sobject=entity.name, fields=tuple(fields), where=where, order=order)


def _resolve(ref: FieldRef, entity: Entity, catalog: Mapping[str, Entity], text: str) -> FieldRef:
    parts = ref.path.split(".")
    if len(parts) > 2:
        raise SoqlError("INVALID_FIELD", f"the sandbox follows one relationship level only: '{ref.path}'", text,
                        ref.pos)
    if len(parts) == 2:
        rel = entity.relationships.get(parts[0].lower())
        if rel is None:
            raise SoqlError("INVALID_FIELD", f"Didn't understand relationship '{parts[0]}' in field path. If you "
                            "are attempting to use a custom relationship, be sure to append the '__r' after the "
                            "custom relationship name. Please reference your WSDL or the describe call for the "
                            "appropriate names.", text, ref.pos)
        relationship, reference, target_name = rel
        target = catalog[target_name.lower()]
        column = _column(target, parts[1], text, ref.pos)
        return replace(ref, path=f"{relationship}.{column.name}", field=column.name, kind=column.kind,
                       relationship=relationship, reference=reference, target=target.name)
    column = _column(entity, parts[0], text, ref.pos)
    return replace(ref, path=column.name, field=column.name, kind=column.kind)


def _column(entity: Entity, name: str, text: str, pos: int) -> Column:
    column = entity.columns.get(name.lower())
    if column is None:
        raise SoqlError("INVALID_FIELD", f"No such column '{name}' on entity '{entity.name}'. If you are "
                        "attempting to use a custom field, be sure to append the '__c' after the custom field "
                        "name. Please reference your WSDL or the describe call for the appropriate names.",
                        text, pos)
    return column


def _bind_cond(cond: Cond, resolve: Callable[[FieldRef], FieldRef], text: str) -> Cond:
    if isinstance(cond, BoolOp):
        return BoolOp(cond.op, tuple(_bind_cond(c, resolve, text) for c in cond.items))
    if isinstance(cond, Not):
        return Not(_bind_cond(cond.item, resolve, text))
    field = resolve(cond.field)
    if isinstance(cond, Like):
        if field.kind != "string":
            raise SoqlError("INVALID_FIELD", f"invalid operator on {field.kind} field: LIKE", text, cond.pos)
        return replace(cond, field=field)
    values = cond.values if isinstance(cond, InList) else (cond.value,)
    for value in values:
        _check_literal(field, value, text, cond.pos)
    return replace(cond, field=field)


def _check_literal(field: FieldRef, value: Any, text: str, pos: int) -> None:
    kind = field.kind
    ok = (value is None
          or (kind in ("string", "id") and isinstance(value, str))
          or (kind == "boolean" and isinstance(value, bool))
          or (kind == "datetime" and isinstance(value, datetime))
          or (kind == "date" and isinstance(value, date) and not isinstance(value, datetime))
          or (kind == "number" and isinstance(value, int | float) and not isinstance(value, bool)))
    if not ok:
        type_name, quoted = _EXPECTED[kind]
        how = "should be enclosed in quotes" if quoted else "should not be enclosed in quotes"
        raise SoqlError("INVALID_FIELD", f"value of filter criterion for field '{field.path}' must be of type "
                        f"{type_name} and {how}", text, pos)
