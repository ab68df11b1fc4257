"""Benchmark: segment membership — a full evaluation of 10 segments, and incremental upkeep per 1,000 changed contacts.

    python bench/segments.py [--contacts 1000000] [--changed 1000] [--rounds 3] [--database URL] [--reuse]
                             [--audience 100000] [--audience-small 300] [--audience-segment customers]

Fills an empty database (a new SQLite file by default; ``--database`` a PostgreSQL URL of an
empty database) with ``--contacts`` synthetic contacts (stage, fields, identities, messages,
purchases, ad touches, consent: what the conditions read), then times:

* ``full``: ``sync.segments.membership.evaluate`` of the 10 segments below over every contact
  (the first one fills ``segment_members``; a second run, with nothing to change, is the steady
  state the hourly schedule sees);
* ``incremental``: ``--changed`` random contacts get a new stage and are queued, as the pipeline
  queues them, then ``drain`` evaluates every segment for those contacts only (``--rounds`` times;
  the best and the median are printed).

* ``audiences`` (``--audience`` members, 0 for none): those of ``--audience-segment`` synced to
  each audience destination's sandbox, a first sync then a repeat after ``--changed`` contacts
  changed: requests recorded versus the vendor minimum (``bench/segment_audiences.py``).

``--reuse`` runs on a database that already holds contacts (bench/api.py's 1,000,000:
``--database postgresql+psycopg://root@127.0.0.1:5432/lifesync_api_bench --reuse``): nothing is
filled, and the stages the incremental rounds change are put back (and drained) after each round.

Data is generated before timing starts; only the evaluations and syncs are timed.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import segment_audiences as audiences  # bench/, beside this file
import yaml
from sqlalchemy import delete, select, update

from sync.config import load_config
from sync.config.brands import ONE_BRAND
from sync.segments import dirty
from sync.segments.membership import current_members, drain, evaluate
from sync.segments.parse import parse_segment
from sync.store import model
from sync.store.engine import open_store
from sync.store.sql import insert_rows

NOW = datetime(2026, 6, 1, tzinfo=UTC)
STAGES = ("New Lead", "Hot Lead", "Payment", "Customer")
SEGMENTS = {
    "hot-sa": "{label: a, conditions: [{stage: Hot Lead}, {field: {name: country, equals: SA}}]}",
    "customers": "{label: b, conditions: [{stage: Customer}]}",
    "lapsed": "{label: c, conditions: [{stage: Customer}, {purchases: {count: {gte: 1}, last: {older_than: 60d}}}]}",
    "big": "{label: d, conditions: [{purchases: {total: {gt: 300}}}]}",
    "repeat": "{label: e, conditions: [{purchases: {count: {gte: 2}}}]}",
    "active": "{label: f, conditions: [{last_inbound: {within: 14d}}]}",
    "ctwa": "{label: g, conditions: [{first_touch: {network: meta, channel: whatsapp}}, {phase: acquisition}]}",
    "stuck": "{label: h, conditions: [{in_stage_for: {more_than: 30d}}, {not: {lost_stage: any}}]}",
    "wa-consent": "{label: i, conditions: [{has_identity: whatsapp}, {consent: {ad_user_data: granted}}]}",
    "vip": "{label: j, match: any, conditions: [{field: {name: tier, in: [gold, platinum]}}, "
           "{purchases: {total: {gte: 1000}}}]}",
}


def segments() -> list[Any]:
    lifecycle = load_config(None).lifecycle
    out = []
    for key, text in SEGMENTS.items():
        found, issues = parse_segment(yaml.safe_load(text), key, key, {}, ONE_BRAND, lifecycle, ())
        assert found is not None, issues
        out.append(found)
    return out


def fill(store: Any, count: int, rng: random.Random) -> None:
    """``count`` contacts and their rows, inserted in chunks (COPY on PostgreSQL)."""
    chunk = 50_000
    for start in range(1, count + 1, chunk):
        ids = range(start, min(start + chunk, count + 1))
        contacts, identities, activities, purchases, touches = [], [], [], [], []
        for i in ids:
            contacts.append({"id": i, "created_at": NOW, "updated_at": NOW, "stage": rng.choice(STAGES),
                             "lost_stage": "Cold Lead" if rng.random() < 0.1 else None,
                             "stage_changed_at": NOW - timedelta(days=rng.randint(0, 90)),
                             "attributes": {"country": {"value": rng.choice(("SA", "AE", "EG")), "source": "b"},
                                            "tier": {"value": rng.choice(("gold", "silver", "none")), "source": "b"}},
                             "consent": {"ad_user_data": rng.choice((True, False, None))}})
            kind = rng.choice(("email", "whatsapp"))
            identities.append({"contact_id": i, "kind": kind, "source": "b", "first_seen_at": NOW,
                               "value": f"c{i}@example.com" if kind == "email" else f"+9665{i:08d}"})
            if rng.random() < 0.5:  # a HubSpot record id, for the hubspot_list destination
                identities.append({"contact_id": i, "kind": "hubspot", "value": str(10_000 + i), "source": "b",
                                   "first_seen_at": NOW})
            for n in range(rng.randint(0, 2)):
                activities.append({"key": f"a{i}-{n}", "contact_id": i, "channel": "whatsapp",
                                   "direction": rng.choice(("inbound", "outbound")), "source": "b",
                                   "occurred_at": NOW - timedelta(days=rng.randint(0, 60))})
            for n in range(rng.choice((0, 0, 1, 2))):
                purchases.append({"event_id": f"e{i}-{n}", "contact_id": i, "kind": "purchase",
                                  "value": float(rng.randint(20, 800)), "source": "b", "object": "order",
                                  "record_id": f"o{i}-{n}", "occurred_at": NOW - timedelta(days=rng.randint(0, 200)),
                                  "created_at": NOW, "brand": "default"})
            if rng.random() < 0.5:
                touches.append({"key": f"t{i}", "contact_id": i, "channel": rng.choice(("whatsapp", "web")),
                                "network": rng.choice(("meta", "google")), "source": "b", "record_id": f"t{i}",
                                "occurred_at": NOW - timedelta(days=rng.randint(0, 90)), "brand": "default"})
        with store.transaction() as session:
            for entity, rows in ((model.Contact, contacts), (model.Identity, identities),
                                 (model.Activity, activities), (model.ConversionEvent, purchases),
                                 (model.Touchpoint, touches)):
                insert_rows(session, entity, rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--changed", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--database", default=None, help="an empty database (default: a new SQLite file)")
    parser.add_argument("--reuse", action="store_true",
                        help="the database already holds contacts (e.g. bench/api.py's): fill nothing, and put "
                             "back the stages the incremental rounds change")
    parser.add_argument("--audience", type=int, default=100_000,
                        help="members of --audience-segment synced to each audience destination's sandbox (0: none)")
    parser.add_argument("--audience-small", type=int, default=300,
                        help="members synced to respond.io (one call per member, 5 a second)")
    parser.add_argument("--audience-segment", default="customers", choices=sorted(SEGMENTS))
    args = parser.parse_args()
    url = args.database or f"sqlite:///{tempfile.mkdtemp(prefix='lifesync-bench-')}/segments.db"
    started = time.perf_counter()
    store = open_store(url)
    print(f"opened (migrated to head) in {time.perf_counter() - started:.0f} s", flush=True)
    rng = random.Random(7)
    chosen = segments()
    if args.reuse:
        with store.transaction() as session:  # a previous run's memberships gone: the first evaluation is one
            ids = list(session.scalars(select(model.Contact.id)))
            for table in (model.SegmentMember, model.SegmentEvaluation):
                session.execute(delete(table).where(table.segment.in_(list(SEGMENTS))))
    else:
        fill(store, args.contacts, rng)
        ids = list(range(1, args.contacts + 1))
    print(f"{store.dialect}: {len(ids):,} contacts, {len(chosen)} segments", flush=True)
    for label in ("full (first)", "full (steady)"):
        start = time.perf_counter()
        changes = evaluate(store, chosen, NOW)
        took = time.perf_counter() - start
        print(f"{label:14} {took:8.2f} s   members: {sum(c.size or 0 for c in changes):,}", flush=True)
    times = []
    for _ in range(args.rounds):
        picked = rng.sample(ids, min(args.changed, len(ids)))
        with store.transaction() as session:
            if args.reuse:
                before = {i: stage for i, stage in session.execute(
                    select(model.Contact.id, model.Contact.stage).where(model.Contact.id.in_(picked)))}
            for i in picked:
                session.execute(update(model.Contact).where(model.Contact.id == i).values(stage=rng.choice(STAGES)))
            dirty.mark(session, picked)
        start = time.perf_counter()
        drain(store, chosen, NOW)
        times.append(time.perf_counter() - start)
        if args.reuse:  # the database is shared: its stages as they were (membership follows next evaluation)
            with store.transaction() as session:
                for i, stage in before.items():
                    session.execute(update(model.Contact).where(model.Contact.id == i).values(stage=stage))
                dirty.mark(session, list(before))
            drain(store, chosen, NOW)  # untimed: memberships as they were too
    print(f"incremental    {min(times) * 1000:8.0f} ms best, {statistics.median(times) * 1000:.0f} ms median "
          f"per {args.changed:,} changed contacts ({len(chosen)} segments)", flush=True)
    if args.audience:
        with store.transaction() as session:
            candidates = sorted(session.scalars(current_members(session, args.audience_segment)))
        print(f"\naudiences: {args.audience:,} of the {len(candidates):,} members of {args.audience_segment!r} "
              f"({args.audience_small:,} for respond.io), then {args.changed:,} changed", flush=True)
        audiences.run(store, candidates, size=args.audience, small=args.audience_small, changed=args.changed)
    store.dispose()


if __name__ == "__main__":
    main()
