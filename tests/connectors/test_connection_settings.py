"""Each connector's typed settings: defaults, valid and malformed values, fallbacks, and what receivers make of them.

One table per direction, grouped by connector; every malformed case states the exact message,
which names the variable as the operator must set it.
"""

from __future__ import annotations

import pytest

from sync.config import load_config
from sync.connectors.generic import GenericSettings
from sync.connectors.hubspot.client import DEFAULT_BASE_URL
from sync.connectors.hubspot.settings import HubSpotSettings
from sync.connectors.meta.settings import InstagramSettings, MessengerSettings, WhatsAppSettings
from sync.connectors.respondio.client import DEFAULT_URL as RESPONDIO_URL
from sync.connectors.respondio.settings import RespondioSettings
from sync.connectors.salesforce.client import DEFAULT_API_VERSION
from sync.connectors.salesforce.settings import SalesforceSettings
from sync.connectors.tiktok import TikTokSettings
from sync.connectors.twilio import TwilioSettings
from sync.errors import ConfigError, SettingsError
from sync.settings import Settings
from sync.web import create_app

SID = "AC3b8e1f4a7d2c5b8e1f4a7d2c5b8e1f42"

VALID = [
    # HubSpot: credentials are the portal's own; the app, the host, its pace and the receiver's options fall back
    (HubSpotSettings, {}, "default",
     {"token": None, "base_url": "https://api.hubapi.com", "rate_per_10s": 100, "lookback_seconds": 300,
      "public_url": None, "signature_versions": ("v1", "v2", "v3")}),
    (HubSpotSettings, {"LIFESYNC_HUBSPOT_RATE_PER_10S": "150", "LIFESYNC_HUBSPOT_LOOKBACK_SECONDS": "0",
                       "LIFESYNC_HUBSPOT_SIGNATURE_VERSIONS": " V3 "}, "default",
     {"rate_per_10s": 150, "lookback_seconds": 0, "signature_versions": ("v3",)}),
    (HubSpotSettings, {"LIFESYNC_HUBSPOT_TOKEN": "pat-default", "LIFESYNC_HUBSPOT_REFRESH_TOKEN": "rt-default",
                       "LIFESYNC_HUBSPOT_OAUTH_CLIENT_ID": "app-id", "LIFESYNC_HUBSPOT_CLIENT_SECRET": "app-secret",
                       "LIFESYNC_HUBSPOT_BASE_URL": "https://hubspot.proxy.test",
                       "LIFESYNC_HUBSPOT_RATE_PER_10S": "50", "LIFESYNC_HUBSPOT_LOOKBACK_SECONDS": "60",
                       "LIFESYNC_HUBSPOT_PUBLIC_URL": "https://sync.example.com/crm/",
                       "LIFESYNC_HUBSPOT_SIGNATURE_VERSIONS": "v3"}, "salon2",
     {"token": None, "refresh_token": None, "oauth_client_id": "app-id", "app_client_secret": "app-secret",
      "client_secret": None, "base_url": "https://hubspot.proxy.test", "rate_per_10s": 50, "lookback_seconds": 60,
      "public_url": "https://sync.example.com/crm/", "signature_versions": ("v3",)}),
    (HubSpotSettings, {"LIFESYNC_HUBSPOT_RATE_PER_10S": "50", "LIFESYNC_HUBSPOT_RATE_PER_10S__SALON2": "20",
                       "LIFESYNC_HUBSPOT_CLIENT_SECRET__SALON2": "own-secret"}, "salon2",
     {"rate_per_10s": 20, "client_secret": "own-secret", "app_client_secret": "own-secret"}),
    # Salesforce: every named connection is its own org, nothing falls back
    (SalesforceSettings, {}, "default",
     {"login_url": "https://login.salesforce.com", "api_version": "v61.0", "client_id": None, "overlap_seconds": 300.0,
      "quota_share": 0.25, "bulk_threshold": 50_000, "external_id_field": "Lifesync_Id__c", "org_ids": ()}),
    (SalesforceSettings, {"LIFESYNC_SALESFORCE_LOGIN_URL__EU": "https://test.salesforce.com/",
                          "LIFESYNC_SALESFORCE_API_VERSION__EU": "62.0", "LIFESYNC_SALESFORCE_QUOTA_SHARE__EU": "1",
                          "LIFESYNC_SALESFORCE_OVERLAP_SECONDS__EU": "0", "LIFESYNC_SALESFORCE_BULK_THRESHOLD__EU": "0",
                          "LIFESYNC_SALESFORCE_EXTERNAL_ID_FIELD__EU": "Contact_Key__c",
                          "LIFESYNC_SALESFORCE_ORG_IDS__EU": "00D000000000062, 00D5g000004XyZaEAK"}, "eu",
     {"login_url": "https://test.salesforce.com/", "api_version": "62.0", "quota_share": 1.0, "overlap_seconds": 0.0,
      "bulk_threshold": 0, "external_id_field": "Contact_Key__c",
      "org_ids": ("00D000000000062", "00D5g000004XyZaEAK")}),
    (SalesforceSettings, {"LIFESYNC_SALESFORCE_QUOTA_SHARE": "0.5", "LIFESYNC_SALESFORCE_CLIENT_ID": "3MVG9"}, "eu",
     {"quota_share": 0.25, "client_id": None}),
    # respond.io: one workspace per connection; a key per webhook
    (RespondioSettings, {}, "default", {"webhook_keys": (), "api_url": "https://api.respond.io/v2", "api_token": None}),
    (RespondioSettings, {"LIFESYNC_RESPONDIO_WEBHOOK_KEY__AGENCY": "k-messages, k-contacts",
                         "LIFESYNC_RESPONDIO_API_URL__AGENCY": "https://eu.respond.example/v2/"}, "agency",
     {"webhook_keys": ("k-messages", "k-contacts"), "api_url": "https://eu.respond.example/v2/"}),
    # Meta, TikTok, generic: secrets and id lists (text: nothing to refuse)
    (WhatsAppSettings, {"LIFESYNC_WHATSAPP_APP_SECRET__SALON2": "wa", "LIFESYNC_WHATSAPP_PHONE_NUMBER_IDS__SALON2":
                        "222000111, 222000112"}, "salon2",
     {"app_secret": "wa", "verify_token": None, "phone_number_ids": ("222000111", "222000112")}),
    (MessengerSettings, {"LIFESYNC_MESSENGER_PAGE_IDS": "333000111,333000222"}, "default",
     {"page_ids": ("333000111", "333000222")}),
    (InstagramSettings, {"LIFESYNC_INSTAGRAM_VERIFY_TOKEN": "ig"}, "shop2", {"verify_token": None, "page_ids": ()}),
    (TikTokSettings, {"LIFESYNC_TIKTOK_APP_SECRET__BRAND2": "tt"}, "brand2", {"app_secret": "tt"}),
    (GenericSettings, {"LIFESYNC_GENERIC_SECRET__SHOP": "s", "LIFESYNC_GENERIC_MAPPING__SHOP": "shop/order"}, "shop",
     {"secret": "s", "mapping": "shop/order", "source_object": ("shop", "order")}),
    (GenericSettings, {"LIFESYNC_GENERIC_MAPPING__CART": "cart"}, "cart", {"source_object": ("cart", "")}),
    # Twilio: token, SID and numbers are the connection's; the algorithm and public URL the deployment's
    (TwilioSettings, {}, "default",
     {"auth_token": None, "account_sid": None, "numbers": (), "signature_algorithm": "sha1", "public_url": None}),
    (TwilioSettings, {"LIFESYNC_TWILIO_ACCOUNT_SID": SID, "LIFESYNC_TWILIO_SIGNATURE_ALGORITHM": "SHA256",
                      "LIFESYNC_TWILIO_PUBLIC_URL": "https://hooks.example.com/",
                      "LIFESYNC_TWILIO_NUMBERS__SALON2": "WhatsApp:+12125550199, +12125550142"}, "salon2",
     {"account_sid": None, "signature_algorithm": "sha256", "public_url": "https://hooks.example.com/",
      "numbers": ("+12125550199", "+12125550142")}),
]


