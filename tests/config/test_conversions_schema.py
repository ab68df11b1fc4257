"""conversions.yaml validation: tables of invalid files (path, line, message), valid ones, checks across files."""

from pathlib import Path

import pytest

from sync.config import BUNDLED_CONFIG_DIR, check_config, load_config, load_lifecycle
from sync.config.conversions import CANONICAL_KINDS, ConversionRules, Destination, StageRule
from sync.config.conversions_schema import load_conversions
from sync.errors import ConfigError, ConfigIssue

LIFECYCLE = (
    "stages:\n"
    "  - {name: New Lead, phase: acquisition}\n"
    "  - {name: Hot Lead, phase: acquisition}\n"
    "  - {name: Customer, phase: retention}\n"
    "lost_stages:\n"
    "  - {name: Cold Lead}\n"
)
KNOWN = "lead, qualified_lead, booking, add_to_cart, initiate_checkout, purchase"
STAGES = "configured stages: New Lead, Hot Lead, Customer; lost stages: Cold Lead"


@pytest.fixture
def lifecycle(tmp_path):
    path = tmp_path / "lifecycle.yaml"
    path.write_text(LIFECYCLE, encoding="utf-8")
    return load_lifecycle(path)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "conversions.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def issues_of(tmp_path: Path, text: str, lifecycle=None) -> list[ConfigIssue]:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as exc:
        load_conversions(path, lifecycle)
    assert all(i.file == str(path) for i in exc.value.issues)
    return exc.value.issues


