"""One fresh `lifesync serve` (embedded mode) takes a signed webhook from every platform to canonical state,
and rejects a forged or stale one with nothing stored."""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
import os
import time
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlencode

import pytest
from conftest import wipe
from sqlalchemy import func, select
from support.payloads import FIXTURES, meta_signature, whatsapp_delivery, whatsapp_value
from support.serve import lifesync_serve
from support.social_payloads import (
    FB_PAGE,
    FB_PSID,
    IG_ACCOUNT,
    IG_SID,
    body_of,
    fixture,
    hub_signature,
    meta_delivery,
    tiktok_signature,
)

from sync.reconcile.patch import IdentityRef
from sync.reports.export import contacts_json, find_contact
from sync.store import model

WAIT = 30  # seconds for the embedded worker to take an acknowledged delivery to canonical state
TOLERANCE = 300  # the replay window the server runs with
STALE = 2 * TOLERANCE  # seconds: a correctly signed delivery this old is outside it
SF_ORG = "00D5g000004XyZaEAK"
ENV = {
    "LIFESYNC_LOG_LEVEL": "WARNING",
    "LIFESYNC_WEBHOOK_TOLERANCE_SECONDS": str(TOLERANCE),
    "LIFESYNC_WHATSAPP_APP_SECRET": "wa-secret",
    "LIFESYNC_MESSENGER_APP_SECRET": "fb-secret",
    "LIFESYNC_INSTAGRAM_APP_SECRET": "ig-secret",
    "LIFESYNC_TIKTOK_APP_SECRET": "tt-secret",
    "LIFESYNC_TWILIO_AUTH_TOKEN": "tw-token",
    "LIFESYNC_HUBSPOT_CLIENT_SECRET": "hs-client-secret",
    "LIFESYNC_HUBSPOT_SIGNATURE_VERSIONS": "v3",
    "LIFESYNC_SALESFORCE_OUTBOUND_SECRET": "sf-outbound-secret",
    "LIFESYNC_SALESFORCE_ORG_IDS": "00D000000000062, 00D5g000004XyZa",
    "LIFESYNC_RESPONDIO_WEBHOOK_KEY": "rio-key-messages, rio-key-contacts",
    "LIFESYNC_GENERIC_SECRET__SHOP": "shop-secret",
    "LIFESYNC_GENERIC_MAPPING__SHOP": "shop/order",
}
ORDER = {"id": "1001", "status": "paid", "total": "89.90", "currency": "eur", "created_at": "2026-11-20T10:00:00Z",
         "customer": {"id": "c-77", "email": "Ana@Example.com", "phone": "+34 600 111 222", "first_name": "Ana"}}


# -- the server ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def server(migrated_store, database_url, tmp_path_factory):
    """Base URL of one `lifesync serve` for the module: no REDIS_URL, every platform's secret set."""
    wipe(migrated_store)
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIFESYNC_") and k != "REDIS_URL"}
    with lifesync_serve(env | {"DATABASE_URL": database_url, **ENV}, tmp_path_factory.mktemp("serve"), WAIT) as url:
        yield url


# -- helpers ---------------------------------------------------------------------------------------

@dataclass
class Answer:
    status: int
    body: bytes
    content_type: str

    @property
    def json(self) -> dict:
        return json.loads(self.body)


@dataclass
class Canonical:
    doc: dict
    activities: list[tuple]  # (channel, direction, external_id, conversation_id, occurred_at)
    touchpoints: list[tuple]  # (channel, network, ad_id, headline, click_ids)


def post(url: str, body: bytes, headers: dict[str, str]) -> Answer:
    req = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json", **headers})
    try:
        with urllib.request.urlopen(req, timeout=10) as res:
            return Answer(res.status, res.read(), res.headers.get_content_type())
    except urllib.error.HTTPError as exc:
        with exc:
            return Answer(exc.code, exc.read(), exc.headers.get_content_type())


def raw_count(store, source: str) -> int:
    with store.transaction() as s:
        return s.scalar(select(func.count()).select_from(model.RawEvent).where(model.RawEvent.source == source))


def has_contact(store, ref: IdentityRef) -> bool:
    with store.transaction() as s:
        return find_contact(s, ref) is not None