@pytest.mark.parametrize(("kind", "env", "connection", "expected"), VALID)
def test_valid_settings_parse_to_typed_values(kind, env, connection, expected):
    conf = kind.of(Settings.from_env(env), connection)
    assert conf.connection == connection
    assert {name: getattr(conf, name) for name in expected} == expected
    assert all(type(getattr(conf, name)) is type(value) for name, value in expected.items())


INVALID = [
    (HubSpotSettings, {"LIFESYNC_HUBSPOT_RATE_PER_10S__SALON2": "abc"}, "salon2",
     "LIFESYNC_HUBSPOT_RATE_PER_10S__SALON2 must be an integer, got 'abc'"),
    (HubSpotSettings, {"LIFESYNC_HUBSPOT_RATE_PER_10S": "0"}, "salon2",
     "LIFESYNC_HUBSPOT_RATE_PER_10S must be at least 1, got 0"),  # fallen back: named where the value is
    (HubSpotSettings, {"LIFESYNC_HUBSPOT_LOOKBACK_SECONDS": "-1"}, "default",
     "LIFESYNC_HUBSPOT_LOOKBACK_SECONDS must be at least 0, got -1"),
    (HubSpotSettings, {"LIFESYNC_HUBSPOT_BASE_URL__EU": "api.hubapi.com"}, "eu",
     "LIFESYNC_HUBSPOT_BASE_URL__EU must be an http:// or https:// URL with a host, got 'api.hubapi.com'"),
    (HubSpotSettings, {"LIFESYNC_HUBSPOT_PUBLIC_URL": "sync.example.com/crm"}, "default",
     "LIFESYNC_HUBSPOT_PUBLIC_URL must be an http:// or https:// URL with a host, got 'sync.example.com/crm'"),
    (HubSpotSettings, {"LIFESYNC_HUBSPOT_SIGNATURE_VERSIONS__STRICT": "v3,v4"}, "strict",
     "LIFESYNC_HUBSPOT_SIGNATURE_VERSIONS__STRICT items must be v1, v2 or v3, got 'v4'"),
    (HubSpotSettings, {"LIFESYNC_HUBSPOT_SIGNATURE_VERSIONS": ","}, "default",
     "LIFESYNC_HUBSPOT_SIGNATURE_VERSIONS must list at least one value, got ','"),
    (SalesforceSettings, {"LIFESYNC_SALESFORCE_LOGIN_URL": "login.salesforce.com"}, "default",
     "LIFESYNC_SALESFORCE_LOGIN_URL must be an http:// or https:// URL with a host, got 'login.salesforce.com'"),
    (SalesforceSettings, {"LIFESYNC_SALESFORCE_API_VERSION__EU": "latest"}, "eu",
     "LIFESYNC_SALESFORCE_API_VERSION__EU must be a version like v61.0, got 'latest'"),
    (SalesforceSettings, {"LIFESYNC_SALESFORCE_OVERLAP_SECONDS": "five"}, "default",
     "LIFESYNC_SALESFORCE_OVERLAP_SECONDS must be a number, got 'five'"),
    (SalesforceSettings, {"LIFESYNC_SALESFORCE_OVERLAP_SECONDS": "86401"}, "default",
     "LIFESYNC_SALESFORCE_OVERLAP_SECONDS must be between 0 and 86400, got 86401"),
    (SalesforceSettings, {"LIFESYNC_SALESFORCE_QUOTA_SHARE__EU": "0"}, "eu",
     "LIFESYNC_SALESFORCE_QUOTA_SHARE__EU must be between 0.01 and 1, got 0"),
    (SalesforceSettings, {"LIFESYNC_SALESFORCE_BULK_THRESHOLD": "lots"}, "default",
     "LIFESYNC_SALESFORCE_BULK_THRESHOLD must be an integer, got 'lots'"),
    (SalesforceSettings, {"LIFESYNC_SALESFORCE_EXTERNAL_ID_FIELD": "Lifesync Id"}, "default",
     "LIFESYNC_SALESFORCE_EXTERNAL_ID_FIELD must be a field's API name, e.g. Lifesync_Id__c, got 'Lifesync Id'"),
    (SalesforceSettings, {"LIFESYNC_SALESFORCE_ORG_IDS__EMEA": "00D000000000062, 00D123"}, "emea",
     "LIFESYNC_SALESFORCE_ORG_IDS__EMEA items must be an organisation id of 15 or 18 letters and digits, "
     "got '00D123'"),
    (RespondioSettings, {"LIFESYNC_RESPONDIO_API_URL__AGENCY": "eu.respond.example/v2"}, "agency",
     "LIFESYNC_RESPONDIO_API_URL__AGENCY must be an http:// or https:// URL with a host, got 'eu.respond.example/v2'"),
    (TwilioSettings, {"LIFESYNC_TWILIO_SIGNATURE_ALGORITHM": "md5"}, "salon2",
     "LIFESYNC_TWILIO_SIGNATURE_ALGORITHM must be sha1 or sha256, got 'md5'"),
    (TwilioSettings, {"LIFESYNC_TWILIO_ACCOUNT_SID__SALON2": "AC123"}, "salon2",
     "LIFESYNC_TWILIO_ACCOUNT_SID__SALON2 must be AC followed by 32 hexadecimal digits, got 'AC123'"),
    (TwilioSettings, {"LIFESYNC_TWILIO_PUBLIC_URL__SALON2": "hooks.example.com"}, "salon2",
     "LIFESYNC_TWILIO_PUBLIC_URL__SALON2 must be an http:// or https:// URL with a host, got 'hooks.example.com'"),
]


