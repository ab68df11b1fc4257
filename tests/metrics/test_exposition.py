"""/metrics: parses as Prometheus text, and its figures move as events are stored, drained, dead-lettered, sent."""

from __future__ import annotations

from datetime import timedelta

import pytest
import responses
from prometheus_client.parser import text_string_to_metric_families
from support.payloads import body_of, meta_signature, whatsapp_delivery, whatsapp_value
from support.webhook_app import app_with

from sync.alerts.runs import record_run
from sync.config import load_config
from sync.http import HttpClient, RetryPolicy, make_session
from sync.ingest import inbox
from sync.metrics.database import DatabaseCollector
from sync.metrics.exposition import render
from sync.store import model

TOKEN = {"Authorization": "Bearer ops-secret"}


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of an exposition, by (name, sorted labels): parsed by prometheus_client's own parser."""
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(found: dict, name: str, **labels: str) -> float:
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.fixture(scope="module")
def config():
    return load_config(None)


@pytest.fixture
def client(store, config, database_url):
    return app_with(store, config, [], database_url, LIFESYNC_OPS_TOKEN="ops-secret").test_client()


def scrape(client) -> dict:
    res = client.get("/metrics", headers=TOKEN)
    assert res.status_code == 200 and res.content_type.startswith("text/plain")
    return samples(res.get_data(as_text=True))


def post_whatsapp(client, secret: str = "wa-secret"):
    body = body_of(whatsapp_delivery(whatsapp_value()))
    return client.post("/webhooks/whatsapp", data=body, content_type="application/json",
                       headers={"X-Hub-Signature-256": meta_signature(secret, body)})


def test_metrics_need_an_api_token(client, store):
    from sync.access import tokens
    from sync.access.roles import Principal

    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/metrics", headers=TOKEN).status_code == 200  # the bootstrap token
    _, viewer = tokens.create(store, Principal("setup", "admin"), "prometheus", "viewer")
    assert client.get("/metrics", headers={"Authorization": f"Bearer {viewer}"}).status_code == 200


def test_without_the_bootstrap_token_metrics_take_api_tokens_only(store, config, database_url):
    from sync.access import tokens
    from sync.access.roles import Principal

    plain = app_with(store, config, [], database_url).test_client()
    assert plain.get("/metrics", headers=TOKEN).status_code == 401
    _, viewer = tokens.create(store, Principal("setup", "admin"), "prometheus", "viewer")
    assert plain.get("/metrics", headers={"Authorization": f"Bearer {viewer}"}).status_code == 200


def test_webhooks_accepted_and_rejected_by_receiver_and_reason(client):
    before = scrape(client)
    assert post_whatsapp(client).status_code == 200
    assert post_whatsapp(client, secret="forged").status_code == 401
    assert client.post("/webhooks/whatsapp", data=b"x" * 5000, content_type="application/json").status_code == 413
    after = scrape(client)
    assert value(after, "lifesync_webhooks_accepted_total", receiver="whatsapp") - \
        value(before, "lifesync_webhooks_accepted_total", receiver="whatsapp") == 1
    for reason in ("signature", "too_large"):
        assert value(after, "lifesync_webhooks_rejected_total", receiver="whatsapp", reason=reason) - \
            value(before, "lifesync_webhooks_rejected_total", receiver="whatsapp", reason=reason) == 1


def test_inbox_figures_move_as_events_are_stored_drained_and_dead_lettered(client, store, config):
    empty = scrape(client)
    assert value(empty, "lifesync_database_up") == 1
    assert value(empty, "lifesync_inbox_events", status="received") == 0
    assert value(empty, "lifesync_inbox_lag_seconds") == 0
    for _ in range(2):  # the same delivery twice: one event (a redelivery stores nothing)
        assert post_whatsapp(client).status_code == 200
    other = whatsapp_value()
    other["messages"][0]["id"] = "wamid.another"
    body = body_of(whatsapp_delivery(other))
    assert client.post("/webhooks/whatsapp", data=body, content_type="application/json",
                       headers={"X-Hub-Signature-256": meta_signature("wa-secret", body)}).status_code == 200
    ids = inbox.received(store, 10)
    assert len(ids) == 2
    with store.transaction() as session:  # the first arrived ten minutes ago
        session.get(model.RawEvent, ids[0]).received_at = model.utcnow() - timedelta(minutes=10)
    waiting = scrape(client)
    assert value(waiting, "lifesync_inbox_events", status="received") == 2
    assert 590 <= value(waiting, "lifesync_inbox_lag_seconds") <= 3600
    inbox.quarantine(store, ids[0], RuntimeError("boom"))
    inbox.process_events(store, config, ids[1:])
    drained = scrape(client)
    assert value(drained, "lifesync_inbox_events", status="received") == 0
    assert value(drained, "lifesync_inbox_events", status="dead") == 1
    assert value(drained, "lifesync_inbox_lag_seconds") == 0
    assert value(drained, "lifesync_inbox_drained_recent", status="processed", window_seconds="300") == 1
    assert value(drained, "lifesync_inbox_drained_recent", status="dead", window_seconds="300") == 1
    assert value(drained, "lifesync_dead_letters_open", stage="reconcile") == 1


