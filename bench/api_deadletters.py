"""Dead-letter groups at scale: p50 / p99 of ``GET /api/dead-letters/groups`` on PostgreSQL.

Fills a fresh PostgreSQL database (created and dropped through ``BENCH_PG_ADMIN_URL``) with
``--letters`` dead letters (default 1,000,000) of ~150 causes (stage × source × reason
template, each letter with its own ids and values in the reason; the class derived by
``sync.store.reason_class``, as every writer does), skewed as real ones are — a few causes
hold most letters, a long tail holds a few each — 90 % open, 5 % replayed, 5 % dismissed, over
30 days. Then it times, ``--runs`` times each after a warm-up: the service function
``sync.ingest.deadletter_groups.groups`` (all open letters; one stage; the last 7 days) and the
whole HTTP route through the app (token check, schema, JSON) with Flask's test client.
Target: p99 ≤ 100 ms.

:func:`measure` is the reusable part (a store with letters in it → figures), for ``bench/api.py``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

PG_ADMIN = os.environ.get("BENCH_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
STAGES = {"mapping": ("hubspot", "salesforce", "whatsapp", "messenger"),
          "reconcile": ("hubspot", "salesforce", "whatsapp", "instagram"),
          "dispatch": ("meta", "google", "tiktok", "hubspot"),
          "job": ("ingest", "dispatch", "maintenance")}
TEMPLATES = {
    "mapping": ("mapping {src}_contacts, field email, record {n}: not an e-mail address (got 'u{n}@x')",
                "mapping {src}_contacts, field modified_at, record {n}: cannot read a time (got 'day {n}')",
                "mapping {src}_contacts, field stage, record {n}: unknown value (got {n})",
                "expected a JSON object, got list"),
    "reconcile": ("{src} contacts record {n}: no usable identity (every identifier was blank or a junk value)",
                  "{src} contacts record {n}: carries two different email ids",
                  "{src} contacts record {n}: the database refused it (StringDataRightTruncation: value too long)",
                  "unknown stage 'S{n}'; configured stages: New Lead, Customer"),
    "dispatch": ("gave up after 6 attempts: HTTP 400: pixel {n} is not valid for user +4479{n}",
                 "gave up after 6 attempts: HTTP 500: internal error, trace {n}",
                 "ValidationError: event {n} has no match key"),
    "job": ("TransientError: timed out after {n} s", "ValueError (details in the worker log)",
            "AuthError: token {n} rejected"),
}


def causes() -> list[tuple[str, str, str, str]]:
    """(stage, source, reason template, its class) of every cause."""
    from sync.store.reason_class import reason_class

    found = []
    for stage, sources in STAGES.items():
        for source in sources:
            for template in TEMPLATES[stage]:
                example = template.replace("{src}", source)
                found.append((stage, source, example, reason_class(example.replace("{n}", "12345"))))
    return found


def fill(store: Any, letters: int) -> None:
    """``letters`` dead letters in one INSERT … SELECT (the triggers counting them), then VACUUM ANALYZE
    (as autovacuum would)."""
    from sqlalchemy import text

    known = causes()
    values = ", ".join(f"({k}, :s{k}, :o{k}, :t{k}, :c{k})" for k in range(len(known)))
    params: dict[str, Any] = {"n": letters, "k": len(known)}
    for k, (stage, source, template, klass) in enumerate(known):
        params.update({f"s{k}": stage, f"o{k}": source, f"t{k}": template, f"c{k}": klass})
    with store.engine.begin() as conn:
        conn.execute(text("SELECT setseed(0.18)"))
        conn.execute(text(f"""
            INSERT INTO dead_letters (stage, source, object, record_id, reason, reason_class, payload, status,
                                      created_at)
            SELECT c.stage, c.source, 'contacts', 'r' || g, replace(c.template, '{{n}}', g::text), c.class,
                   json_build_object('id', g, 'email', 'u' || g || '@example.com'),
                   CASE WHEN g % 20 = 0 THEN 'replayed' WHEN g % 20 = 1 THEN 'dismissed' ELSE 'open' END,
                   now() - (g % 2592000) * interval '1 second'
            FROM (SELECT g, least(:k - 1, floor(-ln(1 - random()) * 12))::int AS k
                  FROM generate_series(1, :n) g) picked
            JOIN (VALUES {values}) AS c(k, stage, source, template, class) ON c.k = picked.k
        """), params)
    from sync.ingest.deadletter_counts import compact

    compact(store)  # the million +1 rows the triggers appended, folded as the first read would
    with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE dead_letters"))
        conn.execute(text("VACUUM ANALYZE dead_letter_counts"))


def timed(call: Callable[[], Any], runs: int) -> dict[str, float]:
    """p50 / p99 / max in ms of ``runs`` calls after three warm-up calls."""
    for _ in range(3):
        call()
    spent = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        spent.append((time.perf_counter() - start) * 1000)
    spent.sort()
    return {"p50": statistics.median(spent), "p99": spent[min(len(spent) - 1, int(len(spent) * 0.99))],
            "max": spent[-1]}


def measure(store: Any, settings: Any, runs: int = 200) -> dict[str, dict[str, float]]:
    """Figures of the groups query on a store that holds dead letters: service calls and the HTTP route."""
    from sync.config import load_config
    from sync.ingest.deadletter_groups import LetterFilter, groups
    from sync.store.model import utcnow
    from sync.web import create_app

    week = utcnow() - timedelta(days=7)
    figures = {
        "groups(open)": timed(lambda: groups(store, LetterFilter(), 50), runs),
        "groups(open, stage=reconcile)": timed(lambda: groups(store, LetterFilter(stage="reconcile"), 50), runs),
        "groups(open, last 7 days)": timed(lambda: groups(store, LetterFilter(since=week), 50), runs),
    }
    app = create_app(settings, store=store, config=load_config(None), enqueue=lambda ids: None)
    client = app.test_client()
    headers = {"Authorization": f"Bearer {settings.connection_setting('ops', 'token')}"}

    def route() -> None:
        res = client.get("/api/dead-letters/groups?limit=50", headers=headers)
        assert res.status_code == 200, res.status_code

    figures["GET /api/dead-letters/groups"] = timed(route, runs)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--letters", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    import psycopg

    from sync.settings import Settings
    from sync.store.engine import open_store

    name = f"lifesync_bench_dl_{os.getpid()}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    url = PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    try:
        settings = Settings.from_env({"DATABASE_URL": url, "LIFESYNC_OPS_TOKEN": "bench-bootstrap-token"})
        store = open_store(settings.database_url)
        try:
            start = time.perf_counter()
            fill(store, args.letters)
            print(f"{args.letters:,} dead letters of {len(causes())} causes written and analysed in "
                  f"{time.perf_counter() - start:.0f} s")
            for what, f in measure(store, settings, args.runs).items():
                print(f"{what:<34} p50 {f['p50']:7.1f} ms   p99 {f['p99']:7.1f} ms   max {f['max']:7.1f} ms")
        finally:
            store.dispose()
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


if __name__ == "__main__":
    main()
