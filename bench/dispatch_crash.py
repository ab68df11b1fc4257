"""Benchmark: what a dispatcher killed mid-pass re-sends to Google, and how lifesync counts it.

    python bench/dispatch_crash.py [--events 6000] [--kill-after 2] [--database-url URL]

``--events`` purchases wait in the outbox for Google (Ads API transport, 2,000 conversions per
request) in a fresh SQLite file (or ``--database-url``, an empty migrated database). The Google
Ads sandbox runs in this process. A child process runs ``dispatch_all`` and is killed with
``os._exit`` right after Google answered batch ``--kill-after`` — sent, accepted, not yet
recorded by lifesync (the worst moment). Then a normal run dispatches what is left.

Printed: requests and events of the re-run, how many of them Google had already (its
``ORDER_ID_ALREADY_IN_USE`` refusals: re-sends), what lifesync counted sent and delivered
before, and the outbox at the end. Run it with ``PYTHONPATH=<another checkout>`` to measure
other code with the same script (the seeding comes from this checkout's ``tests/support``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

CHILD = """
import os, sys
from sync.attribution.configure import destination_configs
from sync.attribution.dispatch import dispatch_all
from sync.attribution.networks import sender_for
from sync.config import load_config
from sync.settings import Settings
from sync.store.engine import open_store

kill_after = int(sys.argv[1])
dest = destination_configs(Settings.from_env(), load_config(None))["google"]
real = sender_for(dest)
real_send, answered = real.send, [0]

def send(events):
    results = real_send(events)
    answered[0] += 1
    if answered[0] == kill_after:
        os._exit(9)  # killed: Google has the batch, lifesync has not written it down
    return results

real.send = send
dispatch_all(open_store(os.environ["DATABASE_URL"]), dest, real)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=6000)
    parser.add_argument("--kill-after", type=int, default=2)
    parser.add_argument("--database-url")
    args = parser.parse_args()

    from support.conversions import seed, statuses
    from support.crm import KEY, settings_for

    from sync.attribution.configure import destination_configs
    from sync.attribution.dispatch import dispatch_all
    from sync.attribution.networks import sender_for
    from sync.config import load_config
    from sync.sandbox.ads.google_ads import GoogleAdsSandbox
    from sync.sandbox.server import SandboxServer
    from sync.store.engine import open_store

    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{tmp}/crash.db"
        store = open_store(url)
        seed(store, args.events, destinations=("google",))
        google = GoogleAdsSandbox()
        with SandboxServer(google=google) as server:
            settings = settings_for(server, url, LIFESYNC_GOOGLE_ADS_TRANSPORT="ads_api")
            env = {k: v for k, v in os.environ.items() if not k.startswith("LIFESYNC_")}
            env.update(server.env(), DATABASE_URL=url, LIFESYNC_GOOGLE_ADS_TRANSPORT="ads_api", LIFESYNC_SECRET_KEY=KEY)
            child = subprocess.run([sys.executable, "-c", CHILD, str(args.kill_after)], env=env, cwd=tmp, check=False)
            at_kill = {"exit": child.returncode, "requests": google.requests, "accepted": len(google.accepted),
                       "outbox": statuses(store, "google")}
            dest = destination_configs(settings, load_config(None))["google"]
            requests, accepted = google.requests, len(google.accepted)
            counts = dispatch_all(store, dest, sender_for(dest))
            rerun = {"requests": google.requests - requests, "events": len(google.accepted) - accepted
                     + len(google.duplicate_events), "resent": len(google.duplicate_events),
                     "counted_sent": counts.sent, "counted_delivered_before": getattr(counts, "delivered_before", None),
                     "outbox": statuses(store, "google")}
        store.dispose()
    print(json.dumps({"events": args.events, "batch": 2000, "killed_after_batch": args.kill_after,
                      "at_kill": at_kill, "rerun": rerun,
                      "google_holds": len({c["orderId"] for c in google.accepted})}, indent=1))


if __name__ == "__main__":
    main()
