"""Benchmark: what issue 22's erasure and suppression cost, on PostgreSQL.

    python bench/privacy.py [--contacts 100000] [--events 200000] [--letters 50000] [--forget 5]
                            [--records 20000] [--suppressions 100000] [--rounds 3]

Its own database (``bench_privacy``, through ``BENCH_PG_ADMIN_URL``) is created and dropped.
Load, all with ``INSERT … SELECT``: ``--contacts`` as ``bench/api.py`` makes them (20,000 HubSpot
contacts through the pipeline, a tenth with a conversion sent to Meta, then copies), two activities
each, ``--events`` processed inbox events with ~1 kB WhatsApp bodies, ``--letters`` dead letters
(``bench/api_deadletters.py``). ``--forget`` seeded people with a conversion are picked; every
1,000th event names one (e-mail and phone in the text); each has four dead letters.

1. ``sync.privacy.erasure.forget`` (no upstream, no audiences) of each: seconds (p50 / max), rows
   deleted or redacted, and the time of its two scans (dead-letter payloads, inbox bodies) vs the rest.
2. ``sync.ingest.pipeline.ingest`` of ``--records`` HubSpot contacts into emptied tables with no
   suppression vs ``--suppressions`` digests (20 of the batch's people among them): records/s (best of
   ``--rounds``, alternated), the ratio, and the share of the time spent in the suppression check.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parents[1])]  # bench/, project
os.environ.setdefault("LIFESYNC_LOG_LEVEL", "WARNING")

PG_ADMIN = os.environ.get("BENCH_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
DATABASE = "bench_privacy"
EVERY = 1000  # every EVERY-th inbox event names one of the forgotten people
SUPPRESSED = 20  # people of the ingested batch whose digests are in the table


def admin(statement: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(statement)


def timed(fn: Any, into: dict[str, float], key: str) -> Any:
    """``fn``, adding the seconds each call takes to ``into[key]``."""
    def run(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            into[key] += time.perf_counter() - started
    return run


def load(store: Any, contacts: int, events: int, letters: int, forget: int) -> list[int]:
    """Fill the database (see the module docstring); the ids of the contacts to forget."""
    from api import _copy, _seed
    from api_deadletters import fill
    from sqlalchemy import text

    started = time.perf_counter()
    seed = min(contacts, 20_000)
    _seed(store, seed)  # bench/api.py's contacts: through the pipeline, then copied server side
    with store.engine.connect() as conn:
        seeded = conn.execute(text("SELECT max(id) FROM contacts")).scalar_one()
    _copy(store, -(-contacts // seed) - 1)
    with store.engine.begin() as conn:
        conn.execute(text("""
            INSERT INTO activities (key, contact_id, channel, direction, occurred_at, external_id, conversation_id,
                                    source, brand)
            SELECT 'bench-' || id || '-' || n, id, 'whatsapp', CASE n WHEN 1 THEN 'inbound' ELSE 'outbound' END,
                   now() - n * interval '1 hour', 'wamid.' || md5(id || '-' || n), 'conv-' || id, 'whatsapp',
                   'default'
            FROM contacts, generate_series(1, 2) n"""))
        victims = [r[0] for r in conn.execute(text(
            "SELECT DISTINCT contact_id FROM conversion_events c WHERE contact_id <= :seeded AND EXISTS "
            "(SELECT 1 FROM identities i WHERE i.contact_id = c.contact_id AND i.kind = 'phone') ORDER BY contact_id"),
            {"seeded": seeded})]  # distinct people: the copies' are the seed's again
        victims = victims[:: max(1, len(victims) // forget)][:forget]
        emails, phones = ([conn.execute(text(f"SELECT min(value) FROM identities WHERE contact_id = :c AND kind = "
                                             f"'{kind}'"), {"c": c}).scalar_one() for c in victims]
                          for kind in ("email", "phone"))
        # ~1 kB WhatsApp-shaped bodies; every EVERY-th names a forgotten person (e-mail and phone in the text)
        conn.execute(text(f"""
            INSERT INTO raw_events (source, object, connection, event_key, received_at, headers, body, status,
                                    processed_at)
            SELECT 'whatsapp', 'message', 'default', 'bench-' || g, now() - g * interval '1 second', '{{}}'::json,
                   convert_to(json_build_object('object', 'whatsapp_business_account', 'entry', json_build_array(
                     json_build_object('id', '1029384756', 'changes', json_build_array(json_build_object(
                       'field', 'messages', 'value', json_build_object('messaging_product', 'whatsapp',
                       'contacts', json_build_array(json_build_object('wa_id', '9715' || lpad(g::text, 8, '0'),
                                                    'profile', json_build_object('name', 'Person ' || g))),
                       'messages', json_build_array(json_build_object('from', '9715' || lpad(g::text, 8, '0'),
                         'id', 'wamid.' || md5(g::text), 'timestamp', extract(epoch FROM now())::bigint - g,
                         'type', 'text', 'text', json_build_object('body',
                           CASE WHEN g % {EVERY} = 0 THEN 'write to me at ' || v.email || ' or call ' || v.phone || ' '
                                ELSE '' END
                           || repeat(md5(g::text), 22))))))))))::text, 'UTF8'),
                   'processed', now()
            FROM generate_series(1, :n) g, LATERAL (SELECT (CAST(:emails AS text[]))[1 + (g / {EVERY}) % :k] AS email,
                                                           (CAST(:phones AS text[]))[1 + (g / {EVERY}) % :k] AS phone) v
            """), {"n": events, "emails": emails, "phones": phones, "k": len(victims)})
        conn.execute(text("""
            INSERT INTO dead_letters (stage, source, object, record_id, reason, reason_class, payload, status,
                                      created_at)
            SELECT 'reconcile', 'hubspot', 'contacts', CASE WHEN n <= 2 THEN f.record_id ELSE 'other-' || n END,
                   'hubspot contacts record: carries two different email ids', 'bench',
                   json_build_object('id', f.record_id, 'email', CASE WHEN n > 2 THEN i.value END), 'open', now()
            FROM (SELECT DISTINCT contact_id, record_id FROM field_values WHERE contact_id = ANY(:v)) f
            JOIN identities i ON i.contact_id = f.contact_id AND i.kind = 'email', generate_series(1, 4) n"""),
                     {"v": victims})
    if letters:
        fill(store, letters)
    with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
    print(f"loaded in {time.perf_counter() - started:.0f} s", flush=True)
    return victims


def erasures(store: Any, settings: Any, victims: list[int]) -> list[dict[str, Any]]:
    """Forget each victim; per erasure its seconds, its two scans' seconds and the counts."""
    from unittest import mock

    from sync.access.roles import Principal
    from sync.config import load_config
    from sync.privacy import erasure

    scans: dict[str, float] = {}  # each scan returns a list: its time is all of it
    config, actor, out = load_config(None), Principal("bench", "admin", via="cli"), []
    with mock.patch.object(erasure, "_letters", timed(erasure._letters, scans, "letters_scan")), \
            mock.patch.object(erasure, "_events", timed(erasure._events, scans, "events_scan")):
        for cid in victims:
            begun = time.perf_counter()
            scans.update(letters_scan=0.0, events_scan=0.0)
            row = erasure.forget(store, config, settings, cid, actor)
            out.append({"seconds": time.perf_counter() - begun, **scans, "counts": row["counts"]})
    return out


