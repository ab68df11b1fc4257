"""Scheduled runs in a row: the worker records each scheduled run's end (what the sync_failing rule reads)."""

from __future__ import annotations

import pytest
from support import failing_jobs

from jobs.queues import SYNC, queue
from jobs.worker import run
from sync.alerts.runs import record_run, stopped_at_quota
from sync.store import model


@pytest.fixture(autouse=True)
def _attempts():
    failing_jobs.attempts.clear()


def run_of(store, name: str) -> model.ScheduledRun | None:
    with store.transaction() as session:
        return session.get(model.ScheduledRun, name)


def test_the_worker_counts_failed_runs_in_a_row_and_a_success_resets_them(settings, redis, store):
    q = queue(SYNC, redis)
    for _ in range(3):
        q.enqueue_call("support.failing_jobs.permanent", args=("ana@example.com",), meta={"schedule": "sync-x"})
    q.enqueue_call("support.failing_jobs.transient", args=("t",), meta={"schedule": "sync-y"})  # retriable: counts
    run(settings, burst=True)
    failing = run_of(store, "sync-x")
    assert (failing.task, failing.failures_in_row, failing.last_outcome) == ("permanent", 3, "failed")
    assert failing.last_reason == "PermanentError: the vendor rejected the request as sent (HTTP 400)"
    assert run_of(store, "sync-y").failures_in_row == 1
    q.enqueue_call("support.failing_jobs.flaky", args=("f",), meta={"schedule": "sync-x"})  # fails once: no retry
    q.enqueue_call("support.failing_jobs.flaky", args=("f",), meta={"schedule": "sync-x"})  # succeeds
    run(settings, burst=True)
    done = run_of(store, "sync-x")
    assert (done.failures_in_row, done.last_outcome, done.last_reason) == (0, "ok", None)
    assert done.last_ok_at is not None


def test_a_run_stopped_at_its_quota_is_recorded_as_such(settings, redis, store):
    queue(SYNC, redis).enqueue_call("support.failing_jobs.stopped_at_quota", args=("default",),
                                    meta={"schedule": "sync-hubspot"})
    queue(SYNC, redis).enqueue_call("support.failing_jobs.stopped_at_quota", args=("default",))  # not scheduled
    run(settings, burst=True)
    assert run_of(store, "sync-hubspot").last_outcome == "quota"
    with store.transaction() as session:
        assert session.query(model.ScheduledRun).count() == 1


def test_stopped_at_quota_reads_nested_reports():
    assert stopped_at_quota({"default": {"objects": {"contact": {"stopped": "quota"}}}})
    assert stopped_at_quota([{"stopped": "quota"}])
    assert not stopped_at_quota({"default": {"objects": {"contact": {"stopped": None}}}})
    assert not stopped_at_quota("quota")


def test_an_unknown_outcome_is_refused(store):
    with pytest.raises(ValueError, match="unknown run outcome 'maybe'"):
        record_run(store, "x", "y", "maybe")