@pytest.mark.parametrize(("kind", "env", "connection", "message"), INVALID)
def test_malformed_settings_are_settings_errors_naming_the_variable(kind, env, connection, message):
    with pytest.raises(SettingsError) as raised:
        kind.of(Settings.from_env(env), connection)
    assert str(raised.value) == message


@pytest.mark.parametrize(("kind", "field", "constant"), [
    (HubSpotSettings, "base_url", DEFAULT_BASE_URL),
    (SalesforceSettings, "api_version", DEFAULT_API_VERSION),
    (RespondioSettings, "api_url", RESPONDIO_URL),
])
def test_client_defaults_agree_with_the_settings_table(kind, field, constant):
    assert getattr(kind(), field) == constant


# --- a malformed value stops the app at start and fails `config check`: no webhook meets it ----------

def _app(store, database_url, **env: str):
    settings = Settings.from_env({"DATABASE_URL": database_url, **env})
    return create_app(settings, store=store, config=load_config(None), enqueue=lambda ids: None)


@pytest.mark.parametrize(("env", "says"), [
    ({"LIFESYNC_HUBSPOT_CLIENT_SECRET": "s", "LIFESYNC_HUBSPOT_SIGNATURE_VERSIONS": "v4"},
     "LIFESYNC_HUBSPOT_SIGNATURE_VERSIONS items must be v1, v2 or v3, got 'v4'"),
    ({"LIFESYNC_TWILIO_AUTH_TOKEN__SALON2": "t", "LIFESYNC_TWILIO_SIGNATURE_ALGORITHM__SALON2": "md5"},
     "LIFESYNC_TWILIO_SIGNATURE_ALGORITHM__SALON2"),
    ({"LIFESYNC_SALESFORCE_ORG_IDS": "00D000000000001, nope"}, "LIFESYNC_SALESFORCE_ORG_IDS"),
])
def test_a_malformed_setting_stops_the_app_at_start_naming_the_variable(store, database_url, env, says):
    with pytest.raises(ConfigError) as caught:
        _app(store, database_url, **env)
    assert [i.file for i in caught.value.issues] == ["environment"]
    assert says in caught.value.issues[0].message