def ingest_rate(store: Any, records: list[dict[str, Any]], suppressions: int, digests: list[tuple[str, str]]) -> dict:
    """records/s of ingesting ``records`` into emptied tables (the salt kept) holding ``suppressions`` digests."""
    from unittest import mock

    from sqlalchemy import text

    from sync.config import load_config
    from sync.ingest import pipeline
    from sync.store.model import Base

    with store.engine.begin() as conn:
        tables = ", ".join(t.name for t in Base.metadata.sorted_tables if t.name != "privacy_keys")
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        if suppressions:  # random digests, and ``digests`` (some of ``records``' people)
            conn.execute(text("INSERT INTO suppressions (digest, kind, created_at) SELECT "
                              "encode(sha256(('bench-' || g)::bytea), 'hex'), 'email', now() "
                              "FROM generate_series(1, :n) g"), {"n": suppressions - len(digests)})
            conn.execute(text("INSERT INTO suppressions (digest, kind, created_at) VALUES (:d, :k, now())"),
                         [{"d": d, "k": kind} for d, kind in digests])
    with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE"))
    checking, begun = {"check": 0.0}, time.perf_counter()
    with mock.patch.object(pipeline, "suppressed_patches", timed(pipeline.suppressed_patches, checking, "check")):
        result = pipeline.ingest("hubspot", "contacts", iter(records), store=store, config=load_config(None),
                                 batch_size=1000, map_in_process=False)
    seconds = time.perf_counter() - begun
    return {"records_per_s": len(records) / seconds, "seconds": seconds, **checking,
            "suppressed": result.suppressed, "created": result.created}


