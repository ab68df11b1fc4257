"""privacy.yaml is read with every issue located; ``decide`` picks the first matching rule, never sending a denial."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from sync.cli.main import main
from sync.config import check_config, load_config
from sync.config.privacy import POLICIES, STATES, PolicyRule, PrivacyConfig, bundled_privacy
from sync.privacy.policy import Exit, decide, places

BUNDLED = bundled_privacy()
AD_EXITS = [Exit("meta", "meta"), Exit("google", "google"), Exit("tiktok", "tiktok"), Exit("m", "meta_audience"),
            Exit("g", "google_customer_match"), Exit("t", "tiktok_audience")]


@dataclass(frozen=True)
class Person:
    country: str | None = None
    state: str | None = None
    consent: dict[str, Any] = field(default_factory=dict)


def test_a_contacts_place_is_read_like_the_networks_hashing_reads_it():
    assert places("United States", "California") == {"US", "US-CA"}
    assert places("us", "CA") == {"US", "US-CA"}
    assert places("Deutschland", None) == {"DE"}
    assert places(None, "California") == frozenset() and places("Atlantis", None) == frozenset()


def test_the_bundled_defaults_for_ad_networks():
    granted = {"ad_user_data": True}
    assert decide(BUNDLED, Exit("meta", "meta"), Person("FR", consent=granted), "ad_user_data").policy == "send"
    unknown_eu = decide(BUNDLED, Exit("google", "google"), Person("France"), "ad_user_data")
    assert unknown_eu.policy == "drop" and unknown_eu.reason == (
        "rule 'ad-consent-unknown-in-europe', region eea/uk/switzerland, ad_user_data unknown")
    assert decide(BUNDLED, Exit("google", "google"), Person("GB"), "ad_user_data").policy == "drop"
    assert decide(BUNDLED, Exit("google", "google"), Person("AE"), "ad_user_data").policy == "send"
    assert decide(BUNDLED, Exit("meta", "meta"), Person("US", "Texas"), "ad_user_data").policy == "restricted"
    assert decide(BUNDLED, Exit("tiktok", "tiktok"), Person("US", "CO"), "ad_user_data").policy == "restricted"
    assert decide(BUNDLED, Exit("google", "google"), Person("US", "CA"), "ad_user_data").policy == "send"
    # customer lists: Limited Data Use in California only
    assert decide(BUNDLED, Exit("m", "meta_audience"), Person("US", "CA"), "ad_user_data").policy == "restricted"
    assert decide(BUNDLED, Exit("m", "meta_audience"), Person("US", "TX"), "ad_user_data").policy == "send"
    assert decide(BUNDLED, Exit("g", "google_customer_match"), Person("US", consent={"ad_personalization": False}),
                  "ad_user_data").policy == "drop"


def test_the_bundled_defaults_for_messaging_and_crm_lists():
    no_email = Person("US", consent={"marketing_email": False})
    assert decide(BUNDLED, Exit("h", "hubspot_list"), no_email, "marketing_messages").reason == (
        "rule 'email-denied', marketing_email denied")
    assert decide(BUNDLED, Exit("r", "respondio_tag"), no_email, "marketing_messages").policy == "send"
    no_messages = Person("US", consent={"marketing_messages": False})
    assert decide(BUNDLED, Exit("r", "respondio_tag"), no_messages, "marketing_messages").policy == "drop"
    # a CSV for e-mail campaigns names its purpose: the floor applies it
    csv = decide(BUNDLED, Exit("c", "csv"), no_email, "marketing_email")
    assert (csv.policy, csv.reason) == ("drop", "consent for marketing_email denied")


def test_first_match_wins_and_rules_match_names_kinds_regions_and_the_needed_purpose():
    config = PrivacyConfig(regions={"gulf": frozenset({"AE"})}, policies=(
        PolicyRule(policy="strip", destinations=("meta-eu",)),
        PolicyRule(policy="restricted", destinations=("meta",), regions=("gulf",)),
        PolicyRule(policy="drop", consent={"purpose": ("unknown",)}),
    ), default="send")
    assert decide(config, Exit("meta-eu", "meta"), Person("AE"), "ad_user_data").policy == "strip"
    assert decide(config, Exit("meta", "meta"), Person("AE"), "ad_user_data").policy == "restricted"
    assert decide(config, Exit("google", "google"), Person("AE"), "ad_user_data").reason == (
        "rule 3, ad_user_data unknown")
    assert decide(config, Exit("google", "google"), Person("AE", consent={"ad_user_data": True}),
                  "ad_user_data").policy == "send"
    assert decide(config, Exit("x", "google"), Person(), None).reason == "no rule matched: the default"


consents = st.dictionaries(st.sampled_from(["ad_user_data", "ad_personalization", "marketing_messages"]),
                           st.sampled_from([True, False, None, "yes"]))
rules = st.builds(PolicyRule, policy=st.sampled_from(POLICIES),
                  destinations=st.lists(st.sampled_from(["all", "meta", "google", "respondio_tag"]), max_size=2)
                  .map(tuple),
                  regions=st.lists(st.sampled_from(["eea", "us_ldu"]), max_size=1).map(tuple),
                  consent=st.dictionaries(st.sampled_from(["ad_user_data", "purpose"]),
                                          st.lists(st.sampled_from(STATES), min_size=1, max_size=3).map(tuple),
                                          max_size=2))


@given(rules=st.lists(rules, max_size=5), default=st.sampled_from(POLICIES), consent=consents,
       country=st.sampled_from([None, "DE", "US", "AE"]), state=st.sampled_from([None, "CA"]),
       target=st.sampled_from([*AD_EXITS, Exit("r", "respondio_tag")]),
       purpose=st.sampled_from(["ad_user_data", "marketing_messages"]))
def test_a_denied_purpose_the_exit_needs_is_never_sent_whatever_the_rules_say(rules, default, consent, country,
                                                                              state, target, purpose):
    config = PrivacyConfig(regions={"eea": BUNDLED.regions["eea"], "us_ldu": BUNDLED.regions["us_ldu"]},
                           policies=tuple(rules), default=default)
    decision = decide(config, target, Person(country, state, consent), purpose)
    assert decision.policy in POLICIES and decision.reason
    if consent.get(purpose) is False:
        assert decision.policy not in ("send", "restricted")


@given(consent=consents, country=st.sampled_from([None, "DE", "GB", "US", "SA", "Portugal"]),
       state=st.sampled_from([None, "CA", "Texas", "NY"]), target=st.sampled_from(AD_EXITS))
def test_the_bundled_defaults_never_send_an_ad_network_a_denial_or_an_unknown_european(consent, country, state,
                                                                                       target):
    decision = decide(BUNDLED, target, Person(country, state, consent), "ad_user_data")
    if consent.get("ad_user_data") is False or (country in ("DE", "GB", "Portugal")
                                               and consent.get("ad_user_data") is not True):
        assert decision.policy == "drop"


BAD = """\
purposes:
  ad_user_data: Ad user data
  Marketing: Marketing
