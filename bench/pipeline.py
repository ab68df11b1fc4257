"""Benchmark: synthetic HubSpot contacts streamed through ``sync.ingest.pipeline.ingest``.

    python bench/pipeline.py --records 100000 [--db sqlite|postgresql|both] [--batch 1000] [--no-steady]

For each database it prints records/s, rows written per record and peak RSS, then runs the
same ingest with a tenth of the records in a fresh process so the two peaks can be compared
(memory must not grow with the record count). On PostgreSQL it also loads exactly the rows
the run wrote with ``COPY`` into identically built tables (indexes, unique constraints,
foreign keys) in one transaction — the physical limit of writing them; the median of three
COPYs, as one alone varies by ±15% here — and prints the ratio of the pipeline's row rate to
COPY's.

Then the steady state (unless ``--no-steady``): the same contacts a day later
(``hubspot_contact_changes``: a new job title each, lead statuses moved on, a third one
lifecycle stage forward) ingested again into the loaded database: records/s, and on
PostgreSQL the rows that re-ingest wrote (inserted, or updated: a new row version, found by
its ``xmin``) COPYed into identically built tables already holding every other row of the
database (loaded untimed, the foreign keys added after them ``NOT VALID``, so they check the
timed rows only): the ratio of the re-ingest's row rate to that COPY's.

Each measurement runs in its own subprocess on a fresh database.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PG_ADMIN = os.environ.get("BENCH_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def child(db: str, records: int, batch: int, steady: bool = True) -> dict:
    import psycopg
    from sqlalchemy import func, select, text

    from sync.config import load_config
    from sync.demo.business import hubspot_contact_changes, hubspot_contact_stream
    from sync.ingest.pipeline import ingest
    from sync.store.engine import open_store
    from sync.store.model import Base

    pg_db = None
    if db == "sqlite":
        url = f"sqlite:///{tempfile.mkdtemp()}/bench.db"
    else:
        pg_db = f"lifesync_bench_{os.getpid()}"
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {pg_db}")
        url = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://") + f"/{pg_db}"
    try:
        store = open_store(url)
        config = load_config(None)
        gen_seconds = 0.0

        def timed_stream(it):
            nonlocal gen_seconds
            while True:
                t = time.perf_counter()
                try:
                    rec = next(it)
                except StopIteration:
                    return
                gen_seconds += time.perf_counter() - t
                yield rec

        started = time.perf_counter()
        result = ingest("hubspot", "contacts", timed_stream(hubspot_contact_stream(seed=11, count=records)),
                        store=store, config=config, batch_size=batch, map_in_process=False)
        elapsed = time.perf_counter() - started - gen_seconds
        tables = [t.name for t in Base.metadata.sorted_tables]
        with store.engine.connect() as conn:
            counts = {t: conn.execute(select(func.count()).select_from(text(t))).scalar_one() for t in tables}
        rows = sum(counts.values())
        out = {
            "db": db, "records": records, "batch": batch, "seconds": round(elapsed, 2),
            "generator_seconds": round(gen_seconds, 2),
            "records_per_s": round(records / elapsed), "rows": rows, "rows_per_record": round(rows / records, 2),
            "rows_per_s": round(rows / elapsed), "peak_rss_mb": round(resource.getrusage(
                resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "worker_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1),
            "result": result.as_dict(),
            "rows_by_table": {t: n for t, n in counts.items() if n},
        }
        plain_url = url.replace("postgresql+psycopg://", "postgresql://")
        if db == "postgresql":
            out["copy"] = apart(copy_baseline, plain_url, out["rows_by_table"])
            out["ratio_to_copy"] = round(out["rows_per_s"] / out["copy"]["rows_per_s"], 3)
        if steady:
            out["steady"] = steady_state(store, plain_url if db == "postgresql" else None, records, batch,
                                         lambda: timed_stream(hubspot_contact_changes(seed=11, count=records)),
                                         lambda: gen_seconds)
        store.dispose()
        return out
    finally:
        if pg_db:
            with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
                conn.execute(f"DROP DATABASE IF EXISTS {pg_db} WITH (FORCE)")


def steady_state(store, pg_url: str | None, records: int, batch: int, stream, generated) -> dict:
    """Re-ingest ``records`` changed contacts into the loaded database; on PostgreSQL with its COPY baseline."""
    import psycopg

    from sync.config import load_config
    from sync.ingest.pipeline import ingest

    marker = None
    if pg_url:  # every row the re-ingest inserts or updates carries a later xmin than this transaction's
        with psycopg.connect(pg_url, autocommit=True) as conn:
            marker = conn.execute("SELECT (txid_current() % 4294967296)::text").fetchone()[0]
    before = generated()
    started = time.perf_counter()
    result = ingest("hubspot", "contacts", stream(), store=store, config=load_config(None), batch_size=batch,
                    map_in_process=False)
    elapsed = time.perf_counter() - started - (generated() - before)
    out = {"records": records, "seconds": round(elapsed, 2), "records_per_s": round(records / elapsed),
           "result": result.as_dict(),
           "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}
    if marker is None:
        return out
    with psycopg.connect(pg_url, autocommit=True) as conn:
        present = {t: n for t, n in ((t, conn.execute(f"SELECT count(*) FROM public.{t}").fetchone()[0])
                                     for t in table_names()) if n}
        written = {t: conn.execute(f"SELECT count(*) FROM public.{t} WHERE {_written(marker)}").fetchone()[0]
                   for t in present}
    rows = sum(written.values())
    out.update(rows_written=rows, rows_per_record=round(rows / records, 2), rows_per_s=round(rows / elapsed),
               rows_by_table={t: n for t, n in written.items() if n})
    out["copy"] = apart(copy_baseline, pg_url, present, written_after=marker)
    out["ratio_to_copy"] = round(out["rows_per_s"] / out["copy"]["rows_per_s"], 3)
    return out


def apart(fn, *args, **kwargs):
    """``fn(*args, **kwargs)`` in a fresh process: a baseline's dumps stay out of this process's peak RSS."""
    import multiprocessing

    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(fn, args, kwargs)


def table_names() -> list[str]:
    """lifesync's tables, each before the tables whose foreign keys name it."""
    from sync.store.model import Base

    return [t.name for t in Base.metadata.sorted_tables]


