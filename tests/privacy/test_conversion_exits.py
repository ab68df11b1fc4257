"""Each conversion network honours each privacy policy: what its sandbox accepted, the policy each Delivery records."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import select, update
from support.conversions import seed, statuses
from support.crm import settings_for

from sync.attribution.configure import destination_configs
from sync.attribution.dispatch import dispatch_all
from sync.attribution.networks import sender_for
from sync.config import load_config
from sync.config.privacy import PolicyRule, PrivacyConfig
from sync.sandbox.ads.google_ads import GoogleAdsSandbox
from sync.sandbox.ads.meta import MetaSandbox
from sync.sandbox.ads.tiktok import TikTokSandbox
from sync.sandbox.server import SandboxServer
from sync.store import model

CONFIG = load_config(None)
META_PERSONAL = ("em", "ph", "fn", "ln", "ct", "st", "zp", "country", "db", "ge", "external_id")


def only(policy: str) -> PrivacyConfig:
    """Every exit applies ``policy`` to everyone."""
    return PrivacyConfig(policies=(PolicyRule(policy=policy, destinations=("all",)),))


@pytest.fixture(params=["meta", "tiktok", "data_manager", "ads_api"])
def network(request, store, database_url):
    """(name, its sandbox, its destination) of one conversion network (Google by each of its transports)."""
    name = request.param
    sandbox = {"meta": MetaSandbox, "tiktok": TikTokSandbox}.get(name, GoogleAdsSandbox)()
    which = {"meta": "meta", "tiktok": "tiktok"}.get(name, "google")
    with SandboxServer(**{which: sandbox}) as server:
        extra = {"LIFESYNC_GOOGLE_ADS_TRANSPORT": name} if which == "google" else {}
        yield name, sandbox, destination_configs(settings_for(server, database_url, **extra), CONFIG)[which]


def deliveries(store, destination: str) -> list[tuple[str, str | None, str | None]]:
    with store.transaction() as s:
        return [tuple(r) for r in s.execute(select(model.Delivery.status, model.Delivery.policy,
                                                   model.Delivery.last_error)
                                            .where(model.Delivery.destination == destination))]


def test_send_goes_with_the_persons_identifiers(network, store):
    name, sandbox, dest = network
    seed(store, 1, destinations=(dest.name,))
    dispatch_all(store, replace(dest, privacy=only("send")), sender_for(dest))
    [event] = sandbox.accepted
    if name == "meta":
        assert {"em", "ph", "external_id", "fbc"} <= set(event["user_data"]) and "data_processing_options" not in event
    elif name == "tiktok":
        assert event["user"]["email"] and event["limited_data_use"] is False
    elif name == "data_manager":
        assert event["userData"]["userIdentifiers"] and event["consent"] == {"adUserData": "CONSENT_GRANTED"}
    else:
        assert event["userIdentifiers"] and event["consent"] == {"adUserData": "GRANTED"}
    assert deliveries(store, dest.name) == [("sent", "send", None)]


def test_restricted_asks_each_network_for_restricted_processing(network, store):
    name, sandbox, dest = network
    seed(store, 1, destinations=(dest.name,))
    dispatch_all(store, replace(dest, privacy=only("restricted")), sender_for(dest))
    [event] = sandbox.accepted
    if name == "meta":  # Limited Data Use, Meta geolocating the person
        assert (event["data_processing_options"], event["data_processing_options_country"],
                event["data_processing_options_state"]) == (["LDU"], 0, 0)
        assert event["user_data"]["em"]
    elif name == "tiktok":
        assert event["limited_data_use"] is True and event["user"]["email"]
    elif name == "data_manager":  # personalisation denied, user data as the person said
        assert event["consent"] == {"adUserData": "CONSENT_GRANTED", "adPersonalization": "CONSENT_DENIED"}
    else:
        assert event["consent"] == {"adUserData": "GRANTED", "adPersonalization": "DENIED"}
    assert deliveries(store, dest.name) == [("sent", "restricted", None)]


def test_strip_sends_the_click_id_and_the_event_only_or_nothing_when_that_cannot_match(network, store):
    name, sandbox, dest = network
    seed(store, 1, destinations=(dest.name,))
    dispatch_all(store, replace(dest, privacy=only("strip")), sender_for(dest))
    if name == "tiktok":  # a CRM event matches on a lead id, an e-mail or a phone only: nothing is left
        assert sandbox.accepted == [] and statuses(store, dest.name) == {"skipped": 1}
        [(status, policy, reason)] = deliveries(store, dest.name)
        assert (status, policy) == ("skipped", "strip") and "leaves nothing to match" in reason
        return
    [event] = sandbox.accepted
    if name == "meta":
        assert set(event["user_data"]) == {"fbc"} and not set(META_PERSONAL) & set(event["user_data"])
        assert event["custom_data"]["value"] == 11.0
    elif name == "data_manager":
        assert "userData" not in event and event["adIdentifiers"] == {"gclid": "Cj0K1"}
    else:
        assert "userIdentifiers" not in event and event["gclid"] == "Cj0K1"
    assert deliveries(store, dest.name) == [("sent", "strip", None)]


def test_drop_sends_nothing_and_says_why(network, store):
    _, sandbox, dest = network
    seed(store, 1, destinations=(dest.name,))
    counts = dispatch_all(store, replace(dest, privacy=only("drop")), sender_for(dest))
    assert sandbox.accepted == [] and sandbox.requests == 0 and counts.withheld == 1
    assert statuses(store, dest.name) == {"skipped": 1}
    [(status, policy, reason)] = deliveries(store, dest.name)
    assert (status, policy) == ("skipped", "drop") and reason.startswith("not sent: privacy policy drop (rule 1")


def test_the_bundled_policies_restrict_california_drop_unknown_europeans_and_honour_a_withdrawal(store, database_url):
    meta = MetaSandbox()
    with SandboxServer(meta=meta) as server:
        dest = destination_configs(settings_for(server, database_url), CONFIG)["meta"]
        seed(store, 4, destinations=("meta",))  # in Portugal, ad_user_data granted
        with store.transaction() as s:
            s.execute(update(model.Contact).where(model.Contact.id == 2).values(attributes={
                "country": {"value": "US", "source": "hubspot"},
                "state": {"value": "California", "source": "hubspot"}}))
            s.execute(update(model.Contact).where(model.Contact.id == 3).values(consent={}))
            s.execute(update(model.Contact).where(model.Contact.id == 4).values(consent={"ad_user_data": False}))
        assert dest.privacy == CONFIG.privacy  # the configuration's privacy.yaml reaches the destination
        dispatch_all(store, dest, sender_for(dest))
    by_id = {e["event_id"]: e for e in meta.accepted}
    assert set(by_id) == {"evt0000001", "evt0000002"}
    assert "data_processing_options" not in by_id["evt0000001"]
    assert by_id["evt0000002"]["data_processing_options"] == ["LDU"]
    with store.transaction() as s:
        got = {r.outbox_id: (r.status, r.policy, r.last_error) for r in s.scalars(select(model.Delivery))}
    assert [got[i][:2] for i in (1, 2, 3, 4)] == [("sent", "send"), ("sent", "restricted"), ("skipped", "drop"),
                                                  ("skipped", "drop")]
    assert "rule 'ad-consent-unknown-in-europe'" in got[3][2] and "ad_user_data unknown" in got[3][2]
    assert "rule 'ad-data-denied'" in got[4][2]


def test_a_withdrawal_without_a_click_id_is_withheld_not_dead_lettered(network, store):
    """A builder leaves out the identifiers of a contact who denied ad_user_data; with no click id either, the event
    could not be built — yet that is the policy at work (skipped), not a data problem to replay (dead)."""
    _, sandbox, dest = network
    seed(store, 1, destinations=(dest.name,))
    with store.transaction() as s:
        s.execute(update(model.Contact).values(consent={"ad_user_data": False}))
        s.execute(update(model.Touchpoint).values(click_ids={}))
    dispatch_all(store, dest, sender_for(dest))
    [(status, policy, reason)] = deliveries(store, dest.name)
    assert sandbox.accepted == [] and (status, policy) == ("skipped", "drop") and "ad_user_data denied" in reason
