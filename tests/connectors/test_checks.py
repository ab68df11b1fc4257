"""``sync.connectors.checks``: one authenticated read per connection and destination, against the sandboxes."""

from __future__ import annotations

import os

import pytest
import requests
import responses
from responses import matchers
from support.crm import settings_for

from sync.config import load_config
from sync.connectors.checks import FAILED, OK, SKIPPED, check_all
from sync.sandbox.ads.google_ads import GoogleAdsSandbox
from sync.sandbox.ads.meta import MetaSandbox
from sync.sandbox.ads.tiktok import TikTokSandbox
from sync.sandbox.hubspot.sandbox import HubSpotSandbox
from sync.sandbox.salesforce.sandbox import SalesforceSandbox
from sync.sandbox.server import SandboxServer
from sync.settings import Settings

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
    assert list(results) == ["hubspot/default", "salesforce/default", "meta-ads/default", "meta/meta", "tiktok/tiktok",
                             "google/google"]
    assert results["meta-ads/default"].status == OK  # the Marketing API token reads the ad account
    assert results["meta-ads/default"].detail == f"ad account {MetaSandbox.AD_ACCOUNT_ID} 'lifesync sandbox ad account'"
    assert results["hubspot/default"].status == OK
    assert results["hubspot/default"].detail == "portal 62515, SANDBOX, US/Eastern"
    assert results["salesforce/default"].status == OK
    assert results["salesforce/default"].detail.startswith("API requests today: ")
    assert results["meta/meta"].status == OK
    assert results["meta/meta"].detail == f"dataset {MetaSandbox.DATASET_ID} 'lifesync sandbox dataset'"
    assert results["google/google"].status == OK  # Data Manager: one validateOnly ingest, nothing recorded
    assert results["google/google"].detail == f"validateOnly ingest accepted for customer " \
                                              f"{GoogleAdsSandbox.CUSTOMER_ID}, conversion action(s) 111, 222, 333, " \
                                              "444, 555"
    assert server.google.accepted == [] and server.google.requests == 1 and server.google.request_statuses == {}
    assert results["tiktok/tiktok"].status == SKIPPED
    assert server.hubspot.calls  # the check really went to the sandbox


def test_the_ads_api_transport_lists_the_accessible_customers(server, database_url):
    settings = settings_for(server, database_url, LIFESYNC_GOOGLE_ADS_TRANSPORT="ads_api")
    result = by_label(check_all(settings, CONFIG, **NO_SLEEP))["google/google"]
    assert (result.status, result.detail) == (OK, f"2 accessible customer(s); customer {GoogleAdsSandbox.CUSTOMER_ID} "
                                                  "reached directly")


def test_an_unknown_conversion_action_fails_the_data_manager_check_with_googles_reason(server, database_url):
    settings = settings_for(server, database_url, LIFESYNC_GOOGLE_ADS_CONVERSION_ACTIONS="purchase=111,lead=999")
    result = by_label(check_all(settings, CONFIG, **NO_SLEEP))["google/google"]
    assert result.status == FAILED
    assert "INVALID_CONVERSION_ACTION_ID" in result.detail and "destinations[1].product_destination_id" in result.detail


def test_a_marketing_token_the_sandbox_never_issued_fails_with_metas_code_190(server, database_url):
    settings = settings_for(server, database_url, LIFESYNC_META_MARKETING_ACCESS_TOKEN="forged-token-123456")
    result = by_label(check_all(settings, None, **NO_SLEEP))["meta-ads/default"]
    assert result.status == FAILED
    assert "code 190" in result.detail and "Cannot parse access token" in result.detail
    assert "forged-token-123456" not in result.detail


def test_the_legacy_hubspot_version_reads_the_v3_account_info(server, database_url):
    settings = settings_for(server, database_url, LIFESYNC_HUBSPOT_API_VERSION="legacy")
    result = by_label(check_all(settings, None, **NO_SLEEP))["hubspot/default"]
    assert (result.status, result.detail) == (OK, "portal 62515, SANDBOX, US/Eastern")
    assert any("/account-info/v3/details" in key for key in server.hubspot.calls)


