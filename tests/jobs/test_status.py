"""``jobs.status`` and ``jobs.web.RqJobs``: what the ops API reads of the queues, on Redis and the embedded store."""

from __future__ import annotations

from datetime import timedelta

import pytest

from jobs.connection import redis_connection
from jobs.queues import DISPATCH, MAINTENANCE, SYNC, queue
from jobs.web import RqJobs
from jobs.worker import make_worker
from sync.store.model import utcnow


def test_queued_failed_and_scheduled_jobs_are_listed(settings):
    connection = redis_connection(settings)
    jobs = RqJobs(connection)
    queue(SYNC, connection).enqueue_call("jobs.tasks.sync_crm_connection", kwargs={"system": "nowhere"})
    make_worker(settings, [SYNC]).work(burst=True)  # it fails: no such CRM
    assert jobs.enqueue("sync_crm_connection", {"system": "hubspot", "connection": "default"}, "sync-it") == (
        "sync-it", True)
    assert jobs.enqueue("sync_crm_connection", {"system": "hubspot", "connection": "default"}, "sync-it") == (
        "sync-it", False)
    jobs.enqueue("dispatch_conversions", {}, "dispatch-it")
    later = queue(MAINTENANCE, connection).enqueue_in(timedelta(hours=1), "jobs.tasks.sweep_inbox")

    state = jobs.overview(10)
    depth = {q["name"]: q for q in state["queues"]}
    assert (depth[SYNC]["queued"], depth[SYNC]["failed"], depth[DISPATCH]["queued"]) == (1, 1, 1)
    assert depth[MAINTENANCE]["scheduled"] == 1
    assert [(j["id"], j["queue"]) for j in state["queued"]] == [("sync-it", SYNC), ("dispatch-it", DISPATCH)]
    [failed] = state["failed"]
    assert failed["func"] == "jobs.tasks.sync_crm_connection" and failed["status"] == "failed"
    assert "nowhere" in failed["error"] and "Traceback" not in failed["error"]
    [scheduled] = state["scheduled"]
    assert scheduled["id"] == later.id and scheduled["scheduled_for"] > utcnow() + timedelta(minutes=59)
    assert state["running"] == []


def test_only_the_jobs_an_operator_may_ask_for_are_queued(settings):
    with pytest.raises(ValueError, match="not a job that can be queued on request"):
        RqJobs(redis_connection(settings)).enqueue("drain_inbox", {}, "x")


def test_a_requested_sync_runs_one_connection_under_its_lock_and_is_recorded(settings, store, monkeypatch):
    from sqlalchemy import select
    from support.crm import KEY

    import jobs.tasks
    from sync.sandbox.hubspot.sandbox import HubSpotSandbox
    from sync.sandbox.server import SandboxServer
    from sync.store import model

    assert jobs.tasks.sync_crm_connection("hubspot", "salon2") == {
        "skipped": True, "reason": "hubspot connection 'salon2' has no credentials configured"}
    with SandboxServer(hubspot=HubSpotSandbox.seeded(contacts=5, rate_per_10s=None,
                                                     search_per_second=None)) as server:
        for name, value in {**server.env(), "LIFESYNC_SECRET_KEY": KEY}.items():
            monkeypatch.setenv(name, value)
        jobs.tasks.reset()
        RqJobs(redis_connection(settings)).enqueue("sync_crm_connection", {"system": "hubspot",
                                                                           "connection": "default"}, "sync-now")
        make_worker(settings, [SYNC]).work(burst=True)
    with store.transaction() as session:
        [run] = session.scalars(select(model.SyncRun)).all()
        assert (run.system, run.connection, run.status, run.records_in) == ("hubspot", "default", "ok", 5)
