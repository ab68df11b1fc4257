"""The mapping file format: marshmallow schemas that load into the specs of ``sync.mappings.specs``.

Top-level keys: ``source``, ``object``, ``record_id`` (required), ``modified_at``,
``deleted``, ``creates_contacts`` (default true; false: the record only adds to a contact
that one of its identities already names), ``identities`` (field specs plus ``kind``), ``fields`` (name → field spec),
``consent`` (purpose → field spec whose value is true (granted), false (withdrawn) or
null (unknown)), ``stage``, ``touchpoints``, ``activities``, ``conversions``. A field spec is a path string
or a mapping with exactly one of ``path`` / ``paths`` / ``constant``, plus ``transforms``,
``default`` and ``when`` (``{path, equals|in|present}``); under ``fields``, ``consent`` and ``stage``
also ``direction`` (in, out, both) and ``out_path``. Unknown keys are errors everywhere.
Paths are compiled and transforms bound (arguments checked) while loading, so a loaded
``Mapping`` never fails on its own syntax.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from marshmallow import RAISE, Schema, ValidationError, fields, post_load, validate, validates_schema

from sync.mappings.paths import Path, PathSyntaxError, compile_path
from sync.mappings.specs import (
    ADJUSTMENTS,
    ActivitySpec,
    Condition,
    ConversionSpec,
    FieldSpec,
    IdentitySpec,
    TouchpointSpec,
)
from sync.mappings.transforms import BoundTransform, bind

DIRECTIONS = ("in", "out", "both")
_NAME = re.compile(r"[a-z][a-z0-9_]*")


# ---- custom fields ---------------------------------------------------------------------


class _Field(fields.Field):
    default_error_messages: ClassVar[dict[str, str]] = {
        "required": "required key is missing", "null": "expected a value, not null"}


class PathField(_Field):
    """A path string, compiled; ``plain=True`` allows only dict keys (for out_path)."""

    def __init__(self, *, plain: bool = False, **kwargs: Any):
        self.plain = plain
        super().__init__(**kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Path:
        if not isinstance(value, str):
            raise ValidationError("expected a path string such as properties.email")
        try:
            path = compile_path(value)
        except PathSyntaxError as exc:
            raise ValidationError(f"invalid path {value!r}: {exc}") from None
        if self.plain and not path.is_plain:
            raise ValidationError(f"out_path {value!r} must contain only plain keys (no [..] steps)")
        return path


def _bind_item(item: Any) -> BoundTransform:
    if isinstance(item, str):
        return bind(item)
    if isinstance(item, dict) and len(item) == 1:
        ((name, args),) = item.items()
        if isinstance(name, str) and isinstance(args, dict | None):
            return bind(name, args)
    raise ValueError("expected a transform name or a one-key mapping {name: {argument: value}}")


class TransformsField(_Field):
    """A list of transform names / one-key ``{name: {args}}`` mappings, bound at load."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> tuple:
        if not isinstance(value, list):
            raise ValidationError("expected a list of transforms, e.g. [strip, lower]")
        bound, errors = [], {}
        for index, item in enumerate(value):
            try:
                bound.append(_bind_item(item))
            except ValueError as exc:
                errors[index] = [str(exc)]
        if errors:
            raise ValidationError(errors)
        return tuple(bound)


