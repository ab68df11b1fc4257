"""One fresh `lifesync serve` (embedded mode) takes a signed webhook from every platform to canonical state,
and rejects a forged or stale one with nothing stored.

The deliveries are signed by ``support.receivers`` (the receiver contract's own descriptions) for
the URL the server really answers on; what each platform's delivery becomes is checked per platform.
"""

from __future__ import annotations

import copy
import json
import os
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlencode

import pytest
from conftest import wipe
from sqlalchemy import func, select
from support.payloads import FIXTURES, SHOP_ORDER, body_of, whatsapp_delivery, whatsapp_value
from support.receivers import RECEIVERS, Delivery, Receiver, twilio_params
from support.serve import lifesync_serve
from support.signatures import hubspot_v1
from support.social_payloads import FB_PAGE, FB_PSID, IG_ACCOUNT, IG_SID, fixture, meta_delivery

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
RECEIVER = {r.name: r for r in RECEIVERS}


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


def post(server: str, delivery: Delivery) -> Answer:
    req = urllib.request.Request(server + delivery.path, data=delivery.body, headers=delivery.headers)
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


# -- refusals: (receiver, forged body, server URL) -> a delivery the server must refuse ------------------

Refusal = Callable[[Receiver, bytes, str], Delivery]


def forged(r: Receiver, body: bytes, base: str) -> Delivery:
    return r.deliver(body, secret="a-guessed-secret", base=base)


def stale(r: Receiver, body: bytes, base: str) -> Delivery:
    return r.deliver(body, age=STALE, base=base)


def under(secret: str) -> Refusal:
    """Signed with another secret the deployment knows (another platform's)."""
    return lambda r, body, base: r.deliver(body, secret=secret, base=base)


def signed_for_another_url(r: Receiver, body: bytes, base: str) -> Delivery:
    return r.deliver(body, base="https://hooks.example.com")


def hubspot_v1_on_a_v3_only_app(r: Receiver, body: bytes, base: str) -> Delivery:
    delivery = r.deliver(body, base=base).without("X-HubSpot-Signature-v3")
    return delivery.with_header("X-HubSpot-Signature-Version", "v1").with_header(
        "X-HubSpot-Signature", hubspot_v1(r.secret, body))


def without_secret(r: Receiver, body: bytes, base: str) -> Delivery:
    return r.deliver(body, base=base).without(r.header)


def from_a_foreign_org(r: Receiver, body: bytes, base: str) -> Delivery:
    return r.deliver(body.replace(SF_ORG.encode(), b"00D5g000009ZzZzEAK"), base=base)


# -- the platforms ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Platform:
    """A receiver as the server meets it: a refused delivery of someone else, then one that lands."""

    receiver: Receiver
    forged: Callable[[], tuple[bytes, IdentityRef]]  # someone else's delivery, and who must never become a contact
    refusals: dict[str, tuple[Refusal, str]]  # case -> (the refused delivery, the words of its 401)
    person: IdentityRef  # whose contact the valid delivery makes
    check: Callable[[Canonical], None]  # what that contact must look like
    source: str = ""  # raw_events.source (default: the receiver's name)
    body: bytes | None = None  # the valid delivery (default: the receiver's)
    secret: str | None = None  # its secret (default: the receiver's)
    rows: int = 1

    @property
    def name(self) -> str:
        return self.receiver.name


def _whatsapp_forged() -> tuple[bytes, IdentityRef]:
    other = whatsapp_value()
    other["messages"][0]["id"], other["messages"][0]["from"] = "wamid.FORGED1", "5215599990000"
    other["contacts"][0]["wa_id"] = "5215599990000"
    return body_of(whatsapp_delivery(other)), IdentityRef("whatsapp", "5215599990000")


