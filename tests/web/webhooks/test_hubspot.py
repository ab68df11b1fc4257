"""HubSpot webhooks: v1/v2/v3 signatures, the replay window, inbox keys, and the path to canonical state."""

from __future__ import annotations

import copy
import json
import time

import pytest
from sqlalchemy import func, select
from support.inbox_checks import raw_rows
from support.payloads import FIXTURES
from support.signatures import hubspot_v1 as v1
from support.signatures import hubspot_v2 as v2
from support.signatures import hubspot_v3 as v3
from support.webhook_app import app_with

from sync.connectors.hubspot import webhooks as hubspot
from sync.ingest import inbox
from sync.reconcile.patch import IdentityRef
from sync.reports.export import contacts_json, find_contact
from sync.store import model

SECRET = "hs-client-secret"
HUBSPOT_ENV = {
    "LIFESYNC_HUBSPOT_CLIENT_SECRET": SECRET,
    "LIFESYNC_HUBSPOT_CLIENT_SECRET__PROXIED": "hs-proxied-secret",
    "LIFESYNC_HUBSPOT_PUBLIC_URL__PROXIED": "https://sync.example.com/crm/",
    "LIFESYNC_HUBSPOT_CLIENT_SECRET__STRICT": "hs-strict-secret",
    "LIFESYNC_HUBSPOT_SIGNATURE_VERSIONS__STRICT": "v3",
}
HOST = "http://localhost"  # the test client's base URL: what "HubSpot" called


@pytest.fixture
def app(store, config, enqueued, database_url):
    return app_with(store, config, enqueued, database_url, **HUBSPOT_ENV)


def events(name: str = "webhook_contact_events.json") -> list[dict]:
    return json.loads((FIXTURES / "hubspot" / name).read_text())


def deliver(client, payload=None, *, version="v3", path="/webhooks/hubspot", query="", secret=SECRET,
            signed_body=None, signed_uri=None, age=0.0, drop=(), body=None):
    """POST like HubSpot does; ``signed_*`` and ``age`` forge what the signature covers."""
    body = body if body is not None else json.dumps(payload if payload is not None else events()).encode()
    uri = signed_uri or HOST + path + (f"?{query}" if query else "")
    signed = signed_body if signed_body is not None else body
    ts = str(int((time.time() - age) * 1000))
    headers = {"Content-Type": "application/json"}
    if version == "v3":
        headers |= {"X-HubSpot-Signature-v3": v3(secret, "POST", uri, signed, ts), "X-HubSpot-Request-Timestamp": ts}
    else:
        sig = v1(secret, signed) if version == "v1" else v2(secret, "POST", uri, signed)
        headers |= {"X-HubSpot-Signature": sig, "X-HubSpot-Signature-Version": version}
    for name in drop:
        headers.pop(name, None)
    return client.post(path + (f"?{query}" if query else ""), data=body, headers=headers)


def dead_letters(store) -> list[tuple[str, str]]:
    with store.transaction() as s:
        return [tuple(r) for r in s.execute(select(model.DeadLetter.object, model.DeadLetter.reason))]


# -- the signer, against HubSpot's published vectors -------------------------------------------

def test_published_v3_vector_with_a_frozen_clock():
    secret, body, uri, ts = ("yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy", b"{'example_field':'example_value'}",
                             "https://www.example.com/webhook_uri", "1693657560000")
    expected = "K36dawei4A+QBNolUOqo7s91KQDWQ5MXZ/QufNYuk/Y="
    assert hubspot.sign_v3(secret, "POST", uri, body, ts) == expected
    now = 1693657560.0 + 120
    assert hubspot.verify(secret, "POST", uri, body, signature_v3=expected, timestamp=ts, now=now) == "v3"
    for kwargs in ({"now": 1693657560.0 + 301}, {"now": 1693657560.0 - 301}):
        with pytest.raises(hubspot.SignatureError, match="replay window"):
            hubspot.verify(secret, "POST", uri, body, signature_v3=expected, timestamp=ts, **kwargs)
    with pytest.raises(hubspot.SignatureError, match="does not match"):
        hubspot.verify(secret, "POST", uri + "?a=1", body, signature_v3=expected, timestamp=ts, now=now)


