"""Messenger and Instagram receivers: handshake, signatures, referrals, echoes, routing, inbox → canonical state."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from support.inbox_checks import counts, process
from support.signatures import meta_signature
from support.social_payloads import (
    FB_PAGE,
    FB_PSID,
    IG_ACCOUNT,
    IG_SID,
    META,
    body_of,
    fixture,
    meta_delivery,
    meta_event,
    wrap,
)

from sync.connectors.meta import messenger
from sync.reconcile.patch import IdentityRef
from sync.reports.export import contacts_json, find_contact
from sync.store import model

PLATFORMS = ["messenger", "instagram"]
SECRETS = {"messenger": "fb-secret", "instagram": "ig-secret"}
AT = datetime(2026, 3, 1, 10, 15, 0, 123000, tzinfo=UTC)  # 1772360100123 ms
AD = {"ref": "spring_promo", "ad_id": "120210000000000789", "source": "ADS", "type": "OPEN_THREAD",
      "referer_uri": "https://www.facebook.com/ads/120210000000000789",
      "ads_context_data": {"ad_title": "Kit de inicio -20%", "photo_url": "https://scontent.xx.fbcdn.net/p.jpg",
                           "video_url": "https://scontent.xx.fbcdn.net/v.mp4", "post_id": "1_2"}}


def post(client, platform, payload=None, *, secret=None, path=None, signature=None, body=None):
    body = body if body is not None else body_of(payload)
    sig = signature if signature is not None else meta_signature(secret or SECRETS[platform], body)
    return client.post(path or f"/webhooks/{platform}", data=body,
                       headers={"X-Hub-Signature-256": sig, "Content-Type": "application/json"})


def scoped(platform: str, page: str | None = None, person: str | None = None) -> IdentityRef:
    _, default_page, default_person = META[platform]
    return IdentityRef(platform, f"{page or default_page}:{person or default_person}")


def test_the_recorded_deliveries_split_into_the_mapping_fixtures():
    for platform, record in (("messenger", "messenger/message_referral.json"),
                             ("instagram", "instagram/message_text.json")):
        [event] = messenger.split(meta_delivery(platform), platform)
        assert (event.source, event.object, event.record) == (platform, "message", fixture(record))


@pytest.mark.parametrize("platform", PLATFORMS)
@pytest.mark.parametrize(("params", "status"), [
    ({"hub.mode": "subscribe", "hub.verify_token": "{token}", "hub.challenge": "1158201444"}, 200),
    ({"hub.mode": "subscribe", "hub.verify_token": "wrong", "hub.challenge": "1"}, 403),
    ({"hub.mode": "unsubscribe", "hub.verify_token": "{token}", "hub.challenge": "1"}, 403),
])
def test_verification_handshake(client, platform, params, status):
    token = {"messenger": "fb-verify", "instagram": "ig-verify"}[platform]
    res = client.get(f"/webhooks/{platform}", query_string={k: v.format(token=token) for k, v in params.items()})
    assert res.status_code == status
    if status == 200:
        assert res.data == b"1158201444" and res.mimetype == "text/plain"


def test_click_to_messenger_ad_message_makes_a_new_lead_with_its_touchpoint(client, store, config, enqueued):
    res = post(client, "messenger", meta_delivery("messenger"))
    assert res.status_code == 200 and res.json == {"received": 1}
    process(store, config, enqueued)
    with store.transaction() as s:
        cid = find_contact(s, scoped("messenger"))
        [doc] = contacts_json(s, [cid])
        act = s.scalar(select(model.Activity))
        tp = s.scalar(select(model.Touchpoint))
        assert s.scalar(select(model.RawEvent.status)) == "processed"
    assert doc["stage"] == "New Lead" and doc["identities"] == [f"messenger:{FB_PAGE}:{FB_PSID}"]
    assert (act.channel, act.direction, act.occurred_at, act.conversation_id) == (
        "messenger", "inbound", AT, f"{FB_PAGE}:{FB_PSID}")
    assert act.external_id.startswith("m_AG5Hz2Uq")
    assert (tp.channel, tp.network, tp.ad_id, tp.headline, tp.occurred_at) == (
        "messenger", "meta", "120210000000000456", "Envíos gratis en marzo", AT)
    assert tp.extra["ref"] == "spring_promo" and tp.extra["photo_url"].endswith("0000001_n.jpg")


def _with_referral(platform: str, placement: str) -> dict:
    event = meta_event(platform)
    event["timestamp"] = 1772360100123
    if placement == "message":
        event["message"]["referral"] = AD
    elif placement == "messaging":  # an existing thread reopened from the ad: no message at all
        del event["message"]
        event["referral"] = AD
    else:  # the Get Started button of a new thread
        del event["message"]
        event["postback"] = {"mid": "m_postback_1", "title": "Get Started", "payload": "GET_STARTED", "referral": AD}
    return event


@pytest.mark.parametrize("platform", PLATFORMS)
@pytest.mark.parametrize(("placement", "activity"), [("message", "inbound"), ("messaging", None),
                                                     ("postback", "inbound")])
def test_every_referral_placement_makes_a_touchpoint_and_a_new_lead(client, store, config, enqueued, platform,
                                                                   placement, activity):
    assert post(client, platform, wrap(platform, _with_referral(platform, placement))).json == {"received": 1}
    process(store, config, enqueued)
    with store.transaction() as s:
        [doc] = contacts_json(s, [find_contact(s, scoped(platform))])
        tp = s.scalar(select(model.Touchpoint))
        directions = list(s.scalars(select(model.Activity.direction)))
    assert doc["stage"] == "New Lead"
    assert (tp.channel, tp.network, tp.ad_id, tp.headline, tp.referral_url, tp.occurred_at) == (
        platform, "meta", "120210000000000789", "Kit de inicio -20%", AD["referer_uri"], AT)
    assert tp.extra == {"ref": "spring_promo", "source": "ADS", "type": "OPEN_THREAD", "placement": placement,
                        "post_id": "1_2", "photo_url": AD["ads_context_data"]["photo_url"],
                        "video_url": AD["ads_context_data"]["video_url"]}
    assert directions == ([activity] if activity else [])


@pytest.mark.parametrize("platform", PLATFORMS)
def test_echo_is_an_outbound_activity_of_the_recipient(client, store, config, enqueued, platform):
    _, page, person = META[platform]
    echo = meta_event(platform)
    echo["sender"], echo["recipient"] = {"id": page}, {"id": person}
    echo["message"] = {"mid": "m_echo_1", "is_echo": True, "app_id": 1517776481860111, "text": "¡Claro que sí!"}
    echo["timestamp"] += 60_000
    assert post(client, platform, wrap(platform, meta_event(platform), echo)).json == {"received": 2}
    process(store, config, enqueued)
    with store.transaction() as s:
        acts = s.execute(select(model.Activity.direction, model.Activity.external_id, model.Activity.contact_id)
                         .order_by(model.Activity.direction)).all()
        cid = find_contact(s, scoped(platform))
        assert find_contact(s, scoped(platform, person=page)) is None  # the page is never a contact
    inbound_mid = meta_event(platform)["message"]["mid"]
    assert [(d, x) for d, x, _ in acts] == [("inbound", inbound_mid), ("outbound", "m_echo_1")]
    assert {c for _, _, c in acts} == {cid}


def test_the_same_person_on_two_pages_is_two_scoped_identities(client, store, config, enqueued):
    other = meta_event("messenger")
    other["message"]["mid"], other["recipient"] = "m_other_page", {"id": "333000111"}
    payload = wrap("messenger", meta_event("messenger"))
    payload["entry"].append(wrap("messenger", other, page="333000111")["entry"][0])
    assert post(client, "messenger", payload).json == {"received": 2}
    process(store, config, enqueued)
    with store.transaction() as s:
        assert sorted(s.scalars(select(model.Identity.value))) == [f"{FB_PAGE}:{FB_PSID}", f"333000111:{FB_PSID}"]


def test_chat_plugin_visitor_is_identified_by_user_ref(client, store, config, enqueued):
    event = _with_referral("messenger", "messaging")
    event["sender"] = {"user_ref": "wp-4f1c2a"}
    event["referral"] = {"ref": "pricing", "source": "CUSTOMER_CHAT_PLUGIN", "type": "OPEN_THREAD",
                         "referer_uri": "https://shop.example.com/pricing"}
    assert post(client, "messenger", wrap("messenger", event)).status_code == 200
    process(store, config, enqueued)
    with store.transaction() as s:
        assert find_contact(s, IdentityRef("messenger", f"{FB_PAGE}:user_ref:wp-4f1c2a")) is not None
        tp = s.scalar(select(model.Touchpoint))
    assert (tp.ad_id, tp.referral_url, tp.extra["source"]) == (None, "https://shop.example.com/pricing",
                                                               "CUSTOMER_CHAT_PLUGIN")


@pytest.mark.parametrize("platform", PLATFORMS)
def test_a_delivery_signed_with_the_other_platforms_app_secret_is_401_and_stores_nothing(client, store, enqueued,
                                                                                        platform):
    body = body_of(meta_delivery(platform))
    signature = meta_signature(SECRETS["instagram" if platform == "messenger" else "messenger"], body)
    res = client.post(f"/webhooks/{platform}", data=body, headers={"X-Hub-Signature-256": signature})
    assert res.status_code == 401 and res.json["status"] == 401
    assert counts(store) == (0, 0, 0) and enqueued == []


@pytest.mark.parametrize(("payload", "reason"), [
    (b'{"object": "instagram", "entry": []}', '"object": "page"'),
    (b'{"object": "page", "entry": {}}', '"entry" must be a list'),
    (b'{"object": "page", "entry": 1}', '"entry" must be a list'),  # found by the receiver fuzz test (was a 500)
    (b'{"object": "page", "entry": "p1"}', '"entry" must be a list'),
    (b'{"object": "page", "entry": [{"messaging": []}]}', "entry[0] must be an object with an id"),
    (b'{"object": "page", "entry": [{"id": "1", "messaging": {}}]}', "entry[0].messaging must be a list"),
    (b'{"object": "page", "entry": [{"id": "1", "messaging": [7]}]}', "messaging[0] must be an object"),
    (b'{"object": "page", "entry": [{"id": "1", "messaging": [{"sender": {"id": "2"}, "timestamp": 1772360100123, '
     b'"message": {"text": "hi"}}]}]}', "message must be an object with a mid"),
    (b'{"object": "page", "entry": [{"id": "1", "messaging": [{"sender": {"id": "2"}, "timestamp": 1772360100123, '
     b'"message": {"mid": {"id": "m_1"}}}]}]}', "message must be an object with a mid (a string)"),
    (b'{"object": "page", "entry": [{"id": "1", "messaging": [{"sender": {"id": "2"}, "timestamp": 1772360100123, '
     b'"postback": {"mid": 7, "payload": "GET_STARTED"}}]}]}', "postback.mid must be a string"),
    (b'{"object": "page", "entry": [{"id": "1", "messaging": [{"sender": {"id": "2"}, "timestamp": "yesterday", '
     b'"message": {"mid": "m_1"}}]}]}', "timestamp must be Unix milliseconds"),
    (b'{"object": "page", "entry": [{"id": "1", "messaging": [{"sender": {}, "timestamp": 1772360100123, '
     b'"message": {"mid": "m_1"}}]}]}', "sender must be an object with an id"),
    (b'{"object": "page", "entry": [{"id": "1", "messaging": [{"sender": {"id": "2"}, "timestamp": 1772360100123, '
     b'"referral": "ADS"}]}]}', "referral must be an object"),
])
def test_malformed_signed_body_is_400_with_the_reason(client, store, enqueued, payload, reason):
    res = post(client, "messenger", body=payload)
    assert res.status_code == 400 and reason in res.json["message"]
    assert counts(store) == (0, 0, 0) and enqueued == []


def test_receipts_reactions_and_reads_are_acknowledged_but_not_stored(client, store, enqueued):
    base = {"sender": {"id": FB_PSID}, "recipient": {"id": FB_PAGE}, "timestamp": 1772360100123}
    events = [{**base, "delivery": {"mids": ["m_1"], "watermark": 1772360100000}},
              {**base, "read": {"watermark": 1772360100000}},
              {**base, "reaction": {"mid": "m_1", "action": "react", "reaction": "love", "emoji": "❤"}}]
    res = post(client, "messenger", wrap("messenger", *events))
    assert res.status_code == 200 and res.json == {"received": 0}
    assert counts(store) == (0, 0, 0) and enqueued == []


@pytest.mark.parametrize(("platform", "page", "secret", "path", "connection"), [
    ("messenger", "333000222", "fb-secret", "/webhooks/messenger", "shop2"),  # routed by its page id
    ("messenger", FB_PAGE, "fb-secret", "/webhooks/messenger", "default"),  # page owned by no one listed
    ("messenger", FB_PAGE, "fb-secret-2", "/webhooks/messenger/shop2", "shop2"),  # the URL names it
    ("instagram", "17841400000000222", "ig-secret", "/webhooks/instagram", "shop2"),
])
def test_delivery_is_filed_under_the_connection_owning_the_page(client, store, platform, page, secret, path,
                                                                connection):
    res = post(client, platform, wrap(platform, meta_event(platform), page=page), secret=secret, path=path)
    assert res.status_code == 200
    with store.transaction() as s:
        assert s.scalar(select(model.RawEvent.connection)) == connection


@pytest.mark.parametrize(("platform", "secret", "status"), [
    ("messenger", "fb-secret", 401), ("messenger", "fb-secret-2", 200), ("instagram", "ig-secret-2", 200)])
def test_named_connection_uses_its_own_secret(client, platform, secret, status):
    res = post(client, platform, meta_delivery(platform), secret=secret, path=f"/webhooks/{platform}/shop2")
    assert res.status_code == status


@pytest.mark.parametrize("platform", PLATFORMS)
def test_the_handshake_of_an_unconfigured_connection_is_404(client, platform):
    assert client.get(f"/webhooks/{platform}/nope", query_string={"hub.mode": "subscribe"}).status_code == 404


def test_instagram_identity_is_scoped_by_the_account():
    [event] = messenger.split(meta_delivery("instagram"), "instagram")
    assert event.record["user_id"] == f"{IG_ACCOUNT}:{IG_SID}"
    assert event.event_key.startswith(f"{IG_ACCOUNT}:aWdf")