def suppression_costs(store: Any, count: int, suppressions: int, rounds: int) -> dict[str, list[dict]]:
    """Ingest rates without and with suppressions, alternated, after an untimed warm-up ingest."""
    from sqlalchemy import text

    from sync.demo.business import hubspot_contact_stream
    from sync.privacy.suppression import digest, salt

    records = list(hubspot_contact_stream(seed=23, count=count))
    warm = records[:1000]
    ingest_rate(store, warm, 0, [])  # then the identities of SUPPRESSED of the batch's people, as stored
    with store.transaction() as session:
        key = salt(session, create=True)
        digests = [(digest(key, kind, value), kind) for kind, value in session.execute(text(
            "SELECT kind, value FROM identities WHERE contact_id % :s = 0"), {"s": max(1, len(warm) // SUPPRESSED)})]
    runs: dict[str, list[dict]] = {"none": [], "with": []}
    for _ in range(rounds):
        runs["none"].append(ingest_rate(store, records, 0, []))
        runs["with"].append(ingest_rate(store, records, suppressions, digests))
    return runs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--contacts", type=int, default=100_000)
    ap.add_argument("--events", type=int, default=200_000, help="raw inbox events (~1 kB bodies)")
    ap.add_argument("--letters", type=int, default=50_000, help="dead letters")
    ap.add_argument("--forget", type=int, default=5, help="contacts to erase")
    ap.add_argument("--records", type=int, default=20_000, help="records ingested per suppression run")
    ap.add_argument("--suppressions", type=int, default=100_000, help="digests in the table")
    ap.add_argument("--rounds", type=int, default=3, help="ingest runs per case, alternated")
    args = ap.parse_args()

    from sync.settings import Settings
    from sync.store.engine import open_store

    admin(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
    admin(f"CREATE DATABASE {DATABASE}")
    url = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://") + f"/{DATABASE}"
    try:
        store = open_store(url)
        settings = Settings.from_env({"DATABASE_URL": url})
        victims = load(store, args.contacts, args.events, args.letters, args.forget)
        done = erasures(store, settings, victims)
        runs = suppression_costs(store, args.records, args.suppressions, args.rounds)
        store.dispose()
    finally:
        admin(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
    report(args, done, runs)


def report(args: Any, done: list[dict], runs: dict[str, list[dict]]) -> None:
    secs = sorted(d["seconds"] for d in done)
    mean = {k: statistics.mean(d[k] for d in done) for k in ("seconds", "letters_scan", "events_scan")}
    rows = [sum(v for k, v in d["counts"].items() if isinstance(v, int) and k != "suppressions") for d in done]
    tables = {k: statistics.mean(d["counts"][k] for d in done) for k, v in done[0]["counts"].items()
              if isinstance(v, int)}
    rest = mean["seconds"] - mean["letters_scan"] - mean["events_scan"]
    print(f"\n== erasure: {len(done)} forgets; {args.contacts:,} contacts, {args.events:,} inbox events, "
          f"{args.letters:,} dead letters ==")
    print(f"seconds per erasure      p50 {statistics.median(secs):.2f}   max {secs[-1]:.2f}")
    print(f"  scan dead letters      {mean['letters_scan']:.2f} s mean ({mean['letters_scan'] / mean['seconds']:.0%})")
    print(f"  scan inbox bodies      {mean['events_scan']:.2f} s mean ({mean['events_scan'] / mean['seconds']:.0%})")
    print(f"  the rest               {rest:.2f} s mean ({rest / mean['seconds']:.0%}: digests, deletes, commit)")
    print(f"rows deleted/redacted    {statistics.mean(rows):.0f} mean per erasure (min {min(rows)}, max {max(rows)})")
    print("  per table (mean)       " + ", ".join(f"{k} {v:.1f}" for k, v in sorted(tables.items()) if v))
    best = {k: max(r["records_per_s"] for r in v) for k, v in runs.items()}
    print(f"\n== suppression at ingest: {args.records:,} HubSpot contacts, best of {args.rounds} ==")
    for case, label in (("none", "no suppressions"), ("with", f"{args.suppressions:,} digests")):
        check = statistics.median(r["check"] / r["seconds"] for r in runs[case])
        print(f"{label:<24} {best[case]:>8,.0f} records/s   runs: "
              + ", ".join(f"{r['records_per_s']:,.0f}" for r in runs[case])
              + f"   check {check:.1%} of the time (median)")
    print(f"ratio with / without     {best['with'] / best['none']:.3f}   (with: suppressed "
          f"{runs['with'][-1]['suppressed']}, created {runs['with'][-1]['created']:,})")


if __name__ == "__main__":
    main()
