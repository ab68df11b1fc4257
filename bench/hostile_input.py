"""Benchmark: what hostile input costs — 5xx answers from fuzzed signed webhooks, and YAML attack files.

    python bench/hostile_input.py [--fuzz 300] [--skip-yaml] [--skip-fuzz]

Webhooks: ``--fuzz`` signed deliveries per receiver, drawn by the suite's fuzz strategies
(``tests/web/webhooks/test_receiver_fuzz.py``: valid deliveries with a part replaced by any JSON,
bodies nested 50,000 deep, numbers of thousands of digits, lone surrogates, other encodings,
forged signature headers with non-ASCII bytes), posted to the app with the test client on a
fresh SQLite database (``DATABASE_URL`` to use another); prints the 5xx count per receiver
(target 0).

Config: each attack file of ``tests/support/yaml_attacks.py`` (billion laughs, a ~900-byte
merge-key bomb, 10,000-deep nesting, a 60 MB file, a NUL byte, Latin-1 bytes) loaded by
``sync.config.yamlload.load_yaml`` in its own process, limited to 60 s and 3 GB of address
space: seconds, peak RSS and the outcome (target: refused within a second, as a config issue).
"""

from __future__ import annotations

import argparse
import collections
import logging
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "tests" / "web" / "webhooks")]
ATTACKS = ("laughs", "merge", "deep", "big", "nul", "latin1")


def attack(kind: str) -> str | bytes:
    """The text (or bytes) of one attack file."""
    from support import yaml_attacks as a

    return {"laughs": a.billion_laughs, "merge": a.merge_bomb, "deep": a.deep_nesting,
            "big": lambda: a.oversized(60_000_000), "nul": a.with_nul, "latin1": lambda: a.NOT_UTF8}[kind]()


def load_one(kind: str) -> None:
    """Load one attack file (in this process) and print seconds, peak RSS and the outcome."""
    from sync.config.yamlload import load_yaml

    content = attack(kind)
    path = Path(tempfile.mkdtemp()) / f"{kind}.yaml"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    start = time.perf_counter()
    try:
        load_yaml(path)
        outcome = "loaded"
    except Exception as exc:  # the point: what it raises
        outcome = f"{type(exc).__name__}: {str(exc).splitlines()[0][:110]}"
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"  {kind:7} {path.stat().st_size:>11,} B {time.perf_counter() - start:7.2f} s {rss:6.0f} MB  {outcome}")


def yaml_attacks() -> None:
    """Each attack file in its own bounded process."""
    print("YAML attack files (60 s and 3 GB at most each):")
    for kind in ATTACKS:
        start = time.perf_counter()
        try:
            subprocess.run([sys.executable, __file__, "--yaml-one", kind], check=False, timeout=60,
                           preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30)))
        except subprocess.TimeoutExpired:
            print(f"  {kind:7} still loading after {time.perf_counter() - start:.0f} s: stopped")


def fuzz(examples: int) -> None:
    """Post ``examples`` fuzzed signed deliveries to every receiver; print the 5xx counts."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st
    from support.receivers import RECEIVER_ENV, RECEIVERS
    from support.webhook_app import app_with
    from test_receiver_fuzz import HEADER_TEXT, bodies

    from sync.config import load_config
    from sync.store.engine import open_store

    logging.disable(logging.CRITICAL)
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{tempfile.mkdtemp()}/fuzz.db"
    store, enqueued = open_store(url), []
    client = app_with(store, load_config(None), enqueued, url, **RECEIVER_ENV).test_client()
    total, fives = collections.Counter(), collections.Counter()
    for receiver in RECEIVERS:
        post = _poster(receiver, client, total, fives)
        settings(max_examples=examples, deadline=None, database=None, suppress_health_check=list(HealthCheck))(
            given(body=bodies(receiver), forge=st.booleans(), value=HEADER_TEXT,
                  byte=st.characters(min_codepoint=0x80, max_codepoint=0xFF))(post))()
    print(f"webhooks: {sum(fives.values())} 5xx of {sum(total.values())} fuzzed deliveries ({url.split(':')[0]})")
    for name in total:
        print(f"  {name:12} {fives[name]:4} of {total[name]}")
    store.dispose()


def _poster(receiver: Any, client: Any, total: collections.Counter, fives: collections.Counter) -> Any:
    """The body of one fuzzed POST to ``receiver``, counting its answers."""
    from test_receiver_fuzz import signed

    def post(body: bytes, forge: bool, value: str, byte: str) -> None:
        delivery = signed(receiver, body)
        if forge:
            delivery = delivery.with_header(receiver.header, value[:10] + byte + value[10:])
        status = client.post(delivery.path, data=delivery.body, headers=delivery.headers).status_code
        total[receiver.name] += 1
        fives[receiver.name] += status >= 500

    return post


def main() -> None:
    """Parse the options and run the measurements."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fuzz", type=int, default=300, help="fuzzed deliveries per receiver")
    parser.add_argument("--skip-fuzz", action="store_true")
    parser.add_argument("--skip-yaml", action="store_true")
    parser.add_argument("--yaml-one", choices=ATTACKS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.yaml_one:
        load_one(args.yaml_one)
        return
    if not args.skip_fuzz:
        fuzz(args.fuzz)
    if not args.skip_yaml:
        yaml_attacks()


if __name__ == "__main__":
    main()
