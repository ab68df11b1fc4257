"""schedule.yaml → rq's cron scheduler: ``lifesync scheduler`` with Redis, in-process when embedded.

Every enabled entry is registered with ``rq.cron.CronScheduler`` (interval or cron; cron
expressions are read in the scheduler's local time, as rq does) and enqueues its task on its
queue with the entry's name in the job's ``meta`` (dead letters of scheduled jobs use it).
Run exactly one scheduler: rq's cron scheduler does not coordinate between processes (the
automation tasks hold a lock, so an extra scheduler wastes work but corrupts nothing).

Embedded mode (no REDIS_URL) cannot run ``CronScheduler.start``: it is a loop of its own,
in a process of its own in production. ``serve_embedded``'s housekeeping thread calls
``EmbeddedCron.tick`` instead, which enqueues due entries with the same rq code.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from redis import Redis
from rq.cron import CronJob, CronScheduler

from jobs import tasks
from jobs.connection import redis_connection
from jobs.supervise import run_supervised
from sync.config.schedule import ScheduledJob, load_schedule
from sync.settings import Settings

TASKS: dict[str, Callable[..., Any]] = {
    "sweep_inbox": tasks.sweep_inbox,
    "stale_leads": tasks.stale_leads,
    "first_response": tasks.first_response,
    "dispatch_pushes": tasks.dispatch_pushes,
    "sync_hubspot": tasks.sync_hubspot,
    "sync_salesforce": tasks.sync_salesforce,
    "dispatch_crm_pushes": tasks.dispatch_crm_pushes,
    "dispatch_conversions": tasks.dispatch_conversions,
    "resolve_ad_names": tasks.resolve_ad_names,
    "check_alerts": tasks.check_alerts,
    "scan_duplicates": tasks.scan_duplicates,
    "segments_incremental": tasks.segments_incremental,
    "segments_full": tasks.segments_full,
    "sync_audiences": tasks.sync_audiences,
    "purge_personal_data": tasks.purge_personal_data,
}
FAILURE_TTL = 7 * 86400
RESULT_TTL = 3600


def build_cron(connection: Redis, entries: Sequence[ScheduledJob], logging_level: str = "INFO") -> CronScheduler:
    """A cron scheduler with every enabled entry registered."""
    cron = CronScheduler(connection=connection, logging_level=logging_level)
    for entry in entries:
        if entry.enabled:
            cron.register(TASKS[entry.task], queue_name=entry.queue, interval=entry.every, cron=entry.cron,
                          job_timeout=entry.timeout, result_ttl=RESULT_TTL, failure_ttl=FAILURE_TTL,
                          meta={"schedule": entry.name}, name=entry.name)
    return cron


def run_scheduler(settings: Settings) -> None:
    """Run rq's cron scheduler on REDIS_URL until interrupted, reconnecting after a Redis outage (``jobs.supervise``).

    rq's ``start`` returns only when stopped (SIGTERM, Ctrl-C); an outage raises out of it,
    and the same scheduler (its entries' next run times kept) starts again once Redis answers.
    """
    connection = redis_connection(settings)
    cron = build_cron(connection, load_schedule(settings.config_dir), settings.log_level)

    def once() -> bool:
        cron.start()
        return True

    run_supervised(once, "lifesync scheduler", connection.ping)


class EmbeddedCron:
    """The schedule evaluated in-process: ``tick()`` enqueues every entry that is due."""

    def __init__(self, connection: Redis, entries: Sequence[ScheduledJob]):
        self.cron = build_cron(connection, entries, logging_level="WARNING")

    def tick(self) -> list[CronJob]:
        """Enqueue the due entries; returns them."""
        return self.cron.enqueue_jobs()
