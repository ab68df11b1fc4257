"""The demo's segments synced to the sandboxes, and what each sandbox then holds, read back from the sandbox.

``segment_files`` gives the demo's configuration its segments' destinations (``second_brand.config_dir``
writes them): the click-to-WhatsApp hot leads to a Meta custom audience and a CSV file,
the lapsed customers to Google Customer Match and a HubSpot list (customers are in the CRM),
and Lumen Spa's clients to Lumen's own Meta ad account (its second set of sandboxes,
connection ``meta_lumen``).

``sync_demo_segments`` runs what the scheduled jobs would after the story: a full evaluation
of every segment, then ``sync_segments`` (the ``sync_audiences`` job's function). Each
destination's outcome is then checked against the sandbox's own state: the members lifesync
recorded as held (``audience_members``: their keys, exactly what was sent) against what the
sandbox stores — so a sandbox that lost or gained members shows as a mismatch, never hidden.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from sync.config import BUNDLED_CONFIG_DIR
from sync.segments.audiences.diff import ADDED, PENDING_REMOVE
from sync.segments.audiences.run import configured_segments, sync_segments
from sync.segments.audiences.status import audience_status
from sync.segments.membership import evaluate
from sync.store import model

if TYPE_CHECKING:
    from sync.config import Config
    from sync.demo.story import World
    from sync.segments.audiences.engine import AudienceCounts
    from sync.store.engine import Store

AUDIENCE_DIR = "lifesync-demo-audiences"  # the CSV destinations' files, next to the demo's report
LUMEN_CONNECTION = "meta_lumen"  # second_brand.settings_env: Lumen's Meta settings are this connection's
DESTINATIONS = {
    "hot-leads-ctwa": ("  - name: meta-hot-leads\n    kind: meta_audience\n"
                       "  - name: csv-hot-leads\n    kind: csv\n    path: hot-leads-ctwa.csv\n"),
    "lapsed-customers": ("  - name: google-lapsed\n    kind: google_customer_match\n"
                         "    customer_match_terms: accepted\n"
                         "  - name: hubspot-lapsed\n    kind: hubspot_list\n"),
}
LUMEN_CLIENTS = f"""\
# The demo's sister brand: Lumen Spa's clients, as an audience of Lumen's own Meta ad account.
label: Lumen Spa clients
brand: lumen
description: Bought at Lumen Spa at least once.
conditions:
  - stage: [Customer, Repeat Customer]
destinations:
  - name: meta-lumen-clients
    kind: meta_audience
    connection: {LUMEN_CONNECTION}
"""


def segment_files(directory: Path) -> None:
    """Add the demo's destinations to its segments (the project's file, else the bundled one) and Lumen's segment.

    A segment file that already names destinations is left as it is: the project's choice.
    """
    folder = directory / "segments"
    folder.mkdir(exist_ok=True)
    for key, block in DESTINATIONS.items():
        own = folder / f"{key}.yaml"
        text = (own if own.is_file() else BUNDLED_CONFIG_DIR / "segments" / f"{key}.yaml").read_text("utf-8")
        if "\ndestinations:" not in f"\n{text}":
            text = text.rstrip("\n") + "\ndestinations:\n" + block
        own.write_text(text, encoding="utf-8")
    lumen = folder / "lumen-clients.yaml"
    if not lumen.is_file():
        lumen.write_text(LUMEN_CLIENTS, encoding="utf-8")


def fresh_audience_dir(audiences: Path) -> None:
    """Remove the CSV files a previous demo wrote (a CSV audience is appended to: its lines replay its history)."""
    for block in DESTINATIONS.values():
        for line in block.splitlines():
            if line.strip().startswith("path: {audiences}/"):
                (audiences / line.split("/", 1)[1].strip()).unlink(missing_ok=True)


@dataclass
class Held:
    """What a destination's sandbox holds, against what lifesync recorded it sent."""

    kind: str
    synced: int  # members lifesync holds there (added, or waiting to be removed)
    held: int  # of them, those whose every key the sandbox holds
    stray: int  # keys the sandbox holds that no synced member sent
    where: str  # what the sandbox's count counts

    @property
    def exact(self) -> bool:
        return self.held == self.synced and self.stray == 0


@dataclass
class SegmentOutcome:
    """One segment after the demo's sync: its size and each destination's counts and sandbox check."""

    key: str
    label: str
    brand: str
    size: int
    destinations: list[tuple[AudienceCounts, Held | None]] = field(default_factory=list)


