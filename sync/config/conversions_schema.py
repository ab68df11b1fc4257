"""Schema of ``config/conversions.yaml``: validates the raw YAML data into ``ConversionRules``.

    custom_kinds: [demo_attended]
    on_stage:                      # stage entered -> conversion kind
      New Lead: lead
      Customer: {kind: purchase, value_field: deal_amount, currency_field: currency,
                 default_currency: EUR, sources: [respondio]}
    sets_stage:                    # a record's conversion kind -> stage
      purchase: Customer
    destinations:                  # where each kind is sent (the dispatcher reads this)
      meta: {kinds: [lead, purchase]}
      meta-eu: {network: meta, kinds: [purchase], enabled: false}

Like lifecycle.yaml, one run reports every problem: marshmallow checks shapes (unknown keys
are errors at every level) and ``_reference_errors`` checks names that refer to each other
(kinds, stages of the loaded lifecycle.yaml, destination networks) on the raw data. Checks
against the mapping files (kinds their ``conversions:`` produce, fields the stage rules read)
are ``mapping_issues``, run by ``sync.config.loader`` once every file is loaded.
"""

from __future__ import annotations

import contextlib
import difflib
import re
from collections.abc import Iterable, Mapping
from functools import partial
from pathlib import Path
from typing import Any, ClassVar

from marshmallow import ValidationError, fields, post_load, validate, validates_schema

from sync.config.conversions import CANONICAL_KINDS, ConversionRules, Destination, StageRule
from sync.config.schema_fields import (
    MappingOf,
    Strict,
    add_error,
    list_field,
    names,
    stage_list,
    text_field,
    unknown_name,
)
from sync.config.types import LifecycleConfig
from sync.config.yamlload import issues_from_messages, line_for, load_yaml
from sync.errors import ConfigError, ConfigIssue

CONVERSIONS_FILE = "conversions.yaml"
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_DESTINATION = re.compile(r"^[a-z][a-z0-9_-]*$")
# systems lifesync already writes stages to through the outbox: a conversion destination of the
# same name would share their outbox rows
RESERVED_DESTINATIONS = ("respondio", "hubspot", "salesforce")
_RECORD_STATES_HINT = ("record conversions (a won deal, a paid order) are declared in the mapping files, under "
                       "conversions: in config/mappings/*.yaml; this file says which kinds exist, what a stage "
                       "change counts as and where conversions go")


def _kind_check(value: str) -> None:
    if not _NAME.match(value) or len(value) > 32:
        raise ValidationError(f"'{value}' is not a kind name; use lowercase letters, digits and _ "
                              "(at most 32), starting with a letter, e.g. demo_attended")


def network_names() -> tuple[str, ...]:
    """The names a destination's ``network`` may take: the ad-network registry's, in its order."""
    # imported when a file is checked, not with sync.config: the registry loads every network's code
    from sync.attribution.networks import NETWORKS

    return tuple(NETWORKS)


def _network_check(value: str) -> None:
    known = network_names()
    if value not in known:
        raise ValidationError(f"unknown network '{value}'; expected one of: {', '.join(known)}")


def _field_check(value: str) -> None:
    if not _NAME.match(value):
        raise ValidationError(f"'{value}' is not a contact field name; use the canonical name a mapping "
                              "writes under fields:, e.g. deal_amount")


def _currency_check(value: str) -> None:
    if not (len(value) == 3 and value.isalpha() and value.isascii()):
        raise ValidationError(f"'{value}' is not a currency; expected a 3-letter ISO 4217 code such as EUR or USD")


class _StageRuleSchema(Strict):
    kind = text_field(required=True)
    value_field = text_field(load_default=None, validate=_field_check)
    currency_field = text_field(load_default=None, validate=_field_check)
    default_currency = text_field(load_default=None, validate=_currency_check)
    order_id_field = text_field(load_default=None, validate=_field_check)
    sources = names(load_default=())


class StageRuleEntry(fields.Field):
    """An on_stage entry: a kind (``Hot Lead: qualified_lead``) or a mapping with ``kind`` and field names."""

    default_error_messages: ClassVar[dict[str, str]] = {"null": "expected a conversion kind, found nothing"}

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> dict[str, Any]:
        if isinstance(value, str):
            return {"kind": value, "sources": ()}
        if isinstance(value, Mapping):
            try:
                return _StageRuleSchema().load(value)
            except ValidationError as err:
                raise ValidationError(err.messages) from None
        raise ValidationError("expected a conversion kind such as qualified_lead, or a mapping such as "
                              "{kind: purchase, value_field: deal_amount, default_currency: EUR}")


class _DestinationSchema(Strict):
    network = text_field(load_default=None, validate=_network_check)
    kinds = names(required=True, validate=validate.Length(min=1, error="list at least one conversion kind"))
    enabled = fields.Boolean(load_default=True, truthy={True}, falsy={False},
                             error_messages={"invalid": "expected true or false"})