def assert_rejected(store, source: str, answers: dict[str, Answer], reasons: dict[str, str],
                    forged: IdentityRef, before: int) -> None:
    """Each rejection is a 401 saying why, and left no inbox row and no contact behind."""
    for case, answer in answers.items():
        assert answer.status == 401, f"{source} {case}: {answer.status} {answer.body[:300]!r}"
        assert reasons[case] in answer.json["message"], f"{source} {case}: {answer.json}"
    assert raw_count(store, source) == before, f"{source}: a rejected delivery reached the inbox"
    assert not has_contact(store, forged), f"{source}: a rejected delivery made a contact"


def settle(store, source: str, rows: int, ref: IdentityRef, before: int = 0) -> Canonical:
    """Wait until the source's inbox rows are all handled, then the canonical state of ``ref``'s contact."""
    deadline = time.monotonic() + WAIT
    while True:
        with store.transaction() as s:
            statuses = list(s.scalars(select(model.RawEvent.status).where(model.RawEvent.source == source)))
        if len(statuses) >= before + rows and "received" not in statuses:
            break
        if time.monotonic() > deadline:
            pytest.fail(f"{source}: acknowledged but not processed within {WAIT} s (inbox: {statuses})")
        time.sleep(0.2)
    assert statuses == ["processed"] * (before + rows), f"{source}: inbox rows ended {statuses}"
    with store.transaction() as s:
        cid = find_contact(s, ref)
        assert cid is not None, f"{source}: processed, but no contact holds {ref}"
        [doc] = contacts_json(s, [cid])
        acts = [tuple(r) for r in s.execute(
            select(model.Activity.channel, model.Activity.direction, model.Activity.external_id,
                   model.Activity.conversation_id, model.Activity.occurred_at)
            .where(model.Activity.contact_id == cid).order_by(model.Activity.occurred_at))]
        tps = [tuple(r) for r in s.execute(
            select(model.Touchpoint.channel, model.Touchpoint.network, model.Touchpoint.ad_id,
                   model.Touchpoint.headline, model.Touchpoint.click_ids)
            .where(model.Touchpoint.contact_id == cid))]
    return Canonical(doc, acts, tps)


def history(doc: dict) -> list[tuple]:
    """The stage moves as (from, to, who set it): "lifesync" when it is the default stage of a new contact."""
    return [(t["from"], t["to"], t["source"]) for t in doc["stage_history"]]


def check_after(store, source: str, before: int, rows: int, forged: IdentityRef) -> None:
    """Once the worker has been through everything: only the valid delivery's rows, no forged contact."""
    assert raw_count(store, source) == before + rows
    assert not has_contact(store, forged), f"{source}: the forged identity became a contact"


# -- independent signers (each platform's documented scheme, never lifesync's verifiers) ----------

def twilio_signature(token: str, url: str, params) -> str:
    text = url + "".join(f"{name}{value}" for name, value in sorted(params))
    return base64.b64encode(hmac.new(token.encode(), text.encode(), hashlib.sha1).digest()).decode()


def hubspot_v3(secret: str, uri: str, body: bytes, timestamp: str) -> str:
    mac = hmac.new(secret.encode(), b"POST" + uri.encode() + body + timestamp.encode(), hashlib.sha256)
    return base64.b64encode(mac.digest()).decode()


def rio_signature(key: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(key.encode(), body, hashlib.sha256).digest()).decode()


def generic_signature(secret: str, body: bytes, timestamp: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def basic(password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"salesforce:{password}".encode()).decode()}


# -- one test per platform -------------------------------------------------------------------------

