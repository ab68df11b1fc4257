"""rq-dashboard at /rq: mounted only with an ops token and real Redis, and always behind the token."""

from __future__ import annotations

import base64
import logging
import sys

import pytest
from conftest import REDIS_TEST_URL
from redis import Redis

from sync.settings import Settings
from sync.web import create_app


def client(store, config, database_url, **env):
    settings = Settings.from_env({"DATABASE_URL": database_url, **env})
    return create_app(settings, store=store, config=config, enqueue=lambda ids: None).test_client()


@pytest.fixture
def ops(store, config, database_url):
    Redis.from_url(REDIS_TEST_URL).ping()  # CI starts Redis: a missing one fails, never skips
    return client(store, config, database_url, REDIS_URL=REDIS_TEST_URL, LIFESYNC_OPS_TOKEN="ops-secret")


@pytest.mark.parametrize("headers", [
    {}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic " + base64.b64encode(b"ops:wrong").decode()},
])
def test_dashboard_refuses_without_the_token(ops, headers):
    res = ops.get("/rq/", headers=headers)
    assert res.status_code == 401 and res.headers["WWW-Authenticate"].startswith("Basic")


@pytest.mark.parametrize("headers", [
    {"Authorization": "Bearer ops-secret"}, {"Authorization": "Basic " + base64.b64encode(b"ops:ops-secret").decode()},
])
def test_dashboard_sees_the_queues_with_the_token(ops, headers):
    assert ops.get("/rq/", headers=headers).status_code == 200
    res = ops.get("/rq/0/data/queues.json", headers=headers)
    assert res.status_code == 200 and "queues" in res.json


def test_the_token_does_not_guard_webhooks_or_health(ops):
    assert ops.get("/healthz").status_code == 200


@pytest.mark.parametrize("env", [{"LIFESYNC_OPS_TOKEN": "t"}, {"REDIS_URL": REDIS_TEST_URL}])
def test_no_dashboard_without_token_or_redis(store, config, database_url, env):
    assert client(store, config, database_url, **env).get("/rq/").status_code == 404


def test_a_token_without_rq_dashboard_installed_says_why_rq_is_not_served(store, config, database_url, monkeypatch,
                                                                         caplog):
    monkeypatch.setitem(sys.modules, "rq_dashboard", None)  # import rq_dashboard now raises ImportError
    with caplog.at_level(logging.WARNING, logger="sync.web.ops_auth"):
        app = client(store, config, database_url, REDIS_URL=REDIS_TEST_URL, LIFESYNC_OPS_TOKEN="ops-secret")
    assert app.get("/rq/", headers={"Authorization": "Bearer ops-secret"}).status_code == 404
    assert "rq-dashboard is not installed" in caplog.text and "ops-secret" not in caplog.text


BASIC = {"Authorization": "Basic " + base64.b64encode(b"ops:ops-secret").decode()}
BEARER = {"Authorization": "Bearer ops-secret"}
SELF = "http://localhost"  # the test client's own origin


@pytest.fixture
def queued():
    """A queue holding one job in the test Redis: (queue, how many jobs it holds now)."""
    from rq import Queue

    queue = Queue("lifesync-ops-test", connection=Redis.from_url(REDIS_TEST_URL))

    def clear() -> None:
        queue.empty()
        for job_id in queue.failed_job_registry.get_job_ids(cleanup=False):
            queue.failed_job_registry.remove(job_id, delete_job=True)

    clear()
    queue.enqueue("builtins.print", "x")
    yield queue
    clear()


@pytest.mark.parametrize("headers", [
    {**BASIC, "Origin": "https://evil.example"},
    {**BASIC, "Origin": "null"},
    {**BASIC, "Referer": "https://evil.example/page"},
    BASIC,  # a browser's cached basic credentials, no Origin or Referer to vouch for the page
    {**BEARER, "Origin": "https://evil.example"},
])
def test_a_cross_site_state_change_is_refused_and_the_queue_untouched(ops, queued, headers):
    res = ops.post("/rq/queue/lifesync-ops-test/queued/empty", headers=headers)
    assert res.status_code == 403
    assert queued.count == 1


@pytest.mark.parametrize("path", ["/rq/requeue/lifesync-ops-test", "/rq/queue/lifesync-ops-test/queued/empty",
                                  "/rq/job/some-id/requeue", "/rq/job/some-id/delete",
                                  "/rq/queue/lifesync-ops-test/compact"])
def test_no_state_change_on_get(ops, queued, path):
    res = ops.get(path, headers={**BASIC, "Origin": SELF})
    assert res.status_code == 405 and "POST" in res.headers["Allow"]
    assert queued.count == 1


def test_requeue_by_get_no_longer_requeues_failed_jobs(ops, queued):
    from rq.job import Job

    job = queued.jobs[0]
    queued.remove(job)  # the job failed: out of the queue, into its failed registry
    queued.failed_job_registry.add(job, exc_string="boom")
    assert ops.get("/rq/requeue/lifesync-ops-test", headers=BEARER).status_code == 405
    assert queued.count == 0 and job.id in queued.failed_job_registry.get_job_ids()
    res = ops.post("/rq/requeue/lifesync-ops-test", headers=BEARER)  # a script: Bearer, no Origin
    assert res.status_code == 200 and res.json == {"status": "OK", "count": 1}
    assert queued.count == 1 and Job.fetch(job.id, connection=queued.connection).get_status() == "queued"


@pytest.mark.parametrize("headers", [BEARER, {**BEARER, "Origin": SELF}, {**BASIC, "Origin": SELF},
                                     {**BASIC, "Referer": SELF + "/rq/0/view/queues"}])
def test_bearer_and_same_origin_basic_change_state(ops, queued, headers):
    res = ops.post("/rq/queue/lifesync-ops-test/queued/empty", headers=headers)
    assert res.status_code == 200 and res.json == {"status": "OK"}
    assert queued.count == 0
