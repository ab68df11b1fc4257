"""Conversions from the outbox to the Meta, TikTok and Google sandboxes: batching, poison, crashes, messaging."""

from __future__ import annotations

import math
import time
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from support.conversions import seed, statuses
from support.crm import settings_for

from sync.attribution.configure import destination_configs
from sync.attribution.dispatch import dispatch_all, dispatch_conversions
from sync.attribution.networks import sender_for
from sync.config import load_config
from sync.sandbox.ads.google_ads import GoogleAdsSandbox
from sync.sandbox.ads.meta import MetaSandbox
from sync.sandbox.ads.tiktok import TikTokSandbox
from sync.sandbox.server import SandboxServer
from sync.store import model

CONFIG = load_config(None)


@pytest.fixture
def networks(store, database_url):
    meta, tiktok, google = MetaSandbox(), TikTokSandbox(), GoogleAdsSandbox()
    with SandboxServer(meta=meta, tiktok=tiktok, google=google) as server:
        settings = settings_for(server, database_url)
        yield meta, tiktok, google, destination_configs(settings, CONFIG)


def test_2500_conversions_go_out_in_the_fewest_requests_each_network_allows(networks, store):
    meta, tiktok, google, dests = networks
    seed(store, 2_500)
    for name, sandbox, per_request in (("meta", meta, 1000), ("tiktok", tiktok, 1000), ("google", google, 2000)):
        counts = dispatch_all(store, dests[name], sender_for(dests[name]))
        assert counts.sent == 2_500, (name, counts)
        assert sandbox.requests == counts.requests == math.ceil(2_500 / per_request)
        assert statuses(store, name) == {"sent": 2_500}
    assert len({e["event_id"] for e in meta.accepted}) == 2_500
    with store.transaction() as s:
        resp = s.scalars(select(model.Delivery.response).where(model.Delivery.destination == "meta")).first()
    assert resp["click_id"] == "fbc" and {"em", "ph", "fn", "ct", "country"} <= set(resp["keys"])


def test_meta_is_called_at_todays_default_version_and_an_ended_one_gets_metas_own_refusal(networks, store):
    meta, _, _, dests = networks
    assert dests["meta"].api_version == "v26.0"  # and the tests above delivered through it
    seed(store, 3, destinations=("meta",))
    ended = replace(dests["meta"], api_version="v21.0")  # as LIFESYNC_META_API_VERSION=v21.0 would configure it
    counts = dispatch_all(store, ended, sender_for(ended))
    assert (counts.sent, counts.failed, meta.requests) == (0, 3, 1)  # refused whole, not bisected event by event
    assert meta.accepted == [] and statuses(store, "meta") == {"dead": 3}
    with store.transaction() as s:
        reasons = set(s.scalars(select(model.DeadLetter.reason)))
    assert len(reasons) == 1
    reason = reasons.pop()
    assert "set LIFESYNC_META_API_VERSION to a current one" in reason and "code 2635" in reason
    assert "(#2635) You are calling a deprecated version of the Ads API. Please update to the latest version: v27.0." \
        in reason


def test_one_poisoned_event_is_dead_lettered_and_the_rest_of_its_batch_delivered(networks, store):
    meta, _, _, dests = networks
    seed(store, 300, destinations=("meta",), poison=123)
    counts = dispatch_all(store, dests["meta"], sender_for(dests["meta"]))
    assert (counts.sent, counts.failed) == (299, 1)
    assert len(meta.accepted) == 299 and meta.rejected_batches >= 1
    with store.transaction() as s:
        letter = s.scalars(select(model.DeadLetter)).one()
    assert letter.stage == "dispatch" and letter.source == "meta"
    assert statuses(store, "meta") == {"sent": 299, "dead": 1}


def test_tiktok_events_past_its_28_day_window_are_counted_too_old_not_sent(networks, store):
    _, tiktok, _, dests = networks
    ages = {i: timedelta(days=29) for i in range(1, 41)} | {i: timedelta(days=400) for i in range(41, 51)}
    ages |= {i: timedelta(days=20) for i in range(51, 61)}  # older than Meta's 7 days, inside TikTok's window
    event_ids = seed(store, 100, destinations=("tiktok",), ages=ages)
    counts = dispatch_all(store, dests["tiktok"], sender_for(dests["tiktok"]))
    assert (counts.sent, counts.expired, counts.failed) == (50, 50, 0)
    assert statuses(store, "tiktok") == {"sent": 50, "expired": 50}
    assert sorted(e["event_id"] for e in tiktok.accepted) == event_ids[50:]  # the 20-day-old ones included
    assert tiktok.rejected_events == 0 and tiktok.requests == counts.requests == 1
    with store.transaction() as s:
        reasons = s.scalars(select(model.Delivery.last_error).where(model.Delivery.destination == "tiktok",
                                                                    model.Delivery.status == "expired")).all()
        letters = s.scalar(select(func.count()).select_from(model.DeadLetter))
    assert len(reasons) == 50 and all("older than the 28 days tiktok accepts" in r for r in reasons)
    assert letters == 0  # too old is counted, not dead-lettered