def test_deliveries_per_network_and_failing_schedules(client, store):
    now = model.utcnow()
    with store.transaction() as session:
        for i, (dest, status, age) in enumerate([("meta", "sent", 10), ("meta", "sent", 20), ("meta", "dead", 30),
                                                 ("tiktok", "failed", 40), ("tiktok", "sent", 4000)]):
            box = model.Outbox(idempotency_key=f"k{i}", kind="conversion", destination=dest, payload={},
                               status="sent")
            session.add(box)
            session.flush()
            session.add(model.Delivery(outbox_id=box.id, destination=dest, status=status,
                                       updated_at=now - timedelta(seconds=age)))
    record_run(store, "sync-hubspot", "sync_hubspot", "failed", "AuthError: the credentials were rejected")
    record_run(store, "sync-hubspot", "sync_hubspot", "failed", "AuthError: the credentials were rejected")
    found = scrape(client)
    recent = "lifesync_deliveries_recent"
    assert value(found, recent, destination="meta", status="sent", window_seconds="300") == 2
    assert value(found, recent, destination="meta", status="dead", window_seconds="300") == 1
    assert value(found, recent, destination="tiktok", status="failed", window_seconds="300") == 1
    assert value(found, recent, destination="tiktok", status="sent", window_seconds="300") == 0  # an hour ago
    assert value(found, "lifesync_deliveries", destination="meta", status="dead") == 1
    assert value(found, "lifesync_deliveries", destination="tiktok", status="failed") == 1
    assert value(found, "lifesync_scheduled_run_failures_in_row", schedule="sync-hubspot", task="sync_hubspot") == 2
    record_run(store, "sync-hubspot", "sync_hubspot", "ok")
    assert value(scrape(client), "lifesync_scheduled_run_failures_in_row", schedule="sync-hubspot",
                 task="sync_hubspot") == 0


@responses.activate
def test_api_calls_and_rate_limit_waits_are_counted_in_the_shared_client(store):
    responses.post("https://api.example.test/x", status=429, headers={"Retry-After": "2"})
    responses.post("https://api.example.test/x", json={"ok": True})
    waits: list[float] = []
    client = HttpClient(make_session("https://api.example.test"), vendor="Example", sleep=waits.append,
                        policy=RetryPolicy(max_attempts=3))
    before = samples(render(store).decode())
    assert client.request("POST", "/x").status_code == 200
    after = samples(render(store).decode())
    assert waits == [2.0]
    for outcome in ("rate_limited", "ok"):
        assert value(after, "lifesync_api_calls_total", vendor="Example", outcome=outcome) - \
            value(before, "lifesync_api_calls_total", vendor="Example", outcome=outcome) == 1
    assert value(after, "lifesync_rate_limit_waits_total", vendor="Example", kind="retry_after") - \
        value(before, "lifesync_rate_limit_waits_total", vendor="Example", kind="retry_after") == 1
    assert value(after, "lifesync_rate_limit_wait_seconds_total", vendor="Example", kind="retry_after") - \
        value(before, "lifesync_rate_limit_wait_seconds_total", vendor="Example", kind="retry_after") == 2.0


def test_a_database_that_does_not_answer_is_a_zero_not_a_500(store):
    from sqlalchemy.exc import OperationalError

    class Down:
        def transaction(self):
            raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    found = samples(render(Down()).decode())  # type: ignore[arg-type]
    assert value(found, "lifesync_database_up") == 0
    assert not any(name.startswith("lifesync_inbox") for name, _ in found)
    assert DatabaseCollector(store).describe() == []


def test_multiprocess_mode_sums_the_counters_of_every_process(tmp_path, database_url):
    """PROMETHEUS_MULTIPROC_DIR: two worker processes count, a third (the web) exposes their sum."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path), "DATABASE_URL": database_url}
    count = ("from sync.metrics.counters import RECORDS_PULLED, WEBHOOKS_REJECTED\n"
             "WEBHOOKS_REJECTED.labels('whatsapp', 'signature').inc(3)\n"
             "RECORDS_PULLED.labels('hubspot', 'contact').inc(100)\n")
    for _ in range(2):
        subprocess.run([sys.executable, "-c", count], env=env, check=True, timeout=120)
    expose = ("import sys\nfrom sync.metrics.exposition import render\nfrom sync.store.engine import open_store\n"
              f"sys.stdout.write(render(open_store({database_url!r})).decode())\n")
    out = subprocess.run([sys.executable, "-c", expose], env=env, check=True, timeout=120, capture_output=True,
                         text=True).stdout
    found = samples(out)
    assert value(found, "lifesync_webhooks_rejected_total", receiver="whatsapp", reason="signature") == 6
    assert value(found, "lifesync_records_pulled_total", connector="hubspot", object="contact") == 200
    assert value(found, "lifesync_database_up") == 1