def test_every_malformed_connection_is_reported_at_once(store, database_url):
    with pytest.raises(ConfigError) as caught:
        _app(store, database_url, LIFESYNC_HUBSPOT_RATE_PER_10S="0", LIFESYNC_TWILIO_SIGNATURE_ALGORITHM="md5",
             LIFESYNC_RESPONDIO_API_URL__AGENCY="ftp://x")
    named = " ".join(i.message for i in caught.value.issues)
    assert len(caught.value.issues) == 3
    for variable in ("LIFESYNC_HUBSPOT_RATE_PER_10S", "LIFESYNC_TWILIO_SIGNATURE_ALGORITHM",
                     "LIFESYNC_RESPONDIO_API_URL__AGENCY"):
        assert variable in named


def test_well_formed_settings_start_and_an_unconfigured_connection_is_still_404(store, database_url):
    client = _app(store, database_url, LIFESYNC_HUBSPOT_CLIENT_SECRET="s",
                  LIFESYNC_TWILIO_SIGNATURE_ALGORITHM="sha256").test_client()
    assert client.post("/webhooks/hubspot/salon2", data=b"[]").status_code == 404
    assert client.post("/webhooks/twilio/salon2", data=b"From=x").status_code == 404


def test_a_vendor_api_version_past_its_end_does_not_stop_the_app(store, database_url):
    # config check reports it; no webhook calls an ad network's API, so receiving goes on
    client = _app(store, database_url, LIFESYNC_GOOGLE_ADS_DEVELOPER_TOKEN="d", LIFESYNC_GOOGLE_ADS_ACCESS_TOKEN="a",
                  LIFESYNC_GOOGLE_ADS_CUSTOMER_ID="1234567890", LIFESYNC_META_ACCESS_TOKEN="t",
                  LIFESYNC_META_DATASET_ID="1", LIFESYNC_META_API_VERSION="v12.0").test_client()
    assert client.get("/healthz").status_code == 200
