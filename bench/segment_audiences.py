"""Audience part of ``bench/segments.py``: a segment's members synced to every audience destination's sandbox.

The members go through ``sync.segments.audiences.run.sync_segments`` (the code path of the
``sync_audiences`` job and ``lifesync segments sync``) to destinations built from their settings
(``server.env()``) as configured ones are, with a ``SandboxServer`` recording each request it
receives (``sync.sandbox.recording``, as ``bench/vendor_requests.py`` reads them). Per destination
it prints the members sent, the requests the sandbox recorded, the vendor minimum and their
ratio, and the seconds, for:

* ``first``: an empty audience filled — minimum ⌈members / max_batch⌉ plus the call creating the
  audience (``ensure``);
* ``repeat``: the same audience after ``changed`` contacts changed (half left the segment, half
  entered) — minimum ⌈left / max_batch⌉ + ⌈entered / max_batch⌉, and only the changed members
  re-sent.

Members are the contacts the destination can name (an e-mail or phone for the ad networks, a
numeric HubSpot id, an e-mail for respond.io); the CRM sandboxes are seeded with a record for each,
as the vendor account would hold them. respond.io tags one contact per call at 5 requests a second
(its published rate), so it gets ``respondio`` members only. Before the first sync the bench's own
audiences (segments ``bench-*``) are cleared from the database, so a rerun starts empty too.
"""

from __future__ import annotations

import math
import random
import time
from collections import Counter
from collections.abc import Sequence
from types import SimpleNamespace
from typing import Any

from sqlalchemy import delete, select

from sync.sandbox.ads.google_ads import GoogleAdsSandbox
from sync.sandbox.ads.meta import MetaSandbox
from sync.sandbox.ads.tiktok import TikTokSandbox
from sync.sandbox.hubspot.sandbox import HubSpotSandbox
from sync.sandbox.recording import recording
from sync.sandbox.respondio.sandbox import RespondioSandbox
from sync.sandbox.server import SandboxServer
from sync.segments.audiences.run import sync_segments
from sync.segments.destinations import kind
from sync.segments.destinations.base import DestinationEntry
from sync.settings import Settings
from sync.store import model

# destination name -> (kind, options, the sandbox mount its requests reach, the identity it names a contact by)
DESTINATIONS = {
    "meta": ("meta_audience", {}, "meta", "email"),
    "google": ("google_customer_match", {"customer_match_terms": "accepted"}, "google", "email"),
    "tiktok": ("tiktok_audience", {}, "tiktok", "email"),
    "hubspot": ("hubspot_list", {}, "hubspot", "hubspot"),
    "respondio": ("respondio_tag", {}, "respondio", "email"),
}
SMALL = ("respondio",)  # one member per call: synced with the small member set
NOTHING_TO_CREATE = ("respondio",)  # a tag needs no call to exist


def _names(found: dict[str, str], kind_: str) -> bool:
    """Whether a contact's identities name it at a destination naming contacts by ``kind_``."""
    value = found.get(kind_, "")
    return value.isdigit() if kind_ == "hubspot" else "@" in value


def _identities(store: Any, ids: Sequence[int]) -> dict[int, dict[str, str]]:
    """Each contact's first identity of each kind."""
    found: dict[int, dict[str, str]] = {}
    with store.transaction() as session:
        for start in range(0, len(ids), 20_000):
            part = list(ids[start:start + 20_000])
            for cid, kind_, value in session.execute(
                    select(model.Identity.contact_id, model.Identity.kind, model.Identity.value)
                    .where(model.Identity.contact_id.in_(part))):
                found.setdefault(cid, {}).setdefault(kind_, value)
    return found


def _clear(store: Any, segments: Sequence[str]) -> None:
    with store.transaction() as session:
        for table in (model.AudienceMemberState, model.Audience):
            session.execute(delete(table).where(table.segment.in_(list(segments))))


