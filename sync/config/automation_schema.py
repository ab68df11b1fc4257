"""The ``automation:`` section of lifecycle.yaml: stale-lead rules.

    automation:
      stale_leads:
        - name: went-cold
          from: [New Lead, Hot Lead]   # active stages
          after_days: 7                # days without activity
          to: Cold Lead                # a lost stage
          activity: [inbound]          # optional: what counts as activity (the default: inbound messages);
                                       # inbound, outbound and conversion kinds such as purchase, booking

``automation_errors`` checks shapes (unknown keys are errors) and names that refer to the
stages of the same file, as a marshmallow-style error tree keyed under ``automation``;
``build_stale_rules`` turns the validated data into ``StaleLeadRule`` objects.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from marshmallow import ValidationError, fields, post_load, validate

from sync.config.schema_fields import (
    Strict,
    add_error,
    entries,
    list_field,
    name_check,
    names,
    stage_list,
    text_field,
    unknown_name,
)
from sync.config.types import StaleLeadRule

MESSAGE_DIRECTIONS = ("inbound", "outbound")  # activity words besides conversion kinds


def _activity_check(value: str) -> None:
    """``inbound``, ``outbound`` or a conversion kind (lowercase letters, digits and _)."""
    if value not in MESSAGE_DIRECTIONS and not (value[:1].isalpha() and value.isascii() and value.islower()
                                                 and value.replace("_", "").isalnum()):
        raise ValidationError(f"unknown activity '{value}'; expected inbound, outbound or a conversion kind "
                              "such as purchase or booking")


class _StaleRuleSchema(Strict):
    name = text_field(required=True, validate=name_check)
    from_stages = names(data_key="from", required=True,
                         validate=validate.Length(min=1, error="list at least one active stage"))
    after_days = fields.Integer(strict=True, required=True, validate=validate.Range(
        min=1, max=3650, error="expected a whole number of days between 1 and 3650"),
        error_messages={"invalid": "expected a whole number of days", "required": "required"})
    to = text_field(required=True)
    activity = list_field(text_field(validate=_activity_check), load_default=("inbound",), validate=validate.Length(
        min=1, error="list at least one kind of activity (inbound, outbound, purchase, ...)"))

    @post_load
    def _build(self, data: dict[str, Any], **kwargs: Any) -> StaleLeadRule:
        return StaleLeadRule(name=data["name"], from_stages=tuple(data["from_stages"]),
                             after_days=data["after_days"], to=data["to"],
                             activity=tuple(dict.fromkeys(data["activity"])))


class AutomationSchema(Strict):
    """``automation:``: lifecycle automation rules."""

    stale_leads = entries(_StaleRuleSchema, "{name: went-cold, from: [New Lead], after_days: 7, to: Cold Lead}",
                           load_default=())


def build_stale_rules(raw: Any) -> tuple[StaleLeadRule, ...]:
    """The stale-lead rules of validated ``automation:`` data (none when the section is absent)."""
    if raw is None:
        return ()
    return tuple(AutomationSchema().load(raw)["stale_leads"])


def automation_errors(root: Any) -> dict[str, Any]:
    """Every problem in ``root["automation"]`` as ``{"automation": {...}}`` ({} when valid or absent)."""
    if not isinstance(root, Mapping) or root.get("automation") is None:
        return {}
    raw = root["automation"]
    try:
        AutomationSchema().load(raw)
        errors: dict[Any, Any] = {}
    except ValidationError as err:
        errors = err.messages if isinstance(err.messages, dict) else {"_schema": err.messages}
    rules = raw.get("stale_leads") if isinstance(raw, Mapping) else None
    if isinstance(rules, list):
        _reference_errors(root, rules, errors)
    return {"automation": errors} if errors else {}


def _stage_names(root: Mapping[str, Any], section: str) -> list[str]:
    items = root.get(section)
    return [i["name"] for i in items if isinstance(i, Mapping) and isinstance(i.get("name"), str)] \
        if isinstance(items, list) else []


def _reference_errors(root: Mapping[str, Any], rules: list[Any], errors: dict[Any, Any]) -> None:
    """Stages named by the rules must exist: ``from`` active, ``to`` lost; a stage in one rule only."""
    active, lost = _stage_names(root, "stages"), _stage_names(root, "lost_stages")
    listing = stage_list(active, lost)
    claimed: dict[str, int] = {}

    def add(path: tuple[Any, ...], message: str) -> None:
        add_error(errors, ("stale_leads", *path), message)

    for i, rule in enumerate(rules):
        if not isinstance(rule, Mapping):
            continue
        stages = rule.get("from")
        for j, stage in enumerate(stages if isinstance(stages, list) else []):
            if not isinstance(stage, str):
                continue
            if stage in lost:
                add((i, "from", j), f"'{stage}' is a lost stage; stale-lead rules start from active stages")
            elif stage not in active:
                add((i, "from", j), f"{unknown_name(stage, active)}; {listing}")
            elif stage in claimed and claimed[stage] != i:
                add((i, "from", j), f"'{stage}' is already in stale_leads[{claimed[stage]}]; "
                                    "a stage can have one stale-lead rule")
            else:
                claimed.setdefault(stage, i)
        to = rule.get("to")
        if isinstance(to, str) and to not in lost:
            problem = f"'{to}' is an active stage" if to in active else unknown_name(to, lost)
            add((i, "to"), f"{problem}; to must be a lost stage: {', '.join(lost) or '(none configured)'}")
