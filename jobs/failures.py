"""What happens when a job raises: retry what can succeed later, dead-letter the rest.

rq's ``Retry`` (set when a job is enqueued) re-runs a job whose error is retriable: a
transient vendor failure, a rate limit, a database or broker hiccup, a timeout. Any other
error is final at once. ``dead_letter_handler``, installed on every worker, runs before rq
decides: it cancels the remaining retries of a non-retriable error, and writes a ``job``
dead letter (function, arguments, queue, reason — no personal data) when the failure is
final. A scheduled job that fails for a retriable reason is not dead-lettered: its next
scheduled run is the retry.

A job whose worker died under it (``kill -9``, out of memory, a lost machine) is found by rq's
registry cleanup later, as ``AbandonedJobError``: that is not the job failing, so it is
retried like a transient failure, and dead-lettered only once its retries are spent, with a
reason that says what happened. A drain that did not get its turn in time (``LockError``) is
retried too: the drain ahead of it is running.
"""

from __future__ import annotations

import logging
from types import TracebackType
from typing import Any

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import LockError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rq.exceptions import AbandonedJobError
from rq.job import Job
from rq.timeouts import JobTimeoutException
from sqlalchemy.exc import OperationalError

from sync.errors import RateLimited, TransientError
from sync.ingest.deadletter import reason_for, record_job_failure

log = logging.getLogger(__name__)

RETRIABLE: tuple[type[BaseException], ...] = (
    TransientError, RateLimited, OperationalError, RedisConnectionError, RedisTimeoutError, JobTimeoutException,
    AbandonedJobError, LockError,
)
ABANDONED = "AbandonedJobError: its worker died while running it (killed, out of memory or lost), on every attempt"


def is_retriable(exc: BaseException | None) -> bool:
    """True for failures another attempt may get past."""
    return isinstance(exc, RETRIABLE)


def dead_letter_handler(job: Job, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> bool:
    """Exception handler of every worker: stop retries of final errors, dead-letter final failures; never raises."""
    retriable = is_retriable(exc)
    if not retriable:
        job.retries_left = 0  # rq reads this right after the handlers run
    elif job.retries_left:
        return True  # rq schedules the next attempt
    schedule = (job.meta or {}).get("schedule")
    if schedule:  # this run of a schedule.yaml entry has failed for good: one more in a row
        _record_run(job, schedule, "failed", ABANDONED if isinstance(exc, AbandonedJobError)
                    else reason_for(exc or Exception()))
    if retriable and schedule:
        log.warning("scheduled job %s failed (%s); its next run retries", schedule, reason_for(exc or Exception()))
        return True
    try:
        from jobs.tasks import store

        args: Any = job.args
        kwargs: Any = job.kwargs
        reason = ABANDONED if isinstance(exc, AbandonedJobError) else reason_for(exc or Exception())
        record_job_failure(store(), queue=job.origin, func=job.func_name, args=args, kwargs=kwargs,
                           job_id=job.id, reason=reason, schedule=schedule)
    except Exception:  # the job stays in rq's failed registry either way
        log.exception("could not dead-letter failed job %s", job.id)
    return True


def _record_run(job: Job, schedule: str, outcome: str, reason: str | None = None) -> None:
    """Record the end of a scheduled run (``sync.alerts.runs``); never raises (the job's fate is rq's)."""
    try:
        from jobs.tasks import store
        from sync.alerts.runs import record_run

        record_run(store(), schedule, job.func_name.rsplit(".", 1)[-1], outcome, reason)
    except Exception:
        log.exception("could not record the end of scheduled run %s", schedule)


def record_scheduled_success(job: Job) -> None:
    """A scheduled run succeeded (``quota`` when its result says it stopped at its API budget)."""
    from sync.alerts.runs import stopped_at_quota

    schedule = (job.meta or {}).get("schedule")
    if schedule:
        _record_run(job, schedule, "quota" if stopped_at_quota(getattr(job, "_result", None)) else "ok")
