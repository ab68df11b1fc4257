"""``sync.connectors.checks``: one authenticated read per connection and destination, against the sandboxes."""

from __future__ import annotations

import pytest
from support.crm import settings_for

from sync.config import load_config
from sync.connectors.checks import FAILED, OK, SKIPPED, check_all
from sync.sandbox.ads.google_ads import GoogleAdsSandbox
from sync.sandbox.ads.meta import MetaSandbox
from sync.sandbox.ads.tiktok import TikTokSandbox
from sync.sandbox.hubspot.sandbox import HubSpotSandbox
from sync.sandbox.salesforce.sandbox import SalesforceSandbox
from sync.sandbox.server import SandboxServer

CONFIG = load_config(None)
NO_SLEEP = {"sleep": lambda seconds: None}


@pytest.fixture
def server():
    with SandboxServer(hubspot=HubSpotSandbox(), salesforce=SalesforceSandbox(), meta=MetaSandbox(),
                       tiktok=TikTokSandbox(), google=GoogleAdsSandbox()) as running:
        yield running


def by_label(results):
    return {r.label: r for r in results}


def test_every_connection_and_destination_answers_ok_with_what_it_read(server, database_url):
    results = by_label(check_all(settings_for(server, database_url), CONFIG, **NO_SLEEP))
    assert list(results) == ["hubspot/default", "salesforce/default", "meta/meta", "tiktok/tiktok", "google/google"]
    assert results["hubspot/default"].status == OK
    assert results["hubspot/default"].detail == "portal 62515, SANDBOX, US/Eastern"
    assert results["salesforce/default"].status == OK
    assert results["salesforce/default"].detail.startswith("API requests today: ")
    assert results["meta/meta"].status == OK
    assert results["meta/meta"].detail == f"dataset {MetaSandbox.DATASET_ID} 'lifesync sandbox dataset'"
    assert results["google/google"].status == OK
    assert results["google/google"].detail == f"2 accessible customer(s); customer {GoogleAdsSandbox.CUSTOMER_ID} " \
                                                  "reached directly"
    assert results["tiktok/tiktok"].status == SKIPPED
    assert server.hubspot.calls  # the check really went to the sandbox


def test_the_legacy_hubspot_version_reads_the_v3_account_info(server, database_url):
    settings = settings_for(server, database_url, LIFESYNC_HUBSPOT_API_VERSION="legacy")
    result = by_label(check_all(settings, None, **NO_SLEEP))["hubspot/default"]
    assert (result.status, result.detail) == (OK, "portal 62515, SANDBOX, US/Eastern")
    assert any("/account-info/v3/details" in key for key in server.hubspot.calls)


@pytest.mark.parametrize(("variable", "label", "says"), [
    ("LIFESYNC_HUBSPOT_TOKEN", "hubspot/default", "Authentication credentials not found"),
    ("LIFESYNC_SALESFORCE_REFRESH_TOKEN", "salesforce/default", "(HTTP 400) POST http://127.0.0.1"),
    ("LIFESYNC_META_ACCESS_TOKEN", "meta/meta", "(HTTP 400, code 190): Invalid OAuth"),
    ("LIFESYNC_GOOGLE_ADS_ACCESS_TOKEN", "google/google", "Oauth token in the header is not valid."),
    ("LIFESYNC_GOOGLE_ADS_DEVELOPER_TOKEN", "google/google", "The developer token is not valid."),
])
def test_a_wrong_credential_fails_with_the_vendors_message_and_the_others_still_run(server, database_url, variable,
                                                                                    label, says):
    wrong = "wrong-secret-value-123456"
    results = by_label(check_all(settings_for(server, database_url, **{variable: wrong}), CONFIG, **NO_SLEEP))
    assert results[label].status == FAILED
    assert says in results[label].detail
    assert wrong not in results[label].detail
    assert [r.label for r in results.values() if r.status == FAILED] == [label]  # the others answered OK


def test_a_named_connection_is_checked_beside_the_default_one(server, database_url):
    named = {f"{k}__SALON2": v for k, v in server.env().items() if k.startswith("LIFESYNC_HUBSPOT_")}
    named["LIFESYNC_HUBSPOT_TOKEN__SALON2"] = "not-the-portal-token"
    results = by_label(check_all(settings_for(server, database_url, **named), None, **NO_SLEEP))
    assert results["hubspot/default"].status == OK
    assert results["hubspot/salon2"].status == FAILED


def test_a_meta_dataset_the_token_cannot_see_is_metas_object_error(server, database_url):
    settings = settings_for(server, database_url, LIFESYNC_META_DATASET_ID="999")
    result = by_label(check_all(settings, CONFIG, **NO_SLEEP))["meta/meta"]
    assert result.status == FAILED and "Object with ID '999' does not exist" in result.detail
