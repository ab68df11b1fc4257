"""Benchmark: the ops API's read paths on PostgreSQL at 1,000,000 contacts.

    python bench/api.py [--contacts 1000000] [--letters 1000000] [--database wt_api_bench] [--runs 200]
                        [--scenario NAME ...]

Load (once; a database that already holds ``--contacts`` contacts is reused): ``--seed``
(20,000) synthetic HubSpot contacts go through the real pipeline (``sync.ingest.pipeline.ingest``,
as ``bench/pipeline.py`` does), a tenth of them get a conversion queued to Meta and answered
(``conversion_events``, ``outbox``, ``deliveries``); then the server copies those rows with new
ids (identity values, event ids and keys suffixed ``~<copy>``) until there are ``--contacts``,
and ANALYZEs. Contacts, names and stages keep the demo's distribution. A database without dead
letters then gets ``--letters`` of them (``bench/api_deadletters.py``'s ``fill``: ~50 skewed
causes, 90 % open, over 30 days), for the dead-letter groups scenarios.

Scenarios (:data:`SCENARIOS`, name → function returning one measurement's callable) each run
``--runs`` times through the Flask test client (routing, auth, schema dumping included) and
print p50 / p99 in milliseconds; reports run the ``sync.reports`` functions over all time.
Add a scenario by adding a function to :data:`SCENARIOS`.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

PG_ADMIN = os.environ.get("BENCH_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
TOKEN = "bench-api-token"
COPIED = ("contacts", "identities", "field_values", "stage_signals", "stage_transitions", "conversion_events",
          "outbox", "deliveries")


def database_url(name: str) -> str:
    return PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://") + f"/{name}"


def ensure_database(name: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(f"CREATE DATABASE {name}")


def _seed(store: Any, seed: int) -> None:
    from sqlalchemy import text

    from sync.config import load_config
    from sync.demo.business import hubspot_contact_stream
    from sync.ingest.pipeline import ingest

    started = time.perf_counter()
    ingest("hubspot", "contacts", hubspot_contact_stream(seed=11, count=seed), store=store,
           config=load_config(None), batch_size=1000, map_in_process=False)
    with store.engine.begin() as conn:  # a tenth converted, sent to Meta and answered
        conn.execute(text("""
            INSERT INTO conversion_events (event_id, contact_id, kind, value, currency, occurred_at, source,
                                           object, record_id, created_at)
            SELECT 'bench-' || id, id, 'purchase', 100 + id % 900, 'EUR', created_at, 'hubspot', 'contacts',
                   'bench-' || id, now() FROM contacts WHERE id % 10 = 0"""))
        conn.execute(text("""
            INSERT INTO outbox (idempotency_key, kind, destination, contact_id, payload, status, created_at,
                                available_at)
            SELECT 'conv:meta:' || event_id, 'conversion', 'meta', contact_id,
                   json_build_object('event_id', event_id), 'sent', now(), now() FROM conversion_events"""))
        conn.execute(text("""
            INSERT INTO deliveries (outbox_id, destination, status, attempts, response, sent_at, updated_at)
            SELECT id, 'meta', 'sent', 1, '{"events_received": 1}'::json, now(), now() FROM outbox"""))
    print(f"seeded {seed:,} contacts through the pipeline in {time.perf_counter() - started:.0f} s", flush=True)


def _columns(conn: Any, table: str) -> list[str]:
    from sqlalchemy import text

    return [r[0] for r in conn.execute(text(
        "SELECT column_name FROM information_schema.columns WHERE table_name = :t AND is_generated = 'NEVER' "
        "ORDER BY ordinal_position"),
        {"t": table})]


def _copy(store: Any, copies: int) -> None:
    """Copy the seeded rows ``copies`` times with new ids, server side, one copy per transaction."""
    from sqlalchemy import text

    shifted = {"id", "contact_id", "outbox_id"}
    suffixed = {"identities": "value", "conversion_events": "event_id", "outbox": "idempotency_key"}
    with store.engine.begin() as conn:
        top = {t: conn.execute(text(f"SELECT coalesce(max(id), 0) FROM {t}")).scalar_one()
               for t in COPIED if t != "field_values"}
        columns = {t: _columns(conn, t) for t in COPIED}
    step = max(top.values()) + 1
    started = time.perf_counter()
    for k in range(1, copies + 1):
        with store.engine.begin() as conn:
            for table in COPIED:
                cols = columns[table]
                exprs = [f"{col} + {k * step}" if col in shifted else f"{col} || '~{k}'"
                         if suffixed.get(table) == col else col for col in cols]
                limit = (f" WHERE contact_id <= {top['contacts']}" if table == "field_values"  # no id column
                         else f" WHERE id <= {top[table]}")
                conn.execute(text(f"INSERT INTO {table} ({', '.join(cols)}) SELECT {', '.join(exprs)} "
                                  f"FROM {table}{limit}"))
        if k % 5 == 0 or k == copies:
            print(f"  copy {k}/{copies} ({time.perf_counter() - started:.0f} s)", flush=True)
    with store.engine.begin() as conn:
        for table in COPIED:
            if table != "field_values":
                conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                  f"(SELECT max(id) FROM {table}))"))
    from sync.ingest.funnel_counts import rebuild

    with store.transaction() as session:  # the copies bypassed the writer that keeps these counts
        rebuild(session)
    with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))  # as autovacuum would leave a settled database


def load(store: Any, contacts: int, seed: int, letters: int) -> None:
    from api_deadletters import fill
    from sqlalchemy import text

    with store.engine.connect() as conn:
        have = conn.execute(text("SELECT count(*) FROM contacts")).scalar_one()
        have_letters = conn.execute(text("SELECT count(*) FROM dead_letters")).scalar_one()
    if have >= contacts:
        print(f"reusing the database: {have:,} contacts", flush=True)
    elif have:
        raise SystemExit(f"the database holds {have:,} contacts, fewer than asked: drop it first")
    else:
        _seed(store, seed)
        _copy(store, -(-contacts // seed) - 1)
    if have_letters or not letters:
        print(f"reusing the database: {have_letters:,} dead letters", flush=True)
        return
    started = time.perf_counter()
    fill(store, letters)
    print(f"{letters:,} dead letters written and analysed in {time.perf_counter() - started:.0f} s", flush=True)


# ---- scenarios ---------------------------------------------------------------------------------

class Bench:
    """What scenarios share: the test client, auth header, config and samples of real values."""

    def __init__(self, store: Any, config: Any, rng: random.Random) -> None:
        from sqlalchemy import text

        from sync.settings import Settings
        from sync.web import create_app

        settings = Settings.from_env({"DATABASE_URL": str(store.engine.url.render_as_string(hide_password=False)),
                                      "LIFESYNC_OPS_TOKEN": TOKEN})
        app = create_app(settings, store=store, config=config, enqueue=lambda ids: None, queue=None)
        self.client, self.store, self.config, self.rng = app.test_client(), store, config, rng
        self.headers = {"Authorization": f"Bearer {TOKEN}"}
        with store.engine.connect() as conn:
            top = conn.execute(text("SELECT max(id) FROM contacts")).scalar_one()
            ids = [r[0] for r in conn.execute(text(
                "SELECT id FROM contacts WHERE id IN (SELECT (random() * :top)::bigint FROM generate_series(1, 2000))"
                " LIMIT 500"), {"top": top})]
            self.contact_ids = ids
            self.emails = [r[0] for r in conn.execute(text(
                "SELECT value FROM identities WHERE kind = 'email' AND contact_id = ANY(:ids)"), {"ids": ids})]
            self.newest_update = conn.execute(text("SELECT max(updated_at) FROM contacts")).scalar_one().isoformat()
            self.names = [r[0] for r in conn.execute(text(
                "SELECT attributes -> 'last_name' ->> 'value' FROM contacts WHERE id = ANY(:ids)"
                " AND attributes -> 'last_name' ->> 'value' IS NOT NULL"), {"ids": ids})]

    def get(self, path: str, query: dict[str, Any] | None = None) -> Callable[[], None]:
        def call() -> None:
            res = self.client.get(path, query_string=query or {}, headers=self.headers)
            if res.status_code != 200:
                raise SystemExit(f"{path} {query}: {res.status_code} {res.get_data(as_text=True)[:300]}")
        return call


def search_identity(b: Bench) -> Callable[[], None]:
    return b.get("/api/contacts", {"identity": f"email:{b.rng.choice(b.emails).upper()}"})


def search_name_prefix(b: Bench) -> Callable[[], None]:
    name = b.rng.choice(b.names)
    return b.get("/api/contacts", {"q": name[: b.rng.randint(3, max(3, len(name)))]})


def search_email_prefix(b: Bench) -> Callable[[], None]:
    return b.get("/api/contacts", {"q": b.rng.choice(b.emails)[:6]})


def list_stage_page(b: Bench) -> Callable[[], None]:
    stage = b.rng.choice(b.config.lifecycle.active_names)
    return b.get("/api/contacts", {"stage": stage, "limit": 50})


def list_filters_deep_page(b: Bench) -> Callable[[], None]:
    """Phase + source + has_conversions, continuing from a cursor in the middle of the table."""
    from sync.web.api.schemas import encode_cursor

    phase = b.rng.choice(sorted({s.phase for s in b.config.lifecycle.stages}))
    return b.get("/api/contacts", {"phase": phase, "source": "hubspot", "has_conversions": "true",
                                   "cursor": encode_cursor(b.rng.choice(b.contact_ids))})


def list_updated_since(b: Bench) -> Callable[[], None]:
    return b.get("/api/contacts", {"updated_since": "2000-01-01T00:00:00Z", "lost_stage": b.rng.choice(
        b.config.lifecycle.lost_names)})


def list_updated_since_few(b: Bench) -> Callable[[], None]:
    """Updated since a moment only the newest updates pass (``ix_contacts_updated_at``, migration 0012)."""
    return b.get("/api/contacts", {"updated_since": b.newest_update})


def contact_detail(b: Bench) -> Callable[[], None]:
    return b.get(f"/api/contacts/{b.rng.choice(b.contact_ids)}")


def dead_letter_groups(b: Bench) -> Callable[[], None]:
    """Open dead letters by cause, the largest 50 (counts from ``dead_letter_counts``)."""
    return b.get("/api/dead-letters/groups", {"limit": 50})


def dead_letter_groups_stage(b: Bench) -> Callable[[], None]:
    from api_deadletters import STAGES

    return b.get("/api/dead-letters/groups", {"limit": 50, "stage": b.rng.choice(sorted(STAGES))})


def dead_letter_groups_week(b: Bench) -> Callable[[], None]:
    """The last 7 days: whole days summed from ``dead_letter_day_counts``, part of one day from the index."""
    from datetime import UTC, datetime, timedelta

    return b.get("/api/dead-letters/groups", {"limit": 50, "since": (datetime.now(UTC) - timedelta(days=7))
                                              .isoformat()})


SCENARIOS: dict[str, Callable[[Bench], Callable[[], None]]] = {
    "search identity (email:, exact)": search_identity,
    "search q name prefix": search_name_prefix,
    "search q email prefix": search_email_prefix,
    "list stage=": list_stage_page,
    "list phase+source+has_conversions, mid cursor": list_filters_deep_page,
    "list lost_stage+updated_since": list_updated_since,
    "list updated_since (few match)": list_updated_since_few,
    "contact detail": contact_detail,
    "dead-letter groups (open)": dead_letter_groups,
    "dead-letter groups (open, one stage)": dead_letter_groups_stage,
    "dead-letter groups (open, last 7 days)": dead_letter_groups_week,
}


def measure(make: Callable[[], Callable[[], None]], runs: int) -> tuple[float, float]:
    for _ in range(5):
        make()()  # warm caches
    times = []
    for _ in range(runs):
        call = make()
        t = time.perf_counter()
        call()
        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, int(len(times) * 0.99))]


def reports(store: Any, config: Any) -> None:
    from sync.reports.attribution import attribution
    from sync.reports.delivery import delivery
    from sync.reports.funnel import funnel
    from sync.reports.lost import lost
    from sync.reports.response import response

    for name, fn in (("funnel", funnel), ("lost", lost), ("response", response), ("attribution", attribution),
                     ("delivery", delivery)):
        t = time.perf_counter()
        fn(store, config)
        print(f"report {name:<12} all time {time.perf_counter() - t:8.2f} s   (target ≤ 2 s)", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=20_000, help="contacts ingested through the pipeline")
    parser.add_argument("--letters", type=int, default=1_000_000, help="dead letters added to a database with none")
    parser.add_argument("--database", default="lifesync_api_bench", help="kept between runs (created if absent)")
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--scenario", action="append", help="only these (repeatable); 'reports' for reports")
    args = parser.parse_args()

    from sync.config import load_config
    from sync.store.engine import open_store

    ensure_database(args.database)
    store = open_store(database_url(args.database))
    load(store, args.contacts, args.seed, args.letters)
    config = load_config(None)
    bench = Bench(store, config, random.Random(7))
    chosen = args.scenario or [*SCENARIOS, "reports"]
    for name in chosen:
        if name == "reports":
            continue
        p50, p99 = measure(lambda name=name: SCENARIOS[name](bench), args.runs)
        print(f"{name:<48} p50 {p50:7.1f} ms  p99 {p99:7.1f} ms   (target p99 ≤ 100 ms)", flush=True)
    if "reports" in chosen:
        reports(store, config)
    store.dispose()


if __name__ == "__main__":
    main()