def test_whatsapp(server, migrated_store):
    store, url = migrated_store, f"{server}/webhooks/whatsapp"
    value = whatsapp_value()
    other = copy.deepcopy(value)
    other["messages"][0]["id"], other["messages"][0]["from"] = "wamid.FORGED1", "5215599990000"
    other["contacts"][0]["wa_id"] = "5215599990000"
    forged, body = body_of(whatsapp_delivery(other)), body_of(whatsapp_delivery(value))
    before = raw_count(store, "whatsapp")
    assert_rejected(store, "whatsapp", {"forged": post(url, forged, {"X-Hub-Signature-256":
                                                                     meta_signature("forged", forged)})},
                    {"forged": "X-Hub-Signature-256"}, IdentityRef("whatsapp", "5215599990000"), before)

    answer = post(url, body, {"X-Hub-Signature-256": meta_signature("wa-secret", body)})
    assert answer.status == 200 and answer.json == {"received": 1}
    state = settle(store, "whatsapp", 1, IdentityRef("whatsapp", "5215512345678"), before)
    assert state.doc["stage"] == "New Lead"
    assert history(state.doc) == [(None, "New Lead", "whatsapp")]  # set by the ad referral, not the default
    assert {"whatsapp:5215512345678", "phone:+525512345678"} <= set(state.doc["identities"])
    [(channel, network, ad_id, _, click_ids)] = state.touchpoints
    assert (channel, network, ad_id) == ("whatsapp", "meta", "120210000000000123")
    assert click_ids["ctwa_clid"].startswith("ARAkLkA8")
    assert [a[:3] for a in state.activities] == [("whatsapp", "inbound", value["messages"][0]["id"])]
    check_after(store, "whatsapp", before, 1, IdentityRef("whatsapp", "5215599990000"))


def test_messenger(server, migrated_store):
    store, url = migrated_store, f"{server}/webhooks/messenger"
    delivery = meta_delivery("messenger")
    other = copy.deepcopy(delivery)
    event = other["entry"][0]["messaging"][0]
    event["sender"]["id"], event["message"]["mid"] = "7385629100000000", "m_FORGED1"
    forged, body = body_of(other), body_of(delivery)
    forged_ref = IdentityRef("messenger", f"{FB_PAGE}:7385629100000000")
    before = raw_count(store, "messenger")
    assert_rejected(store, "messenger", {
        "forged": post(url, forged, {"X-Hub-Signature-256": hub_signature("fb-secret-forged", forged)}),
        "other platform's secret": post(url, forged, {"X-Hub-Signature-256": hub_signature("ig-secret", forged)}),
    }, {"forged": "X-Hub-Signature-256", "other platform's secret": "X-Hub-Signature-256"}, forged_ref, before)

    answer = post(url, body, {"X-Hub-Signature-256": hub_signature("fb-secret", body)})
    assert answer.status == 200 and answer.json == {"received": 1}
    state = settle(store, "messenger", 1, IdentityRef("messenger", f"{FB_PAGE}:{FB_PSID}"), before)
    assert state.doc["stage"] == "New Lead"
    assert history(state.doc) == [(None, "New Lead", "messenger")]  # set by the ad referral, not the default
    assert state.doc["identities"] == [f"messenger:{FB_PAGE}:{FB_PSID}"]
    [(channel, direction, mid, conversation, at)] = state.activities
    assert (channel, direction, conversation) == ("messenger", "inbound", f"{FB_PAGE}:{FB_PSID}")
    assert mid.startswith("m_AG5Hz2Uq") and at == datetime(2026, 3, 1, 10, 15, 0, 123000, tzinfo=UTC)
    assert [tp[:4] for tp in state.touchpoints] == [("messenger", "meta", "120210000000000456",
                                                     "Envíos gratis en marzo")]
    check_after(store, "messenger", before, 1, forged_ref)


def test_instagram(server, migrated_store):
    store, url = migrated_store, f"{server}/webhooks/instagram"
    delivery = meta_delivery("instagram")
    other = copy.deepcopy(delivery)
    event = other["entry"][0]["messaging"][0]
    event["sender"]["id"], event["message"]["mid"] = "1254459100000000", "aWdf_FORGED1"
    forged, body = body_of(other), body_of(delivery)
    forged_ref = IdentityRef("instagram", f"{IG_ACCOUNT}:1254459100000000")
    before = raw_count(store, "instagram")
    assert_rejected(store, "instagram", {
        "forged": post(url, forged, {"X-Hub-Signature-256": hub_signature("ig-secret-forged", forged)}),
    }, {"forged": "X-Hub-Signature-256"}, forged_ref, before)

    answer = post(url, body, {"X-Hub-Signature-256": hub_signature("ig-secret", body)})
    assert answer.status == 200 and answer.json == {"received": 1}
    state = settle(store, "instagram", 1, IdentityRef("instagram", f"{IG_ACCOUNT}:{IG_SID}"), before)
    assert state.doc["identities"] == [f"instagram:{IG_ACCOUNT}:{IG_SID}"]
    # a plain message: no ad, so no touchpoint, and the stage is only the default of a new contact
    assert history(state.doc) == [(None, "New Lead", "lifesync")] and state.touchpoints == []
    mid = delivery["entry"][0]["messaging"][0]["message"]["mid"]
    assert state.activities == [("instagram", "inbound", mid, f"{IG_ACCOUNT}:{IG_SID}",
                                 datetime(2026, 3, 2, 10, 10, 0, 789000, tzinfo=UTC))]
    check_after(store, "instagram", before, 1, forged_ref)