regions:
  eea: [DE, FR, XX, us-ca]
policies:
  - destinations: [meta, metaa]
    regions: [eeaa]
    consent: {ad_user_data: maybe, ad_personalisation: denied}
    policy: drop
  - policy: hide
    when: always
default: sometimes
"""


def test_every_issue_of_a_bad_privacy_yaml_is_reported_with_file_key_and_line(tmp_path):
    (tmp_path / "privacy.yaml").write_text(BAD)
    issues = [(i.line, i.path, i.message) for i in check_config(tmp_path) if i.file.endswith("privacy.yaml")]
    assert issues == [
        (3, "purposes.Marketing", "'Marketing' is not a purpose name; use lowercase letters, digits and _ (at most "
                                  "32), starting with a letter, e.g. ad_user_data"),
        (5, "regions.eea[2]", "'XX' is not an ISO 3166-1 country code"),
        (5, "regions.eea[3]", "'us-ca' is not a country or subdivision code; expected an ISO 3166 code in capitals "
                              "such as DE, or a country's subdivision such as US-CA"),
        (8, "policies[0].regions", "unknown region 'eeaa' (did you mean 'eea'?); configured regions: eea"),
        (9, "policies[0].consent.ad_personalisation", "unknown purpose 'ad_personalisation'; expected one of: "
                                                      "ad_user_data, Marketing, or purpose (the purpose the "
                                                      "destination needs)"),
        (9, "policies[0].consent.ad_user_data", "unknown consent state 'maybe'; expected one of: granted, denied, "
                                                "unknown"),
        (11, "policies[1].policy", "unknown policy 'hide'; expected one of: send, restricted, strip, drop"),
        (12, "policies[1].when", "unknown key; expected one of: name, destinations, regions, consent, policy"),
        (13, "default", "unknown policy 'sometimes'; expected one of: send, restricted, strip, drop"),
    ]


def test_a_destination_no_network_kind_or_configured_name_is_an_issue_once_the_file_parses(tmp_path):
    (tmp_path / "privacy.yaml").write_text("policies:\n  - policy: drop\n  - destinations: [all, metaa]\n"
                                           "    policy: strip\n")
    [issue] = [i for i in check_config(tmp_path) if i.file.endswith("privacy.yaml")]
    assert (issue.line, issue.path) == (3, "policies[1].destinations")
    assert issue.message.startswith("unknown destination 'metaa' (did you mean 'meta'?); expected all, a network")


def test_a_mapping_writing_a_purpose_privacy_yaml_does_not_declare_is_an_issue(tmp_path):
    """A consent purpose only a mapping knows would be recorded and never honoured: config check names it."""
    (tmp_path / "mappings").mkdir()
    (tmp_path / "mappings" / "shop_order.yaml").write_text(
        "source: shop\nobject: order\nrecord_id: id\nidentities:\n  - {kind: email, path: email}\n"
        "consent:\n  marketing_mesages: {path: accepts, transforms: [consent]}\n")
    [issue] = [i for i in check_config(tmp_path) if i.path.startswith("consent.")]
    assert issue.file.endswith("shop_order.yaml") and issue.path == "consent.marketing_mesages"
    assert issue.message.startswith("consent purpose 'marketing_mesages' is not declared in privacy.yaml "
                                    "(did you mean 'marketing_messages'?)")
    declared = {**BUNDLED.purposes, "marketing_mesages": "Typo kept on purpose"}
    (tmp_path / "privacy.yaml").write_text("purposes:\n" + "".join(f"  {k}: {v}\n" for k, v in declared.items()))
    assert not [i for i in check_config(tmp_path) if i.path.startswith("consent.")]


def test_a_projects_privacy_yaml_replaces_the_bundled_one_and_reaches_config(tmp_path):
    assert load_config(None).privacy == BUNDLED and BUNDLED.default == "send" and len(BUNDLED.policies) == 7
    (tmp_path / "privacy.yaml").write_text("regions: {gulf: [AE, SA]}\npolicies:\n  - regions: [gulf]\n"
                                           "    policy: strip\ndefault: drop\n")
    privacy = load_config(tmp_path).privacy
    assert privacy.default == "drop" and privacy.purposes == BUNDLED.purposes  # purposes default when not written
    assert privacy.policies == (PolicyRule(policy="strip", regions=("gulf",), line=3),)


def test_config_check_reports_a_bad_privacy_yaml(tmp_path, store, database_url, monkeypatch):
    (tmp_path / "privacy.yaml").write_text("policies:\n  - policy: hide\n")
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("LIFESYNC_CONFIG_DIR", str(tmp_path))
    res = CliRunner().invoke(main, ["config", "check", "--on", "2026-12-06"])
    assert res.exit_code == 1
    assert "privacy.yaml:2: policies[0].policy: unknown policy 'hide'" in res.output