ADS_API = {"LIFESYNC_GOOGLE_ADS_TRANSPORT": "ads_api"}


@pytest.mark.parametrize(("variable", "label", "says", "extra"), [
    ("LIFESYNC_HUBSPOT_TOKEN", "hubspot/default", "Authentication credentials not found", {}),
    ("LIFESYNC_SALESFORCE_REFRESH_TOKEN", "salesforce/default", "(HTTP 400) POST http://127.0.0.1", {}),
    ("LIFESYNC_META_ACCESS_TOKEN", "meta/meta", "(HTTP 400, code 190): Invalid OAuth", {}),
    ("LIFESYNC_GOOGLE_ADS_ACCESS_TOKEN", "google/google", "Request had invalid authentication credentials.", {}),
    ("LIFESYNC_GOOGLE_ADS_ACCESS_TOKEN", "google/google", "Oauth token in the header is not valid.", ADS_API),
    ("LIFESYNC_GOOGLE_ADS_DEVELOPER_TOKEN", "google/google", "The developer token is not valid.", ADS_API),
])
def test_a_wrong_credential_fails_with_the_vendors_message_and_the_others_still_run(server, database_url, variable,
                                                                                    label, says, extra):
    wrong = "wrong-secret-value-123456"
    settings = settings_for(server, database_url, **{variable: wrong}, **extra)
    results = by_label(check_all(settings, CONFIG, **NO_SLEEP))
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
    assert result.status == FAILED and "Unsupported get request. Object with ID '999' does not exist" in result.detail


RESPONDIO = "https://api.respond.io/v2"


@pytest.fixture
def respondio(database_url):
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIFESYNC_")}
    env.update(DATABASE_URL=database_url, LIFESYNC_RESPONDIO_API_TOKEN="respondio-token-0123456789",
               LIFESYNC_RESPONDIO_API_TOKEN__SHOP2="respondio-other-0123456789",
               LIFESYNC_RESPONDIO_WEBHOOK_KEY__HOOKS_ONLY="k1")
    with responses.RequestsMock() as mock:
        yield Settings.from_env(env), mock


def test_respondio_lists_the_workspace_users_per_connection_with_its_own_token(respondio):
    settings, mock = respondio
    ok = {"items": [{"id": 1, "firstName": "Ana"}, {"id": 2, "firstName": "Rui"}],
          "pagination": {"next": None, "previous": None}}
    mock.add(responses.GET, f"{RESPONDIO}/space/user", json=ok,
             match=[matchers.header_matcher({"Authorization": "Bearer respondio-token-0123456789"})])
    mock.add(responses.GET, f"{RESPONDIO}/space/user", status=401, json={"message": "Unauthorized: invalid token"},
             match=[matchers.header_matcher({"Authorization": "Bearer respondio-other-0123456789"})])
    results = by_label(check_all(settings, None))
    assert list(results) == ["respondio/default", "respondio/shop2"]  # a webhook-only connection calls nothing
    assert results["respondio/default"].line() == "respondio/default  OK (2 workspace user(s) on the first page)"
    shop2 = results["respondio/shop2"]
    assert shop2.status == FAILED
    assert shop2.detail == ("respond.io rejected the API token (HTTP 401); check LIFESYNC_RESPONDIO_API_TOKEN__SHOP2: "
                            "Unauthorized: invalid token")
    assert "respondio-other" not in shop2.line()


def test_an_unreachable_respondio_is_a_failed_line_not_a_crash(respondio):
    settings, mock = respondio
    mock.add(responses.GET, f"{RESPONDIO}/space/user", body=requests.ConnectionError("refused"))
    mock.add(responses.GET, f"{RESPONDIO}/space/user", json={"items": []})
    results = by_label(check_all(settings, None))
    assert results["respondio/default"].status == FAILED
    assert results["respondio/default"].detail == "could not reach respond.io (ConnectionError)"
    assert results["respondio/shop2"].line() == "respondio/shop2  OK (0 workspace user(s) on the first page)"