def _written(marker: str) -> str:
    """SQL: the row version was written by a transaction that began after transaction ``marker``."""
    return f"age(xmin) < age('{int(marker)}'::xid)"


def foreign_keys(conn, table: str) -> list[tuple[str, str]]:
    """(name, definition) of ``table``'s foreign keys in the public schema."""
    return conn.execute("SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                        "WHERE contype = 'f' AND conrelid = %s::regclass", (f"public.{table}",)).fetchall()


def _dump(conn, query: str) -> bytes:
    buf = io.BytesIO()
    with conn.cursor().copy(f"COPY ({query}) TO STDOUT") as cp:
        for chunk in cp:
            buf.write(chunk)
    return buf.getvalue()


def copy_baseline(url: str, tables: dict[str, int], runs: int = 3, written_after: str | None = None) -> dict:
    """COPY the rows the run wrote into identically built tables; median of ``runs`` timed COPYs.

    The rows are COPYed out first, so the timed part is the server's alone: parsing, checking
    constraints, maintaining indexes — no client-side formatting (the pipeline pays that).
    ``written_after`` (a steady state): only the rows written after that transaction are timed,
    into tables already holding the other rows of ``tables``, loaded before the foreign keys
    exist; those are then added ``NOT VALID``, so they check the timed rows alone.
    """
    import statistics

    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        dumps, kept, columns = {}, {}, {}
        for t in tables:  # generated columns are computed on load, as the pipeline's inserts have them
            columns[t] = ", ".join(r[0] for r in conn.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' "
                "AND table_name = %s AND is_generated = 'NEVER' ORDER BY ordinal_position", (t,)))
            if written_after is None:
                dumps[t] = _dump(conn, f"SELECT {columns[t]} FROM public.{t}")
                continue
            dumps[t] = _dump(conn, f"SELECT {columns[t]} FROM public.{t} WHERE {_written(written_after)}")
            kept[t] = _dump(conn, f"SELECT {columns[t]} FROM public.{t} WHERE NOT ({_written(written_after)})")
        timings = []
        for run in range(runs):
            schema = f"copybase{run}"
            conn.execute(f"CREATE SCHEMA {schema}")
            for t in tables:  # same columns, defaults, indexes, unique constraints and foreign keys
                conn.execute(f"CREATE TABLE {schema}.{t} (LIKE public.{t} INCLUDING ALL)")
            for t, data in kept.items():
                with conn.cursor().copy(f"COPY {schema}.{t} ({columns[t]}) FROM STDIN") as cp:
                    cp.write(data)
            for t in tables:
                for name, definition in foreign_keys(conn, t):
                    conn.execute(f"ALTER TABLE {schema}.{t} ADD CONSTRAINT {name} "
                                 + definition.replace("REFERENCES ", f"REFERENCES {schema}.", 1)
                                 + (" NOT VALID" if kept else ""))
            if kept:
                conn.execute(f"ANALYZE {', '.join(f'{schema}.{t}' for t in tables)}")
            started = time.perf_counter()
            with conn.transaction():
                for t, data in dumps.items():
                    with conn.cursor().copy(f"COPY {schema}.{t} ({columns[t]}) FROM STDIN") as cp:
                        cp.write(data)
            timings.append(time.perf_counter() - started)
            conn.execute(f"DROP SCHEMA {schema} CASCADE")
        if written_after is not None:  # the timed rows (COPY text: one line a row)
            tables = {t: data.count(b"\n") for t, data in dumps.items()}
    rows = sum(tables.values())
    seconds = statistics.median(timings)
    return {"seconds": round(seconds, 2), "rows": rows, "rows_per_s": round(rows / seconds),
            "runs_rows_per_s": [round(rows / t) for t in timings]}