class SpecField(_Field):
    """A field spec: a path string, or a mapping with path / paths / constant."""

    def __init__(self, *, directed: bool = False, **kwargs: Any):
        self.directed = directed
        super().__init__(**kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> FieldSpec:
        if isinstance(value, str):
            return FieldSpec(paths=(PathField()._deserialize(value, attr, data),))
        if not isinstance(value, dict):
            raise ValidationError("expected a path string or a mapping with path, paths or constant")
        try:
            return (DirectedSpecSchema() if self.directed else SpecSchema()).load(value)
        except ValidationError as exc:
            raise ValidationError(exc.messages) from None


class SpecMapField(_Field):
    """A mapping of names to field specs (``fields``, ``click_ids``, ``extra``)."""

    def __init__(self, *, directed: bool = False, names: re.Pattern[str] | None = None,
                 example: str = "first_name", **kwargs: Any):
        self.spec, self.names, self.example = SpecField(directed=directed), names, example
        super().__init__(**kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> tuple:
        if not isinstance(value, dict):
            raise ValidationError("expected a mapping of name: field spec")
        out, errors = [], {}
        for name, raw in value.items():
            try:
                if not isinstance(name, str) or (self.names and not self.names.fullmatch(name)):
                    raise ValidationError(f"names must be lowercase letters, digits and _, e.g. {self.example}")
                out.append((name, self.spec._deserialize(raw, attr, data)))
            except ValidationError as exc:
                errors[name] = exc.messages
        if errors:
            raise ValidationError(errors)
        return tuple(out)


# ---- schemas ---------------------------------------------------------------------------

_NOT_NULL = {"null": "expected a mapping, not null"}
_REQUIRED = {"required": "required key is missing", "null": "expected a value, not null",
             "invalid": "expected text"}


def _scalar(value: Any) -> None:
    if isinstance(value, dict | list):
        raise ValidationError("expected a single value (text, number, true/false or null)")


class _Strict(Schema):
    class Meta:
        unknown = RAISE


def _expect(cls: type[Schema]) -> type[Schema]:
    """Make the unknown-key and wrong-type messages list the keys the schema accepts."""
    keys = ", ".join(sorted(f.data_key or name for name, f in cls._declared_fields.items()))
    cls.error_messages = {"unknown": f"unknown key; expected one of: {keys}", "type": f"expected a mapping with {keys}"}
    return cls


@_expect
class ConditionSchema(_Strict):
    """``when``: ``{path, equals}``, ``{path, in}`` or ``{path, present}``."""

    path = PathField(required=True)
    equals = fields.Raw(allow_none=True, validate=_scalar)
    in_ = fields.List(fields.Raw(allow_none=True), data_key="in", error_messages={"invalid": "expected a list"})
    present = fields.Boolean(truthy={True}, falsy={False}, error_messages={"invalid": "expected true or false"})

    @validates_schema
    def _one_test(self, data: dict[str, Any], **kwargs: Any) -> None:
        if len([k for k in ("equals", "in_", "present") if k in data]) != 1:
            raise ValidationError("expected exactly one of equals, in or present")

    @post_load
    def make(self, data: dict[str, Any], **kwargs: Any) -> Condition:
        """Build the Condition."""
        op = next(k for k in ("equals", "in_", "present") if k in data)
        return Condition(data["path"], op.rstrip("_"), data[op])


@_expect
class SpecSchema(_Strict):
    """A field spec written as a mapping."""

    path = PathField()
    paths = fields.List(PathField(), validate=validate.Length(min=1, error="expected at least one path"),
                        error_messages={"invalid": "expected a list of paths"})
    constant = fields.Raw(allow_none=True, validate=_scalar)
    transforms = TransformsField()
    default = fields.Raw(allow_none=True, validate=_scalar)
    when = fields.Nested(ConditionSchema, error_messages=_NOT_NULL)

    @validates_schema
    def _one_source(self, data: dict[str, Any], **kwargs: Any) -> None:
        if len([k for k in ("path", "paths", "constant") if k in data]) != 1:
            raise ValidationError("expected exactly one of path, paths or constant")

    def spec(self, data: dict[str, Any]) -> dict[str, Any]:
        """Keyword arguments for FieldSpec."""
        paths = (data["path"],) if "path" in data else tuple(data.get("paths", ()))
        return {
            "paths": paths, "constant": data.get("constant"), "is_constant": "constant" in data,
            "transforms": data.get("transforms", ()), "default": data.get("default"), "when": data.get("when"),
        }

    @post_load
    def make(self, data: dict[str, Any], **kwargs: Any) -> Any:
        """Build the FieldSpec."""
        return FieldSpec(**self.spec(data))


@_expect
class DirectedSpecSchema(SpecSchema):
    """A spec under ``fields``/``stage``: adds ``direction`` and ``out_path``."""

    direction = fields.String(validate=validate.OneOf(DIRECTIONS, error="expected in, out or both"),
                              error_messages={"invalid": "expected in, out or both"})
    out_path = PathField(plain=True)

    @validates_schema
    def _writable(self, data: dict[str, Any], **kwargs: Any) -> None:
        direction = data.get("direction", "in")
        if direction == "in":
            return
        stuck = [t.name for t in data.get("transforms", ()) if not t.reversible]
        if stuck:
            raise ValidationError(
                f"direction {direction} needs reversible transforms; {', '.join(stuck)} cannot be reversed "
                "(use direction: in, or drop the transform)", "transforms")
        if "out_path" in data:
            return
        first = data["path"] if "path" in data else (data.get("paths") or [None])[0]
        if first is None:
            raise ValidationError(f"direction {direction} with a constant needs an out_path", "direction")
        if not first.is_plain:
            raise ValidationError(f"direction {direction}: path {first} has [..] steps; set an out_path "
                                  "with plain keys", "out_path")

    @post_load
    def make(self, data: dict[str, Any], **kwargs: Any) -> Any:
        """Build the FieldSpec with its direction."""
        return FieldSpec(**self.spec(data), direction=data.get("direction", "in"), out_path=data.get("out_path"))


@_expect
class IdentitySchema(SpecSchema):
    """An entry under ``identities``: a field spec plus ``kind``."""

    kind = fields.String(required=True, validate=validate.Regexp(_NAME, error="expected a lowercase kind "
                         "such as email, phone or hubspot"), error_messages=_REQUIRED)

    @post_load
    def make(self, data: dict[str, Any], **kwargs: Any) -> Any:
        """Build the IdentitySpec."""
        return IdentitySpec(data["kind"], FieldSpec(**self.spec(data)))


def _required_spec() -> SpecField:
    return SpecField(required=True)


@_expect
class TouchpointSchema(_Strict):
    """An entry under ``touchpoints``."""

    when = fields.Nested(ConditionSchema, error_messages=_NOT_NULL)
    channel = _required_spec()
    network, campaign_id, adset_id, ad_id = SpecField(), SpecField(), SpecField(), SpecField()
    occurred_at, referral_url, headline = SpecField(), SpecField(), SpecField()
    click_ids, extra = SpecMapField(), SpecMapField()

    @post_load
    def make(self, data: dict[str, Any], **kwargs: Any) -> TouchpointSpec:
        """Build the TouchpointSpec."""
        return TouchpointSpec(**data)


@_expect
class ActivitySchema(_Strict):
    """An entry under ``activities``."""

    when = fields.Nested(ConditionSchema, error_messages=_NOT_NULL)
    channel, direction, occurred_at = _required_spec(), _required_spec(), _required_spec()
    external_id, conversation_id = SpecField(), SpecField()

    @post_load
    def make(self, data: dict[str, Any], **kwargs: Any) -> ActivitySpec:
        """Build the ActivitySpec."""
        return ActivitySpec(**data)


@_expect
class ConversionSchema(_Strict):
    """An entry under ``conversions``; with ``adjust`` (retract, restate) an adjustment of an earlier one.

    An adjustment finds its conversion by kind and order id, so it needs ``order_id``; a
    restatement needs the new ``value``.
    """

    when = fields.Nested(ConditionSchema, error_messages=_NOT_NULL)
    kind = _required_spec()
    occurred_at, value, currency, order_id = SpecField(), SpecField(), SpecField(), SpecField()
    adjust = fields.String(validate=validate.OneOf(ADJUSTMENTS, error="expected retract or restate"),
                           error_messages={"invalid": "expected retract or restate", "null": "expected retract or "
                                                                                             "restate, not null"})

    @validates_schema
    def _adjustment(self, data: dict[str, Any], **kwargs: Any) -> None:
        adjust = data.get("adjust")
        if adjust is None:
            return
        if "order_id" not in data:
            raise ValidationError(f"adjust: {adjust} finds the conversion it adjusts by kind and order id; add "
                                  "order_id (the order or deal number the original conversion carries)", "order_id")
        if adjust == "restate" and "value" not in data:
            raise ValidationError("adjust: restate sets the conversion's new value; add value", "value")

    @post_load
    def make(self, data: dict[str, Any], **kwargs: Any) -> ConversionSpec:
        """Build the ConversionSpec."""
        return ConversionSpec(**data)


def _list_of(schema: type[Schema]) -> fields.List:
    return fields.List(fields.Nested(schema, error_messages=_NOT_NULL), error_messages={
        "invalid": "expected a list", "null": "expected a list, not null"})


@_expect
class MappingSchema(_Strict):
    """A whole mapping file; loads into the keyword arguments of ``Mapping`` (less name/file)."""

    source = fields.String(required=True, error_messages=_REQUIRED, validate=validate.Regexp(
        _NAME, error="expected a lowercase system name such as hubspot"))
    object = fields.String(required=True, error_messages=_REQUIRED,
                           validate=validate.Length(min=1, error="expected the vendor's object name"))
    record_id = _required_spec()
    modified_at, deleted = SpecField(), SpecField()
    creates_contacts = fields.Boolean(load_default=True, error_messages={"invalid": "expected true or false"})
    identities = _list_of(IdentitySchema)
    fields_ = SpecMapField(directed=True, names=_NAME, data_key="fields")
    consent = SpecMapField(directed=True, names=_NAME, example="marketing_email")
    stage = SpecField(directed=True)
    touchpoints = _list_of(TouchpointSchema)
    activities = _list_of(ActivitySchema)
    conversions = _list_of(ConversionSchema)

    @validates_schema
    def _adjustments_have_a_time(self, data: dict[str, Any], **kwargs: Any) -> None:
        if "modified_at" in data:
            return
        timeless = {index: {"occurred_at": ["an adjustment needs a time: add occurred_at here, or modified_at to "
                                            "the mapping"]}
                    for index, spec in enumerate(data.get("conversions") or ())
                    if isinstance(spec, ConversionSpec) and spec.adjust and spec.occurred_at is None}
        if timeless:
            raise ValidationError({"conversions": timeless})

    @post_load
    def make(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        """Tuples for the list sections, ready for ``Mapping(name=..., file=..., **data)``."""
        if "fields_" in data:
            data["fields"] = data.pop("fields_")
        for key in ("identities", "touchpoints", "activities", "conversions"):
            if key in data:
                data[key] = tuple(data[key])
        return data