def test_published_v1_and_v2_vectors():
    secret = "yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy"
    body = (b'[{"eventId":1,"subscriptionId":12345,"portalId":62515,"occurredAt":1564113600000,'
            b'"subscriptionType":"contact.creation","attemptNumber":0,"objectId":123,"changeSource":"CRM",'
            b'"changeFlag":"NEW","appId":54321}]')
    assert hubspot.sign_v1(secret, body) == "232db2615f3d666fe21a8ec971ac7b5402d33b9a925784df3ca654d05f4817de"
    assert hubspot.sign_v2(secret, "GET", "https://www.example.com/webhook_uri", b"") == \
        "eee2dddcc73c94d699f5e395f4b9d454a069a6855fbfa152e91e88823087200e"


# -- the receiver's verification ----------------------------------------------------------------

TAMPERED = json.dumps(events()).replace("Beatriz", "Mallory").encode()


@pytest.mark.parametrize(("kwargs", "status", "reason"), [
    ({"version": "v2"}, 200, None),
    ({"version": "v1"}, 200, None),
    ({"version": "v3", "age": 290}, 200, None),
    ({"version": "v3", "query": "portal=62515&tag=a%3Ab",
      "signed_uri": HOST + "/webhooks/hubspot?portal=62515&tag=a:b"}, 200, None),  # HubSpot decodes %3A first
    ({"version": "v2", "query": "portal=62515"}, 200, None),
    ({"version": "v2", "signed_body": TAMPERED}, 401, "does not match"),
    ({"version": "v1", "signed_body": TAMPERED}, 401, "does not match"),
    ({"version": "v3", "query": "portal=62515", "signed_uri": HOST + "/webhooks/hubspot"}, 401, "does not match"),
    ({"version": "v3", "query": "portal=62515", "signed_uri": HOST + "/webhooks/hubspot?portal=62516"}, 401,
     "does not match"),
    ({"version": "v2", "signed_uri": "https://localhost/webhooks/hubspot"}, 401, "does not match"),
    ({"version": "v3", "drop": ["X-HubSpot-Request-Timestamp"]}, 401, "missing X-HubSpot-Request-Timestamp"),
    ({"version": "v1", "drop": ["X-HubSpot-Signature-Version"]}, 401, "must be v1 or v2"),
    ({"version": "v1", "drop": ["X-HubSpot-Signature"]}, 401, "missing X-HubSpot-Signature-v3"),
])
def test_signatures(client, store, enqueued, kwargs, status, reason):
    res = deliver(client, **kwargs)
    assert res.status_code == status, res.json
    if status == 200:
        assert res.json == {"received": 4} and len(raw_rows(store)) == 4 and len(enqueued) == 1
    else:
        assert reason in res.json["message"]
        assert raw_rows(store) == [] and enqueued == []


@pytest.mark.parametrize(("age", "status"), [(290, 200), (310, 401), (-310, 401), (1800, 401)])
def test_a_wider_configured_window_does_not_widen_hubspots_five_minutes(store, config, enqueued, database_url,
                                                                      age, status):
    client = app_with(store, config, enqueued, database_url, **HUBSPOT_ENV,
                      LIFESYNC_WEBHOOK_TOLERANCE_SECONDS="3600").test_client()
    res = deliver(client, age=age)
    assert res.status_code == status, res.json
    assert len(raw_rows(store)) == (4 if status == 200 else 0)


def test_non_numeric_timestamp_is_401(client, store):
    body = json.dumps(events()).encode()
    sig = v3(SECRET, "POST", HOST + "/webhooks/hubspot", body, "yesterday")
    res = client.post("/webhooks/hubspot", data=body,
                      headers={"X-HubSpot-Signature-v3": sig, "X-HubSpot-Request-Timestamp": "yesterday"})
    assert res.status_code == 401 and "milliseconds" in res.json["message"] and raw_rows(store) == []


