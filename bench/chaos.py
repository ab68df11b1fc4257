"""Benchmark: lifesync's production topology under faults — kill -9, database and Redis restarts, 429 storms.

    python bench/chaos.py [--scenario drain-kill,dispatch-kill,pg-restart,redis-restart,storm|all]
                          [--rate 40] [--kills 3] [--burst 2000] [--dispatch-kills 2] [--conversions 6000]
                          [--storm 8] [--meta-storm 1] [--down 5] [--flow 8] [--workers 2] [--limit 120] [--json]

Everything runs on loopback, in processes of its own, against a private PostgreSQL cluster
(``initdb`` in a temporary directory) and a private ``redis-server`` (``bench/rig.py``): the
shared servers are never touched, and it is these private ones that are restarted. Each
scenario gets a fresh database and an empty Redis, and runs the production topology
(``deploy/Procfile``): ``lifesync serve`` (gunicorn, 2 workers), ``--workers`` ``lifesync
worker`` processes and one ``lifesync scheduler``, with ``schedule.yaml`` dispatching
conversions every ``--dispatch-every`` seconds. The ad networks are the Meta and Google Ads
(Ads API, 2,000 conversions per request) sandboxes, served from this process. A killed
worker is started again 2 s later, as systemd's ``Restart=always``, ``RestartSec=2`` would.

Scenarios:

- ``drain-kill``: signed WhatsApp webhooks at ``--rate``/s (``bench/sender.py``; 10%
  redelivered), each a new contact and a ``lead`` conversion sent to Meta; per round a burst
  of ``--burst`` deliveries, and the worker running the inbox drain gets ``kill -9`` while
  events wait. A kill that hit a drain waiting for its turn rather than the lease's holder
  (``LeaseWatch``) is shown as such and tried again, until ``--kills`` holders died.
- ``dispatch-kill``: ``--conversions`` purchases waiting for Google and Meta (the sandboxes
  answer each request after 0.3 s); ``--dispatch-kills`` times the worker running the
  dispatch gets ``kill -9`` mid-pass.
- ``pg-restart``: webhooks flowing while PostgreSQL crashes (``pg_ctl -m immediate``) and
  starts again ``--down`` seconds later: the web answers 503 with Retry-After meanwhile, and
  the sender delivers again.
- ``redis-restart``: webhooks flowing while Redis stops and comes back empty ``--down``
  seconds later: every worker must reconnect and processing resume.
- ``storm``: ``--conversions`` purchases dispatched while Google answers the first ``--storm``
  requests of its pass with 429 (Retry-After 1 s), and Meta the first ``--meta-storm`` (its
  throttle answer, code 17, says when access returns in whole minutes, so each costs a minute).

Printed per scenario: acknowledged / stored / processed / lost / duplicated webhook events,
contacts, activities, conversions and deliveries (as the scenario has them), the seconds from
each fault until processing moved again (after a kill: until the processed count moves; after a
restart: until every event stored before the restart is processed; after a storm: until the
network accepts again), and which processes were alive at the end. Every wait is capped at
``--limit`` seconds. Target (issue 17): 0 lost, 0 duplicated, processing resumed within 30 s of
each kill, workers back after a Redis restart.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from chaos_figures import SCENARIOS, conversion_figures, render, verdict, webhook_figures
from rig import Postgres, Processes, Redis, counts, running_jobs, until
from sender import Sender
from webhooks import free_port

ROOT = Path(__file__).resolve().parent.parent
SECRET = "chaos-app-secret"
RESTART_AFTER = 2.0  # seconds: systemd's RestartSec of deploy/systemd
SCHEDULE = """jobs:
  inbox-sweep:
    task: sweep_inbox
    every: 15
  dispatch-conversions:
    task: dispatch_conversions
    every: {every}
    queue: dispatch
