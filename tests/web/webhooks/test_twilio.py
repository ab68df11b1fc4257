"""Twilio receiver: X-Twilio-Signature (SHA-1/SHA-256, ports, public URL, bodySHA256), inbox, canonical state."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from pathlib import Path
from urllib.parse import urlencode

import pytest
from sqlalchemy import func, select
from support.receivers import TWIML
from support.receivers import twilio_params as params_of
from support.signatures import twilio_signature
from support.webhook_app import app_with

from sync.connectors import twilio as verifier
from sync.errors import ConfigError
from sync.ingest import inbox
from sync.reconcile.patch import IdentityRef
from sync.reports.export import contacts_json, find_contact
from sync.store import model

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "twilio"
URL = "http://localhost/webhooks/twilio"
VECTOR_PARAMS = [("CallSid", "CA1234567890ABCDE"), ("Caller", "+14158675309"), ("Digits", "1234"),
                 ("From", "+14158675309"), ("To", "+18005551212")]


def post(client, params, token="tw-token", path="/webhooks/twilio", signed_url=None, signature=None,
         base_url="http://localhost", algorithm="sha1"):
    url = signed_url or base_url + path
    sig = signature if signature is not None else twilio_signature(token, url, params, algorithm)
    headers = {} if sig is False else {"X-Twilio-Signature": sig}
    return client.post(path, data=urlencode(params), base_url=base_url, headers=headers,
                       content_type="application/x-www-form-urlencoded")


def raw_count(store) -> int:
    with store.transaction() as s:
        return s.scalar(select(func.count()).select_from(model.RawEvent))


def client_with(store, config, enqueued, database_url, **extra):
    return app_with(store, config, enqueued, database_url, **extra).test_client()


def contact_doc(store, ref: IdentityRef) -> dict:
    with store.transaction() as s:
        [doc] = contacts_json(s, [find_contact(s, ref)])
    return doc


def test_public_signature_vector():
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    expected = "RSOYDt4T1cUTdK1PDd93/VVr8B8="
    assert twilio_signature("12345", url, VECTOR_PARAMS) == expected
    assert verifier.sign("12345", url, VECTOR_PARAMS) == expected
    assert verifier.verify("12345", url, VECTOR_PARAMS, expected)
    assert verifier.verify("12345", "https://mycompany.com:443/myapp.php?foo=1&bar=2", VECTOR_PARAMS, expected)
    assert not verifier.verify("12345", url, [*VECTOR_PARAMS[:-1], ("To", "+18005551213")], expected)
    assert not verifier.verify("12345", "https://mycompany.com:8443/myapp.php?foo=1&bar=2", VECTOR_PARAMS, expected)


def test_repeated_parameters_sign_in_sorted_value_order():
    params = [("MediaUrl0", "https://b.example/2"), ("MediaUrl0", "https://a.example/1"), ("MessageSid", "SM1")]
    text = URL + "MediaUrl0https://a.example/1MediaUrl0https://b.example/2MessageSidSM1"
    sig = base64.b64encode(hmac.new(b"tw-token", text.encode(), hashlib.sha1).digest()).decode()
    assert verifier.verify("tw-token", URL, params, sig)
    assert verifier.verify("tw-token", URL, list(reversed(params)), sig)


def test_sms_becomes_a_contact_with_an_inbound_sms_activity(client, store, config, enqueued):
    res = post(client, params_of("sms_inbound.json"))
    assert res.status_code == 200 and res.data == TWIML and res.mimetype == "text/xml"
    [ids] = enqueued
    assert inbox.process_events(store, config, ids).created == 1
    doc = contact_doc(store, IdentityRef("phone", "+12125550142"))
    assert doc["identities"] == ["phone:+12125550142"] and doc["touchpoints"] == []
    with store.transaction() as s:
        act = s.execute(select(model.Activity.channel, model.Activity.direction, model.Activity.external_id)).one()
        assert s.scalar(select(model.RawEvent.status)) == "processed"
    assert tuple(act) == ("sms", "inbound", "SM9f1c2a7b4e8d3c6a5b2f1e0d9c8b7a61")


def test_click_to_whatsapp_via_twilio_is_a_new_lead_with_its_touchpoint(client, store, config, enqueued):
    assert post(client, params_of("whatsapp_referral.json")).status_code == 200
    inbox.process_events(store, config, enqueued[0])
    doc = contact_doc(store, IdentityRef("whatsapp", "5215512345678"))
    assert doc["stage"] == "New Lead"
    assert sorted(doc["identities"]) == ["phone:+525512345678", "whatsapp:5215512345678"]
    [tp] = doc["touchpoints"]
    assert (tp["channel"], tp["network"], tp["ad_id"]) == ("whatsapp", "meta", "120210000000000123")
    assert tp["click_ids"]["ctwa_clid"].startswith("ARAkLkA8")
    with store.transaction() as s:
        assert s.scalar(select(model.Activity.channel)) == "whatsapp"


def _tampered(params, name, value):
    return [(k, value if k == name else v) for k, v in params]


@pytest.mark.parametrize("case", ["other path", "added param", "sha256 when sha1 is set"])
def test_a_signature_over_another_request_is_401_and_stores_nothing(client, store, enqueued, case):
    params = params_of("sms_inbound.json")
    sent, sig = params, twilio_signature("tw-token", URL, params)
    if case == "other path":
        sig = twilio_signature("tw-token", URL + "/elsewhere", params)
    elif case == "added param":
        sent = [*params, ("Injected", "1")]
    elif case == "sha256 when sha1 is set":
        sig = twilio_signature("tw-token", URL, params, "sha256")
    res = post(client, sent, signature=sig)
    assert res.status_code == 401 and res.json["status"] == 401
    assert raw_count(store) == 0 and enqueued == []


@pytest.mark.parametrize(("base_url", "signed_url", "status"), [
    # with or without the default port, the URL verifies
    ("http://localhost", "http://localhost:80/webhooks/twilio", 200),
    ("http://localhost:80", "http://localhost/webhooks/twilio", 200),
    ("https://hooks.example.com", "https://hooks.example.com:443/webhooks/twilio", 200),
    ("https://hooks.example.com:443", "https://hooks.example.com/webhooks/twilio", 200),
    ("https://hooks.example.com", "https://hooks.example.com/webhooks/twilio", 200),
    # other ports and schemes do not
    ("https://hooks.example.com:8443", "https://hooks.example.com/webhooks/twilio", 401),
    ("https://hooks.example.com", "http://hooks.example.com/webhooks/twilio", 401),
    ("https://hooks.example.com", "https://hooks.example.com:80/webhooks/twilio", 401),
])
def test_only_the_default_port_may_be_added_or_left_out(client, store, base_url, signed_url, status):
    res = post(client, params_of("sms_inbound.json"), base_url=base_url, signed_url=signed_url)
    assert res.status_code == status and raw_count(store) == (1 if status == 200 else 0)


@pytest.mark.parametrize("query", ["next=%2Fbook%2F1", "who=%7Eana", "city=Bogot%C3%A1", "q=a%20b%2Bc&x=1"])
def test_escapes_in_the_url_verify_as_twilio_sent_them(client, store, query):
    """Twilio signs the URL as configured, escapes included: they are not decoded before verifying."""
    path = f"/webhooks/twilio?{query}"
    res = post(client, params_of("sms_inbound.json"), path=path, signed_url=f"http://localhost{path}")
    assert res.status_code == 200 and raw_count(store) == 1


def test_a_signature_over_the_decoded_url_does_not_verify(client, store):
    res = post(client, params_of("sms_inbound.json"), path="/webhooks/twilio?next=%2Fbook",
               signed_url="http://localhost/webhooks/twilio?next=/book")
    assert res.status_code == 401 and raw_count(store) == 0


def test_public_url_rebuilds_the_url_twilio_signed_behind_a_proxy(store, config, enqueued, database_url):
    client = client_with(store, config, enqueued, database_url, LIFESYNC_TWILIO_PUBLIC_URL="https://hooks.example.com/")
    params = params_of("sms_inbound.json")
    # the proxy forwards to http://localhost; Twilio signed the public https URL
    assert post(client, params, signed_url="http://localhost/webhooks/twilio").status_code == 401
    assert post(client, params, signed_url="https://hooks.example.com/webhooks/twilio").status_code == 200
    assert post(client, params, signed_url="https://hooks.example.com:443/webhooks/twilio").status_code == 200
    assert raw_count(store) == 1


@pytest.mark.parametrize(("setting", "signed_with", "status"), [
    ("sha256", "sha256", 200), ("sha256", "sha1", 401), ("SHA1", "sha1", 200), ("sha1", "sha256", 401)])
def test_signature_algorithm_setting(store, config, enqueued, database_url, setting, signed_with, status):
    client = client_with(store, config, enqueued, database_url, LIFESYNC_TWILIO_SIGNATURE_ALGORITHM=setting)
    assert post(client, params_of("sms_inbound.json"), algorithm=signed_with).status_code == status


def test_unknown_signature_algorithm_is_a_configuration_error(store, config, enqueued, database_url):
    with pytest.raises(ConfigError) as caught:  # refused at start: no delivery ever meets it
        client_with(store, config, enqueued, database_url, LIFESYNC_TWILIO_SIGNATURE_ALGORITHM="md5")
    assert "sha1 or sha256" in str(caught.value) and raw_count(store) == 0


def _json_post(client, body: bytes, body_hash: str | None = None, token="tw-token", sign_url=None):
    query = f"?bodySHA256={body_hash or hashlib.sha256(body).hexdigest()}"
    url = sign_url or URL + query
    return client.post("/webhooks/twilio" + query, data=body, content_type="application/json",
                       headers={"X-Twilio-Signature": twilio_signature(token, url, [])})


def test_json_body_is_pinned_by_body_sha256_and_signed_over_the_url(client, store, config, enqueued):
    body = json.dumps(dict(params_of("whatsapp_referral.json"))).encode()
    assert _json_post(client, body).status_code == 200
    inbox.process_events(store, config, enqueued[0])
    assert contact_doc(store, IdentityRef("whatsapp", "5215512345678"))["stage"] == "New Lead"


@pytest.mark.parametrize("case", ["hash of other body", "url signed without the hash"])
def test_json_body_that_does_not_match_its_hash_is_401(client, store, enqueued, case):
    body = json.dumps(dict(params_of("sms_inbound.json"))).encode()
    if case == "hash of other body":
        res = _json_post(client, body, body_hash=hashlib.sha256(b"{}").hexdigest())
    else:
        res = _json_post(client, body, sign_url=URL)
    assert res.status_code == 401 and raw_count(store) == 0 and enqueued == []


@pytest.mark.parametrize(("params", "reason"), [
    ([("AccountSid", "AC3b8e1f4a7d2c5b8e1f4a7d2c5b8e1f42"), ("From", "+12125550142"), ("To", "+12125550199")],
     "MessageSid"),
    ([("MessageSid", "SM1"), ("To", "+12125550199")], "From and To"),
])
def test_malformed_signed_form_is_400_with_the_reason(client, store, enqueued, params, reason):
    res = post(client, params)
    assert res.status_code == 400 and reason in res.json["message"]
    assert raw_count(store) == 0 and enqueued == []


def test_status_callbacks_out_of_order_make_one_outbound_activity(client, store, config, enqueued):
    sent = params_of("status_sent.json")
    delivered = _tampered(_tampered(sent, "MessageStatus", "delivered"), "SmsStatus", "delivered")
    for params in (delivered, sent, delivered):
        assert post(client, params).status_code == 200
    for ids in enqueued:
        inbox.process_events(store, config, ids)
    with store.transaction() as s:
        keys = sorted(s.scalars(select(model.RawEvent.event_key)))
        acts = s.execute(select(model.Activity.channel, model.Activity.direction)).all()
    assert keys == ["SM71d4a8e2b5c9f3a6d0e4b7c1f5a8d2e9:delivered", "SM71d4a8e2b5c9f3a6d0e4b7c1f5a8d2e9:sent"]
    assert [tuple(a) for a in acts] == [("whatsapp", "outbound")]


def test_delivery_is_routed_by_account_sid_and_verified_with_that_token(client, store):
    params = _tampered(params_of("sms_inbound.json"), "AccountSid", "AC00000000000000000000000000000002")
    assert post(client, params, token="tw-token").status_code == 401  # the routed connection's token is required
    assert post(client, params, token="tw-token-2").status_code == 200
    with store.transaction() as s:
        assert s.scalar(select(model.RawEvent.connection)) == "salon2"


def test_named_connection_uses_its_own_token(client, store):
    params = params_of("sms_inbound.json")
    path = "/webhooks/twilio/salon2"
    assert post(client, params, token="tw-token", path=path).status_code == 401
    assert post(client, params, token="tw-token-2", path=path).status_code == 200
