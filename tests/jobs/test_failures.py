"""Failed jobs: retriable errors are retried by rq's Retry, final failures become job dead letters."""

from __future__ import annotations

import time

import pytest
from rq import Retry
from rq.job import Job
from sqlalchemy import select
from support import failing_jobs

from jobs.failures import ABANDONED
from jobs.queues import MAINTENANCE, SYNC, queue, replay_job
from jobs.worker import run
from sync.ingest import deadletter
from sync.store import model


@pytest.fixture(autouse=True)
def _attempts():
    failing_jobs.attempts.clear()


def letters(store) -> list[model.DeadLetter]:
    with store.transaction() as s:
        return list(s.scalars(select(model.DeadLetter).order_by(model.DeadLetter.id)))


FINAL = {
    "lifesync's own permanent error": ("support.failing_jobs.permanent",
                                       "PermanentError: the vendor rejected the request as sent (HTTP 400)"),
    "a foreign exception keeps only its type (no PII)": ("support.failing_jobs.bug",
                                                         "ValueError (details in the worker log)"),
}


@pytest.mark.parametrize(("func", "reason"), FINAL.values(), ids=FINAL.keys())
def test_a_non_retriable_failure_is_dead_lettered_at_once(settings, redis, store, func, reason):
    job = queue(SYNC, redis).enqueue_call(func, args=("ana@example.com",), retry=Retry(max=3))
    run(settings, burst=True)
    [letter] = letters(store)
    assert (letter.stage, letter.source, letter.object, letter.record_id, letter.reason, letter.status) == (
        "job", "sync", func, job.id, reason, "open")
    assert letter.payload == {"func": func, "args": ["ana@example.com"], "kwargs": {}, "queue": "sync",
                              "job_id": job.id, "schedule": None}
    assert "ana@example.com" not in letter.reason
    job.refresh()
    assert job.get_status() == "failed" and job.retries_left == 0  # retries cancelled
    assert queue(SYNC, redis).count == 0


def test_a_retriable_failure_is_retried_then_dead_lettered(settings, redis, store):
    queue(SYNC, redis).enqueue_call("support.failing_jobs.transient", args=("t1",), retry=Retry(max=2))
    run(settings, burst=True)
    assert failing_jobs.attempts["t1"] == 3  # the first run and two retries
    [letter] = letters(store)
    assert letter.reason == "TransientError: upstream answered 503"


def test_a_retry_that_succeeds_leaves_no_dead_letter(settings, redis, store):
    job = queue(SYNC, redis).enqueue_call("support.failing_jobs.flaky", args=("f1",), retry=Retry(max=2))
    run(settings, burst=True)
    job.refresh()
    assert (failing_jobs.attempts["f1"], job.get_status(), letters(store)) == (2, "finished", [])


def test_a_job_without_retries_is_dead_lettered_on_a_retriable_error(settings, redis, store):
    queue(SYNC, redis).enqueue_call("support.failing_jobs.transient", args=("t2",))
    run(settings, burst=True)
    assert (failing_jobs.attempts["t2"], len(letters(store))) == (1, 1)


def test_scheduled_jobs_retry_on_their_next_run_and_keep_one_open_letter(settings, redis, store):
    q = queue(MAINTENANCE, redis)
    q.enqueue_call("support.failing_jobs.transient", args=("s",), meta={"schedule": "nightly"})
    run(settings, burst=True)
    assert letters(store) == []  # retriable: the next scheduled run is the retry
    for _ in range(2):
        q.enqueue_call("support.failing_jobs.permanent", args=("x",), meta={"schedule": "nightly"})
        run(settings, burst=True)
    [letter] = letters(store)
    assert (letter.record_id, letter.payload["schedule"]) == ("schedule:nightly", "nightly")


def test_replays_of_one_dead_letter_are_one_job_until_it_has_run(settings, redis, store):
    """Two operators replaying one letter at once queue it once; after it ran, a replay queues it anew."""
    enqueue = replay_job(redis)
    payload = {"func": "jobs.tasks.first_response", "args": [], "kwargs": {}, "queue": "maintenance",
               "dead_letter": 7}
    enqueue(payload)
    enqueue(payload)
    q = queue(MAINTENANCE, redis)
    assert q.job_ids == ["lifesync-replay-7"]
    enqueue({**payload, "dead_letter": 8})  # another letter is other work
    assert q.job_ids == ["lifesync-replay-7", "lifesync-replay-8"]
    run(settings, burst=True)
    assert Job.fetch("lifesync-replay-7", connection=redis).get_status() == "finished"
    enqueue(payload)  # finished is history: replaced
    assert q.job_ids == ["lifesync-replay-7"]
    assert Job.fetch("lifesync-replay-7", connection=redis).get_status() == "queued"


def test_cli_replay_of_a_job_letter_queues_it_under_its_deterministic_id(settings, redis, store):
    with store.transaction() as s:
        letter = model.DeadLetter(stage="job", source="maintenance", object="jobs.tasks.first_response",
                                  record_id="job-1", reason="TransientError: upstream answered 503",
                                  payload={"func": "jobs.tasks.first_response", "args": [], "kwargs": {},
                                           "queue": "maintenance", "job_id": "job-1", "schedule": None})
        s.add(letter)
    result = deadletter.replay(store, None, [letter.id], enqueue_job=replay_job(redis))
    assert result.replayed == [letter.id]
    assert queue(MAINTENANCE, redis).job_ids == [f"lifesync-replay-{letter.id}"]


def _abandon(redis, job: Job) -> None:
    """What a worker killed while running ``job`` leaves behind, found by rq's registry cleanup later."""
    from rq import SimpleWorker
    from rq.registry import StartedJobRegistry

    from jobs.failures import dead_letter_handler

    q = queue(job.origin, redis)
    worker = SimpleWorker([q], connection=redis)
    worker.prepare_execution(job)  # rq's own steps up to running the job ...
    worker.prepare_job_execution(job)
    job.refresh()
    assert job.get_status() == "started"  # ... and then the worker is gone
    StartedJobRegistry(queue=q).cleanup(timestamp=time.time() + 86400, exception_handlers=[dead_letter_handler])
    job.refresh()


def test_a_job_whose_worker_was_killed_is_retried_not_dead_lettered(settings, redis, store):
    job = queue(SYNC, redis).enqueue_call("jobs.tasks.drain_inbox", retry=Retry(max=1, interval=60))
    _abandon(redis, job)
    assert (job.get_status(), job.retries_left, letters(store)) == ("scheduled", 0, [])
    _abandon(redis, job)  # killed on every attempt: that is worth a look
    [letter] = letters(store)
    assert letter.reason == ABANDONED and letter.record_id == job.id


def test_a_scheduled_job_whose_worker_was_killed_waits_for_its_next_run(settings, redis, store):
    job = queue(MAINTENANCE, redis).enqueue_call("jobs.tasks.sweep_inbox", meta={"schedule": "inbox-sweep"})
    _abandon(redis, job)
    assert (job.get_status(), letters(store)) == ("failed", [])