"""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scenario", default="all", help=f"comma-separated, of {', '.join(SCENARIOS)}; or all")
    ap.add_argument("--rate", type=float, default=40.0, help="webhook deliveries per second")
    ap.add_argument("--kills", type=int, default=3, help="kill -9 rounds of the draining worker")
    ap.add_argument("--burst", type=int, default=2000, help="deliveries sent at once before each drain kill")
    ap.add_argument("--dispatch-kills", type=int, default=2, help="kill -9 rounds of the dispatcher")
    ap.add_argument("--storm", type=int, default=8, help="requests Google answers 429 at the start of its pass")
    ap.add_argument("--meta-storm", type=int, default=1,
                    help="requests Meta answers 429 at the start of its pass (each costs lifesync a minute)")
    ap.add_argument("--conversions", type=int, default=6000, help="purchases waiting (dispatch-kill, storm)")
    ap.add_argument("--workers", type=int, default=2, help="lifesync worker processes")
    ap.add_argument("--down", type=float, default=5.0, help="seconds PostgreSQL or Redis stays down")
    ap.add_argument("--flow", type=float, default=8.0, help="seconds of webhooks before and after a restart")
    ap.add_argument("--dispatch-every", type=int, default=5, help="seconds between scheduled dispatch runs")
    ap.add_argument("--limit", type=float, default=120.0, help="cap on every wait, seconds")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON too")
    args = ap.parse_args(argv)
    names = SCENARIOS if args.scenario == "all" else tuple(s.strip() for s in args.scenario.split(","))
    unknown = [s for s in names if s not in SCENARIOS]
    if unknown:
        ap.error(f"unknown scenario {', '.join(unknown)}; choose from {', '.join(SCENARIOS)} or all")
    counted = (args.kills, args.dispatch_kills, args.storm, args.meta_storm, args.conversions, args.burst)
    if args.rate <= 0 or args.workers < 1 or min(counted) < 0:
        ap.error("--rate and --workers must be positive; --kills, --dispatch-kills, --storm, --meta-storm, "
                 "--conversions and --burst not negative")
    args.scenarios = names
    return args


class LeaseWatch:
    """Whether the process just killed held ``key``: its lease is never renewed again and lives until it lapses.

    A live holder renews every ``jobs.lease.RENEW_EVERY`` seconds (the time to live jumps back
    up) and releases the lease when its drain ends (it goes early); a killed waiter leaves the
    lease to its live holder, so processing goes on while the token lives. Taken right after the kill.
    """

    def __init__(self, client, key: str):
        self.client, self.key = client, key
        self.token, self.at = client.get(key), time.monotonic()
        self.left = client.pttl(key) / 1000 if self.token else 0.0
        self.renewed, self.gone_at = False, None

    def look(self) -> bool:
        """Note a renewal or the token's end; always True (the first part of a ``until`` condition)."""
        if self.token and self.gone_at is None:
            if self.client.get(self.key) != self.token:
                self.gone_at = time.monotonic()
            elif self.client.pttl(self.key) / 1000 > self.left - (time.monotonic() - self.at) + 1.0:
                self.renewed = True
        return True

    def held_by_the_dead(self) -> bool:
        return (bool(self.token) and not self.renewed and self.gone_at is not None
                and self.gone_at >= self.at + self.left - 1.0)