TIKTOK_BUSINESS, TIKTOK_PERSON = "-000kBz7ZgQ1xq5Nw3Lr8TyUe0VaHc4Df2", "-000pQ5tRw8YzX2vB6nK1mL9sD3fG7hJ0"


def test_tiktok(server, migrated_store):
    store, url = migrated_store, f"{server}/webhooks/tiktok"
    delivery = fixture("tiktok/webhook_receive_msg.json")
    other = copy.deepcopy(delivery)
    content = json.loads(other["content"])
    content["message_id"], content["from_user"] = "7481530000999999999", {"id": "-000FORGEDperson0000000000000"}
    other["content"] = json.dumps(content)
    forged, body = body_of(other), body_of(delivery)
    forged_ref = IdentityRef("tiktok", f"{TIKTOK_BUSINESS}:-000FORGEDperson0000000000000")
    now = int(time.time())
    before = raw_count(store, "tiktok")
    assert_rejected(store, "tiktok", {
        "forged": post(url, forged, {"Tiktok-Signature": tiktok_signature("tt-forged", forged, now)}),
        "stale": post(url, forged, {"Tiktok-Signature": tiktok_signature("tt-secret", forged, now - STALE)}),
    }, {"forged": "does not match", "stale": "replay window"}, forged_ref, before)

    answer = post(url, body, {"Tiktok-Signature": tiktok_signature("tt-secret", body, int(time.time()))})
    assert answer.status == 200 and answer.json == {"received": 1}
    state = settle(store, "tiktok", 1, IdentityRef("tiktok", f"{TIKTOK_BUSINESS}:{TIKTOK_PERSON}"), before)
    assert state.doc["identities"] == [f"tiktok:{TIKTOK_BUSINESS}:{TIKTOK_PERSON}"]
    assert history(state.doc) == [(None, "New Lead", "lifesync")] and state.touchpoints == []
    assert state.activities == [("tiktok", "inbound", "7481530000123456789",
                                 "0:1:7481526049163204613:7352298745619158017",
                                 datetime(2026, 3, 1, 10, 20, 0, 321000, tzinfo=UTC))]
    check_after(store, "tiktok", before, 1, forged_ref)


def test_twilio(server, migrated_store):
    store, url = migrated_store, f"{server}/webhooks/twilio"  # the URL Twilio signs: exactly the one called
    record = json.loads((FIXTURES / "twilio" / "sms_inbound.json").read_text(encoding="utf-8"))
    params = [(k, v) for k, v in record.items() if k not in ("channel", "received_at")]
    other = [(k, {"MessageSid": "SMforged0000000000000000000000001", "SmsSid": "SMforged0000000000000000000000001",
                  "SmsMessageSid": "SMforged0000000000000000000000001", "From": "+12125550777"}.get(k, v))
             for k, v in params]
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    forged_ref = IdentityRef("phone", "+12125550777")
    before = raw_count(store, "twilio")
    assert_rejected(store, "twilio", {
        "forged": post(url, urlencode(other).encode(),
                       form | {"X-Twilio-Signature": twilio_signature("tw-forged", url, other)}),
        "signed for another URL": post(url, urlencode(other).encode(), form | {
            "X-Twilio-Signature": twilio_signature("tw-token", "https://hooks.example.com/webhooks/twilio", other)}),
    }, {"forged": "X-Twilio-Signature", "signed for another URL": "X-Twilio-Signature"}, forged_ref, before)

    answer = post(url, urlencode(params).encode(), form | {"X-Twilio-Signature": twilio_signature("tw-token", url,
                                                                                                   params)})
    assert answer.status == 200 and answer.content_type == "text/xml"
    assert ET.fromstring(answer.body).tag == "Response"
    state = settle(store, "twilio", 1, IdentityRef("phone", "+12125550142"), before)
    assert state.doc["identities"] == ["phone:+12125550142"]
    assert history(state.doc) == [(None, "New Lead", "lifesync")] and state.touchpoints == []
    assert [a[:3] for a in state.activities] == [("sms", "inbound", "SM9f1c2a7b4e8d3c6a5b2f1e0d9c8b7a61")]
    check_after(store, "twilio", before, 1, forged_ref)