INVALID = {
    "unknown top-level key": (
        "on_stage: {New Lead: lead}\ncolour: red\n",
        "colour", 2, "unknown key; expected one of: custom_kinds, on_stage, sets_stage, destinations",
    ),
    "record states belong in the mappings": (
        "record_states:\n  closedwon: purchase\n",
        "record_states", 1, "record conversions (a won deal, a paid order) are declared in the mapping files, "
                            "under conversions: in config/mappings/*.yaml; this file says which kinds exist, "
                            "what a stage change counts as and where conversions go",
    ),
    "not a mapping": (
        "- lead\n",
        "", 1, "expected a mapping with keys: custom_kinds, on_stage, sets_stage, destinations",
    ),
    "custom kind with capitals": (
        "custom_kinds: [Demo]\n",
        "custom_kinds[0]", 1, "'Demo' is not a kind name; use lowercase letters, digits and _ (at most 32), "
                              "starting with a letter, e.g. demo_attended",
    ),
    "custom kind repeats a built-in one": (
        "custom_kinds:\n  - demo\n  - purchase\n",
        "custom_kinds[1]", 3, "'purchase' is a built-in kind already; list only your own kinds here",
    ),
    "custom kind listed twice": (
        "custom_kinds: [demo, demo]\n",
        "custom_kinds[1]", 1, "'demo' is listed twice",
    ),
    "custom kinds not a list": (
        "custom_kinds: demo\n",
        "custom_kinds", 1, "expected a list, e.g. [a, b]",
    ),
    "on_stage unknown kind": (
        "on_stage:\n  New Lead: leed\n",
        "on_stage.New Lead", 2, f"unknown conversion kind 'leed' (did you mean 'lead'?); known kinds: {KNOWN} "
                                "(add your own under custom_kinds in conversions.yaml)",
    ),
    "on_stage long form unknown kind": (
        "on_stage:\n  Customer:\n    kind: sale\n",
        "on_stage.Customer.kind", 3, f"unknown conversion kind 'sale'; known kinds: {KNOWN} "
                                     "(add your own under custom_kinds in conversions.yaml)",
    ),
    "on_stage long form without kind": (
        "on_stage:\n  Customer: {value_field: amount}\n",
        "on_stage.Customer.kind", 2, "required",
    ),
    "on_stage unknown key": (
        "on_stage:\n  Customer:\n    kind: purchase\n    value: amount\n",
        "on_stage.Customer.value", 4, "unknown key; expected one of: kind, value_field, currency_field, "
                                      "default_currency, order_id_field, sources",
    ),
    "on_stage bad currency": (
        "on_stage:\n  Customer: {kind: purchase, default_currency: EURO}\n",
        "on_stage.Customer.default_currency", 2,
        "'EURO' is not a currency; expected a 3-letter ISO 4217 code such as EUR or USD",
    ),
    "on_stage bad field name": (
        "on_stage:\n  Customer: {kind: purchase, value_field: Deal Amount}\n",
        "on_stage.Customer.value_field", 2, "'Deal Amount' is not a contact field name; use the canonical name "
                                            "a mapping writes under fields:, e.g. deal_amount",
    ),
    "on_stage entry is a list": (
        "on_stage:\n  Customer: [purchase]\n",
        "on_stage.Customer", 2, "expected a conversion kind such as qualified_lead, or a mapping such as "
                                "{kind: purchase, value_field: deal_amount, default_currency: EUR}",
    ),
    "on_stage empty entry": (
        "on_stage:\n  Customer:\n",
        "on_stage.Customer", 2, "expected a conversion kind, found nothing",
    ),
    "sets_stage unknown kind": (
        "sets_stage:\n  purchase: Customer\n  refund: Cold Lead\n",
        "sets_stage.refund", 3, f"unknown conversion kind 'refund'; known kinds: {KNOWN} "
                                "(add your own under custom_kinds in conversions.yaml)",
    ),
    "destination with an unknown network": (
        "destinations:\n  meta-eu:\n    network: facebook\n    kinds: [purchase]\n",
        "destinations.meta-eu.network", 3, "unknown network 'facebook'; expected one of: google, meta, tiktok",
    ),
    "destination named freely needs a network": (
        "destinations:\n  meta-eu: {kinds: [purchase]}\n",
        "destinations.meta-eu.network", 2,
        "required: the ad network, one of google, meta, tiktok ('meta-eu' is not a network name)",
    ),
    "destination sends an unknown kind": (
        "destinations:\n  meta:\n    kinds:\n      - lead\n      - purchse\n",
        "destinations.meta.kinds[1]", 5, f"unknown conversion kind 'purchse' (did you mean 'purchase'?); "
                                         f"known kinds: {KNOWN} (add your own under custom_kinds in conversions.yaml)",
    ),
    "destination lists a kind twice": (
        "destinations:\n  tiktok: {kinds: [lead, lead]}\n",
        "destinations.tiktok.kinds[1]", 2, "'lead' is listed twice",
    ),
    "destination without kinds": (
        "destinations:\n  google: {enabled: true}\n",
        "destinations.google.kinds", 2, "required",
    ),
    "destination with no kinds": (
        "destinations:\n  google: {kinds: []}\n",
        "destinations.google.kinds", 2, "list at least one conversion kind",
    ),
    "destination enabled is not a boolean": (
        "destinations:\n  google:\n    kinds: [purchase]\n    enabled: yes\n",
        "destinations.google.enabled", 4, "expected true or false",
    ),
    "destination named after a stage write-back system": (
        "destinations:\n  respondio: {network: meta, kinds: [lead]}\n",
        "destinations.respondio", 2, "'respondio' is a system lifesync writes stages to; name the destination "
                                     "after its ad account instead, e.g. meta-eu",
    ),
    "destination name with capitals": (
        "destinations:\n  Meta EU: {network: meta, kinds: [lead]}\n",
        "destinations.Meta EU", 2, "'Meta EU' is not a destination name; use lowercase letters, digits, - and _ "
                                   "(at most 64), starting with a letter, e.g. meta-eu",
    ),
    "destination unknown key": (
        "destinations:\n  google: {kinds: [purchase], account: 123}\n",
        "destinations.google.account", 2, "unknown key; expected one of: network, kinds, enabled",
    ),
    "duplicate key": (
        "on_stage:\n  New Lead: lead\n  New Lead: qualified_lead\n",
        "on_stage.New Lead", 3, "duplicate key 'New Lead' (first written at line 2)",
    ),
}


@pytest.mark.parametrize(("text", "path", "line", "message"), INVALID.values(), ids=INVALID.keys())
def test_invalid_file(tmp_path, text, path, line, message):
    assert [(i.path, i.line, i.message) for i in issues_of(tmp_path, text)] == [(path, line, message)]


STAGE_REFERENCES = {
    "on_stage unknown stage": (
        "on_stage:\n  Hot Leed: qualified_lead\n",
        "on_stage.Hot Leed", 2, "unknown stage 'Hot Leed' (did you mean 'Hot Lead'?); on_stage takes active "
                                "stages: New Lead, Hot Lead, Customer",
    ),
    "on_stage lost stage": (
        "on_stage:\n  New Lead: lead\n  Cold Lead: lead\n",
        "on_stage.Cold Lead", 3, "'Cold Lead' is a lost stage; on_stage takes active stages: New Lead, "
                                 "Hot Lead, Customer",
    ),
    "sets_stage unknown stage": (
        "sets_stage:\n  purchase: Payment\n",
        "sets_stage.purchase", 2, f"unknown stage 'Payment'; {STAGES}",
    ),
}


@pytest.mark.parametrize(("text", "path", "line", "message"), STAGE_REFERENCES.values(),
                         ids=STAGE_REFERENCES.keys())
def test_stage_names_are_checked_against_lifecycle(tmp_path, lifecycle, text, path, line, message):
    assert [(i.path, i.line, i.message) for i in issues_of(tmp_path, text, lifecycle)] == [(path, line, message)]
    load_conversions(write(tmp_path, text))  # without a lifecycle (it failed to load) stages are not checked


