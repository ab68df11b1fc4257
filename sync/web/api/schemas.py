"""Schemas every resource shares: the one error shape, keyset pages, and the principal."""

from __future__ import annotations

import base64
import binascii
import dataclasses
import json
import types
import typing
from datetime import datetime
from typing import Any

import marshmallow as ma

from sync.errors import Invalid

MAX_LIMIT = 200
MAX_ROW_ID = 2**63 - 1


def row_id(**kwargs) -> ma.fields.Integer:
    """A row id in a query or body: 1 to 2⁶³-1 (a larger number is a 422, never a database overflow)."""
    return ma.fields.Integer(validate=ma.validate.Range(1, MAX_ROW_ID), **kwargs)


class ErrorSchema(ma.Schema):
    """The body of every error the app answers with."""

    error = ma.fields.String(required=True, metadata={"description": "HTTP reason phrase, e.g. `Not Found`"})
    message = ma.fields.String(required=True, metadata={"description": "What went wrong and what to do"})
    status = ma.fields.Integer(required=True, metadata={"description": "HTTP status"})
    errors = ma.fields.Dict(metadata={"description": "Per field (or location): what was expected"})


class PageArgs(ma.Schema):
    """Query arguments of a keyset-paginated list."""

    limit = ma.fields.Integer(load_default=50, validate=ma.validate.Range(1, MAX_LIMIT))
    cursor = ma.fields.String(load_default=None, metadata={"description": "`next` of the previous page"})


def page_schema(item: type[ma.Schema], name: str) -> type[ma.Schema]:
    """A schema of one page of ``item``s: ``{"items": [...], "next": cursor or null}``."""
    return ma.Schema.from_dict({"items": ma.fields.List(ma.fields.Nested(item), required=True),
                                "next": ma.fields.String(allow_none=True, required=True,
                                                         metadata={"description": "cursor of the next page"})},
                               name=name)


def list_schema(item: type[ma.Schema], name: str) -> type[ma.Schema]:
    """A schema of a whole (bounded) list of ``item``s: ``{"items": [...]}``."""
    return ma.Schema.from_dict({"items": ma.fields.List(ma.fields.Nested(item), required=True)}, name=name)


def encode_cursor(position: Any) -> str:
    """An opaque cursor for a position (JSON-able: e.g. the last row's sort key)."""
    return base64.urlsafe_b64encode(json.dumps(position, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> Any:
    """The position a cursor of :func:`encode_cursor` holds (None for none); a foreign cursor is a 422."""
    if cursor is None:
        return None
    try:
        return json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise Invalid("the cursor is not one this API gave", {"cursor": "the `next` of a previous page"}) from None


class PrincipalSchema(ma.Schema):
    """Who a request acts as."""

    name = ma.fields.String(required=True)
    role = ma.fields.String(required=True, metadata={"description": "viewer, operator or admin"})


_DATACLASS_SCHEMAS: dict[type, type[ma.Schema]] = {}


def _field_for(kind: Any, required: bool) -> ma.fields.Field:
    """The marshmallow field of a dataclass field's type (as ``ReportData.as_dict`` renders it)."""
    args = [a for a in typing.get_args(kind) if a is not type(None)]
    nullable = typing.get_origin(kind) in (typing.Union, types.UnionType) and len(args) < len(typing.get_args(kind))
    if nullable:
        kind = args[0]
    options: dict[str, Any] = {"required": required, "allow_none": nullable}
    origin = typing.get_origin(kind)
    if origin in (tuple, list):
        return ma.fields.List(_field_for(typing.get_args(kind)[0], True), **options)
    if origin is dict:
        return ma.fields.Dict(keys=ma.fields.String(), values=_field_for(typing.get_args(kind)[1], True), **options)
    if dataclasses.is_dataclass(kind):
        return ma.fields.Nested(dataclass_schema(kind), **options)
    if kind is datetime:
        return ma.fields.String(**options, metadata={"format": "date-time"})
    simple = {str: ma.fields.String, int: ma.fields.Integer, float: ma.fields.Float, bool: ma.fields.Boolean}
    return simple.get(kind, ma.fields.Raw)(**options)


def dataclass_schema(cls: type) -> type[ma.Schema]:
    """A response schema for a dataclass's ``as_dict()``, one per class and named after it.

    The reports' shapes are written once, in their dataclasses, and documented from there.
    """
    if cls not in _DATACLASS_SCHEMAS:
        hints = typing.get_type_hints(cls)
        _DATACLASS_SCHEMAS[cls] = ma.Schema.from_dict(
            {f.name: _field_for(hints[f.name], True) for f in dataclasses.fields(cls)}, name=cls.__name__)
    return _DATACLASS_SCHEMAS[cls]
