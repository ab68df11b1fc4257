"""lifecycle.yaml validation: tables of invalid files (path, line, message) and valid ones."""

from pathlib import Path

import pytest

from sync.config import BUNDLED_CONFIG_DIR, load_lifecycle
from sync.config.types import DEFAULT_JUNK_VALUES, FieldRule, IdentityKind, StageDef, TransitionRule
from sync.errors import ConfigError
from sync.reconcile.identity import exclusive_clash
from sync.reconcile.patch import IdentityRef

BASE = (
    "stages:\n"                                   # 1
    "  - {name: New Lead, phase: acquisition}\n"  # 2
    "  - {name: Hot Lead, phase: acquisition}\n"  # 3
    "  - {name: Customer, phase: retention}\n"    # 4
    "lost_stages:\n"                              # 5
    "  - {name: Cold Lead}\n"                     # 6
)  # lines appended to BASE start at 7


def load_text(tmp_path: Path, text: str):
    path = tmp_path / "lifecycle.yaml"
    path.write_text(text, encoding="utf-8")
    return path, load_lifecycle(path)


def issues_of(tmp_path: Path, text: str):
    with pytest.raises(ConfigError) as exc:
        load_text(tmp_path, text)
    return exc.value.issues


INVALID = {
    "unknown top-level key": (
        BASE + "colour: red\n",
        "colour", 7, "unknown key; expected one of: stages, lost_stages, default_stage, transitions, "
                     "survivorship, identities, automation",
    ),
    "unknown key in a stage": (
        "stages:\n  - {name: New Lead, phase: acquisition, colour: red}\n",
        "stages[0].colour", 2, "unknown key; expected one of: name, phase, description",
    ),
    "unknown key in an identity kind": (
        BASE + "identities:\n  kinds:\n    phone: {priority: 1, exclusiv: true}\n",
        "identities.kinds.phone.exclusiv", 9, "unknown key; expected one of: exclusive, priority, "
                                              "no_merge_if_different, scoped, per_connection",
    ),
    "bad phase": (
        "stages:\n  - {name: New Lead, phase: acquisition}\n  - name: Hot Lead\n    phase: warm\n",
        "stages[1].phase", 4, "unknown phase 'warm'; expected one of: reach, acquisition, conversion, "
                              "retention, loyalty",
    ),
    "no stages": (
        "lost_stages: []\n",
        "stages", 1, "required: the ordered list of active stages",
    ),
    "empty stages": (
        "stages: []\n",
        "stages", 1, "list at least one active stage",
    ),
    "duplicate stage across active and lost": (
        BASE + "  - {name: Hot Lead}\n",
        "lost_stages[1].name", 7, "duplicate stage name 'Hot Lead' (already used at stages[1])",
    ),
    "reserved stage name": (
        "stages:\n  - {name: active, phase: reach}\n",
        "stages[0].name", 2, "'active' is reserved (it means every active stage in transitions)",
    ),
    "transition from unknown stage": (
        BASE + "transitions:\n  - {name: back, from: [Cold Led], to: New Lead}\n",
        "transitions[0].from[0]", 8,
        "unknown stage 'Cold Led' (did you mean 'Cold Lead'?); expected a stage name or the words "
        "active / lost; configured stages: New Lead, Hot Lead, Customer; lost stages: Cold Lead",
    ),
    "transition to unknown stage": (
        BASE + "transitions:\n  - name: back\n    from: [lost]\n    to: Payment\n",
        "transitions[0].to", 10,
        "unknown stage 'Payment'; configured stages: New Lead, Hot Lead, Customer; lost stages: Cold Lead",
    ),
    "transition on unknown event": (
        BASE + "transitions:\n  - name: back\n    from: [lost]\n    on: email\n",
        "transitions[0].on", 10, "unknown event 'email'; expected one of: stage, inbound_message, conversion",
    ),
    "inbound_message rule without to": (
        BASE + "transitions:\n  - name: wake\n    from: [Cold Lead]\n    on: inbound_message\n",
        "transitions[0].to", 8, "required when on is inbound_message: the stage the contact moves to",
    ),
    "conversion rule without kind": (
        BASE + "transitions:\n  - {name: again, from: [Customer], on: conversion, to: Customer}\n",
        "transitions[0].kind", 8,
        "required when on is conversion: the conversion kind counted, e.g. purchase",
    ),
    "conversion rule with a count of zero": (
        BASE + "transitions:\n  - {name: again, from: [Customer], on: conversion, kind: purchase, count: 0,"
               " to: Customer}\n",
        "transitions[0].count", 8, "expected a whole number between 1 and 1000",
    ),
    "count on a stage rule": (
        BASE + "transitions:\n  - name: back\n    from: [lost]\n    count: 2\n",
        "transitions[0].count", 10, "only rules with on: conversion take count (this rule is on: stage)",
    ),
    "conversion rule without to": (
        BASE + "transitions:\n  - {name: again, from: [Customer], on: conversion, kind: purchase}\n",
        "transitions[0].to", 8, "required when on is conversion: the stage the contact moves to",
    ),
    "bad rule name": (
        BASE + "survivorship:\n  fields:\n    email: latest\n",
        "survivorship.fields.email", 9,
        "unknown rule 'latest'; expected one of: newest, priority, prefer, first, max, min",
    ),
    "bad default rule name": (
        BASE + "survivorship:\n  default: {rule: oldest}\n",
        "survivorship.default.rule", 8,
        "unknown rule 'oldest'; expected one of: newest, priority, prefer, first, max, min",
    ),
    "priority without sources": (
        BASE + "survivorship:\n  fields:\n    email: {rule: priority}\n",
        "survivorship.fields.email.sources", 9, "rule priority needs a non-empty list of sources, best first",
    ),
    "priority with empty sources": (
        BASE + "survivorship:\n  fields:\n    email: {rule: priority, sources: []}\n",
        "survivorship.fields.email.sources", 9, "rule priority needs a non-empty list of sources, best first",
    ),
    "bare priority": (
        BASE + "survivorship:\n  fields:\n    email: priority\n",
        "survivorship.fields.email", 9,
        "rule priority needs its sources: write {rule: priority, sources: [a, b]}",
    ),
    "prefer without source": (
        BASE + "survivorship:\n  fields:\n    first_name:\n      rule: prefer\n",
        "survivorship.fields.first_name.source", 9,
        "rule prefer needs the source to prefer, e.g. source: salesforce",
    ),
    "bad region": (
        BASE + "identities:\n  default_region: XX\n",
        "identities.default_region", 8,
        "unknown region 'XX'; expected a two-letter region code such as US, GB, MX",
    ),
    "default_stage is lost": (
        BASE + "default_stage: Cold Lead\n",
        "default_stage", 7,
        "'Cold Lead' is a lost stage; default_stage must be an active stage: New Lead, Hot Lead, Customer",
    ),
    "default_stage unknown": (
        BASE + "default_stage: New lead\n",
        "default_stage", 7,
        "unknown stage 'New lead' (did you mean 'New Lead'?); default_stage must be an active stage: "
        "New Lead, Hot Lead, Customer",
    ),
    "no_merge_if_different names unknown kind": (
        BASE + "identities:\n  kinds:\n    email: {}\n    phone: {no_merge_if_different: [emial]}\n",
        "identities.kinds.phone.no_merge_if_different[0]", 10,
        "unknown identity kind 'emial'; configured kinds: email, phone",
    ),
    "unquoted junk value": (
        BASE + "identities:\n  junk_values: [n/a, 0]\n",
        "identities.junk_values[1]", 8, 'expected text; quote values such as "null", "0" or "-1"',
    ),
    "not a mapping": (
        "- stages\n",
        "", 1, "expected a mapping with keys: stages, lost_stages, default_stage, transitions, "
               "survivorship, identities, automation",
    ),
    "empty file": (
        "# nothing yet\n",
        "", 1, "file is empty; expected at least a stages: list",
    ),
}