def test_every_problem_is_reported_at_once(tmp_path, lifecycle):
    issues = issues_of(tmp_path, (
        "custom_kinds: [Bad]\n"                       # 1
        "on_stage:\n"                                 # 2
        "  Paid: purchase\n"                          # 3
        "  Customer: {kind: sale, currency: EUR}\n"   # 4
        "sets_stage: {booking: Warm}\n"               # 5
        "destinations:\n"                             # 6
        "  meta: {kinds: [lead, won]}\n"              # 7
        "  x-ads: {kinds: [lead], enabled: no}\n"     # 8
        "extra: 1\n"                                  # 9
    ), lifecycle)
    assert [(i.path, i.line) for i in issues] == [
        ("custom_kinds[0]", 1),
        ("on_stage.Paid", 3),
        ("on_stage.Customer.currency", 4),
        ("on_stage.Customer.kind", 4),
        ("sets_stage.booking", 5),
        ("destinations.meta.kinds[1]", 7),
        ("destinations.x-ads.enabled", 8),
        ("destinations.x-ads.network", 8),
        ("extra", 9),
    ]


def test_a_full_file_loads_into_typed_rules(tmp_path, lifecycle):
    rules = load_conversions(write(tmp_path, (
        "custom_kinds: [demo_attended]\n"
        "on_stage:\n"
        "  New Lead: lead\n"
        "  Hot Lead: demo_attended\n"
        "  Customer:\n"
        "    kind: purchase\n"
        "    value_field: deal_amount\n"
        "    currency_field: currency\n"
        "    default_currency: eur\n"
        "    order_id_field: deal_id\n"
        "    sources: [respondio]\n"
        "sets_stage: {purchase: Customer, booking: Hot Lead, demo_attended: Cold Lead}\n"
        "destinations:\n"
        "  meta: {kinds: [lead, purchase]}\n"
        "  meta-eu: {network: meta, kinds: [demo_attended], enabled: false}\n"
    )), lifecycle)
    assert rules == ConversionRules(
        custom_kinds=("demo_attended",),
        on_stage=(StageRule("New Lead", "lead"), StageRule("Hot Lead", "demo_attended"),
                  StageRule("Customer", "purchase", value_field="deal_amount", currency_field="currency",
                            default_currency="EUR", order_id_field="deal_id", sources=("respondio",))),
        sets_stage=(("purchase", "Customer"), ("booking", "Hot Lead"), ("demo_attended", "Cold Lead")),
        destinations=(Destination("meta", "meta", ("lead", "purchase")),
                      Destination("meta-eu", "meta", ("demo_attended",), enabled=False)),
    )
    assert rules.kinds == (*CANONICAL_KINDS, "demo_attended")
    assert rules.rule_for_stage("Hot Lead").kind == "demo_attended" and rules.rule_for_stage("Cold Lead") is None
    assert rules.stage_for_kind("booking") == "Hot Lead" and rules.stage_for_kind("lead") is None
    # disabled in the file, or without credentials (not in the enabled set): not a destination
    assert rules.destinations_for("purchase", {"meta", "meta-eu"}) == ("meta",)
    assert rules.destinations_for("demo_attended", {"meta", "meta-eu"}) == ()
    assert rules.destinations_for("lead", set()) == ()


def test_an_empty_file_configures_nothing(tmp_path):
    assert load_conversions(write(tmp_path, "# nothing yet\n")) == ConversionRules()


def test_the_shipped_file_is_valid():
    lifecycle = load_lifecycle(BUNDLED_CONFIG_DIR / "lifecycle.yaml")
    rules = load_conversions(BUNDLED_CONFIG_DIR / "conversions.yaml", lifecycle)
    assert {r.stage: r.kind for r in rules.on_stage} == {
        "New Lead": "lead", "Hot Lead": "qualified_lead", "Payment": "add_to_cart", "Customer": "purchase"}
    assert dict(rules.sets_stage) == {"purchase": "Customer", "booking": "Hot Lead"}
    assert {d.name: d.network for d in rules.destinations} == {"meta": "meta", "tiktok": "tiktok", "google": "google"}
    assert load_config(None).conversions == rules


# --- across files: lifecycle.yaml, mappings, project overrides (the real mapping loader) ------------

MAPPING = (
    "source: shop\n"                          # 1
    "object: order\n"                         # 2
    "record_id: id\n"                         # 3
    "identities:\n"                           # 4
    "  - {kind: email, path: email}\n"        # 5
    "fields:\n"                               # 6
    "  email: email\n"                        # 7
    "  total: total\n"                        # 8
    "conversions:\n"                          # 9
    "  - kind: {constant: purchase}\n"        # 10
    "    value: total\n"                      # 11
    "  - kind: {constant: refund}\n"          # 12
)


