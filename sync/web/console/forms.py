"""Reading console forms with the ops API's own schemas, so a form and the API accept the same input."""

from __future__ import annotations

from typing import Any

import marshmallow as ma

from sync.errors import RequestError


def load(schema: ma.Schema, data: dict[str, Any]) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """``data`` loaded by ``schema``: (values, {}) or (None, {field: message}) — never an exception."""
    try:
        return schema.load(data), {}
    except ma.ValidationError as exc:
        messages = exc.normalized_messages()
        return None, {field: " ".join(map(str, why)) if isinstance(why, list) else str(why)
                      for field, why in messages.items()}


def refusal(exc: RequestError) -> dict[str, Any]:
    """A service's refusal as form errors: its fields, and its message under ``_``."""
    return {"_": exc.message, **{str(field): str(why) for field, why in exc.errors.items()}}