@pytest.mark.parametrize(("text", "path", "line", "message"), INVALID.values(), ids=INVALID.keys())
def test_invalid_lifecycle(tmp_path, text, path, line, message):
    [issue] = issues_of(tmp_path, text)
    assert (issue.file, issue.path, issue.line, issue.message) == (
        str(tmp_path / "lifecycle.yaml"), path, line, message,
    )


def test_every_error_in_one_file_is_reported(tmp_path):
    text = (
        "stages:\n"                                           # 1
        "  - {name: New Lead, phase: acquisition}\n"          # 2
        "  - {name: Hot Lead, phase: warm}\n"                 # 3
        "  - {name: New Lead, phase: conversion}\n"           # 4
        "lost_stages:\n"                                      # 5
        "  - {name: Cold Lead, reason: silent}\n"             # 6
        "default_stage: Cold Lead\n"                          # 7
        "transitions:\n"                                      # 8
        "  - {name: r, from: [Nowhere], on: inbound_message}\n"  # 9
        "survivorship:\n"                                     # 10
        "  fields:\n"                                         # 11
        "    email: {rule: priority}\n"                       # 12
        "    phone: latest\n"                                 # 13
        "identities:\n"                                       # 14
        "  default_region: XX\n"                              # 15
        "extra: 1\n"                                          # 16
    )
    issues = issues_of(tmp_path, text)
    assert [(i.path, i.line) for i in issues] == [
        ("stages[1].phase", 3),
        ("stages[2].name", 4),
        ("lost_stages[0].reason", 6),
        ("default_stage", 7),
        ("transitions[0].from[0]", 9),
        ("transitions[0].to", 9),
        ("survivorship.fields.email.sources", 12),
        ("survivorship.fields.phone", 13),
        ("identities.default_region", 15),
        ("extra", 16),
    ]
    assert all(i.file == str(tmp_path / "lifecycle.yaml") for i in issues)


