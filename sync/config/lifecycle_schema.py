"""Schema of ``config/lifecycle.yaml``: validates the raw YAML data into ``LifecycleConfig``.

Two layers, so one run reports every problem in the file:

- marshmallow schemas check shapes and values (unknown keys are errors at every level,
  phases and rule names come from ``sync.config.types``);
- ``_reference_errors`` checks names that refer to each other (duplicate stages,
  transitions naming unknown stages, ``default_stage``, identity kinds). It reads the raw
  data defensively, so it still runs when parts of the file failed the shape checks.

Both produce marshmallow-style error trees, turned into ``ConfigIssue``s with lines by
``sync.config.yamlload.issues_from_messages``.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any, ClassVar

import phonenumbers
from marshmallow import ValidationError, fields, post_load, validate, validates_schema

from sync.config.automation_schema import automation_errors, build_stale_rules
from sync.config.schema_fields import (
    MappingOf,
    Strict,
    add_error,
    entries,
    list_field,
    name_check,
    names,
    one_of,
    stage_list,
    text_field,
    unknown_name,
)
from sync.config.types import (
    DEFAULT_JUNK_VALUES,
    PHASES,
    SURVIVORSHIP_RULES,
    FieldRule,
    IdentityKind,
    LifecycleConfig,
    LostStageDef,
    StageDef,
    TransitionRule,
)
from sync.config.yamlload import issues_from_messages
from sync.errors import ConfigError, ConfigIssue

TRANSITION_EVENTS = ("stage", "inbound_message", "conversion")
STAGE_GROUPS = ("active", "lost")  # words allowed in transitions[].from besides stage names
BARE_RULES = tuple(r for r in SURVIVORSHIP_RULES if r not in ("priority", "prefer"))
_QUOTE_HINT = 'expected text; quote values such as "null", "0" or "-1"'


def _stage_name_check(value: str) -> None:
    """A stage name; ``active`` and ``lost`` are reserved for transitions[].from."""
    name_check(value)
    if value in STAGE_GROUPS:
        raise ValidationError(f"'{value}' is reserved (it means every {value} stage in transitions)")


def _region_check(value: str) -> None:
    """A two-letter region known to phonenumbers (used to read national phone numbers)."""
    if value.upper() not in phonenumbers.SUPPORTED_REGIONS:
        raise ValidationError(
            f"unknown region '{value}'; expected a two-letter region code such as US, GB, MX"
        )


class _RuleSchema(Strict):
    rule = text_field(required=True, validate=one_of(SURVIVORSHIP_RULES, "rule"))
    sources = names()
    source = text_field()

    @validates_schema
    def _sources_fit_rule(self, data: dict[str, Any], **kwargs: Any) -> None:
        rule, sources, source = data["rule"], data.get("sources"), data.get("source")
        errors: dict[str, list[str]] = {}
        if rule == "priority":
            if not sources:
                errors["sources"] = ["rule priority needs a non-empty list of sources, best first"]
            elif len(set(sources)) != len(sources):
                errors["sources"] = ["a source is listed twice"]
        elif sources is not None:
            errors["sources"] = [f"only rule priority takes sources (this rule is {rule})"]
        if rule == "prefer":
            if not source:
                errors["source"] = ["rule prefer needs the source to prefer, e.g. source: salesforce"]
        elif source is not None:
            errors["source"] = [f"only rule prefer takes source (this rule is {rule})"]
        if errors:
            raise ValidationError(errors)

    @post_load
    def _build(self, data: dict[str, Any], **kwargs: Any) -> FieldRule:
        if data["rule"] == "prefer":
            return FieldRule(rule="prefer", sources=(data["source"],))
        return FieldRule(rule=data["rule"], sources=tuple(data.get("sources", ())))


class RuleEntry(fields.Field):
    """A survivorship rule: ``newest`` / ``first`` / ``max`` / ``min``, or a mapping for the others."""

    default_error_messages: ClassVar[dict[str, str]] = {"null": "expected a rule, found nothing"}

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> FieldRule:
        if isinstance(value, str):
            if value in BARE_RULES:
                return FieldRule(rule=value)
            if value == "priority":
                raise ValidationError(
                    "rule priority needs its sources: write {rule: priority, sources: [a, b]}"
                )
            if value == "prefer":
                raise ValidationError("rule prefer needs its source: write {rule: prefer, source: a}")
            raise ValidationError(
                f"unknown rule '{value}'; expected one of: {', '.join(SURVIVORSHIP_RULES)}"
            )
        if isinstance(value, Mapping):
            try:
                return _RuleSchema().load(value)
            except ValidationError as err:
                raise ValidationError(err.messages) from None
        raise ValidationError(
            f"expected a rule name ({', '.join(BARE_RULES)}) or a mapping such as "
            "{rule: priority, sources: [salesforce, hubspot]}"
        )


class _StageSchema(Strict):
    name = text_field(required=True, validate=_stage_name_check)
    phase = text_field(required=True, validate=one_of(PHASES, "phase"))
    description = text_field(load_default="", allow_none=True)

    @post_load
    def _build(self, data: dict[str, Any], **kwargs: Any) -> StageDef:
        return StageDef(data["name"], data["phase"], data["description"] or "")


class _LostStageSchema(Strict):
    name = text_field(required=True, validate=_stage_name_check)
    description = text_field(load_default="", allow_none=True)

    @post_load
    def _build(self, data: dict[str, Any], **kwargs: Any) -> LostStageDef:
        return LostStageDef(data["name"], data["description"] or "")


class _TransitionSchema(Strict):
    name = text_field(required=True, validate=name_check)
    from_stages = names(
        data_key="from", required=True,
        validate=validate.Length(min=1, error="list at least one stage (or the words active / lost)"),
    )
    on = text_field(load_default="stage", validate=one_of(TRANSITION_EVENTS, "event"))
    to = text_field(load_default=None, allow_none=True)
    sources = names(load_default=())
    kind = text_field(load_default=None, allow_none=True, validate=name_check)
    count = fields.Integer(strict=True, load_default=None, allow_none=True, validate=validate.Range(
        min=1, max=1000, error="expected a whole number between 1 and 1000"),
        error_messages={"invalid": "expected a whole number, e.g. 2 for a second purchase"})

    @validates_schema
    def _conversion_fields(self, data: dict[str, Any], **kwargs: Any) -> None:
        """``kind`` and ``count`` belong to (and ``kind`` is required by) ``on: conversion``."""
        errors: dict[str, list[str]] = {}
        if data.get("on") == "conversion":
            if not data.get("kind"):
                errors["kind"] = ["required when on is conversion: the conversion kind counted, e.g. purchase"]
        else:
            for key in ("kind", "count"):
                if data.get(key) is not None:
                    errors[key] = [f"only rules with on: conversion take {key} (this rule is on: {data.get('on')})"]
        if errors:
            raise ValidationError(errors)

    @post_load
    def _build(self, data: dict[str, Any], **kwargs: Any) -> TransitionRule:
        return TransitionRule(
            name=data["name"], from_stages=tuple(data["from_stages"]), on=data["on"],
            to=data["to"], sources=tuple(data["sources"]), kind=data["kind"], count=data["count"] or 1,
        )


class _SurvivorshipSchema(Strict):
    default = RuleEntry(load_default=FieldRule())
    field_rules = MappingOf(RuleEntry(), data_key="fields", load_default=dict)


class _KindSchema(Strict):
    exclusive = fields.Boolean(load_default=False, error_messages={"invalid": "expected true or false"})
    priority = fields.Integer(
        strict=True, load_default=100, error_messages={"invalid": "expected a whole number"}
    )
    no_merge_if_different = names(load_default=())
    scoped = fields.Boolean(load_default=False, error_messages={"invalid": "expected true or false"})
    per_connection = fields.Boolean(load_default=False, error_messages={"invalid": "expected true or false"})


class _IdentitiesSchema(Strict):
    default_region = text_field(load_default="US", validate=_region_check)
    junk_values = list_field(
        text_field(error_messages={"invalid": _QUOTE_HINT, "null": _QUOTE_HINT}),
        load_default=DEFAULT_JUNK_VALUES,
    )
    kinds = MappingOf(
        fields.Nested(_KindSchema, error_messages={"null": "expected settings such as {{priority: 5}}"}),
        load_default=dict,
    )


class LifecycleSchema(Strict):
    """The whole lifecycle.yaml file; loads into ``LifecycleConfig``."""

    stages = entries(
        _StageSchema, "{name: New Lead, phase: acquisition}", required=True,
        validate=validate.Length(min=1, error="list at least one active stage"),
        error_messages={"required": "required: the ordered list of active stages"},
    )
    lost_stages = entries(_LostStageSchema, "{name: Cold Lead}", load_default=())
    default_stage = text_field(load_default=None, allow_none=True)
    transitions = entries(
        _TransitionSchema, "{name: my-rule, from: [Cold Lead], to: New Lead}", load_default=()
    )
    survivorship = fields.Nested(_SurvivorshipSchema, load_default=dict, allow_none=True)
    identities = fields.Nested(_IdentitiesSchema, load_default=dict, allow_none=True)
    automation = fields.Raw(load_default=None, allow_none=True)  # checked by sync.config.automation_schema

    @validates_schema(skip_on_field_errors=False, pass_original=True)
    def _references(self, data: dict[str, Any], original_data: Any, **kwargs: Any) -> None:

        errors = {**_reference_errors(original_data), **automation_errors(original_data)}
        if errors:
            raise ValidationError(errors)

    @post_load
    def _build(self, data: dict[str, Any], **kwargs: Any) -> LifecycleConfig:

        survivorship = data["survivorship"] or {}
        identities = data["identities"] or {}
        return LifecycleConfig(
            stages=tuple(data["stages"]),
            lost_stages=tuple(data["lost_stages"]),
            transitions=tuple(data["transitions"]),
            field_rules=tuple(survivorship.get("field_rules", {}).items()),
            default_rule=survivorship.get("default", FieldRule()),
            identity_kinds=tuple(
                IdentityKind(
                    name=name, exclusive=kind["exclusive"], priority=kind["priority"],
                    no_merge_if_different=tuple(kind["no_merge_if_different"]), scoped=kind["scoped"],
                    per_connection=kind["per_connection"],
                )
                for name, kind in identities.get("kinds", {}).items()
            ),
            junk_values=tuple(identities.get("junk_values", DEFAULT_JUNK_VALUES)),
            default_region=identities.get("default_region", "US").upper(),
            default_stage=data["default_stage"],
            stale_rules=build_stale_rules(data["automation"]),
        )


def parse_lifecycle(data: Any, file: str, lines: Mapping[str, int]) -> LifecycleConfig:
    """Validate lifecycle.yaml data (from ``load_yaml``); raise ConfigError listing every issue."""
    if data is None:
        raise ConfigError([ConfigIssue(file, "", "file is empty; expected at least a stages: list", 1)])
    try:
        return LifecycleSchema().load(data)
    except ValidationError as err:
        raise ConfigError(issues_from_messages(file, err.messages, lines)) from None


# --- cross-references, checked on the raw data ------------------------------------------


def _items(raw: Mapping[str, Any], key: str) -> list[tuple[int, Mapping[str, Any]]]:
    """(index, entry) for the mapping entries of a list section, skipping malformed ones."""
    value = raw.get(key)
    if not isinstance(value, list):
        return []
    return [(i, item) for i, item in enumerate(value) if isinstance(item, Mapping)]


def _reference_errors(raw: Any) -> dict[Any, Any]:
    """Errors in names that refer to other entries, as a marshmallow-style error tree."""
    errors: dict[Any, Any] = {}

    add = partial(add_error, errors)

    if not isinstance(raw, Mapping):
        return errors
    active: list[str] = []
    lost: list[str] = []
    first_use: dict[str, str] = {}
    for section, seen in (("stages", active), ("lost_stages", lost)):
        for i, item in _items(raw, section):
            name = item.get("name")
            if not isinstance(name, str):
                continue
            if name in first_use:
                add((section, i, "name"),
                    f"duplicate stage name '{name}' (already used at {first_use[name]})")
            else:
                first_use[name] = f"{section}[{i}]"
                seen.append(name)
    known = active + lost
    listing = stage_list(active, lost)

    rule_names: dict[str, int] = {}
    for i, rule in _items(raw, "transitions"):
        name = rule.get("name")
        if isinstance(name, str):
            if name in rule_names:
                add(("transitions", i, "name"),
                    f"duplicate rule name '{name}' (already used at transitions[{rule_names[name]}])")
            rule_names.setdefault(name, i)
        sources = rule.get("from")
        for j, stage in enumerate(sources if isinstance(sources, list) else []):
            if isinstance(stage, str) and stage not in known and stage not in STAGE_GROUPS:
                add(("transitions", i, "from", j), f"{unknown_name(stage, known)}; expected a stage name or "
                                                  f"the words active / lost; {listing}")
        to = rule.get("to")
        if isinstance(to, str) and to not in known:
            add(("transitions", i, "to"), f"{unknown_name(to, known)}; {listing}")
        if rule.get("on") in ("inbound_message", "conversion") and to is None:
            add(("transitions", i, "to"),
                f"required when on is {rule.get('on')}: the stage the contact moves to")

    default = raw.get("default_stage")
    if isinstance(default, str) and default not in active:
        problem = f"'{default}' is a lost stage" if default in lost else unknown_name(default, active)
        add(("default_stage",), f"{problem}; default_stage must be an active stage: {', '.join(active)}")

    identities = raw.get("identities")
    kinds = identities.get("kinds") if isinstance(identities, Mapping) else None
    if isinstance(kinds, Mapping):
        for kind, spec in kinds.items():
            blockers = spec.get("no_merge_if_different") if isinstance(spec, Mapping) else None
            for j, other in enumerate(blockers if isinstance(blockers, list) else []):
                if isinstance(other, str) and other not in kinds:
                    add(("identities", "kinds", kind, "no_merge_if_different", j),
                        f"unknown identity kind '{other}'; configured kinds: {', '.join(map(str, kinds))}")
    return errors
