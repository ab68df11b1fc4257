"""Benchmark: conversions built, normalised, hashed and sent to the ad-network sandboxes.

    python bench/dispatch.py [--events 100000]

The sandboxes run in their own process (``lifesync sandbox``). For Meta, TikTok and Google in
turn, ``--events`` synthetic purchases (unique e-mails and phones, repeated cities, states
and countries, as real customer lists have) are built with the network's payload builder and
one normalisation cache per batch, then sent with the network's sender. It prints events/s
for build + normalise + hash, events/s including the sends, and API requests per event
(targets: exactly ⌈n/1000⌉ requests for Meta and TikTok, ⌈n/2000⌉ for Google when nothing is
rejected).

It then times Meta's own Python SDK (``facebook_business``, a test-only dependency) normalising
and hashing the same user data (em, ph, fn, ln, ct, st, zp, country) against lifesync's
``hashing`` through the per-batch cache, and prints the ratio (target ≥ 1.5× the SDK) and how
many values the SDK refuses or gets wrong under the stricter rules lifesync follows
(country and state names, national phone numbers, ZIP+4).
"""

from __future__ import annotations

import argparse
import math
import os
import random
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

CITIES = [("Lisbon", "Lisboa", "Portugal", "1100-148", "PT"), ("Porto", "Porto", "PT", "4000-322", "PT"),
          ("Austin", "Texas", "United States", "73301-0001", "US"),
          ("San Francisco", "California", "US", "94103", "US"),
          ("London", "England", "United Kingdom", "SW1A 1AA", "GB"), ("Madrid", "Madrid", "Spain", "28013", "ES"),
          ("Mexico City", "CDMX", "Mexico", "06600", "MX"), ("Dubai", "Dubai", "United Arab Emirates", "00000", "AE")]