def _whatsapp(state: Canonical) -> None:
    assert state.doc["stage"] == "New Lead"
    assert history(state.doc) == [(None, "New Lead", "whatsapp")]  # set by the ad referral, not the default
    assert {"whatsapp:5215512345678", "phone:+525512345678"} <= set(state.doc["identities"])
    [(channel, network, ad_id, _, click_ids)] = state.touchpoints
    assert (channel, network, ad_id) == ("whatsapp", "meta", "120210000000000123")
    assert click_ids["ctwa_clid"].startswith("ARAkLkA8")
    assert [a[:3] for a in state.activities] == [("whatsapp", "inbound", whatsapp_value()["messages"][0]["id"])]


def _page_forged(platform: str, person: str, mid: str, account: str) -> Callable[[], tuple[bytes, IdentityRef]]:
    def forge() -> tuple[bytes, IdentityRef]:
        other = copy.deepcopy(meta_delivery(platform))
        event = other["entry"][0]["messaging"][0]
        event["sender"]["id"], event["message"]["mid"] = person, mid
        return json.dumps(other).encode(), IdentityRef(platform, f"{account}:{person}")

    return forge


def _messenger(state: Canonical) -> None:
    assert state.doc["stage"] == "New Lead"
    assert history(state.doc) == [(None, "New Lead", "messenger")]  # set by the ad referral, not the default
    assert state.doc["identities"] == [f"messenger:{FB_PAGE}:{FB_PSID}"]
    [(channel, direction, mid, conversation, at)] = state.activities
    assert (channel, direction, conversation) == ("messenger", "inbound", f"{FB_PAGE}:{FB_PSID}")
    assert mid.startswith("m_AG5Hz2Uq") and at == datetime(2026, 3, 1, 10, 15, 0, 123000, tzinfo=UTC)
    assert [tp[:4] for tp in state.touchpoints] == [("messenger", "meta", "120210000000000456",
                                                     "Envíos gratis en marzo")]


def _instagram(state: Canonical) -> None:
    assert state.doc["identities"] == [f"instagram:{IG_ACCOUNT}:{IG_SID}"]
    # a plain message: no ad, so no touchpoint, and the stage is only the default of a new contact
    assert history(state.doc) == [(None, "New Lead", "lifesync")] and state.touchpoints == []
    mid = meta_delivery("instagram")["entry"][0]["messaging"][0]["message"]["mid"]
    assert state.activities == [("instagram", "inbound", mid, f"{IG_ACCOUNT}:{IG_SID}",
                                 datetime(2026, 3, 2, 10, 10, 0, 789000, tzinfo=UTC))]


TIKTOK_BUSINESS, TIKTOK_PERSON = "-000kBz7ZgQ1xq5Nw3Lr8TyUe0VaHc4Df2", "-000pQ5tRw8YzX2vB6nK1mL9sD3fG7hJ0"


def _tiktok_forged() -> tuple[bytes, IdentityRef]:
    other = fixture("tiktok/webhook_receive_msg.json")
    content = json.loads(other["content"])
    content["message_id"], content["from_user"] = "7481530000999999999", {"id": "-000FORGEDperson0000000000000"}
    other["content"] = json.dumps(content)
    return json.dumps(other).encode(), IdentityRef("tiktok", f"{TIKTOK_BUSINESS}:-000FORGEDperson0000000000000")


def _tiktok(state: Canonical) -> None:
    assert state.doc["identities"] == [f"tiktok:{TIKTOK_BUSINESS}:{TIKTOK_PERSON}"]
    assert history(state.doc) == [(None, "New Lead", "lifesync")] and state.touchpoints == []
    assert state.activities == [("tiktok", "inbound", "7481530000123456789",
                                 "0:1:7481526049163204613:7352298745619158017",
                                 datetime(2026, 3, 1, 10, 20, 0, 321000, tzinfo=UTC))]


def _twilio_forged() -> tuple[bytes, IdentityRef]:
    forged_sid = "SMforged0000000000000000000000001"
    other = [(k, {"MessageSid": forged_sid, "SmsSid": forged_sid, "SmsMessageSid": forged_sid,
                  "From": "+12125550777"}.get(k, v)) for k, v in twilio_params("sms_inbound.json")]
    return urlencode(other).encode(), IdentityRef("phone", "+12125550777")