class World:
    """One scenario's lifesync: a fresh database, the private Redis emptied, the sandboxes, the processes."""

    def __init__(self, name: str, pg: Postgres, redis: Redis, tmp: str, args: argparse.Namespace):
        from sync.sandbox.ads.google_ads import GoogleAdsSandbox
        from sync.sandbox.ads.meta import MetaSandbox
        from sync.sandbox.server import SandboxServer
        from sync.store.engine import open_store

        self.name, self.pg, self.redis, self.args = name, pg, redis, args
        self.tmp = os.path.join(tmp, name)
        os.makedirs(os.path.join(self.tmp, "config"))
        Path(self.tmp, "config", "schedule.yaml").write_text(SCHEDULE.format(every=args.dispatch_every))
        redis.client().flushall()
        self.url = pg.create(f"chaos_{name.replace('-', '_')}")
        self.store = open_store(self.url)  # migrated once, before the processes start
        self.meta, self.google = MetaSandbox(), GoogleAdsSandbox()
        self.sandbox = SandboxServer(meta=self.meta, google=self.google).start()
        env = {k: v for k, v in os.environ.items() if not k.startswith("LIFESYNC_")}
        env.update(self.sandbox.env(), DATABASE_URL=self.url, REDIS_URL=redis.url, LIFESYNC_LOG_LEVEL="INFO",
                   LIFESYNC_WHATSAPP_APP_SECRET=SECRET, LIFESYNC_CONFIG_DIR=os.path.join(self.tmp, "config"),
                   LIFESYNC_GOOGLE_ADS_TRANSPORT="ads_api", PYTHONPATH=os.environ.get("PYTHONPATH", str(ROOT)))
        self.procs = Processes(env, self.tmp)
        self.port = None

    def start(self, web: bool = True) -> World:
        if web:
            self.port = free_port()
            self.procs.start("serve", "--port", str(self.port), "--workers", "2")
            if until(self._healthy, 60) is None:
                raise SystemExit(f"lifesync serve did not answer /healthz within 60 s (logs in {self.tmp})")
        for _ in range(self.args.workers):
            self.procs.start("worker")
        self.procs.start("scheduler")
        from rq import Worker

        client = self.redis.client()  # a loaded machine takes seconds to start one: faults wait for them all
        if until(lambda: len(Worker.all(connection=client)) >= self.args.workers, 120) is None:
            raise SystemExit(f"the workers did not register with Redis within 120 s (logs in {self.tmp})")
        return self

    def _healthy(self) -> bool:
        import http.client

        try:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=1)
            conn.request("GET", "/healthz")
            return conn.getresponse().status == 200
        except OSError:
            return False

    def processed(self) -> int | None:
        """Webhook events processed so far (None while the database cannot answer)."""
        try:
            return counts(self.store)[0]
        except Exception:
            return None

    def delivered(self) -> int:
        """Conversions the networks received so far (first copies and re-sends)."""
        return sum(len(s.accepted) + s.duplicates for s in (self.meta, self.google))

    def kill(self, func_name: str, ready, progress, lease: str | None = None) -> dict:
        """``kill -9`` the worker running the oldest ``func_name`` job once ``ready()``; it starts again 2 s later.

        Returns the seconds from the kill until ``progress()`` moved past its value 0.5 s after it.
        """
        client, victim = self.redis.client(), []

        def under_way() -> bool:  # the oldest such job (it holds the lease, later ones wait), running for 0.5 s
            live = {p.pid for p in self.procs.procs if p.poll() is None}  # rq still lists a killed worker
            running = [(started, pid) for started, pid in running_jobs(client, func_name) if pid in live]
            if not running or not ready():
                return False
            started, pid = running[0]
            victim[:] = [pid]
            return (datetime.now(UTC) - started.replace(tzinfo=UTC)).total_seconds() > 0.5

        if until(under_way, self.args.limit, 0.02) is None:
            return {"error": f"no {func_name.rsplit('.', 1)[-1]} job got under way"}
        self.procs.kill9(victim[0])
        killed = time.monotonic()
        watch = LeaseWatch(client, lease) if lease else None
        time.sleep(0.5)  # what was in flight at the kill lands now
        base = progress()
        time.sleep(max(0.0, killed + RESTART_AFTER - time.monotonic()))
        self.procs.start("worker")
        waited = until(lambda: (not watch or watch.look()) and (progress() or 0) > (base or 0), self.args.limit)
        return {**({"killed the lease holder": watch.held_by_the_dead()} if watch else {}),
                "resumed": None if waited is None else round(time.monotonic() - killed, 1)}


    def settle(self, webhooks: bool) -> dict:
        """Wait until the inbox is empty and no conversion waits (each capped); seconds it took."""
        from sqlalchemy import func, select

        from sync.store import model

        started = time.monotonic()

        def done() -> bool:
            try:
                with self.store.transaction() as s:
                    pending = s.scalar(select(func.count()).select_from(model.Outbox).where(
                        model.Outbox.status == "pending"))
                return pending == 0 and (not webhooks or counts(self.store)[1] == 0)
            except Exception:
                return False

        ok = until(done, self.args.limit, 0.5)
        return {"settled": None if ok is None else round(time.monotonic() - started, 1)}

    def alive(self) -> dict:
        return {"web": self.procs.alive("serve"), "workers": self.procs.alive("worker"),
                "workers wanted": self.args.workers, "scheduler": self.procs.alive("scheduler"),
                "tracebacks logged": sum(self.procs.logs(c).count("Traceback") for c in ("serve", "worker",
                                                                                          "scheduler"))}

    def close(self) -> None:
        self.procs.stop_all()
        self.sandbox.stop()
        self.store.dispose()


def waiting(w: World) -> int:
    """Webhook events stored and not processed yet."""
    try:
        return counts(w.store)[1]
    except Exception:
        return 0


def drain_kill(w: World) -> dict:
    """The flow, and per kill a burst of ``--burst`` deliveries: the drain is killed with a backlog to work through."""
    from jobs.handover import DRAIN_LOCK

    client = w.redis.client()
    senders = [Sender(w.port, SECRET, rate=w.args.rate).start()]
    faults = []
    for n in range(1, 2 * w.args.kills + 1):  # a kill that hit a drain waiting for its turn is tried again
        if sum(1 for f in faults if f.get("killed the lease holder")) == w.args.kills:
            break
        senders.append(Sender(w.port, SECRET, rate=2000, threads=16, first=n * 10**7, count=w.args.burst).start())
        faults.append(w.kill("jobs.tasks.drain_inbox", lambda: waiting(w) >= 50 and client.exists(DRAIN_LOCK),
                             w.processed, DRAIN_LOCK))
        senders[-1].stop(wait_for_all=True)
    time.sleep(2)
    for sender in senders:
        sender.stop()
    return {"faults": faults, **w.settle(True), **webhook_figures(w, *senders)}


def caught_up(w: World, moment: datetime) -> bool:
    """Every webhook event stored before ``moment`` is processed (False while the database cannot answer)."""
    from sqlalchemy import func, select

    from sync.store import model

    try:
        with w.store.transaction() as s:
            return not s.scalar(select(func.count()).select_from(model.RawEvent).where(
                model.RawEvent.status == "received", model.RawEvent.received_at <= moment))
    except Exception:
        return False


