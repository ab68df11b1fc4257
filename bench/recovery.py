"""Benchmark: how fast webhook processing recovers from a killed worker, a Redis restart and a killed `serve`.

    python bench/recovery.py [--scenario kill|redis|embedded|all] [--db sqlite|postgresql] [--events N]
                             [--limit SECONDS]

Everything runs on loopback in processes of its own: a private ``redis-server`` on a free
port (the shared Redis is never touched, and it is this one that is restarted), ``lifesync
worker`` / ``lifesync scheduler`` / ``lifesync serve`` subprocesses, and a fresh database (a
SQLite file, or a PostgreSQL database created and dropped through ``BENCH_PG_ADMIN_URL``).
Events are stored into the inbox directly (what a receiver does), as WhatsApp messages.

- ``kill``: two workers and the scheduler; ``--events`` events are stored and a drain queued,
  while a feeder keeps storing 20 events/s and nudging as a web process does. Once the drain
  is under way, the worker running it gets ``kill -9``, and is started again 2 s later (as
  systemd's ``Restart=always``, ``RestartSec=2`` would). Printed: seconds from the kill
  until the processed count moves again, and until the inbox is empty.
- ``redis``: two idle workers and the scheduler; a job is running when Redis stops for 3 s and
  comes back empty. Printed: how many workers are alive 20 s later, and seconds from the
  restart until an event stored during the outage (its drain job lost with Redis's data) is processed.
- ``embedded``: events stored before a ``lifesync serve`` without REDIS_URL starts (what a
  killed ``serve`` leaves). Printed: seconds from the start until they are processed.

Every wait is capped at ``--limit`` seconds (default 400: the pre-lease code needed ~305 s).
Run it with ``PYTHONPATH=<another checkout>`` to measure other code with the same script.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from rig import Processes, Redis, counts, until, worker_running
from rig import whatsapp_events as events
from webhooks import PG_ADMIN, database, free_port


def scenario_kill(store, redis_server: Redis, procs: Processes, n: int, limit: float) -> dict:
    from jobs.handover import Nudger, nudge
    from sync.ingest.inbox import store_events

    redis = redis_server.client()
    store_events(store, events(0, n))
    for _ in range(2):
        procs.start("worker")
    procs.start("scheduler")
    nudge(redis, force=True)
    stop, fed = threading.Event(), [n]

    def feeder() -> None:  # a web process: 20 events/s, nudging at most every 0.25 s
        nudger = Nudger(redis)
        while not stop.wait(0.05):
            nudger(store_events(store, events(fed[0], 1)))
            fed[0] += 1

    threading.Thread(target=feeder, daemon=True).start()
    try:
        if until(lambda: counts(store)[0] >= 50 and worker_running(redis), limit) is None:
            return {"error": "no drain got under way"}
        pid = worker_running(redis)
        procs.kill9(pid)
        killed = time.monotonic()
        time.sleep(0.5)  # a commit in flight at the kill lands now
        base = counts(store)[0]
        time.sleep(1.5)
        procs.start("worker")  # systemd's Restart=always, RestartSec=2
        waited = until(lambda: counts(store)[0] > base, limit - 2)
        resumed = None if waited is None else time.monotonic() - killed
        stop.set()
        emptied = until(lambda: counts(store)[1] == 0, limit)
        return {"stored": fed[0], "processed at the kill": base,
                "seconds from kill -9 to processing again": None if resumed is None else round(resumed, 1),
                "seconds from kill -9 to an empty inbox": None if emptied is None else
                round(time.monotonic() - killed, 1), "processed": counts(store)[0]}
    finally:
        stop.set()


def scenario_redis(store, redis_server: Redis, procs: Processes, limit: float) -> dict:
    from rq import Queue

    from sync.ingest.inbox import store_events

    workers = [procs.start("worker") for _ in range(2)]
    procs.start("scheduler")
    redis = redis_server.client()
    job = Queue("sync", connection=redis).enqueue("time.sleep", 2)
    until(lambda: job.get_status(refresh=True) == "started", 60)
    redis_server.stop()
    store_events(store, events(10**6, 1))  # acknowledged during the outage: its nudge failed
    time.sleep(3)
    redis_server.start()
    restarted = time.monotonic()
    processed = until(lambda: counts(store)[1] == 0, limit)
    time.sleep(max(0.0, restarted + 20 - time.monotonic()))
    alive = sum(1 for w in workers if w.poll() is None)
    return {"workers alive 20 s after the restart": f"{alive} of {len(workers)}",
            "seconds from the restart until the outage's event was processed":
                None if processed is None else round(processed, 1)}


def scenario_embedded(store, procs: Processes, n: int, limit: float) -> dict:
    from sync.ingest.inbox import store_events

    store_events(store, events(2 * 10**6, n))  # what a killed serve left
    procs.env = {k: v for k, v in procs.env.items() if k != "REDIS_URL"}
    started = time.monotonic()
    procs.start("serve", "--port", str(free_port()))
    done = until(lambda: counts(store)[1] == 0, limit)
    return {"events waiting at start-up": n,
            "seconds from start-up until processed": None if done is None else round(time.monotonic() - started, 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scenario", choices=("kill", "redis", "embedded", "all"), default="all")
    ap.add_argument("--db", choices=("sqlite", "postgresql"), default="postgresql")
    ap.add_argument("--events", type=int, default=3000, help="events waiting when the kill scenario starts")
    ap.add_argument("--limit", type=float, default=400.0, help="cap on every wait, seconds")
    args = ap.parse_args()
    import jobs

    print(f"code under test: {Path(jobs.__file__).resolve().parents[1]}; database {args.db}")
    for name in ("kill", "redis", "embedded") if args.scenario == "all" else (args.scenario,):
        tmp = tempfile.mkdtemp(prefix=f"lifesync-bench-{name}-")
        url, pg_name = database(args.db, tmp)
        redis_server = Redis(tmp)
        redis_server.start()
        from sync.store.engine import open_store

        store = open_store(url)
        env = {**os.environ, "DATABASE_URL": url, "REDIS_URL": redis_server.url, "LIFESYNC_LOG_LEVEL": "INFO",
               "LIFESYNC_WHATSAPP_APP_SECRET": "bench"}
        procs = Processes(env, tmp)
        try:
            if name == "kill":
                result = scenario_kill(store, redis_server, procs, args.events, args.limit)
            elif name == "redis":
                result = scenario_redis(store, redis_server, procs, args.limit)
            else:
                result = scenario_embedded(store, procs, min(args.events, 200), args.limit)
        finally:
            procs.stop_all()
            store.dispose()
            if redis_server.proc.poll() is None:
                redis_server.stop()
            if pg_name:
                import psycopg

                with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
                    conn.execute(f"DROP DATABASE IF EXISTS {pg_name} WITH (FORCE)")
        print(f"{name}: " + "; ".join(f"{k}: {v}" for k, v in result.items()) + f"  (logs in {tmp})")


if __name__ == "__main__":
    main()
