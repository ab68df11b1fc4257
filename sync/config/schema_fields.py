"""Marshmallow building blocks shared by the config schemas: strict schemas whose unknown-key
errors list the allowed keys, fields with messages ops people understand, name mappings
whose errors are keyed by the name.
"""

from __future__ import annotations

import copy
import difflib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate


def one_of(choices: Iterable[str], what: str) -> validate.OneOf:
    """OneOf validator whose message names the bad value and the choices."""
    return validate.OneOf(tuple(choices), error=f"unknown {what} '{{input}}'; expected one of: {{choices}}")


def name_check(value: str) -> None:
    """A stage or rule name: non-empty, without surrounding spaces."""
    if not value.strip():
        raise ValidationError("must not be empty")
    if value != value.strip():
        raise ValidationError(f"'{value}' has leading or trailing spaces")


def text_field(error_messages: dict[str, str] | None = None, **kwargs: Any) -> fields.String:
    """A String field with messages ops people understand."""
    messages = {"invalid": "expected text", "required": "required", "null": "must not be empty"}
    return fields.String(error_messages={**messages, **(error_messages or {})}, **kwargs)


def list_field(inner: fields.Field, error_messages: dict[str, str] | None = None, **kwargs: Any) -> fields.List:
    """A List field whose type error shows what a list looks like in YAML."""
    messages = {"invalid": "expected a list, e.g. [a, b]", "required": "required",
                "null": "must not be empty"}
    return fields.List(inner, error_messages={**messages, **(error_messages or {})}, **kwargs)


def entries(schema: type[Schema], example: str, **kwargs: Any) -> fields.List:
    """A list of mappings validated by ``schema``; ``example`` shows one entry in YAML."""
    # marshmallow formats messages, hence the doubled braces
    example = example.replace("{", "{{").replace("}", "}}")
    entry = fields.Nested(schema, error_messages={"null": f"expected an entry such as {example}"})
    return list_field(entry, **kwargs)


def names(**kwargs: Any) -> fields.List:
    """A list of names."""
    return list_field(text_field(), **kwargs)


class Strict(Schema):
    """Base schema: unknown keys are errors whose message lists the allowed keys."""

    class Meta:
        unknown = RAISE

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        keys = ", ".join(f.data_key or name for name, f in self.load_fields.items())
        self.error_messages = {
            **self.error_messages,
            "unknown": f"unknown key; expected one of: {keys}",
            "type": f"expected a mapping with keys: {keys}",
        }


class MappingOf(fields.Field):
    """A mapping from names to values of one field type; errors are keyed by the name.

    (marshmallow's ``Dict`` nests value errors under an extra ``value`` key, which would
    show up in the key paths ops people see.)
    """

    def __init__(self, values: fields.Field, **kwargs: Any):
        super().__init__(**kwargs)
        self.values = values

    def _bind_to_schema(self, field_name: str, parent: Any) -> None:
        super()._bind_to_schema(field_name, parent)
        self.values = copy.deepcopy(self.values)
        self.values._bind_to_schema(field_name, self)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> dict[str, Any]:
        if not isinstance(value, Mapping):
            raise ValidationError("expected a mapping of name: settings")
        result: dict[str, Any] = {}
        errors: dict[Any, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str) or not key.strip():
                errors[key] = ["expected a name as key"]
                continue
            try:
                result[key] = self.values.deserialize(item, key, value, **kwargs)
            except ValidationError as err:
                errors[key] = err.messages
        if errors:
            raise ValidationError(errors, valid_data=result)
        return result


def add_error(errors: dict[Any, Any], path: Sequence[Any], message: str) -> None:
    """Put ``message`` at ``path`` of a marshmallow-style error tree (a message is said once per place)."""
    node = errors
    for segment in path[:-1]:
        node = node.setdefault(segment, {})
    messages = node.setdefault(path[-1], [])
    if message not in messages:
        messages.append(message)


def stage_list(active: list[str], lost: list[str]) -> str:
    """Human list of configured stages for error messages."""
    text = f"configured stages: {', '.join(active) or '(none)'}"
    return text + (f"; lost stages: {', '.join(lost)}" if lost else "")


def unknown_name(name: str, known: Iterable[str]) -> str:
    """``unknown stage 'X'`` plus a suggestion when a configured name is close."""
    close = difflib.get_close_matches(name, list(known), n=1)
    return f"unknown stage '{name}'" + (f" (did you mean '{close[0]}'?)" if close else "")