class ConversionsSchema(Strict):
    """The whole conversions.yaml file; loads into ``ConversionRules``.

    ``lifecycle``, when given, is the loaded lifecycle.yaml whose stages ``on_stage`` and
    ``sets_stage`` must name.
    """

    custom_kinds = list_field(text_field(validate=_kind_check), load_default=())
    on_stage = MappingOf(StageRuleEntry(), load_default=dict)
    sets_stage = MappingOf(text_field(), load_default=dict)
    destinations = MappingOf(fields.Nested(_DestinationSchema, error_messages={
        "null": "expected settings such as {{network: meta, kinds: [purchase]}}"}), load_default=dict)

    def __init__(self, *args: Any, lifecycle: LifecycleConfig | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.lifecycle = lifecycle

    @validates_schema(skip_on_field_errors=False, pass_original=True)
    def _references(self, data: dict[str, Any], original_data: Any, **kwargs: Any) -> None:
        errors = _reference_errors(original_data, self.lifecycle)
        if errors:
            raise ValidationError(errors)

    @post_load
    def _build(self, data: dict[str, Any], **kwargs: Any) -> ConversionRules:
        return ConversionRules(
            custom_kinds=tuple(data["custom_kinds"]),
            on_stage=tuple(
                StageRule(stage=stage, kind=rule["kind"], value_field=rule.get("value_field"),
                          currency_field=rule.get("currency_field"),
                          default_currency=(rule.get("default_currency") or "").upper() or None,
                          order_id_field=rule.get("order_id_field"), sources=tuple(rule["sources"]))
                for stage, rule in data["on_stage"].items()
            ),
            sets_stage=tuple(data["sets_stage"].items()),
            destinations=tuple(
                Destination(name=name, network=spec["network"] or name, kinds=tuple(spec["kinds"]),
                            enabled=spec["enabled"])
                for name, spec in data["destinations"].items()
            ),
        )


def parse_conversions(data: Any, file: str, lines: Mapping[str, int],
                      lifecycle: LifecycleConfig | None = None) -> ConversionRules:
    """Validate conversions.yaml data (from ``load_yaml``); raise ConfigError listing every issue.

    An empty file configures nothing (no stage conversions, no destinations).
    """
    if data is None:
        return ConversionRules()
    try:
        return ConversionsSchema(lifecycle=lifecycle).load(data)
    except ValidationError as err:
        issues = issues_from_messages(file, err.messages, lines)
        raise ConfigError([ConfigIssue(i.file, i.path, _RECORD_STATES_HINT, i.line)
                           if i.path == "record_states" else i for i in issues]) from None


def load_conversions(path: Path, lifecycle: LifecycleConfig | None = None) -> ConversionRules:
    """Load and validate one conversions.yaml; raises ConfigError listing every issue."""
    data, lines = load_yaml(path)
    return parse_conversions(data, str(path), lines, lifecycle)


def conversions_path(project_dir: Path | None, bundled_dir: Path) -> Path | None:
    """The project's conversions.yaml when it has one, else the bundled one, else None."""
    for base in (project_dir, bundled_dir):
        if base is not None and (Path(base) / CONVERSIONS_FILE).is_file():
            return Path(base) / CONVERSIONS_FILE
    return None


# --- cross-references, checked on the raw data ------------------------------------------


def _did_you_mean(name: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(known), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def unknown_kind(kind: str, known: Iterable[str]) -> str:
    """The message for a conversion kind conversions.yaml does not know."""
    known = list(known)
    return (f"unknown conversion kind '{kind}'{_did_you_mean(kind, known)}; known kinds: {', '.join(known)} "
            "(add your own under custom_kinds in conversions.yaml)")


def _reference_errors(raw: Any, lifecycle: LifecycleConfig | None) -> dict[Any, Any]:
    """Errors in names that refer to other entries or to lifecycle.yaml, as a marshmallow error tree."""
    errors: dict[Any, Any] = {}

    add = partial(add_error, errors)

    if not isinstance(raw, Mapping):
        return errors
    known = list(CANONICAL_KINDS)
    custom = raw.get("custom_kinds")
    for i, kind in enumerate(custom if isinstance(custom, list) else []):
        if not isinstance(kind, str) or not _NAME.match(kind):  # a malformed name is reported by the schema
            continue
        if kind in CANONICAL_KINDS:
            add(("custom_kinds", i), f"'{kind}' is a built-in kind already; list only your own kinds here")
        elif kind in known:
            add(("custom_kinds", i), f"'{kind}' is listed twice")
        else:
            known.append(kind)

    def check_kind(path: tuple[Any, ...], kind: Any) -> None:
        if isinstance(kind, str) and kind not in known:
            add(path, unknown_kind(kind, known))

    active = list(lifecycle.active_names) if lifecycle else []
    lost = list(lifecycle.lost_names) if lifecycle else []
    listing = stage_list(active, lost)
    on_stage = raw.get("on_stage")
    for stage, rule in on_stage.items() if isinstance(on_stage, Mapping) else ():
        if lifecycle is not None and isinstance(stage, str) and stage not in active:
            problem = f"'{stage}' is a lost stage" if stage in lost else unknown_name(stage, active + lost)
            add(("on_stage", stage), f"{problem}; on_stage takes active stages: {', '.join(active)}")
        if isinstance(rule, Mapping):
            check_kind(("on_stage", stage, "kind"), rule.get("kind"))
        else:
            check_kind(("on_stage", stage), rule)

    sets_stage = raw.get("sets_stage")
    for kind, stage in sets_stage.items() if isinstance(sets_stage, Mapping) else ():
        check_kind(("sets_stage", kind), kind)
        if lifecycle is not None and isinstance(stage, str) and stage not in active + lost:
            add(("sets_stage", kind), f"{unknown_name(stage, active + lost)}; {listing}")
    for rule in lifecycle.transitions if lifecycle is not None else ():  # on: conversion counts a kind of ours
        if rule.on == "conversion" and rule.kind is not None and rule.kind not in known:
            add(("sets_stage",), f"lifecycle.yaml's transition '{rule.name}' counts conversions of kind: "
                                 f"{unknown_kind(rule.kind, known)}")

    destinations = raw.get("destinations")
    for name, spec in destinations.items() if isinstance(destinations, Mapping) else ():
        if not isinstance(name, str):
            continue
        if not _DESTINATION.match(name) or len(name) > 64:
            add(("destinations", name), f"'{name}' is not a destination name; use lowercase letters, digits, "
                                        "- and _ (at most 64), starting with a letter, e.g. meta-eu")
        elif name in RESERVED_DESTINATIONS:
            add(("destinations", name), f"'{name}' is a system lifesync writes stages to; name the destination "
                                        "after its ad account instead, e.g. meta-eu")
        if not isinstance(spec, Mapping):
            continue
        if spec.get("network") is None and name not in network_names():
            add(("destinations", name, "network"),
                f"required: the ad network, one of {', '.join(network_names())} ('{name}' is not a network name)")
        kinds = spec.get("kinds")
        listed: set[str] = set()
        for j, kind in enumerate(kinds if isinstance(kinds, list) else []):
            if isinstance(kind, str) and kind in listed:
                add(("destinations", name, "kinds", j), f"'{kind}' is listed twice")
            check_kind(("destinations", name, "kinds", j), kind)
            if isinstance(kind, str):
                listed.add(kind)
    return errors


# --- checks against the mapping files -------------------------------------------------------


def mapping_issues(rules: ConversionRules, conversions_file: Path | None,
                   mappings: Mapping[Any, Any]) -> list[ConfigIssue]:
    """Kinds the mappings' ``conversions:`` produce must be known; fields the stage rules read must exist.

    ``mappings``: the loaded mappings (objects with ``file``, ``conversions`` and ``fields``).
    """
    issues: list[ConfigIssue] = []
    for mapping in mappings.values():
        specs = getattr(mapping, "conversions", ())
        lines: Mapping[str, int] = {}
        if specs:
            with contextlib.suppress(ConfigError):  # the mapping loaded, so its file reads; lines are a bonus
                lines = load_yaml(mapping.file)[1]
        for i, spec in enumerate(specs):
            path = f"conversions[{i}].kind"
            for kind in sorted(str(k) for k in spec.kind.outputs()):
                if kind not in rules.kinds:
                    issues.append(ConfigIssue(str(mapping.file), path, unknown_kind(kind, rules.kinds),
                                              line_for(lines, path)))
    if conversions_file is None or not rules.on_stage:
        return issues
    written = sorted({name for m in mappings.values() for name, spec in getattr(m, "fields", ())
                      if getattr(spec, "direction", "in") != "out"})
    lines = load_yaml(conversions_file, [])[1]
    for rule in rules.on_stage:
        for key in ("value_field", "currency_field", "order_id_field"):
            name = getattr(rule, key)
            if name is not None and name not in written:
                path = f"on_stage.{rule.stage}.{key}"
                issues.append(ConfigIssue(
                    str(conversions_file), path,
                    f"no mapping writes the contact field '{name}'{_did_you_mean(name, written)}, so it would "
                    f"never have a value; fields the mappings write: {', '.join(written) or '(none)'}",
                    line_for(lines, path)))
    return issues


def conversions_and_issues(path: Path | None, lifecycle: LifecycleConfig | None,
                           mappings: Mapping[Any, Any]) -> tuple[ConversionRules, list[ConfigIssue]]:
    """The rules of ``path`` (none configured when None) and every issue, lifecycle.yaml and mappings included.

    ``lifecycle`` is None when lifecycle.yaml itself failed (its stages are then not checked here).
    """
    if path is None:
        rules = ConversionRules()
        return rules, mapping_issues(rules, None, mappings)
    recovered: list[ConfigIssue] = []  # a duplicate key or an unreadable value: the rest is still checked
    try:
        data, lines = load_yaml(path, recovered)
        rules = parse_conversions(data, str(path), lines, lifecycle)
    except ConfigError as err:
        return ConversionRules(), [*recovered, *err.issues]
    return rules, [*recovered, *mapping_issues(rules, path, mappings)]