def test_hubspot(server, migrated_store):
    store, path = migrated_store, "/webhooks/hubspot"
    uri = server + path  # v3 signs method + URL + body + timestamp
    events = json.loads((FIXTURES / "hubspot" / "webhook_contact_events.json").read_text())
    other = copy.deepcopy(events)
    for n, event in enumerate(other):
        event["objectId"], event["eventId"] = 902, 9000000 + n
    forged, body = json.dumps(other).encode(), json.dumps(events).encode()

    def headers(secret: str, signed: bytes, age: float = 0) -> dict[str, str]:
        ts = str(int((time.time() - age) * 1000))
        return {"X-HubSpot-Signature-v3": hubspot_v3(secret, uri, signed, ts), "X-HubSpot-Request-Timestamp": ts}

    forged_ref = IdentityRef("hubspot", "902")
    before = raw_count(store, "hubspot")
    assert_rejected(store, "hubspot", {
        "forged": post(uri, forged, headers("not-the-secret", forged)),
        "stale": post(uri, forged, headers("hs-client-secret", forged, age=STALE)),
        "v1 on a v3-only app": post(uri, forged, {"X-HubSpot-Signature-Version": "v1", "X-HubSpot-Signature":
                                                  hashlib.sha256(b"hs-client-secret" + forged).hexdigest()}),
    }, {"forged": "does not match", "stale": "replay window", "v1 on a v3-only app": "not accepted"},
        forged_ref, before)

    answer = post(uri, body, headers("hs-client-secret", body))
    assert answer.status == 200 and answer.json == {"received": 4}
    state = settle(store, "hubspot", 4, IdentityRef("hubspot", "901"), before)
    assert state.doc["stage"] == "Hot Lead"  # lifecyclestage salesqualifiedlead
    assert history(state.doc) == [(None, "New Lead", "lifesync"), ("New Lead", "Hot Lead", "hubspot")]
    assert state.doc["fields"]["first_name"] == {"value": "Beatriz", "source": "hubspot"}
    assert {"hubspot:901", "email:beatriz.santos@example.com"} <= set(state.doc["identities"])
    check_after(store, "hubspot", before, 4, forged_ref)


def test_salesforce(server, migrated_store):
    store, url = migrated_store, f"{server}/webhooks/salesforce"
    message = (FIXTURES / "salesforce" / "outbound_lead.xml").read_bytes()
    forged = message.replace(b"04l5g00000CkR7aAAF", b"04l5g00000FoRGdAAF").replace(b"00Q5g00000A1b2CEAR",
                                                                                   b"00Q5g00000FoRGdEAR")
    foreign = forged.replace(SF_ORG.encode(), b"00D5g000009ZzZzEAK")
    soap = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""'}
    forged_ref = IdentityRef("salesforce_lead", "00Q5g00000FoRGdEAR")
    before = raw_count(store, "salesforce")
    assert_rejected(store, "salesforce", {
        "wrong secret": post(url, forged, soap | basic("guessed")),
        "no secret": post(url, forged, soap),
        "org not allowed": post(url, foreign, soap | basic("sf-outbound-secret")),
    }, {"wrong secret": "shared secret", "no secret": "shared secret", "org not allowed": "OrganizationId"},
        forged_ref, before)

    answer = post(url, message, soap | basic("sf-outbound-secret"))
    assert answer.status == 200 and answer.content_type == "text/xml"
    ns = {"soapenv": "http://schemas.xmlsoap.org/soap/envelope/", "om": "http://soap.sforce.com/2005/09/outbound"}
    assert ET.fromstring(answer.body).findtext("soapenv:Body/om:notificationsResponse/om:Ack", namespaces=ns) == "true"
    state = settle(store, "salesforce", 1, IdentityRef("salesforce_lead", "00Q5g00000A1b2CEAR"), before)
    assert state.doc["stage"] == "Hot Lead"  # Status "Working - Contacted"
    assert history(state.doc) == [(None, "Hot Lead", "salesforce")]
    assert state.doc["fields"]["first_name"]["value"] == "Oliver"
    assert state.doc["fields"]["company"]["value"] == "Smith & Daughters Ltd"
    assert {"email:oliver.smith@example.co.uk", "phone:+447911123456"} <= set(state.doc["identities"])
    check_after(store, "salesforce", before, 1, forged_ref)