def test_behind_a_proxy_the_public_url_is_what_was_signed(client, store):
    public = "https://sync.example.com/crm/webhooks/hubspot/proxied?portal=62515"
    ok = deliver(client, path="/webhooks/hubspot/proxied", query="portal=62515", secret="hs-proxied-secret",
                 signed_uri=public)
    assert ok.status_code == 200
    internal = deliver(client, path="/webhooks/hubspot/proxied", query="portal=62515", secret="hs-proxied-secret")
    assert internal.status_code == 401


def test_a_v3_only_connection_refuses_replayable_v1(client, store):
    for version in ("v1", "v2"):
        res = deliver(client, version=version, path="/webhooks/hubspot/strict", secret="hs-strict-secret")
        assert res.status_code == 401 and "not accepted" in res.json["message"]
    assert raw_rows(store) == []
    assert deliver(client, path="/webhooks/hubspot/strict", secret="hs-strict-secret").status_code == 200


@pytest.mark.parametrize(("body", "reason"), [
    (b"[]", "non-empty JSON array"),
    (b'["contact.creation"]', "event [0] must be an object"),
    (b'[{"eventId": 1, "portalId": 62515, "subscriptionType": "contact.creation", "occurredAt": 1772701200000}]',
     "event [0] lacks objectId"),
    (b'[{"eventId": 1, "portalId": 62515, "subscriptionType": "contact.creation", "objectId": 9}]',
     "event [0] lacks occurredAt"),
    (b'[{"eventId": 1, "portalId": 62515, "subscriptionType": "contact.creation", "objectId": 9, '
     b'"occurredAt": "2026-03-05T09:00:00Z"}]', "milliseconds"),
])
def test_malformed_signed_body_is_400_with_the_reason(client, store, enqueued, body, reason):
    res = deliver(client, body=body)
    assert res.status_code == 400 and reason in res.json["message"]
    assert raw_rows(store) == [] and enqueued == []


# -- events → inbox → canonical state --------------------------------------------------------

def test_a_batch_is_one_row_per_event_even_when_event_ids_repeat(client, store):
    assert deliver(client).json == {"received": 4}
    rows = raw_rows(store)
    assert [(r.object, r.event_key) for r in rows] == [
        ("contacts", "62515:contact.creation:901::1772701200000:1734095112"),
        ("contacts", "62515:contact.propertyChange:901:firstname:1772701200450:2840122519"),
        ("contacts", "62515:contact.propertyChange:901:email:1772701200450:2840122519"),
        ("contacts", "62515:contact.propertyChange:901:lifecyclestage:1772701261907:3015648830"),
    ]
    change = json.loads(rows[1].body)
    at = "2026-03-05T09:00:00.450Z"
    assert change == {"id": "901", "properties": {"firstname": "  Beatriz ", "lastmodifieddate": at},
                      "updatedAt": at, "archived": False, "changeSource": "CRM_UI",
                      "sourceId": "userId:81234567", "portalId": 62515}
    echo = json.loads(rows[3].body)
    assert (echo["changeSource"], echo["sourceId"]) == ("API", "1160452")  # our app: the echo-suppression hint


def test_a_retry_with_a_new_attempt_number_is_the_same_event(client, store, config, enqueued):
    assert deliver(client).status_code == 200
    inbox.process_events(store, config, enqueued[0])
    retry = events()
    for event in retry:
        event["attemptNumber"] = 1
    assert deliver(client, retry).status_code == 200
    assert len(raw_rows(store)) == 4
    assert enqueued[1:] == []  # already processed: nothing to queue again


def test_property_changes_become_contact_fields(client, store, config, enqueued):
    deliver(client)
    result = inbox.process_events(store, config, enqueued[0])
    assert result.created == 1 and result.dead_lettered == 0
    with store.transaction() as s:
        [doc] = contacts_json(s, [find_contact(s, IdentityRef("hubspot", "901"))])
    assert doc["fields"]["first_name"] == {"value": "Beatriz", "source": "hubspot"}
    assert doc["fields"]["email"]["value"] == "beatriz.santos@example.com"
    assert doc["stage"] == "Hot Lead"
    assert {"hubspot:901", "email:beatriz.santos@example.com"} <= set(doc["identities"])
    assert {r.status for r in raw_rows(store)} == {"processed"}


