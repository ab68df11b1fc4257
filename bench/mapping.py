"""Benchmark: µs per record of ``sync.mappings.apply`` for every shipped mapping.

    python bench/mapping.py [--records 5000] [--people 2000] [--repeat 3] [--only hubspot_contacts]

``hubspot_contacts`` maps ``--records`` contacts of distinct people from
``sync.demo.business.hubspot_contact_stream(seed=11, count=N)`` with the shipped
``config/mappings/hubspot_contacts.yaml`` (target: at most 120 µs per record). Every other
shipped mapping maps the records of its (source, object) from
``sync.demo.business.generate_business(seed=7, people_count=--people).batches()``.

Records are generated before timing starts, so only ``apply`` is measured. Each mapping is
timed ``--repeat`` times, each time from freshly loaded mappings and empty transform caches
(every value is new to the run, as in a real ingest), and the best run is printed.
"""

from __future__ import annotations

import argparse
import gc
import time
from pathlib import Path
from typing import Any

from sync.demo.business import generate_business, hubspot_contact_stream
from sync.mappings import apply, load_mapping

MAPPINGS_DIR = Path(__file__).resolve().parents[1] / "config" / "mappings"


def clear_caches() -> None:
    """Empty the memoised transforms so every run starts cold."""
    try:
        from sync.mappings.registry import clear_caches as clear
    except ImportError:  # older layout without caches
        return
    clear()


def time_mapping(file: Path, records: list[dict[str, Any]], repeat: int) -> float:
    """Best µs per record over ``repeat`` runs of ``apply`` over ``records``."""
    best = float("inf")
    for _ in range(repeat):
        clear_caches()
        mapping = load_mapping(file)
        gc.collect()
        start = time.perf_counter()
        for record in records:
            apply(mapping, record)
        best = min(best, time.perf_counter() - start)
    return best / len(records) * 1e6


def main() -> None:
    """Parse arguments, build the records, time each mapping and print a table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=5000, help="HubSpot contacts to stream (seed 11)")
    parser.add_argument("--people", type=int, default=2000, help="people in the synthetic business (seed 7)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per mapping; the best is printed")
    parser.add_argument("--only", help="time just this mapping (file stem)")
    args = parser.parse_args()

    files = {p.stem: p for p in sorted(MAPPINGS_DIR.glob("*.yaml"))}
    work: list[tuple[str, list[dict[str, Any]]]] = []
    if args.only in (None, "hubspot_contacts"):
        work.append(("hubspot_contacts", list(hubspot_contact_stream(seed=11, count=args.records))))
    if args.only != "hubspot_contacts":
        by_key = {}
        for name, file in files.items():
            mapping = load_mapping(file)
            by_key[(mapping.source, mapping.object)] = name
        for source, obj, records in generate_business(seed=7, people_count=args.people).batches():
            name = by_key.get((source, obj))
            if name and records and args.only in (None, name):
                work.append((f"{name} (business)" if name == "hubspot_contacts" else name, records))

    print(f"{'mapping':<30} {'records':>8} {'µs/record':>10}")
    for name, records in work:
        us = time_mapping(files[name.split()[0]], records, args.repeat)
        print(f"{name:<30} {len(records):>8} {us:>10.1f}")


if __name__ == "__main__":
    main()
