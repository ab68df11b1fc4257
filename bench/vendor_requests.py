"""Every request ``lifesync demo`` sends to the vendor sandboxes, checked against references the vendors wrote.

    python bench/vendor_requests.py [--people 5000] [--seed 7] [--save FILE | --load FILE] [--reasons 3]

Runs the demo in this process (``sync.demo.run.run_demo``, the code path of ``lifesync demo``,
on a throw-away SQLite database) inside ``sync.sandbox.recording.recording()``, so the sandbox
server records each request it receives (nothing is recorded in normal runs). Each request is
then checked by ``bench/vendor_refs`` against the vendor's own reference: HubSpot's
``hubspot-api-client`` models, ``simple-salesforce``'s methods, Meta's ``facebook_business``
serverside SDK, Google's ``google-ads-datamanager`` and ``google-ads`` protos; TikTok
publishes none for the API lifesync calls. It prints one row per vendor and endpoint: requests
recorded, the events / records / inputs they carried, how many the reference accepts, refuses
(with the first reasons) or cannot check (and why).

``--save`` writes the recorded requests (JSON lines) and ``--load`` checks such a file without
running the demo. The vendor libraries are test extras: ``pip install -e '.[test]'``.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import asdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.vendor_refs import ACCEPTED, REFUSED, UNCHECKED, check  # noqa: E402
from sync.sandbox.recording import RecordedRequest, recording  # noqa: E402

# vendors lifesync talks to that the demo has no sandbox for, and why
NOT_IN_DEMO = {"respond.io": "no sandbox: the demo ingests respond.io's contact export, it calls no respond.io API"}
VENDOR_OF = {"hubspot": "HubSpot", "salesforce": "Salesforce", "meta": "Meta", "tiktok": "TikTok", "google": "Google"}


def record_demo(people: int, seed: int) -> tuple[list[RecordedRequest], float]:
    """Run the demo with the sandboxes recording; the requests and the seconds it took."""
    from sync.demo.run import run_demo
    from sync.settings import Settings

    env = {k: v for k, v in os.environ.items() if not k.startswith("LIFESYNC_") and k != "DATABASE_URL"}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp, recording() as log:
        run_demo(Settings.from_env(env), people=people, seed=seed, database_url=f"sqlite:///{tmp}/demo.db",
                 echo=lambda line: None, report_path=Path(tmp) / "report.html")
    return list(log), time.perf_counter() - started


def save(requests: list[RecordedRequest], path: Path) -> None:
    """The requests as JSON lines (bodies base64)."""
    with path.open("w") as out:
        for item in requests:
            out.write(json.dumps({**asdict(item), "body": base64.b64encode(item.body).decode()}) + "\n")


def load(path: Path) -> list[RecordedRequest]:
    """Requests written by ``save``."""
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [RecordedRequest(**{**row, "body": base64.b64decode(row["body"])}) for row in rows]


def table(requests: list[RecordedRequest], reasons: int) -> list[str]:
    """The verdicts of every request, one line per vendor and endpoint."""
    rows: dict[tuple[str, str], dict] = defaultdict(lambda: {"n": 0, "items": 0, ACCEPTED: 0, REFUSED: 0,
                                                             UNCHECKED: 0, "why": {}, "notes": {}, "ref": set()})
    for request in requests:
        verdict = check(request)
        row = rows[(verdict.vendor, verdict.endpoint)]
        row["n"] += 1
        row["items"] += verdict.items
        row[verdict.outcome] += 1
        row["ref"].add(verdict.reference)
        for reason in verdict.reasons:
            row["why"][reason] = row["why"].get(reason, 0) + 1
        for note in verdict.notes:
            row["notes"][note] = row["notes"].get(note, 0) + 1
    width = max([len(endpoint) for _, endpoint in rows] + [8]) + 2
    head = (f"{'vendor':<11}{'endpoint':<{width}}{'requests':>9}{'items':>8}{'accepted':>9}{'refused':>8}"
            f"{'unchecked':>10}")
    lines = [head, "-" * len(head)]
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for (vendor, endpoint), row in sorted(rows.items()):
        lines.append(f"{vendor:<11}{endpoint:<{width}}{row['n']:>9}{row['items']:>8}{row[ACCEPTED]:>9}"
                     f"{row[REFUSED]:>8}{row[UNCHECKED]:>10}")
        lines.append(f"{'':<13}reference: {'; '.join(sorted(row['ref']))}")
        for reason, count in list(row["why"].items())[:reasons]:
            lines.append(f"{'':<13}{'refused' if row[REFUSED] else 'not checked'} ×{count}: {reason}")
        if len(row["why"]) > reasons:
            lines.append(f"{'':<13}… {len(row['why']) - reasons} more distinct reasons")
        for note, count in row["notes"].items():
            lines.append(f"{'':<13}note ×{count}: {note}")
        total = totals[vendor]
        for i, key in enumerate(("n", ACCEPTED, REFUSED, UNCHECKED)):
            total[i] += row[key]
    lines += ["", "per vendor: requests recorded, accepted by the vendor's reference, refused, not checked"]
    lines += [f"  {vendor:<11}{n:>6} recorded {a:>6} accepted {r:>6} refused {u:>6} not checked"
              for vendor, (n, a, r, u) in sorted(totals.items())]
    silent = [name for key, name in VENDOR_OF.items() if name not in totals]
    lines += [f"  {name:<11}     0 recorded (the demo sent it nothing)" for name in silent]
    lines += [f"  {name:<11}     — {why}" for name, why in NOT_IN_DEMO.items()]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=5000, help="people in the demo's business (demo default)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--save", type=Path, help="also write the recorded requests to this file (JSON lines)")
    parser.add_argument("--load", type=Path, help="check the requests of this file instead of running the demo")
    parser.add_argument("--reasons", type=int, default=3, help="distinct reasons shown per endpoint")
    args = parser.parse_args()
    if args.load:
        requests, took = load(args.load), 0.0
        print(f"{len(requests):,} requests read from {args.load}")
    else:
        requests, took = record_demo(args.people, args.seed)
        print(f"lifesync demo ({args.people:,} people, seed {args.seed}): {len(requests):,} requests to the "
              f"vendor sandboxes recorded in {took:.0f}s")
        if args.save:
            save(requests, args.save)
    started = time.perf_counter()
    lines = table(requests, args.reasons)
    print("\n".join(["", *lines, "", f"checked in {time.perf_counter() - started:.1f}s"]))


if __name__ == "__main__":
    main()