def test_the_tiktok_sandbox_refuses_an_event_past_the_window_that_lifesync_let_through(networks, store, monkeypatch):
    import sync.attribution.dispatch as dispatch_module
    import sync.attribution.networks.tiktok as tiktok_module

    _, tiktok, _, dests = networks
    seed(store, 3, destinations=("tiktok",), ages={2: timedelta(days=29)})
    # a lifesync that forgot TikTok's window (neither expired by the dispatcher nor refused by the builder) ...
    monkeypatch.setattr(dispatch_module, "max_age_days", lambda _dest: None)
    monkeypatch.setattr(tiktok_module, "max_event_age_days", lambda _dest: None)
    counts = dispatch_all(store, dests["tiktok"], sender_for(dests["tiktok"]))
    # ... is told by the sandbox, per event, and the stale event is dead-lettered with TikTok's answer
    assert (counts.sent, counts.failed, counts.expired) == (2, 1, 0)
    assert tiktok.rejected_events == 1 and len(tiktok.accepted) == 2
    with store.transaction() as s:
        letter = s.scalars(select(model.DeadLetter)).one()
    assert "code 20001" in letter.reason and "more than 28 days old" in letter.reason


class Killed(Exception):
    pass


def test_a_dispatcher_killed_after_sending_resends_with_the_same_event_ids(networks, store, monkeypatch):
    meta, _, _, dests = networks
    event_ids = seed(store, 1_500, destinations=("meta",))
    import sync.attribution.dispatch as dispatch_module

    real_record = dispatch_module._record

    def die(*args, **kwargs):
        raise Killed  # the process dies after Meta accepted the batch, before lifesync wrote it down

    monkeypatch.setattr(dispatch_module, "_record", die)
    with pytest.raises(Killed):
        dispatch_conversions(store, dests["meta"], sender_for(dests["meta"]))
    assert statuses(store, "meta") == {"pending": 1_500}
    assert meta.requests == 1  # killed after the first batch's answer: the second never went out
    monkeypatch.setattr(dispatch_module, "_record", real_record)
    counts = dispatch_all(store, dests["meta"], sender_for(dests["meta"]))
    assert statuses(store, "meta") == {"sent": 1_500}
    assert sorted(e["event_id"] for e in meta.accepted) == sorted(event_ids)  # one event id per conversion
    assert meta.duplicates == 1_000  # the batch in flight, recognised by Meta as the same events
    assert (counts.sent, counts.delivered_before) == (1_500, 0)  # Meta answers a duplicate as a new event


def test_click_to_whatsapp_conversions_reach_meta_as_business_messaging(networks, store):
    meta, _, _, dests = networks
    seed(store, 20, kind="lead", destinations=("meta",), whatsapp=True)
    counts = dispatch_all(store, dests["meta"], sender_for(dests["meta"]))
    assert counts.sent == 20
    event = meta.accepted[0]
    assert event["action_source"] == "business_messaging" and event["messaging_channel"] == "whatsapp"
    assert event["event_name"] == "LeadSubmitted"
    assert event["user_data"]["ctwa_clid"].startswith("ARAkLk")
    assert event["user_data"]["whatsapp_business_account_id"] == MetaSandbox.WABA_ID


def test_dry_run_builds_everything_and_changes_nothing(networks, store):
    meta, _, _, dests = networks
    seed(store, 50, destinations=("meta",), poison=7)
    counts = dispatch_all(store, dests["meta"], sender_for(dests["meta"]), dry_run=True)
    assert counts.sent == 50 and meta.requests == 0 and counts.events
    assert statuses(store, "meta") == {"pending": 50}


def test_validate_only_checks_each_event_once_and_records_nothing(networks, store):
    from dataclasses import replace

    _, _, google, dests = networks
    seed(store, 30, destinations=("google",))
    dest = replace(dests["google"], validate_only=True)
    counts = dispatch_all(store, dest, sender_for(dest))
    assert counts.validated == 30 and google.accepted == [] and statuses(store, "google") == {"validated": 30}
    again = dispatch_all(store, dest, sender_for(dest))
    assert again.requests == 0 and google.requests == 1  # not validated over and over


def test_a_second_ad_account_does_not_inherit_the_defaults_host_or_test_mode(database_url):
    from sync.attribution.configure import destination_config
    from sync.settings import Settings

    settings = Settings.from_env({"LIFESYNC_META_ACCESS_TOKEN": "t1", "LIFESYNC_META_DATASET_ID": "1",
                                  "LIFESYNC_META_BASE_URL": "http://127.0.0.1:9/sandbox",
                                  "LIFESYNC_META_TEST_EVENT_CODE": "TEST1", "LIFESYNC_META_API_VERSION": "v22.0",
                                  "LIFESYNC_META_ACCESS_TOKEN__META_EU": "t2",
                                  "LIFESYNC_META_DATASET_ID__META_EU": "2"})
    eu = destination_config(settings, "meta-eu", "meta")
    assert (eu.base_url, eu.test_event_code, eu.api_version) == ("https://graph.facebook.com", None, "v22.0")
    assert "t2" not in repr(eu)