def test_out_of_order_changes_keep_the_newest_value(client, store, config, enqueued):
    first, later = copy.deepcopy(events()[1]), copy.deepcopy(events()[1])
    later |= {"eventId": 2840122999, "occurredAt": first["occurredAt"] + 60_000, "propertyValue": "Bea"}
    deliver(client, [later])
    deliver(client, [first])  # older change arrives last
    for ids in enqueued:
        inbox.process_events(store, config, ids)
    with store.transaction() as s:
        [doc] = contacts_json(s, [find_contact(s, IdentityRef("hubspot", "901"))])
    assert doc["fields"]["first_name"]["value"] == "Bea"


def test_a_deal_change_without_its_contact_is_dead_lettered_and_the_batch_lands(client, store, config, enqueued):
    deliver(client, events() + events("webhook_deal_events.json"))
    result = inbox.process_events(store, config, enqueued[0])
    assert result.created == 1 and result.dead_lettered == 1
    [(obj, reason)] = dead_letters(store)
    assert obj == "deals" and "18423950071" in reason and "no usable identity" in reason
    assert {r.status for r in raw_rows(store)} == {"processed"}


def test_events_needing_an_api_read_are_kept_under_their_own_name(client, store, config, enqueued):
    deliver(client, events("webhook_followup_events.json"))
    rows = raw_rows(store)
    assert [r.object for r in rows] == ["contact.merge", "contact.associationChange", "contact.privacyDeletion"]
    assert rows[1].event_key == ("62515:contact.associationChange:901>18423950071:CONTACT_TO_DEAL:"
                                 "1772701800100:4102938476")
    assert json.loads(rows[0].body)["mergedObjectIds"] == [877]
    inbox.process_events(store, config, enqueued[0])
    rows = raw_rows(store)
    assert {r.status for r in rows} == {"dead"} and all("no mapping" in r.error for r in rows)
    with store.transaction() as s:
        assert s.scalar(select(func.count()).select_from(model.Contact)) == 0


_BASE = {"eventId": 7, "portalId": 62515, "occurredAt": 1772701200000, "objectId": 42}


@pytest.mark.parametrize(("event", "obj", "record"), [
    ({"subscriptionType": "contact.creation"}, "contacts",
     {"id": "42", "properties": {"lastmodifieddate": "2026-03-05T09:00:00.000Z"},
      "updatedAt": "2026-03-05T09:00:00.000Z", "archived": False, "portalId": 62515}),
    ({"subscriptionType": "contact.deletion", "changeSource": "CRM_UI"}, "contacts",
     {"id": "42", "updatedAt": "2026-03-05T09:00:00.000Z", "archived": True, "changeSource": "CRM_UI",
      "portalId": 62515}),
    ({"subscriptionType": "deal.propertyChange", "propertyName": "amount", "propertyValue": "99.5"}, "deals",
     {"id": "42", "properties": {"amount": "99.5", "hs_lastmodifieddate": "2026-03-05T09:00:00.000Z"},
      "updatedAt": "2026-03-05T09:00:00.000Z", "archived": False, "portalId": 62515}),
    ({"subscriptionType": "object.propertyChange", "objectTypeId": "0-1", "propertyName": "lastname",
      "propertyValue": ""}, "contacts",
     {"id": "42", "properties": {"lastname": "", "lastmodifieddate": "2026-03-05T09:00:00.000Z"},
      "updatedAt": "2026-03-05T09:00:00.000Z", "archived": False, "portalId": 62515}),
    ({"subscriptionType": "company.propertyChange", "propertyName": "name", "propertyValue": "Acme"},
     "company.propertyChange", None),
])
def test_record_of(event, obj, record):
    event = _BASE | event
    assert hubspot.record_of(event) == (obj, record if record is not None else event)


def test_each_event_keeps_when_hubspot_sent_it_but_no_signature(client, store):
    assert deliver(client).status_code == 200
    rows = raw_rows(store)
    assert len(rows) == 4
    for row in rows:
        assert set(row.headers) == {"X-HubSpot-Request-Timestamp"}
        assert abs(int(row.headers["X-HubSpot-Request-Timestamp"]) / 1000 - time.time()) < 60