def _twilio(state: Canonical) -> None:
    assert state.doc["identities"] == ["phone:+12125550142"]
    assert history(state.doc) == [(None, "New Lead", "lifesync")] and state.touchpoints == []
    assert [a[:3] for a in state.activities] == [("sms", "inbound", "SM9f1c2a7b4e8d3c6a5b2f1e0d9c8b7a61")]


def _hubspot_forged() -> tuple[bytes, IdentityRef]:
    other = json.loads((FIXTURES / "hubspot" / "webhook_contact_events.json").read_text())
    for n, event in enumerate(other):
        event["objectId"], event["eventId"] = 902, 9000000 + n
    return json.dumps(other).encode(), IdentityRef("hubspot", "902")


def _hubspot(state: Canonical) -> None:
    assert state.doc["stage"] == "Hot Lead"  # lifecyclestage salesqualifiedlead
    assert history(state.doc) == [(None, "New Lead", "lifesync"), ("New Lead", "Hot Lead", "hubspot")]
    assert state.doc["fields"]["first_name"] == {"value": "Beatriz", "source": "hubspot"}
    assert {"hubspot:901", "email:beatriz.santos@example.com"} <= set(state.doc["identities"])


def _salesforce_forged() -> tuple[bytes, IdentityRef]:
    message = (FIXTURES / "salesforce" / "outbound_lead.xml").read_bytes()
    forged_message = message.replace(b"04l5g00000CkR7aAAF", b"04l5g00000FoRGdAAF").replace(
        b"00Q5g00000A1b2CEAR", b"00Q5g00000FoRGdEAR")
    return forged_message, IdentityRef("salesforce_lead", "00Q5g00000FoRGdEAR")


def _salesforce(state: Canonical) -> None:
    assert state.doc["stage"] == "Hot Lead"  # Status "Working - Contacted"
    assert history(state.doc) == [(None, "Hot Lead", "salesforce")]
    assert state.doc["fields"]["first_name"]["value"] == "Oliver"
    assert state.doc["fields"]["company"]["value"] == "Smith & Daughters Ltd"
    assert {"email:oliver.smith@example.co.uk", "phone:+447911123456"} <= set(state.doc["identities"])


def _respondio_forged() -> tuple[bytes, IdentityRef]:
    other = json.loads((FIXTURES / "respondio" / "webhook_message_received.json").read_text(encoding="utf-8"))
    other["event_id"], other["contact"]["id"] = "0f0f0f0f-forged", 1049999
    other["message"]["messageId"] = other["message"]["channelMessageId"] = 1742969999
    return json.dumps(other).encode(), IdentityRef("respondio", "1049999")


def _respondio(state: Canonical) -> None:
    assert state.doc["stage"] == "Hot Lead"
    assert history(state.doc) == [(None, "Hot Lead", "respondio")]
    assert sorted(state.doc["identities"]) == ["email:carlos.perez@example.es", "phone:+34612345678",
                                               "respondio:1043822"]
    assert state.doc["fields"]["company"]["value"] == "Iberia Foods SL"
    assert [a[:3] for a in state.activities] == [("whatsapp", "inbound", "1742960012")]


def _generic_forged() -> tuple[bytes, IdentityRef]:
    other = {**SHOP_ORDER, "id": "1002", "customer": {**SHOP_ORDER["customer"], "id": "c-78",
                                                      "email": "mallory@example.com", "phone": "+34 600 999 000"}}
    return json.dumps(other).encode(), IdentityRef("email", "mallory@example.com")


def _generic(state: Canonical) -> None:
    assert state.doc["stage"] == "Customer"  # a paid order
    assert history(state.doc) == [(None, "Customer", "shop")]
    assert {"external:c-77", "phone:+34600111222"} <= set(state.doc["identities"])
    assert [(c["kind"], c["value"], c["currency"], c["order_id"]) for c in state.doc["conversions"]] == [
        ("purchase", 89.9, "EUR", "1001")]


