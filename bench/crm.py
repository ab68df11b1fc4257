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
3. Peak RSS of a HubSpot sync of ``--rss-records`` contacts vs one of a tenth as many
   (must not grow with the record count).

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
    print(json.dumps(out))


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
    parser.add_argument("--child")
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    n = args.records
    proc, url = start_sandbox(contacts=n, leads=n)
    db_url, db_name = database(args.db)
    try:
        print(f"CRM benchmark: {n:,} HubSpot contacts and {n:,} Salesforce leads, {args.db}, sandbox at {url}")
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
    big = args.rss_records
    print(f"\npeak RSS of a HubSpot first sync: {big:,} vs {big // 10:,} contacts (each in a fresh process)")
    for count in (big // 10, big):
        proc, url = start_sandbox(contacts=count, leads=0)
        db_url, db_name = database(args.db)
        try:
            r = run_step("pull:hubspot:contacts", env_for(url, db_url, ("hubspot",)))
            print(f"  {count:>8,} contacts: {r['records'] / r['seconds']:,.0f} records/s, "
                  f"peak RSS {r['peak_rss_mb']:.0f} MB")
        finally:
            proc.kill()
            drop(db_name)


if __name__ == "__main__":
    main()