def _units(kind: str, keys: Any) -> set[str]:
    """The sandbox's storage units of one member's keys (a row, an identifier, a record id, a contact id)."""
    if kind == "meta_audience":
        return {json.dumps(row, sort_keys=True) for row in keys.get("rows", [])}
    if kind == "google_customer_match":
        return {json.dumps(i, sort_keys=True) for i in keys.get("userIdentifiers", [])}
    if kind == "hubspot_list":
        return {str(keys["record_id"])}
    return {str(keys.get("contact_id"))}


def _csv_members(path: Path) -> set[str]:
    """The contact ids a CSV audience holds: its add / remove lines replayed."""
    held: set[str] = set()
    if not path.is_file():
        return held
    with path.open(newline="", encoding="utf-8") as source:
        for row in csv.DictReader(source):
            (held.add if row["action"] == "add" else held.discard)(row["contact_id"])
    return held


def sandbox_units(world: World, kind: str, remote_id: str, options: dict[str, Any]) -> tuple[set[str], str]:
    """What the sandbox of a destination stores for the audience ``remote_id``, as ``_units``, and what it is."""
    if kind == "meta_audience":
        box = world.second_brand["meta"] if options.get("connection") == LUMEN_CONNECTION else world.meta
        rows = box.audience_book.audiences.get(remote_id, {}).get("rows", [])
        return {json.dumps(row, sort_keys=True) for row in rows}, "hashed rows"
    if kind == "google_customer_match":
        return set(world.google.user_lists.get(remote_id, {}).get("members", {})), "hashed identifiers"
    if kind == "hubspot_list":
        found = world.hubspot.lists.get(int(remote_id)) if remote_id.isdigit() else None
        return {str(m) for m in (found.members if found else ())}, "list members"
    return _csv_members(Path(remote_id)), "contacts in the file"


def check_sandbox(store: Store, world: World, segment: str, entry: Any, remote_id: str | None) -> Held | None:
    """Compare the members lifesync holds at the destination with what its sandbox stores (None: no audience yet)."""
    if not remote_id:
        return None
    m = model.AudienceMemberState
    with store.transaction() as session:
        sent = [row for row in session.scalars(select(m.keys).where(
            m.segment == segment, m.destination == entry.name, m.state.in_((ADDED, PENDING_REMOVE))))]
    stored, where = sandbox_units(world, entry.kind, remote_id, dict(entry.options))
    units = [_units(entry.kind, keys or {}) for keys in sent]
    expected = set().union(*units) if units else set()
    return Held(entry.kind, len(units), sum(1 for u in units if u and u <= stored), len(stored - expected), where)


def sync_demo_segments(world: World, store: Store, config: Config) -> list[SegmentOutcome]:
    """Evaluate every segment in full, sync every audience to its sandbox, check each sandbox."""
    segments = configured_segments(config)
    sizes = {c.segment: c.size or 0 for c in evaluate(store, segments)}
    counts = {(c.segment, c.destination): c for c in sync_segments(store, world.settings, segments,
                                                                                    privacy=config.privacy)}
    out = []
    for segment in segments:
        remote = {s["destination"]: s["remote_id"] for s in audience_status(store, segment.key)}
        outcome = SegmentOutcome(segment.key, segment.label, segment.brand, sizes.get(segment.key, 0))
        for entry in segment.destinations:
            outcome.destinations.append((counts[(segment.key, entry.name)],
                                         check_sandbox(store, world, segment.key, entry, remote.get(entry.name))))
        out.append(outcome)
    return out


def held_line(held: Held | None) -> str:
    """What the sandbox holds, said plainly; a mismatch in capitals."""
    if held is None:
        return "no audience was created"
    line = f"the sandbox holds {held.held:,} of the {held.synced:,} members synced ({held.where})"
    if held.stray:
        line += f", and {held.stray:,} {held.where} no member sent"
    return line if held.exact else "MISMATCH: " + line


def print_segments(outcomes: Iterable[SegmentOutcome], echo: Callable[[str], None]) -> None:
    """A short block per segment: size; per destination what the sync did and what the sandbox holds."""
    echo("")
    echo("Segments synced to the sandboxes (full evaluation, then every audience)")
    for o in outcomes:
        brand = "" if o.brand == "default" else f", brand {o.brand}"
        echo(f"  {o.key} ({o.label}{brand}): {o.size:,} members")
        for c, held in o.destinations:
            stopped = f"; stopped: {c.error}" if c.error else ""
            echo(f"    {c.destination:<20} added {c.added:,}, removed {c.removed:,}, skipped {c.skipped:,}, "
                 f"failed {c.failed:,}{stopped}; {held_line(held)}")