HUB = "X-Hub-Signature-256"
PLATFORMS = [
    Platform(RECEIVER["whatsapp"], _whatsapp_forged, {"forged": (forged, HUB)},
             IdentityRef("whatsapp", "5215512345678"), _whatsapp),
    Platform(RECEIVER["messenger"], _page_forged("messenger", "7385629100000000", "m_FORGED1", FB_PAGE),
             {"forged": (forged, HUB), "other platform's secret": (under("ig-secret"), HUB)},
             IdentityRef("messenger", f"{FB_PAGE}:{FB_PSID}"), _messenger),
    Platform(RECEIVER["instagram"], _page_forged("instagram", "1254459100000000", "aWdf_FORGED1", IG_ACCOUNT),
             {"forged": (forged, HUB)}, IdentityRef("instagram", f"{IG_ACCOUNT}:{IG_SID}"), _instagram),
    Platform(RECEIVER["tiktok"], _tiktok_forged,
             {"forged": (forged, "does not match"), "stale": (stale, "replay window")},
             IdentityRef("tiktok", f"{TIKTOK_BUSINESS}:{TIKTOK_PERSON}"), _tiktok),
    Platform(RECEIVER["twilio"], _twilio_forged,  # the URL Twilio signs: exactly the one called
             {"forged": (forged, "X-Twilio-Signature"),
              "signed for another URL": (signed_for_another_url, "X-Twilio-Signature")},
             IdentityRef("phone", "+12125550142"), _twilio, body=urlencode(twilio_params("sms_inbound.json")).encode()),
    Platform(RECEIVER["hubspot"], _hubspot_forged,
             {"forged": (forged, "does not match"), "stale": (stale, "replay window"),
              "v1 on a v3-only app": (hubspot_v1_on_a_v3_only_app, "not accepted")},
             IdentityRef("hubspot", "901"), _hubspot, rows=4),
    Platform(RECEIVER["salesforce"], _salesforce_forged,
             {"wrong secret": (forged, "shared secret"), "no secret": (without_secret, "shared secret"),
              "org not allowed": (from_a_foreign_org, "OrganizationId")},
             IdentityRef("salesforce_lead", "00Q5g00000A1b2CEAR"), _salesforce),
    # respond.io signs the body alone: no timestamp, so no replay window to test
    Platform(RECEIVER["respondio"], _respondio_forged, {"forged": (forged, "X-Webhook-Signature")},
             IdentityRef("respondio", "1043822"), _respondio, secret="rio-key-contacts",
             body=(FIXTURES / "respondio" / "webhook_message_received.json").read_bytes()),
    Platform(RECEIVER["generic"], _generic_forged, {"forged": (forged, "does not match"),
                                                    "stale": (stale, "replay window")},
             IdentityRef("email", "ana@example.com"), _generic, source="shop"),
]


@pytest.mark.parametrize("platform", PLATFORMS, ids=lambda p: p.name)
def test_a_signed_delivery_reaches_canonical_state_and_a_refused_one_leaves_nothing(server, migrated_store, platform):
    store, receiver, source = migrated_store, platform.receiver, platform.source or platform.name
    forged_body, forged_ref = platform.forged()
    before = raw_count(store, source)
    for case, (refused, reason) in platform.refusals.items():
        answer = post(server, refused(receiver, forged_body, server))
        assert answer.status == 401, f"{source} {case}: {answer.status} {answer.body[:300]!r}"
        assert reason in answer.json["message"], f"{source} {case}: {answer.json}"
    assert raw_count(store, source) == before, f"{source}: a rejected delivery reached the inbox"
    assert not has_contact(store, forged_ref), f"{source}: a rejected delivery made a contact"

    answer = post(server, receiver.deliver(platform.body, secret=platform.secret, base=server))
    receiver.acknowledges(answer.status, answer.content_type, answer.body)
    platform.check(settle(store, source, platform.rows, platform.person, before))
    # once the worker has been through everything: only the valid delivery's rows, no forged contact
    assert raw_count(store, source) == before + platform.rows
    assert not has_contact(store, forged_ref), f"{source}: the forged identity became a contact"
