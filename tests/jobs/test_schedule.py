"""schedule.yaml registered with rq's cron scheduler; embedded mode evaluates it in-process."""

from __future__ import annotations

from datetime import timedelta

from click.testing import CliRunner
from rq.utils import now
from sqlalchemy import select
from support.duplicates import hubspot_twins

from jobs.queues import MAINTENANCE, queue
from jobs.schedule import EmbeddedCron, build_cron
from jobs.worker import run
from sync.cli.main import main
from sync.config import load_config
from sync.config.schedule import ScheduledJob, load_schedule
from sync.store import model

SCHEDULE = (
    ScheduledJob("inbox-sweep", "sweep_inbox", every=60),
    ScheduledJob("stale-leads", "stale_leads", cron="0 * * * *", timeout=900),
    ScheduledJob("first-response", "first_response", cron="*/10 * * * *"),
    ScheduledJob("switched-off", "first_response", every=5, enabled=False),
)


def test_every_enabled_entry_is_registered_with_rq_cron(redis):
    jobs = {j.name: j for j in build_cron(redis, SCHEDULE).get_jobs()}
    assert set(jobs) == {"inbox-sweep", "stale-leads", "first-response"}
    assert (jobs["inbox-sweep"].func_name, jobs["inbox-sweep"].interval) == ("jobs.tasks.sweep_inbox", 60)
    assert (jobs["stale-leads"].cron, jobs["stale-leads"].job_options["job_timeout"]) == ("0 * * * *", 900)
    assert jobs["first-response"].job_options["meta"] == {"schedule": "first-response"}


def test_the_bundled_schedule_builds(redis):
    bundled = load_schedule(None)
    jobs = build_cron(redis, bundled).get_jobs()
    assert len(jobs) == len(bundled) == 15
    assert {j.func_name for j in jobs} == {"jobs.tasks.sweep_inbox", "jobs.tasks.stale_leads",
                                          "jobs.tasks.first_response", "jobs.tasks.dispatch_pushes",
                                          "jobs.tasks.sync_hubspot", "jobs.tasks.sync_salesforce",
                                          "jobs.tasks.dispatch_crm_pushes", "jobs.tasks.dispatch_conversions",
                                          "jobs.tasks.resolve_ad_names", "jobs.tasks.check_alerts",
                                          "jobs.tasks.scan_duplicates",
                                          "jobs.tasks.segments_incremental", "jobs.tasks.segments_full",
                                          "jobs.tasks.sync_audiences", "jobs.tasks.purge_personal_data"}


def test_embedded_tick_enqueues_due_entries_once(settings, redis, store):
    cron = EmbeddedCron(redis, SCHEDULE)
    q = queue(MAINTENANCE, redis)
    assert [j.name for j in cron.tick()] == ["inbox-sweep"]  # interval jobs start at once, cron ones when due
    assert cron.tick() == []
    [job] = q.get_jobs()
    assert (job.func_name, job.meta, job.timeout) == ("jobs.tasks.sweep_inbox", {"schedule": "inbox-sweep"}, 600)
    for entry in cron.cron.get_jobs():  # an hour later: everything is due
        entry.next_enqueue_time = now() - timedelta(seconds=1)
    assert sorted(j.name for j in cron.tick()) == ["first-response", "inbox-sweep", "stale-leads"]
    run(settings, burst=True)  # and the scheduled tasks run on the worker
    assert q.count == 0
    assert len(q.finished_job_registry) == 4 and len(q.failed_job_registry) == 0


def test_the_nightly_duplicate_scan_brings_the_review_queue_up_to_date(settings, redis, store):
    [(a, b)] = hubspot_twins(store, load_config(None).lifecycle, 1)
    [entry] = [e for e in load_schedule(None) if e.task == "scan_duplicates"]
    assert (entry.name, entry.cron, entry.enabled) == ("duplicate-scan", "30 3 * * *", True)
    cron = EmbeddedCron(redis, [entry])
    assert cron.tick() == []  # a cron entry waits for its hour
    [registered] = cron.cron.get_jobs()
    registered.next_enqueue_time = now() - timedelta(seconds=1)  # the night has come
    assert [j.name for j in cron.tick()] == ["duplicate-scan"]
    run(settings, burst=True)
    with store.transaction() as session:
        pairs = [(p.contact_a, p.contact_b, p.status) for p in session.scalars(select(model.DuplicatePair))]
        audited = session.scalars(select(model.AuditEntry.action)).all()
    assert pairs == [(a, b, "open")]
    assert "duplicates.scan" not in audited  # no one asked: nothing to audit


def test_scheduler_command_needs_redis(monkeypatch, database_url):
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.delenv("REDIS_URL", raising=False)
    result = CliRunner().invoke(main, ["scheduler"])
    assert result.exit_code == 1
    assert "REDIS_URL is not set: without it `lifesync serve` runs the schedule itself" in result.output