def test_a_sale_told_by_a_stage_and_by_its_order_reaches_the_network_once(networks, store):
    from dataclasses import replace

    from sync.config import load_config
    from sync.config.conversions import StageRule
    from sync.ingest.pipeline import ingest_patches
    from sync.outbox.effects import Effects
    from sync.reconcile.patch import ConversionData, IdentityRef, Patch

    meta, _, _, dests = networks
    config = load_config(None)
    # the respond.io agent marks the contact Customer: a purchase worth the contact's "amount" field
    rules = replace(config.conversions, on_stage=(StageRule("New Lead", "lead"), StageRule(
        "Customer", "purchase", value_field="amount", default_currency="EUR", sources=("respondio",))))
    effects = Effects(conversion_rules=rules, conversion_destinations=frozenset({"meta"}))
    now = model.utcnow() - timedelta(hours=3)
    email = IdentityRef("email", "buyer@example.com")
    lead = Patch("respondio", "contact", "r1", now - timedelta(hours=5), (email,), stage="New Lead")
    agent = Patch("respondio", "contact", "r1", now + timedelta(hours=1), (email,), stage="Customer",
                  fields=(("amount", 80.0),))  # → a stage-derived purchase
    order = Patch("shop", "order", "o1", now, (email,),
                  conversions=(ConversionData("purchase", now, 80.0, "EUR", "o1"),))  # the same sale, later
    for patch in (lead, agent):
        ingest_patches(store, config.lifecycle, [(patch, None)], [], effects)
    assert dispatch_all(store, dests["meta"], sender_for(dests["meta"])).sent == 2  # the lead and the purchase
    ingest_patches(store, config.lifecycle, [(order, None)], [], effects)
    counts = dispatch_all(store, dests["meta"], sender_for(dests["meta"]))
    assert counts.duplicate == 1 and counts.sent == 0
    assert [e["event_name"] for e in meta.accepted].count("Purchase") == 1
    from sync.reports.delivery import delivery

    [health] = delivery(store, config).destinations
    assert (health.destination, health.sent, health.duplicate, health.dead) == ("meta", 2, 1, 0)
    # a second, different order of the same contact is a second sale
    second = Patch("shop", "order", "o2", now + timedelta(hours=2), (email,),
                   conversions=(ConversionData("purchase", now + timedelta(hours=2), 30.0, "EUR", "o2"),))
    ingest_patches(store, config.lifecycle, [(second, None)], [], effects)
    assert dispatch_all(store, dests["meta"], sender_for(dests["meta"])).sent == 1


def test_data_manager_requests_are_diagnosed_later_and_the_answer_recorded_per_delivery(store, database_url):
    from sync.attribution.diagnostics import collect

    late = GoogleAdsSandbox(clock=lambda: time.time() + 95 * 86_400)  # Google processes them 95 days later: too old
    with SandboxServer(google=late) as server:
        dests = destination_configs(settings_for(server, database_url), CONFIG)
        seed(store, 3, destinations=("google",))
        counts = dispatch_all(store, dests["google"], sender_for(dests["google"]))
        assert counts.sent == 3 and late.accepted == [] and len(late.request_statuses) == 1
        report = collect(store, dests["google"])
        assert report.as_dict() == {"destination": "google", "requests": 1, "statuses": {"FAILED": 1},
                                    "errors": {"PROCESSING_ERROR_REASON_EVENT_TOO_OLD": 3}, "warnings": {}}
        with store.transaction() as s:
            responses = [r for (r,) in s.execute(select(model.Delivery.response))]
        assert {r["request_id"] for r in responses} == set(late.request_statuses)
        assert {r["diagnostics"]["status"] for r in responses} == {"FAILED"}
        assert responses[0]["diagnostics"]["errors"] == {"PROCESSING_ERROR_REASON_EVENT_TOO_OLD": 3}
        assert collect(store, dests["google"]).requests == 0  # settled: not asked again
        assert late.requests == 2


def test_a_sunset_ads_api_version_fails_every_event_with_googles_error_and_is_not_retried(store, database_url):
    google = GoogleAdsSandbox()
    with SandboxServer(google=google) as server:
        settings = settings_for(server, database_url, LIFESYNC_GOOGLE_ADS_TRANSPORT="ads_api",
                                LIFESYNC_GOOGLE_ADS_API_VERSION="v18")
        dest = destination_configs(settings, CONFIG)["google"]
        seed(store, 2, destinations=("google",))
        counts = dispatch_all(store, dest, sender_for(dest))
    assert counts.failed == 2 and google.requests == 1 and google.accepted == []
    with store.transaction() as s:
        errors = [e for (e,) in s.execute(select(model.Delivery.last_error))]
    assert all("GRPC target method can't be resolved." in e and "sunset" in e for e in errors)