FIRST = ["Ana", "José", "Mary", "Oliver", "Fatima", "Chloe", "Lucía", "Yousef", "Liam", "Sofía"]
LAST = ["Silva", "O'Connor", "Smith", "García", "Hussain", "Young", "López", "Brown"]
PHONES = {"PT": "+3519{:08d}", "US": "+1512{:07d}", "GB": "+447{:09d}", "ES": "+346{:08d}", "MX": "+5255{:08d}",
          "AE": "+9715{:08d}"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_sandbox() -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-c", "from sync.cli.main import run; run()", "sandbox",
                             "--port", str(port),
                             "--contacts", "0", "--leads", "0", "--no-rate-limits"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc, f"http://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("sandbox did not start")


def facts(n: int, seed: int = 5):
    from sync.attribution.facts import ContactFacts, ConversionFacts, TouchpointFacts

    rng = random.Random(seed)
    now = datetime.now(UTC)
    for i in range(n):
        city, state, country, zip_, code = rng.choice(CITIES)
        contact = ContactFacts(contact_id=i + 1, emails=(f"Buyer.{i}@Example.com ",),
                               phones=(PHONES[code].format(rng.randrange(10**7)),), first_name=rng.choice(FIRST),
                               last_name=rng.choice(LAST), city=city, state=state, zip=zip_, country=country)
        conv = ConversionFacts(event_id=f"bench-{i:08d}", kind="purchase",
                               occurred_at=now - timedelta(minutes=rng.randrange(600)),
                               value=round(rng.uniform(5, 500), 2), currency="EUR", order_id=f"o{i}")
        touch = TouchpointFacts(channel="web", network=None, occurred_at=now - timedelta(days=1),
                                click_ids={"gclid": f"Cj0K{i}", "ttclid": f"E.C.P.{i}", "fbclid": f"IwAR{i}"})
        yield conv, contact, [touch]


def destinations(url: str) -> dict:
    from sync.attribution.configure import destination_config
    from sync.attribution.networks import NETWORKS
    from sync.sandbox.ads.google_ads import GoogleAdsSandbox
    from sync.sandbox.ads.meta import MetaSandbox
    from sync.sandbox.ads.tiktok import TikTokSandbox
    from sync.sandbox.server import SandboxServer
    from sync.settings import Settings

    # not started: only its settings, for the sandbox serving at ``url`` in its own process
    server = SandboxServer(meta=MetaSandbox(), tiktok=TikTokSandbox(), google=GoogleAdsSandbox(),
                           port=int(url.rsplit(":", 1)[1]))
    settings = Settings.from_env(server.env())
    return {name: destination_config(settings, name, name) for name in NETWORKS}


def run_network(name: str, dest, n: int) -> dict:
    from sync.attribution.destination import NormalizeCache
    from sync.attribution.networks import network, sender_for

    build = network(name).build
    sender = sender_for(dest)
    built_seconds = total_started = 0.0
    total_started = time.perf_counter()
    sent = failed = 0
    batch: list = []
    cache = NormalizeCache()

    def flush():
        nonlocal sent, failed, batch, cache
        for result in sender.send(batch):
            sent += result.status == "sent"
            failed += result.status != "sent"
        batch, cache = [], NormalizeCache()

    for conv, contact, touches in facts(n):
        t = time.perf_counter()
        batch.append(build(conv, contact, touches, dest, cache=cache))
        built_seconds += time.perf_counter() - t
        if len(batch) == sender.max_batch:
            flush()
    if batch:
        flush()
    total = time.perf_counter() - total_started
    return {"sent": sent, "failed": failed, "requests": sender.requests, "build_s": built_seconds, "total_s": total,
            "expected": math.ceil(n / sender.max_batch)}


def compare_sdk(n: int) -> None:
    from facebook_business.adobjects.serverside.normalize import Normalize

    from sync.attribution.destination import NormalizeCache
    from sync.attribution.networks.meta import USER_DATA as META

    rows = []
    for _, contact, _ in facts(n):
        rows.append({"em": contact.emails[0], "ph": contact.phones[0], "fn": contact.first_name,
                     "ln": contact.last_name, "ct": contact.city, "st": contact.state, "zp": contact.zip,
                     "country": contact.country})
    fields = {"em": "email", "ph": "phone", "fn": "first_name", "ln": "last_name", "ct": "city", "st": "state",
              "zp": "zip", "country": "country"}
    refused = 0
    started = time.perf_counter()
    sdk_out = []
    for row in rows:
        out = {}
        for key, value in row.items():
            try:
                out[key] = Normalize.normalize_field(key, value)  # normalised, then SHA-256 by the SDK itself
            except (TypeError, ValueError):
                refused += 1
        sdk_out.append(out)
    sdk_seconds = time.perf_counter() - started
    started = time.perf_counter()
    ours = []
    cache = NormalizeCache()
    for i, row in enumerate(rows):
        if i % 1000 == 0:
            cache = NormalizeCache()
        ours.append({key: cache.phone(META, value) if key == "ph" else cache.wire(META, fields[key], value, None)
                     for key, value in row.items()})  # as the Meta builder calls them
    our_seconds = time.perf_counter() - started
    differ = sum(1 for a, b in zip(sdk_out, ours, strict=True) for k in b if k in a and a[k] != b[k])
    print(f"\nnormalise + hash of {n:,} users' em, ph, fn, ln, ct, st, zp, country:")
    print(f"  facebook_business SDK: {sdk_seconds:.2f} s ({n / sdk_seconds:,.0f} users/s); it refused {refused:,} "
          f"values (country and state names) and hashed {differ:,} differently from Meta's stricter rules")
    print(f"  lifesync (per-batch cache): {our_seconds:.2f} s ({n / our_seconds:,.0f} users/s)")
    print(f"  ratio: {sdk_seconds / our_seconds:.1f}x the SDK (target ≥ 1.5x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=100_000)
    args = parser.parse_args()
    os.environ.setdefault("LIFESYNC_LOG_LEVEL", "WARNING")
    import logging

    logging.basicConfig(level=logging.WARNING)
    from sync.attribution.networks import NETWORKS

    proc, url = start_sandbox()
    try:
        dests = destinations(url)
        print(f"dispatch benchmark: {args.events:,} purchases per network, sandboxes at {url}")
        print(f"{'network':<9}{'sent':>9}{'failed':>8}{'requests':>10}{'expected':>10}{'build ev/s':>12}"
              f"{'end-to-end ev/s':>17}")
        for name in NETWORKS:
            r = run_network(name, dests[name], args.events)
            print(f"{name:<9}{r['sent']:>9,}{r['failed']:>8,}{r['requests']:>10,}{r['expected']:>10,}"
                  f"{args.events / r['build_s']:>12,.0f}{args.events / r['total_s']:>17,.0f}")
    finally:
        proc.kill()
    compare_sdk(args.events)


if __name__ == "__main__":
    main()
