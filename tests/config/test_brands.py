"""brands.yaml: one implicit brand without it; every issue of a bad one with file, key and line; brands' own files."""

from __future__ import annotations

import pytest
from support.brands import BRANDS, brand_config_dir

from sync.config import check_config, load_config
from sync.config.brands import DEFAULT_BRAND, ONE_BRAND
from sync.config.documents import baselines, load_texts
from sync.errors import ConfigError


def test_without_brands_yaml_one_brand_owns_every_connection_and_destination():
    config = load_config(None)
    assert config.brands == ONE_BRAND and not config.brands.several
    assert config.brands.brand_of("shop", "anything") == DEFAULT_BRAND
    assert config.brands.destinations(DEFAULT_BRAND, ["meta", "tiktok"]) == ("meta", "tiktok")


def test_a_brand_owns_its_listed_connections_and_destinations_and_the_default_brand_the_rest(tmp_path):
    brands = load_config(brand_config_dir(tmp_path)).brands
    assert brands.keys == ("default", "lumen") and brands.get("default").name == "Glow Salons"
    assert brands.brand_of("shop", "lumen") == "lumen" and brands.brand_of("shop", "default") == DEFAULT_BRAND
    assert brands.brand_of("whatsapp") == DEFAULT_BRAND and brands.brand_of("hubspot", "lumen") == "lumen"
    every = ["meta", "tiktok", "google", "meta-lumen", "tiktok-lumen", "google-lumen"]
    assert brands.destinations("lumen", every) == ("meta-lumen", "tiktok-lumen", "google-lumen")
    assert brands.destinations(DEFAULT_BRAND, every) == ("meta", "tiktok", "google")


BAD = """\
brands:
  default:
    name: Glow
    connections: [shop:glow]
  lumen:
    name: Lumen Spa
    colour: blue
    connections: [shop:lumen, whatsapp]
    destinations: [meta-lumen, meta-nowhere]
  Lumen2:
    name: Other
  spa:
    connections: [shop:lumen]
    destinations: [meta-lumen]
    lifecycle: lifecycles/spa.yaml
    conversions: ../conversions.yaml
"""


def test_every_issue_of_a_bad_brands_yaml_is_reported_with_its_key_and_line_in_one_run(tmp_path):
    directory = brand_config_dir(tmp_path, BAD)
    issues = [i for i in check_config(directory) if i.file.endswith("brands.yaml")]
    found = {(i.path, i.line): i.message for i in issues}
    expected = {
        ("brands.default.connections", 4): "the default brand owns every connection",
        ("brands.lumen.colour", 7): "unknown key 'colour'",
        ("brands.lumen.connections[1]", 8): "'whatsapp' is not a connection; expected <source>:<connection>",
        ("brands.lumen.destinations[1]", 9): "unknown destination 'meta-nowhere'",
        ("brands.Lumen2", 10): "'Lumen2' is not a brand key",
        ("brands.spa.connections[0]", 13): "connection shop:lumen already belongs to brand lumen",
        ("brands.spa.destinations[0]", 14): "destination meta-lumen already belongs to brand lumen",
        ("brands.spa.lifecycle", 15): "lifecycles/spa.yaml does not exist next to brands.yaml",
        ("brands.spa.conversions", 16): "expected a file of the config directory's conversions/ folder",
    }
    assert set(found) == set(expected), found
    for where, fragment in expected.items():
        assert fragment in found[where], (where, found[where])
    with pytest.raises(ConfigError):
        load_config(directory)


def test_a_brand_may_have_its_own_lifecycle_and_conversion_rules(tmp_path):
    own = BRANDS + "    lifecycle: lifecycles/lumen.yaml\n    conversions: conversions/lumen.yaml\n"
    directory = brand_config_dir(tmp_path, own)
    (directory / "lifecycles").mkdir()
    (directory / "lifecycles" / "lumen.yaml").write_text(
        "stages:\n  - {name: Enquiry, phase: acquisition}\n  - {name: Client, phase: retention}\n"
        "lost_stages:\n  - {name: Gone Quiet}\n", encoding="utf-8")
    (directory / "conversions").mkdir()
    (directory / "conversions" / "lumen.yaml").write_text(
        "on_stage:\n  Enquiry: lead\nsets_stage:\n  purchase: Client\n", encoding="utf-8")
    config = load_config(directory)
    lumen = config.brands.get("lumen")
    assert lumen.lifecycle.active_names == ("Enquiry", "Client")
    assert lumen.conversions.stage_for_kind("purchase") == "Client"
    assert {d.name for d in lumen.conversions.destinations} == {d.name for d in config.conversions.destinations}
    assert config.brands.lifecycle(DEFAULT_BRAND, config.lifecycle) is config.lifecycle
    # the brand's files are configuration documents too: edited as revisions, checked with the rest
    names = set(baselines(directory))
    assert {"brands.yaml", "lifecycles/lumen.yaml", "conversions/lumen.yaml"} <= names
    texts = {name: base.text() for name, base in baselines(directory).items() if base.origin != "none"}
    texts["conversions/lumen.yaml"] = "on_stage:\n  Nowhere: lead\n"
    loaded, issues = load_texts(texts, {"conversions/lumen.yaml": "conversions/lumen.yaml (proposed)"}, directory)
    assert loaded is None and any(i.file == "conversions/lumen.yaml (proposed)" and "Nowhere" in i.message
                                  for i in issues), issues