def test_respondio(server, migrated_store):
    store, url = migrated_store, f"{server}/webhooks/respondio"
    payload = json.loads((FIXTURES / "respondio" / "webhook_message_received.json").read_text(encoding="utf-8"))
    other = copy.deepcopy(payload)
    other["event_id"], other["contact"]["id"] = "0f0f0f0f-forged", 1049999
    other["message"]["messageId"] = other["message"]["channelMessageId"] = 1742969999
    forged, body = json.dumps(other).encode(), json.dumps(payload).encode()
    forged_ref = IdentityRef("respondio", "1049999")
    before = raw_count(store, "respondio")
    # respond.io signs the body alone: no timestamp, so no replay window to test
    assert_rejected(store, "respondio", {
        "forged": post(url, forged, {"X-Webhook-Signature": rio_signature("guess", forged)}),
    }, {"forged": "X-Webhook-Signature"}, forged_ref, before)

    answer = post(url, body, {"X-Webhook-Signature": rio_signature("rio-key-contacts", body)})
    assert answer.status == 200 and answer.json == {"received": 1}
    state = settle(store, "respondio", 1, IdentityRef("respondio", "1043822"), before)
    assert state.doc["stage"] == "Hot Lead"
    assert history(state.doc) == [(None, "Hot Lead", "respondio")]
    assert sorted(state.doc["identities"]) == ["email:carlos.perez@example.es", "phone:+34612345678",
                                               "respondio:1043822"]
    assert state.doc["fields"]["company"]["value"] == "Iberia Foods SL"
    assert [a[:3] for a in state.activities] == [("whatsapp", "inbound", "1742960012")]
    check_after(store, "respondio", before, 1, forged_ref)


def test_generic(server, migrated_store):
    store, url = migrated_store, f"{server}/webhooks/generic/shop"
    other = {**ORDER, "id": "1002", "customer": {**ORDER["customer"], "id": "c-78", "email": "mallory@example.com",
                                                 "phone": "+34 600 999 000"}}
    forged, body = json.dumps(other).encode(), json.dumps(ORDER).encode()
    now = str(int(time.time()))
    forged_ref = IdentityRef("email", "mallory@example.com")
    before = raw_count(store, "shop")
    assert_rejected(store, "shop", {
        "forged": post(url, forged, {"X-Lifesync-Signature": generic_signature("guess", forged, now),
                                     "X-Lifesync-Timestamp": now}),
        "stale": post(url, forged, {"X-Lifesync-Signature": generic_signature("shop-secret", forged, str(
            int(now) - STALE)), "X-Lifesync-Timestamp": str(int(now) - STALE)}),
    }, {"forged": "does not match", "stale": "replay window"}, forged_ref, before)

    now = str(int(time.time()))
    answer = post(url, body, {"X-Lifesync-Signature": generic_signature("shop-secret", body, now),
                              "X-Lifesync-Timestamp": now})
    assert answer.status == 200 and answer.json == {"received": 1}
    state = settle(store, "shop", 1, IdentityRef("email", "ana@example.com"), before)
    assert state.doc["stage"] == "Customer"  # a paid order
    assert history(state.doc) == [(None, "Customer", "shop")]
    assert {"external:c-77", "phone:+34600111222"} <= set(state.doc["identities"])
    assert [(c["kind"], c["value"], c["currency"], c["order_id"]) for c in state.doc["conversions"]] == [
        ("purchase", 89.9, "EUR", "1001")]
    check_after(store, "shop", before, 1, forged_ref)
