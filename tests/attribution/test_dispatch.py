"""The dispatcher records as it goes: a crash re-sends at most the batch in flight, a network's
duplicate refusal counts as delivered before, and each batch's commit is fenced by the lease."""

from __future__ import annotations

from dataclasses import replace

import pytest
from conftest import REDIS_TEST_URL
from redis import Redis
from sqlalchemy import func, select, update
from support.conversions import seed, statuses
from support.crm import settings_for

from jobs.locks import lock_key, run_locked
from sync.attribution.adjust_dispatch import dispatch_adjustments
from sync.attribution.configure import destination_configs
from sync.attribution.dispatch import dispatch_all
from sync.attribution.networks import network_for, sender_for
from sync.config import load_config
from sync.outbox.rows import adjustment_row
from sync.reports.delivery import delivery
from sync.sandbox.ads.google_ads import GoogleAdsSandbox
from sync.sandbox.ads.meta import MetaSandbox
from sync.sandbox.server import SandboxServer
from sync.store import model
from sync.store.sql import insert_rows

CONFIG = load_config(None)
BATCH = 20  # the senders' max_batch here: three batches of 60 events, as 6,000 go out at Google's 2,000


class Crash(BaseException):
    """The process dying mid-dispatch (as KeyboardInterrupt does: nothing catches it on the way out)."""


class CrashingSender:
    """The network's real sender, whose process dies right after the answer to batch ``after`` arrives,
    or just before batch ``before`` goes out; ``on_answer(n)`` runs after each answer."""

    def __init__(self, real, *, after: int | None = None, before: int | None = None, on_answer=None):
        self.real, self.after, self.before, self.on_answer, self.batches = real, after, before, on_answer, 0
        self.max_batch = real.max_batch = BATCH

    @property
    def requests(self) -> int:
        return self.real.requests

    def send(self, events):
        if self.batches + 1 == self.before:
            raise Crash
        results = self.real.send(events)
        self.batches += 1
        if self.on_answer is not None:
            self.on_answer(self.batches)
        if self.batches == self.after:
            raise Crash  # sent and answered; what lifesync records of it is lost with the process
        return results


@pytest.fixture
def google(store, database_url):
    sandbox = GoogleAdsSandbox()
    with SandboxServer(google=sandbox) as server:
        settings = settings_for(server, database_url, LIFESYNC_GOOGLE_ADS_TRANSPORT="ads_api")
        yield sandbox, destination_configs(settings, CONFIG)["google"]


def test_a_crash_after_a_batchs_answer_resends_only_that_batch_and_google_refusals_count_as_delivered_before(
        google, store):
    sandbox, dest = google
    event_ids = seed(store, 3 * BATCH, destinations=("google",))
    with pytest.raises(Crash):
        dispatch_all(store, dest, CrashingSender(sender_for(dest), after=2))
    assert sandbox.requests == 2 and len(sandbox.accepted) == 2 * BATCH
    assert statuses(store, "google") == {"sent": BATCH, "pending": 2 * BATCH}  # batch 1 recorded; 2 was in flight

    again = CrashingSender(sender_for(dest))
    counts = dispatch_all(store, dest, again)
    assert again.batches == 2 and counts.requests == 2  # batch 2 again, batch 3 for the first time: not batch 1
    assert (counts.sent, counts.delivered_before, counts.failed) == (BATCH, BATCH, 0)
    assert statuses(store, "google") == {"sent": 3 * BATCH}
    assert sorted(c["orderId"] for c in sandbox.accepted) == sorted(f"order-{i}" for i in range(1, 3 * BATCH + 1))
    assert len(sandbox.duplicate_events) == BATCH  # Google refused the re-sent batch: ORDER_ID_ALREADY_IN_USE
    assert len(event_ids) == 3 * BATCH
    health = {d.destination: d for d in delivery(store).destinations}["google"]
    assert (health.sent, health.delivered_before) == (3 * BATCH, BATCH)


def test_a_crash_between_batches_resends_nothing(google, store):
    sandbox, dest = google
    seed(store, 3 * BATCH, destinations=("google",))
    with pytest.raises(Crash):
        dispatch_all(store, dest, CrashingSender(sender_for(dest), before=3))
    assert statuses(store, "google") == {"sent": 2 * BATCH, "pending": BATCH}
    counts = dispatch_all(store, dest, CrashingSender(sender_for(dest)))
    assert (counts.sent, counts.delivered_before, counts.requests) == (BATCH, 0, 1)
    assert sandbox.requests == 3 and sandbox.duplicate_events == []


