"""The demo's sandbox check: what lifesync recorded as sent against what the sandbox holds, a mismatch said."""

from __future__ import annotations

from types import SimpleNamespace

from sync.config import load_config
from sync.demo import second_brand
from sync.demo.audiences import check_sandbox, held_line
from sync.sandbox.ads.google_ads import GoogleAdsSandbox
from sync.sandbox.ads.meta import MetaSandbox
from sync.segments.destinations.base import DestinationEntry
from sync.store import model

ROWS = [{"EMAIL": "a" * 64}, {"EMAIL": "b" * 64, "PHONE": "c" * 64}]


def _world(meta: MetaSandbox) -> SimpleNamespace:
    return SimpleNamespace(meta=meta, google=GoogleAdsSandbox(), hubspot=None, second_brand={"meta": MetaSandbox()})


def _sent(store, *members: tuple[int, str, list[dict[str, str]]]) -> None:
    with store.transaction() as s:
        for contact_id, state, rows in members:
            s.add(model.AudienceMemberState(destination="meta-x", segment="seg", contact_id=contact_id,
                                            keys={"rows": rows}, state=state))


def test_a_sandbox_holding_what_was_sent_is_exact_and_a_lost_or_stray_row_is_a_mismatch(store):
    meta = MetaSandbox()
    audience = meta.audience_book.create({"name": "seg"})
    meta.audience_book.audiences[audience]["rows"] = [dict(r) for r in ROWS]
    _sent(store, (1, "added", ROWS[:1]), (2, "pending_remove", ROWS[1:]), (3, "skipped", []))
    entry = DestinationEntry(name="meta-x", kind="meta_audience", options={})
    held = check_sandbox(store, _world(meta), "seg", entry, audience)
    assert (held.synced, held.held, held.stray, held.exact) == (2, 2, 0, True)
    assert held_line(held) == "the sandbox holds 2 of the 2 members synced (hashed rows)"
    meta.audience_book.audiences[audience]["rows"] = [ROWS[0], {"EMAIL": "d" * 64}]  # one lost, one not ours
    held = check_sandbox(store, _world(meta), "seg", entry, audience)
    assert (held.held, held.stray, held.exact) == (1, 1, False)
    assert held_line(held) == ("MISMATCH: the sandbox holds 1 of the 2 members synced (hashed rows), "
                               "and 1 hashed rows no member sent")
    # Lumen's destination reads Lumen's own sandbox, which holds none of it
    lumen = DestinationEntry(name="meta-x", kind="meta_audience", options={"connection": "meta_lumen"})
    assert check_sandbox(store, _world(meta), "seg", lumen, audience).held == 0
    assert held_line(check_sandbox(store, _world(meta), "seg", entry, None)) == "no audience was created"


def test_the_demo_config_gives_the_segments_destinations_in_the_sandboxes(tmp_path):
    config = load_config(second_brand.config_dir(None, True))
    found = {s.key: (s.brand, {d.name: (d.kind, dict(d.options)) for d in s.destinations}) for s in config.segments}
    # a file name under LIFESYNC_AUDIENCE_CSV_DIR, which the demo points at its audiences folder
    assert found["hot-leads-ctwa"][1]["csv-hot-leads"] == ("csv", {"path": "hot-leads-ctwa.csv"})
    assert found["lapsed-customers"][1]["google-lapsed"] == ("google_customer_match",
                                                             {"customer_match_terms": "accepted"})
    assert found["lumen-clients"] == ("lumen", {"meta-lumen-clients": ("meta_audience", {"connection": "meta_lumen"})})
    assert all(d for _brand, d in found.values())
    # a project's segment that names destinations keeps them
    own = tmp_path / "project" / "segments"
    own.mkdir(parents=True)
    (own / "lapsed-customers.yaml").write_text(
        "label: Mine\nconditions:\n  - stage: Customer\ndestinations:\n  - name: mine\n    kind: csv\n")
    config = load_config(second_brand.config_dir(tmp_path / "project", True))
    assert [d.name for d in config.segment("lapsed-customers").destinations] == ["mine"]