def _changed(members: list[int], others: list[int], changed: int, rng: random.Random) -> list[int]:
    """``members`` after ``changed`` contacts changed: half of them left, half of ``others`` entered."""
    leave = set(rng.sample(members, min(changed // 2, len(members))))
    enter = rng.sample(others, min(changed - len(leave), len(others)))
    return [m for m in members if m not in leave] + enter


def run(store: Any, candidates: Sequence[int], *, size: int, small: int, changed: int, seed: int = 7) -> list[str]:
    """Sync ``size`` (``small`` for respond.io) of ``candidates`` twice; one printed line per destination and sync."""
    rng = random.Random(seed)
    ids = _identities(store, candidates)
    members, after = {}, {}
    for name, (_, _, _, by) in DESTINATIONS.items():
        count = small if name in SMALL else size
        step = changed if name not in SMALL else max(2, small // 10)
        usable = [c for c in candidates if _names(ids.get(c, {}), by)]
        # the first ``count`` are the segment; the next ``step // 2`` enter it on the repeat
        members[f"bench-{name}"] = usable[:count]
        after[f"bench-{name}"] = _changed(usable[:count], usable[count:count + step], step, rng)
    hubspot, respondio = HubSpotSandbox(rate_per_10s=190, daily_limit=None), RespondioSandbox()
    for cid in set(members.get("bench-hubspot", ())) | set(after.get("bench-hubspot", ())):
        hubspot.put("contacts", {"email": ids[cid].get("email", "")}, id=ids[cid]["hubspot"])
    for cid in set(members.get("bench-respondio", ())) | set(after.get("bench-respondio", ())):
        respondio.add_contact(email=ids[cid]["email"])
    segments = [SimpleNamespace(key=f"bench-{name}", label=f"bench {name}", brand="default",
                                destinations=(DestinationEntry(name, k, opts),))
                for name, (k, opts, _, _) in DESTINATIONS.items()]
    _clear(store, list(members))
    meta, tiktok, google = MetaSandbox(), TikTokSandbox(), GoogleAdsSandbox()
    lines = [f"{'sync':<7}{'destination':<12}{'members':>9}{'sent':>8}{'requests':>9}{'minimum':>8}"
             f"{'ratio':>7}{'seconds':>9}   requests by endpoint"]
    with recording() as log, SandboxServer(hubspot=hubspot, meta=meta, tiktok=tiktok, google=google,
                                           respondio=respondio) as server:  # bound inside: recorded
        env = {**server.env(), "LIFESYNC_TIKTOK_MARKETING_ACCESS_TOKEN": tiktok.MARKETING_TOKEN,
               "LIFESYNC_TIKTOK_MARKETING_ADVERTISER_ID": tiktok.ADVERTISER_ID}
        settings = Settings.from_env(env)
        for label, wanted in (("first", members), ("repeat", after)):
            for segment in segments:
                before = set(members[segment.key]) if label == "repeat" else set()
                now_in = wanted[segment.key]
                left, entered = len(before - set(now_in)), len(set(now_in) - before)
                for entry in segment.destinations:
                    mark = len(log)
                    started = time.perf_counter()
                    [counts] = sync_segments(store, settings, [segment], key=segment.key, destination=entry.name,
                                             members_of=lambda _s, k: wanted[k])  # noqa: B023 - called here
                    took = time.perf_counter() - started
                    made = [r for r in list(log)[mark:] if r.sandbox == DESTINATIONS[entry.name][2]]
                    batch = kind(entry.kind).max_batch
                    if label == "first":
                        sent = counts.added
                        minimum = math.ceil(sent / batch) + (entry.name not in NOTHING_TO_CREATE)
                    else:
                        sent = counts.added + counts.removed
                        minimum = math.ceil(counts.removed / batch) + math.ceil(counts.added / batch)
                        assert counts.removed <= left and counts.added <= entered, counts
                    paths = Counter(f"{r.method} {_shape(r.path)}" + (f" → {r.status}" if r.status >= 300 else "")
                                    for r in made)
                    lines.append(f"{label:<7}{entry.name:<12}{len(now_in):>9,}{sent:>8,}{len(made):>9,}"
                                 f"{minimum:>8,}{len(made) / max(minimum, 1):>7.2f}{took:>9.1f}   "
                                 + ", ".join(f"{p} ×{n}" for p, n in paths.most_common()))
                    if counts.skipped or counts.failed or counts.retrying or counts.error:
                        lines.append(f"{'':<19}not sent: skipped (no consent or no identifier) {counts.skipped:,}, "
                                     f"failed {counts.failed:,}, "
                                     f"retrying {counts.retrying:,}, error {counts.error}")
                    print(lines[-1] if not lines[-1].startswith(" ") else "\n".join(lines[-2:]), flush=True)
    return lines


def _shape(path: str) -> str:
    """A request path with its ids replaced, so the calls of one endpoint count together."""
    return "/".join("{id}" if part.isdigit() or "@" in part or part.startswith(("act_", "email:", "id:"))
                    else part for part in path.split("/"))