def make_dir(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


@pytest.fixture
def bundled(tmp_path):
    return make_dir(tmp_path / "bundled", {
        "lifecycle.yaml": LIFECYCLE,
        "conversions.yaml": "custom_kinds: [refund]\non_stage: {Customer: purchase}\n",
        "mappings/shop_order.yaml": MAPPING,
    })


def test_loaded_config_carries_the_conversion_rules(bundled):
    assert check_config(None, bundled) == []
    config = load_config(None, bundled)
    assert config.files.conversions == bundled / "conversions.yaml"
    assert config.conversions.kinds[-1] == "refund"
    assert config.conversions.rule_for_stage("Customer") == StageRule("Customer", "purchase")


def test_without_a_conversions_file_there_are_no_rules(tmp_path, bundled):
    (bundled / "conversions.yaml").unlink()
    project = make_dir(tmp_path / "project", {
        "mappings/shop_order.yaml": MAPPING.replace("refund", "add_to_cart")})
    config = load_config(project, bundled)
    assert config.files.conversions is None and config.conversions == ConversionRules()


def test_a_mapping_kind_conversions_yaml_does_not_know_is_an_error(tmp_path, bundled):
    project = make_dir(tmp_path / "project", {"conversions.yaml": "on_stage: {Customer: purchase}\n"})
    mapping = str(bundled / "mappings/shop_order.yaml")
    assert check_config(project, bundled) == [ConfigIssue(
        mapping, "conversions[1].kind", f"unknown conversion kind 'refund'; known kinds: {KNOWN} "
                                        "(add your own under custom_kinds in conversions.yaml)", 12)]
    with pytest.raises(ConfigError):
        load_config(project, bundled)


def test_project_conversions_replace_the_bundled_file_and_are_checked_against_the_project_lifecycle(
        tmp_path, bundled):
    project = make_dir(tmp_path / "project", {
        "lifecycle.yaml": LIFECYCLE.replace("Customer", "Client"),
        "conversions.yaml": "custom_kinds: [refund]\non_stage:\n  Client: purchase\n  Customer: purchase\n",
    })
    path = str(project / "conversions.yaml")
    assert check_config(project, bundled) == [ConfigIssue(
        path, "on_stage.Customer", "unknown stage 'Customer'; on_stage takes active stages: New Lead, Hot Lead, "
                                   "Client", 4)]


def test_stage_rule_fields_must_be_written_by_a_mapping(tmp_path, bundled):
    project = make_dir(tmp_path / "project", {"conversions.yaml": (
        "custom_kinds: [refund]\n"
        "on_stage:\n"
        "  Customer: {kind: purchase, value_field: totl, currency_field: total}\n"
    )})
    path = str(project / "conversions.yaml")
    message = ("no mapping writes the contact field 'totl' (did you mean 'total'?), so it would never have a "
               "value; fields the mappings write: email, total")
    assert check_config(project, bundled) == [ConfigIssue(path, "on_stage.Customer.value_field", message, 3)]


def test_every_file_is_checked_even_when_lifecycle_fails(tmp_path, bundled):
    project = make_dir(tmp_path / "project", {
        "lifecycle.yaml": LIFECYCLE + "colour: red\n",
        "conversions.yml": "on_stage: {}\n",
        "conversions.yaml": "custom_kinds: [refund]\non_stage: {Nowhere: lead, New Lead: leed}\n",
    })
    assert {(Path(i.file).name, i.path) for i in check_config(project, bundled)} == {
        ("lifecycle.yaml", "colour"),
        ("conversions.yml", ""),                   # wrong extension: would be silently ignored
        ("conversions.yaml", "on_stage.New Lead"),  # the stage names wait for a valid lifecycle.yaml
    }


def test_a_lifecycle_rule_counting_an_unknown_conversion_kind_is_an_error(tmp_path):
    path = tmp_path / "lifecycle.yaml"
    path.write_text(LIFECYCLE + "transitions:\n  - {name: again, from: [Customer], on: conversion, kind: purchse,"
                                " count: 2, to: Customer}\n", encoding="utf-8")
    lifecycle = load_lifecycle(path)
    [issue] = issues_of(tmp_path, "sets_stage:\n  purchase: Customer\n", lifecycle)
    assert (issue.path, issue.line, issue.message) == (
        "sets_stage", 1, f"lifecycle.yaml's transition 'again' counts conversions of kind: unknown conversion kind "
                         f"'purchse' (did you mean 'purchase'?); known kinds: {KNOWN} (add your own under "
                         "custom_kinds in conversions.yaml)")