def run_child(db: str, records: int, batch: int, steady: bool) -> dict:
    proc = subprocess.run(
        [sys.executable, __file__, "--child", "--db", db, "--records", str(records), "--batch", str(batch),
         "--steady" if steady else "--no-steady"],
        check=True, capture_output=True, text=True, env={**os.environ, "LIFESYNC_LOG_LEVEL": "WARNING"},
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])


def report(big: dict, small: dict) -> None:
    print(f"\n== {big['db']} ==")
    print(f"records            {big['records']:>12,}   (batch {big['batch']})")
    print(f"ingest time        {big['seconds']:>12.2f} s  (+{big['generator_seconds']:.2f} s generating records,"
          " not counted)")
    print(f"records/s          {big['records_per_s']:>12,}")
    print(f"rows per record    {big['rows_per_record']:>12}   {big['rows_by_table']}")
    print(f"rows/s             {big['rows_per_s']:>12,}")
    print(f"peak RSS           {big['peak_rss_mb']:>12} MB  ({small['records']:,} records: "
          f"{small['peak_rss_mb']} MB)")
    print(f"mapping worker RSS {big['worker_peak_rss_mb']:>12} MB  ({small['records']:,} records: "
          f"{small['worker_peak_rss_mb']} MB)")
    if "copy" in big:
        c = big["copy"]
        print(f"COPY baseline      {c['rows_per_s']:>12,} rows/s  (median of {c['runs_rows_per_s']}; "
              f"{c['rows']:,} rows in {c['seconds']} s)")
        print(f"ratio to COPY      {big['ratio_to_copy']:>12}")
    print(f"counts             {big['result']}")
    if "steady" not in big:
        return
    st, small_st = big["steady"], small["steady"]
    print(f"-- steady state: the {st['records']:,} contacts changed, ingested again --")
    print(f"ingest time        {st['seconds']:>12.2f} s")
    print(f"records/s          {st['records_per_s']:>12,}   ({small_st['records']:,} records: "
          f"{small_st['records_per_s']:,})")
    print(f"peak RSS           {st['peak_rss_mb']:>12} MB  ({small_st['records']:,} records: "
          f"{small_st['peak_rss_mb']} MB)")
    if "copy" in st:
        c = st["copy"]
        print(f"rows written       {st['rows_written']:>12,}   ({st['rows_per_record']} per record: "
              f"{st['rows_by_table']})")
        print(f"rows/s             {st['rows_per_s']:>12,}")
        print(f"COPY baseline      {c['rows_per_s']:>12,} rows/s  (median of {c['runs_rows_per_s']}; "
              f"{c['rows']:,} rows in {c['seconds']} s, into tables holding the rest)")
        print(f"ratio to COPY      {st['ratio_to_copy']:>12}")
    print(f"counts             {st['result']}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--records", type=int, default=100_000)
    ap.add_argument("--batch", type=int, default=1000)
    ap.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    ap.add_argument("--steady", action=argparse.BooleanOptionalAction, default=True,
                    help="then re-ingest the same records changed (default: yes)")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    if args.child:
        print(json.dumps(child(args.db, args.records, args.batch, args.steady)))
        return
    for db in (["sqlite", "postgresql"] if args.db == "both" else [args.db]):
        big = run_child(db, args.records, args.batch, args.steady)
        small = run_child(db, max(args.records // 10, 1), args.batch, args.steady)
        report(big, small)


if __name__ == "__main__":
    main()