def test_minimal_file_gets_defaults(tmp_path):
    _, config = load_text(tmp_path, "stages:\n  - {name: New Lead, phase: acquisition}\n")
    assert config.stages == (StageDef("New Lead", "acquisition"),)
    assert config.lost_stages == ()
    assert config.transitions == ()
    assert config.default_rule == FieldRule("newest")
    assert config.junk_values == DEFAULT_JUNK_VALUES
    assert config.default_region == "US"
    assert config.default_stage is None


def test_valid_file_loads_into_typed_objects(tmp_path):
    _, config = load_text(tmp_path, BASE + (
        "transitions:\n"
        "  - {name: reactivate, from: [Cold Lead], on: inbound_message, to: New Lead}\n"
        "  - {name: sf-fixes, from: [active, lost], sources: [salesforce]}\n"
        "survivorship:\n"
        "  default: {rule: priority, sources: [salesforce]}\n"
        "  fields:\n"
        "    first_name: {rule: prefer, source: salesforce}\n"
        "    score: max\n"
        "identities:\n"
        "  default_region: no\n"  # Norway, not the boolean false
        "  kinds:\n"
        "    email: {priority: 10}\n"
        "    phone: {priority: 11, no_merge_if_different: [email]}\n"
    ))
    assert config.transitions == (
        TransitionRule("reactivate", ("Cold Lead",), on="inbound_message", to="New Lead"),
        TransitionRule("sf-fixes", ("active", "lost"), on="stage", to=None, sources=("salesforce",)),
    )
    assert config.default_rule == FieldRule("priority", ("salesforce",))
    assert config.rule_for("first_name") == FieldRule("prefer", ("salesforce",))
    assert config.rule_for("score") == FieldRule("max")
    assert config.rule_for("city") == FieldRule("priority", ("salesforce",))
    assert config.default_region == "NO"
    assert config.identity_kind("phone") == IdentityKind("phone", priority=11, no_merge_if_different=("email",))


def test_shipped_lifecycle_yaml_loads():
    config = load_lifecycle(BUNDLED_CONFIG_DIR / "lifecycle.yaml")
    assert config.active_names == ("New Lead", "Hot Lead", "Payment", "Customer", "Repeat Customer")
    assert config.stages[-1].phase == "loyalty"
    assert config.lost_names == ("Cold Lead", "Unqualified", "Lost to competitor")
    assert config.default_stage == "New Lead"
    assert config.transitions[0].on == "inbound_message"
    assert config.transitions[1] == TransitionRule("repeat-purchase", ("Customer",), on="conversion",
                                                   to="Repeat Customer", kind="purchase", count=2)
    assert config.rule_for("email") == FieldRule("priority", ("salesforce", "hubspot", "respondio", "whatsapp"))
    assert config.identity_kind("phone").no_merge_if_different == ("email",)
    assert config.identity_kind("salesforce").exclusive is True
    assert config.identity_kind("messenger").exclusive is False


def test_a_scoped_exclusive_kind_clashes_only_within_one_scope():
    config = load_lifecycle(BUNDLED_CONFIG_DIR / "lifecycle.yaml")
    assert config.identity_kind("whatsapp_user") == IdentityKind("whatsapp_user", exclusive=True, priority=5,
                                                                 scoped=True)
    one, same_number, other_number = (IdentityRef("whatsapp_user", v) for v in
                                      ("111:US.1", "111:US.2", "222:US.1"))
    assert exclusive_clash([one], [other_number], config) is None  # one id per business number
    assert exclusive_clash([one, other_number], [same_number], config) == "whatsapp_user"
    assert exclusive_clash([IdentityRef("whatsapp", "1")], [IdentityRef("whatsapp", "2")], config) == "whatsapp"
