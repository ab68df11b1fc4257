"""Workers and the scheduler reconnect after a Redis outage instead of exiting."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from redis import Redis
from redis.exceptions import ConnectionError as RedisDown
from rq import Queue
from rq.job import Job
from sqlalchemy import select
from support.payloads import whatsapp_value
from support.redis_server import private_redis

from jobs.supervise import run_supervised
from sync.connectors.events import InboundEvent
from sync.ingest.inbox import store_events
from sync.store import model


def test_an_outage_is_waited_out_with_capped_backoff_one_line_per_attempt(caplog):
    outcomes: list[object] = [RedisDown("Error 111 connecting to 127.0.0.1:6390. Connection refused."), False, True]
    pings: list[object] = [RedisDown("refused"), RedisDown("refused"), RedisDown("refused"), None, None]

    def once() -> bool:
        outcome = outcomes.pop(0)
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    def ping() -> None:
        outcome = pings.pop(0)
        if outcome is not None:
            raise outcome

    with caplog.at_level(logging.WARNING, logger="jobs.supervise"):
        run_supervised(once, "lifesync worker", ping, first=0.01, cap=0.04)
    lines = [r.getMessage() for r in caplog.records]
    assert outcomes == []  # run again after each death, until it stopped on request
    assert [line.split("; ")[1] for line in lines if "reconnecting" in line] == [
        "reconnecting in 0.01 s (attempt 1)", "reconnecting in 0.02 s (attempt 2)",
        "reconnecting in 0.04 s (attempt 3)", "reconnecting in 0.04 s (attempt 4)",  # capped
        "reconnecting in 0.04 s (attempt 5)"]
    assert lines[0].startswith("lifesync worker: ConnectionError: Error 111 connecting")
    assert "its loop ended on an error" in lines[5]  # the second death: rq logged it and returned


def _until(what: Callable[[], object], seconds: float, message: Callable[[], str]) -> object:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = what()
        if found:
            return found
        time.sleep(0.2)
    pytest.fail(message())


def _status(url: str, job_id: str) -> str | None:
    try:
        return Job.fetch(job_id, connection=Redis.from_url(url)).get_status()
    except Exception:
        return None


def _start(command: str, env: dict[str, str], log: Path) -> subprocess.Popen:
    with log.open("w") as out:
        return subprocess.Popen([sys.executable, "-m", "sync.cli.main", command],
                                env={**env, "PYTHONFAULTHANDLER": "1"}, stdout=out, stderr=subprocess.STDOUT)


def _stop(proc: subprocess.Popen) -> int | None:
    """SIGTERM, as systemd stops a unit; the exit code, or None when it had to be killed."""
    proc.terminate()
    try:
        return proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGABRT)  # PYTHONFAULTHANDLER: every thread's stack goes to the log
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        return None


def test_a_worker_survives_a_redis_restart_and_works_after_it(store, database_url, tmp_path):
    """Redis stops while the worker runs a job and comes back empty: the worker reconnects, and its
    restart drains the webhook events stored meanwhile (their drain job was lost with Redis's data)."""
    with private_redis(tmp_path) as server:
        env = {**os.environ, "REDIS_URL": server.url, "DATABASE_URL": database_url, "LIFESYNC_LOG_LEVEL": "INFO",
               "LIFESYNC_WHATSAPP_APP_SECRET": "wa-secret"}
        log = tmp_path / "worker.log"
        worker = _start("worker", env, log)
        try:
            busy = Queue("sync", connection=Redis.from_url(server.url)).enqueue("time.sleep", 2)
            _until(lambda: _status(server.url, busy.id) == "started", 60, log.read_text)
            server.stop()  # finishing that job needs Redis: rq's loop dies there
            value = whatsapp_value()
            store_events(store, [InboundEvent("whatsapp", "message", value["messages"][0]["id"], value)])
            _until(lambda: "reconnecting in" in log.read_text(), 60, log.read_text)
            assert worker.poll() is None, log.read_text()
            server.start()
            after = _until(lambda: _enqueue(server.url), 30, log.read_text)
            _until(lambda: _status(server.url, after.id) == "finished", 90, log.read_text)

            def processed() -> bool:
                with store.transaction() as s:
                    return s.scalar(select(model.RawEvent.status)) == "processed"

            _until(processed, 90, log.read_text)
            assert worker.poll() is None, log.read_text()
        finally:
            code = _stop(worker)
    text = log.read_text()
    assert code == 0, text  # a stop request still stops it: it is not taken for a death
    assert "found an unhandled exception" in text or "ConnectionError" in text  # rq's loop did die
    assert "reconnected after" in text


def _enqueue(url: str) -> Job | None:
    try:
        return Queue("sync", connection=Redis.from_url(url)).enqueue("time.sleep", 0)
    except RedisDown:
        return None


def test_the_scheduler_survives_a_redis_restart(database_url, tmp_path):
    config = tmp_path / "config"
    config.mkdir()
    (config / "schedule.yaml").write_text("jobs:\n  sweep: {task: sweep_inbox, every: 1}\n")
    with private_redis(tmp_path) as server:
        env = {**os.environ, "REDIS_URL": server.url, "DATABASE_URL": database_url, "LIFESYNC_LOG_LEVEL": "INFO",
               "LIFESYNC_CONFIG_DIR": str(config)}
        log = tmp_path / "scheduler.log"
        scheduler = _start("scheduler", env, log)
        try:
            maintenance = lambda: Queue("maintenance", connection=Redis.from_url(server.url)).count  # noqa: E731
            _until(maintenance, 60, log.read_text)
            server.stop()
            _until(lambda: "reconnecting in" in log.read_text(), 60, log.read_text)
            server.start()  # empty: every queued sweep is gone
            _until(maintenance, 90, log.read_text)  # enqueued again by the same scheduler
            assert scheduler.poll() is None, log.read_text()
        finally:
            code = _stop(scheduler)
    assert code == 0, log.read_text()
    assert "reconnected after" in log.read_text()


def test_a_worker_outlives_a_database_it_cannot_reach(tmp_path):
    """PostgreSQL down: the start-up look at the inbox is skipped with a warning, jobs fail and are retried later."""
    from jobs.queues import RETRY

    with private_redis(tmp_path) as server:
        env = {**os.environ, "REDIS_URL": server.url, "LIFESYNC_LOG_LEVEL": "INFO", "LIFESYNC_SECRET_KEY": "x" * 44,
               "DATABASE_URL": "postgresql+psycopg://postgres@127.0.0.1:1/lifesync"}  # nothing listens there
        log = tmp_path / "worker.log"
        worker = _start("worker", env, log)
        try:
            job = Queue("ingest", connection=Redis.from_url(server.url)).enqueue_call(
                "jobs.tasks.drain_inbox", retry=RETRY)
            _until(lambda: _status(server.url, job.id) == "scheduled", 60, log.read_text)  # its retry, in 10 s
            assert worker.poll() is None, log.read_text()
        finally:
            code = _stop(worker)
    text = log.read_text()
    assert code == 0, text
    assert "could not look for waiting webhook events at start-up (OperationalError" in text