def test_metas_silent_deduplication_is_counted_sent_as_lifesync_cannot_tell(store, database_url):
    meta = MetaSandbox()
    with SandboxServer(meta=meta) as server:
        dest = destination_configs(settings_for(server, database_url), CONFIG)["meta"]
        seed(store, 3 * BATCH, destinations=("meta",))
        with pytest.raises(Crash):
            dispatch_all(store, dest, CrashingSender(sender_for(dest), after=2))
        counts = dispatch_all(store, dest, CrashingSender(sender_for(dest)))
    assert (counts.sent, counts.delivered_before, counts.requests) == (2 * BATCH, 0, 2)
    assert meta.duplicates == BATCH and len(meta.accepted) == 3 * BATCH
    assert statuses(store, "meta") == {"sent": 3 * BATCH}


def test_each_batch_commit_is_fenced_by_the_dispatch_lease(google, store):
    sandbox, dest = google
    seed(store, 3 * BATCH, destinations=("google",))
    redis = Redis.from_url(REDIS_TEST_URL)
    redis.delete(lock_key("lifesync", "dispatch_google"))
    key = lock_key("lifesync", "dispatch_google")

    def taken_over(batches):
        if batches == 2:  # the lease lapsed while batch 2 was out and another run holds it now
            redis.set(key, "99:someone-else")

    result = run_locked(redis, "lifesync", "dispatch_google",
                        lambda: dispatch_all(store, dest, CrashingSender(sender_for(dest), on_answer=taken_over)))
    assert "lost" in result and "another run holds it now" in result["lost"]
    assert sandbox.requests == 2
    assert statuses(store, "google") == {"sent": BATCH, "pending": 2 * BATCH}  # batch 2's record was refused
    redis.delete(key)


def test_adjustments_record_each_batch_too_a_crash_resends_only_the_batch_in_flight(google, store, monkeypatch):
    sandbox, dest = google
    event_ids = seed(store, 3 * BATCH, destinations=("google",))
    assert dispatch_all(store, dest, sender_for(dest)).sent == 3 * BATCH
    now = model.utcnow()
    with store.transaction() as s:  # every sale refunded: one retraction each for Google
        s.execute(update(model.ConversionEvent).values(retracted_at=now, adjusted_at=now))
        insert_rows(s, model.Outbox, [{**adjustment_row("google", i, event_id, f"refund-{i}"), "status": "pending",
                                       "created_at": now, "available_at": now}
                                      for i, event_id in enumerate(event_ids, start=1)])
    net = network_for(dest)
    crash = {"after": 2}

    def crashing_sender(dest, session):
        return CrashingSender(net.adjust.sender(dest, session), after=crash["after"])

    adjusting = replace(net, adjust=replace(net.adjust, sender=crashing_sender))
    monkeypatch.setattr("sync.attribution.adjust_dispatch.network_for", lambda _dest: adjusting)
    with pytest.raises(Crash):
        dispatch_adjustments(store, dest, sender_for(dest))
    assert len(sandbox.adjustment_ledger.retracted) == 2 * BATCH
    with store.transaction() as s:
        adjusted = dict(s.execute(select(model.Outbox.status, func.count()).where(model.Outbox.kind == "adjustment")
                                  .group_by(model.Outbox.status)).all())
    assert adjusted == {"sent": BATCH, "pending": 2 * BATCH}  # batch 1 recorded; batch 2 was in flight
    crash["after"] = None
    counts, requests = dispatch_adjustments(store, dest, sender_for(dest))
    assert requests == 2  # batch 2 again (Google: CONVERSION_ALREADY_RETRACTED) and batch 3
    assert counts == {"sent": BATCH, "delivered_before": BATCH}
    assert len(sandbox.adjustment_ledger.retracted) == 3 * BATCH


def test_data_manager_duplicates_show_only_later_in_its_diagnostics_as_delivered_before(store, database_url):
    from sync.attribution.diagnostics import collect

    sandbox = GoogleAdsSandbox()
    with SandboxServer(google=sandbox) as server:
        dest = destination_configs(settings_for(server, database_url), CONFIG)["google"]  # Data Manager: the default
        seed(store, 3 * BATCH, destinations=("google",))
        with pytest.raises(Crash):
            dispatch_all(store, dest, CrashingSender(sender_for(dest), after=2))
        counts = dispatch_all(store, dest, CrashingSender(sender_for(dest)))
        assert (counts.sent, counts.delivered_before) == (2 * BATCH, 0)  # accepted now, processed later: not knowable
        report = collect(store, dest).as_dict()
    assert report["delivered_before"] == BATCH == len(sandbox.duplicate_events)
    assert report["errors"] == {"PROCESSING_ERROR_REASON_DUPLICATE_TRANSACTION_ID": BATCH}
    assert statuses(store, "google") == {"sent": 3 * BATCH}
