"""`lifesync demo` on a small synthetic business, against the test database."""

from __future__ import annotations

from sqlalchemy import func, select

from sync import model
from sync.demo.run import run_demo
from sync.settings import Settings


def test_demo_unifies_records_and_prints_a_funnel_with_lost_stages_apart(store, database_url):
    lines: list[str] = []
    total = run_demo(Settings.from_env({}), people=400, seed=3, database_url=database_url, echo=lines.append)
    text = "\n".join(lines)
    with store.transaction() as s:
        contacts = s.scalar(select(func.count()).select_from(model.Contact))
        merges = s.scalar(select(func.count()).select_from(model.MergeLog))
        lost = s.scalar(select(func.count()).select_from(model.Contact).where(model.Contact.lost_stage.is_not(None)))
    # more records than people, fewer contacts than records: duplicates across systems were unified
    assert total.records > 400 > 0 and contacts < total.records
    assert contacts <= 400 * 1.1
    assert f"{total.records:,} records became {contacts:,} contacts; {merges:,} merges" in text
    assert "Lifecycle funnel" in text and "Lost stages (kept apart from the funnel)" in text
    assert text.index("Lifecycle funnel") < text.index("Lost stages")
    assert lost > 0 and "Cold Lead" in text.split("Lost stages")[1]
    if total.dead_lettered:
        assert f"{total.dead_lettered:,} records went to the dead-letter table" in text
