"""Benchmark: CRM pulls and pushes through the real connectors against the sandboxes.

    python bench/crm.py [--records 20000] [--rss-records 200000] [--db sqlite|postgresql]

The sandboxes run in their own process (``lifesync sandbox``, rate limits off) so memory
figures are lifesync's alone. In a fresh database it then measures, each step in its own
process:

1. HubSpot pull of ``--records`` contacts (first sync: list API, 100 per page) and Salesforce
   pull of as many Leads (queryAll pages of 2,000): API requests per record, records/s.
2. Push: with both CRMs enabled, the HubSpot contacts become Salesforce Leads and the
   Salesforce Leads become HubSpot contacts (batch upsert ≤ 100, composite upsert ≤ 200):
   API requests per pushed record.
3. A HubSpot first sync of ``--rss-records`` contacts vs one of a tenth as many: records/s
   and peak RSS (neither may change with the record count), and what each record cost in
   CPU — lifesync's process, the PostgreSQL backends serving it (when the server is local),
   the sandbox — with the seconds lifesync's process waited for a core. On a shared machine
   the wall rate follows the load; CPU per record does not, so the two runs' "records per
   CPU-second" (records over the three processes' CPU, which take turns) tell cost growth from
   contention. ``--first-sync-only`` runs this step alone. CPU and run-queue figures read
   ``/proc`` (Linux).

Targets (issue 4): HubSpot 0.01 requests per record pulled and pushed; Salesforce ≤ 1/2000
per record pulled (query) and ≤ 1/200 pushed.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time

PG_ADMIN = os.environ.get("BENCH_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_sandbox(contacts: int, leads: int) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-c", "from sync.cli.main import run; run()", "sandbox", "--port", str(port),
         "--contacts", str(contacts), "--leads", str(leads), "--no-rate-limits"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    for line in proc.stdout:  # wait until it is serving
        if line.startswith("sandboxes at"):
            break
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc, url
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("sandbox did not start")


def database(kind: str) -> tuple[str, str | None]:
    if kind == "sqlite":
        return f"sqlite:///{tempfile.mkdtemp()}/bench-crm.db", None
    import psycopg

    name = f"lifesync_bench_crm_{os.getpid()}_{int(time.time())}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://") + f"/{name}", name


def drop(name: str | None) -> None:
    if name:
        import psycopg

        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def env_for(url: str, db_url: str, systems: tuple[str, ...]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIFESYNC_")}
    env.update(DATABASE_URL=db_url, LIFESYNC_BATCH_SIZE="1000",
               LIFESYNC_SECRET_KEY="t2Jd2H7k3Mx5sqTzGJ8u4W1YbD3eV6fN9aQ0cR2pLxA=")
    if "hubspot" in systems:
        env.update(LIFESYNC_HUBSPOT_BASE_URL=f"{url}/hubspot", LIFESYNC_HUBSPOT_TOKEN="pat-sandbox-hubspot")
    if "salesforce" in systems:
        env.update(LIFESYNC_SALESFORCE_LOGIN_URL=f"{url}/salesforce",
                   LIFESYNC_SALESFORCE_CLIENT_ID="sandbox-consumer-key",
                   LIFESYNC_SALESFORCE_CLIENT_SECRET="sandbox-consumer-secret",
                   LIFESYNC_SALESFORCE_REFRESH_TOKEN="sandbox-refresh-token")
    return env


def child(step: str) -> None:
    """One measured step, in this process; prints a JSON line."""
    from jobs.connection import redis_connection
    from sync.config import load_config
    from sync.crm.run import open_crm, push_pending, sync_connection
    from sync.settings import Settings
    from sync.store.engine import open_store

    settings = Settings.from_env()
    store = open_store(settings.database_url)
    config = load_config(None)
    parts = step.split(":")
    system, objects = parts[1], (parts[2].split(",") if len(parts) > 2 else None)
    backends_started = {pid: proc_cpu(pid) for pid in backend_pids(store)}
    cpu_started, queued_started = time.process_time(), run_queue_seconds()
    started = time.perf_counter()
    if step.startswith("pull:"):
        report = sync_connection(system, "default", settings=settings, store=store, config=config,
                                 redis=redis_connection(settings), push=False, objects=objects)
        records = sum(o["records"] for o in report["objects"].values())
        stats = report["stats"]
        out = {"records": records, "api_calls": stats["api_calls"]}
    else:
        pusher = open_crm(system, settings, store, config, redis=redis_connection(settings))
        pushed = push_pending(system, store, config, pusher)
        out = {"records": pushed["sent"] + pushed["dead"], "sent": pushed["sent"], "dead": pushed["dead"],
               "api_calls": pusher.stats.api_calls}
    out["seconds"] = time.perf_counter() - started
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out["cpu_s"] = time.process_time() - cpu_started
    out["runqueue_s"] = run_queue_seconds() - queued_started
    out["backend_cpu_s"] = sum(proc_cpu(pid) - backends_started.get(pid, 0.0) for pid in backend_pids(store))
    print(json.dumps(out))


def proc_cpu(pid: int | str = "self") -> float:
    """User + system CPU seconds of a process so far (0 when it is gone or not on this machine)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_queue_seconds() -> float:
    """Seconds this process was runnable but waited for a core (``/proc/self/schedstat``; 0 where absent)."""
    try:
        with open("/proc/self/schedstat") as f:
            return int(f.read().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return 0.0


def backend_pids(store) -> list[int]:
    """PostgreSQL backends connected to the store's database (none on SQLite)."""
    if store.engine.dialect.name != "postgresql":
        return []
    from sqlalchemy import text

    with store.engine.connect() as conn:
        return list(conn.scalars(text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")))


def run_step(step: str, env: dict[str, str]) -> dict:
    done = subprocess.run([sys.executable, __file__, "--child", step], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{step} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=20000)
    parser.add_argument("--rss-records", type=int, default=200000)
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--first-sync-only", action="store_true", help="only step 3")
    parser.add_argument("--child")
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    if not args.first_sync_only:
        pulls_and_pushes(args.records, args.db)
    first_sync_scaling(args.rss_records, args.db)


def pulls_and_pushes(n: int, db: str) -> None:
    """Steps 1 and 2: API requests per record pulled and pushed, records/s."""
    proc, url = start_sandbox(contacts=n, leads=n)
    db_url, db_name = database(db)
    try:
        print(f"CRM benchmark: {n:,} HubSpot contacts and {n:,} Salesforce leads, {db}, sandbox at {url}")
        rows = []
        both = env_for(url, db_url, ("hubspot", "salesforce"))  # each pull plans what the other CRM lacks
        for step in ("pull:hubspot:contacts", "pull:hubspot:deals", "pull:salesforce:Lead",
                     "pull:salesforce:Contact,Opportunity", "push:salesforce", "push:hubspot"):
            rows.append((step, run_step(step, both)))
        print(f"{'step':<38}{'records':>9}{'API calls':>11}{'calls/record':>14}{'records/s':>11}{'peak RSS':>10}")
        for step, r in rows:
            per = r["api_calls"] / r["records"] if r["records"] else float("nan")
            print(f"{step:<38}{r['records']:>9,}{r['api_calls']:>11,}{per:>14.5f}"
                  f"{r['records'] / r['seconds']:>11,.0f}{r['peak_rss_mb']:>8.0f}MB")
        print("(HubSpot deals cost a list page and a v4 association read per 100; Salesforce pulls add one describe "
              "and one COUNT() per object to one query page per 2,000 records)")
    finally:
        proc.kill()
        drop(db_name)


def first_sync_scaling(big: int, db: str) -> None:
    """Step 3: a HubSpot first sync of ``big`` contacts vs a tenth as many, each in a fresh process."""
    print(f"\nHubSpot first sync, {db}: {big // 10:,} vs {big:,} contacts (each in a fresh process and database)")
    print(f"{'contacts':>10}{'records/s':>11}{'peak RSS':>10}{'CPU µs/record: lifesync':>25}{'PostgreSQL':>12}"
          f"{'sandbox':>9}{'records/CPU-s':>15}{'waited for a core':>19}")
    rates = []
    for count in (big // 10, big):
        proc, url = start_sandbox(contacts=count, leads=0)
        db_url, db_name = database(db)
        try:
            sandbox_started = proc_cpu(proc.pid)
            r = run_step("pull:hubspot:contacts", env_for(url, db_url, ("hubspot",)))
            sandbox = proc_cpu(proc.pid) - sandbox_started
        finally:
            proc.kill()
            drop(db_name)
        n = r["records"]
        per_cpu = n / (r["cpu_s"] + r["backend_cpu_s"] + sandbox)
        rates.append((n / r["seconds"], per_cpu))
        print(f"{count:>10,}{n / r['seconds']:>11,.0f}{r['peak_rss_mb']:>8.0f}MB{r['cpu_s'] / n * 1e6:>25.0f}"
              f"{r['backend_cpu_s'] / n * 1e6:>12.0f}{sandbox / n * 1e6:>9.0f}{per_cpu:>15,.0f}"
              f"{r['runqueue_s']:>17.1f} s")
    (small_wall, small_cpu), (big_wall, big_cpu) = rates
    print(f"large run / small run: records/s {big_wall / small_wall:.2f}, records per CPU-second "
          f"{big_cpu / small_cpu:.2f} (target ≥ 0.90)")


if __name__ == "__main__":
    main()
