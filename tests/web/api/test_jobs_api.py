"""``GET /api/jobs``: queue depths and jobs through the job system ``jobs.web`` wires in, and the schedule."""

from __future__ import annotations

from datetime import datetime

from support.webhook_app import ENV
from web.api.conftest import BOOTSTRAP, bearer

from jobs.web import RqJobs, create_web_app
from sync.settings import Settings
from sync.store.model import utcnow
from sync.web import create_app

ADMIN = bearer(BOOTSTRAP)


def test_the_schedule_is_listed_with_each_cron_entrys_next_run(api, role_tokens):
    body = api.get("/api/jobs", headers=bearer(role_tokens["viewer"])).json
    schedule = {e["name"]: e for e in body["schedule"]}
    assert schedule["sync-hubspot"] == {"name": "sync-hubspot", "task": "sync_hubspot", "queue": "sync",
                                        "every": 900, "cron": None, "enabled": True, "next_run_at": None}
    stale = schedule["stale-leads"]
    assert stale["cron"] == "0 * * * *"
    assert datetime.fromisoformat(stale["next_run_at"]) > utcnow() and stale["next_run_at"][14:19] == "00:00"
    assert [q["name"] for q in body["queues"]] == ["ingest", "sync", "dispatch", "maintenance"]


def test_a_bad_limit_is_422(api):
    response = api.get("/api/jobs?limit=0", headers=ADMIN)
    assert response.status_code == 422 and "limit" in response.json["errors"]["query"]


def test_embedded_serving_wires_the_job_system_in(database_url, store, monkeypatch):
    monkeypatch.delenv("REDIS_URL", raising=False)
    settings = Settings.from_env({"DATABASE_URL": database_url, **ENV, "LIFESYNC_OPS_TOKEN": BOOTSTRAP})
    app = create_web_app(settings, store=store)  # what `lifesync serve` without REDIS_URL builds
    assert isinstance(app.extensions["lifesync"]["jobs"], RqJobs)
    assert app.test_client().get("/api/jobs", headers=ADMIN).status_code == 200


def test_an_app_built_without_a_job_system_says_so(database_url, store, config):
    settings = Settings.from_env({"DATABASE_URL": database_url, **ENV, "LIFESYNC_OPS_TOKEN": BOOTSTRAP})
    app = create_app(settings, store=store, config=config, enqueue=lambda ids: None)
    response = app.test_client().get("/api/jobs", headers=ADMIN)
    assert response.status_code == 503 and "has no job queue wired in" in response.json["message"]


def test_an_unreachable_queue_is_503_and_a_sync_then_leaves_no_audit_entry(database_url, store, config):
    from redis import Redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    from sync.access.audit import AuditFilter, entries

    settings = Settings.from_env({"DATABASE_URL": database_url, **ENV, "LIFESYNC_OPS_TOKEN": BOOTSTRAP,
                                  "LIFESYNC_HUBSPOT_TOKEN": "hub-token-0123456789"})
    # nothing listens on port 1; no retries
    gone = Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2, retry=Retry(NoBackoff(), 0))
    client = create_app(settings, store=store, config=config, enqueue=lambda ids: None,
                        jobs=RqJobs(gone)).test_client()
    response = client.get("/api/jobs", headers=ADMIN)
    assert response.status_code == 503 and response.headers["Retry-After"]
    assert response.json["message"] == "the job queue is unavailable; try again later"
    assert client.post("/api/connections/hubspot/default/sync", headers=ADMIN).status_code == 503
    assert entries(store, AuditFilter(action="connection.sync")) == []