def outage(w: World, stop, start, label: str) -> dict:
    """Webhooks for ``--flow`` s, the fault for ``--down`` s, webhooks for ``--flow`` s (at least 20 s) more.

    "resumed": seconds from the restart until every event stored before it is processed.
    """
    sender = Sender(w.port, SECRET, rate=w.args.rate).start()
    time.sleep(w.args.flow)
    stopped = time.monotonic()
    stop()
    time.sleep(w.args.down)
    start()
    back, back_at = time.monotonic(), datetime.now(UTC)
    moved = until(lambda: caught_up(w, back_at), w.args.limit)
    time.sleep(max(0.0, back + max(w.args.flow, 20.0) - time.monotonic()))  # workers alive 20 s after
    alive = w.procs.alive("worker")
    sender.stop()
    fault = {"fault": label, "down": round(back - stopped, 1),
             "resumed": None if moved is None else round(moved, 1),
             "web acknowledging again": None if (s := sender.first_ok_after(back)) is None else round(s, 1),
             "workers alive 20 s after": f"{alive} of {w.args.workers}"}
    return {"faults": [fault], **w.settle(True), **webhook_figures(w, sender)}


def pg_restart(w: World) -> dict:
    return outage(w, lambda: w.pg.stop("immediate"), w.pg.start, "PostgreSQL crash and restart")


def redis_restart(w: World) -> dict:
    return outage(w, w.redis.stop, w.redis.start, "Redis stop and restart, empty")


def seeded(w: World) -> int:
    sys.path.insert(0, str(ROOT / "tests"))
    from support.conversions import seed

    seed(w.store, w.args.conversions, destinations=("google", "meta"))
    return w.args.conversions


def dispatch_kill(w: World) -> dict:
    n = seeded(w)
    for sandbox in (w.meta, w.google):
        sandbox.faults.latency = 0.3
    faults = []
    for _ in range(w.args.dispatch_kills):
        base = w.delivered()
        faults.append(w.kill("jobs.tasks.dispatch_conversions", lambda b=base: w.delivered() >= b + 2000,
                             w.delivered))
    return {"faults": faults, **w.settle(False), **conversion_figures(w, n)}


def storm(w: World) -> dict:
    """Google and Meta answer the first ``--storm`` / ``--meta-storm`` requests of their pass with 429."""
    n = seeded(w)
    networks = {"google": w.google, "meta": w.meta}
    size = {"google": w.args.storm, "meta": w.args.meta_storm}
    for name, sandbox in networks.items():
        sandbox.faults.latency = 0.3
        sandbox.faults.storm(size[name], retry_after=1.0)
    hit, ended, resumed = {}, {}, {}
    started = time.monotonic()
    while len(resumed) < len(networks) and time.monotonic() - started < w.args.limit:
        now = time.monotonic()
        for name, sandbox in networks.items():
            if name not in hit and sandbox.faults.storm_requests < size[name]:
                hit[name] = now
            if name not in ended and sandbox.faults.storm_requests == 0:
                ended[name] = (now, len(sandbox.accepted))
            if name in ended and name not in resumed and len(sandbox.accepted) > ended[name][1]:
                resumed[name] = now
        time.sleep(0.05)
    faults = [{"network": name, "429s served": size[name] - sandbox.faults.storm_requests,
               "storm lasted": round(ended[name][0] - hit[name], 1) if name in ended and name in hit else None,
               "resumed": round(resumed[name] - ended[name][0], 1) if name in resumed else None}
              for name, sandbox in networks.items()]
    return {"faults": faults, **w.settle(False), **conversion_figures(w, n)}


RUN = {"drain-kill": drain_kill, "dispatch-kill": dispatch_kill, "pg-restart": pg_restart,
       "redis-restart": redis_restart, "storm": storm}
NEEDS_WEB = {"drain-kill", "pg-restart", "redis-restart"}


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    import jobs

    tmp = tempfile.mkdtemp(prefix="lifesync-chaos-")
    print(f"code under test: {Path(jobs.__file__).resolve().parents[1]}; logs in {tmp}", flush=True)
    pg, redis = Postgres().init(), Redis(tmp)
    pg.start()
    redis.start()
    results = {}
    try:
        for name in args.scenarios:
            world = World(name, pg, redis, tmp, args)
            try:
                world.start(web=name in NEEDS_WEB)
                results[name] = {**RUN[name](world), "processes at the end": world.alive()}
            finally:
                world.close()
            print(render(name, results[name]), flush=True)
    finally:
        redis.stop()
        pg.remove()
    print(verdict(results))
    if args.json:
        print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
