"""``hubspot_contact_changes``: the stream's contacts a day later (the steady state bench/pipeline.py re-ingests)."""

from datetime import UTC, datetime

from sqlalchemy import func, select

from sync.config import load_config
from sync.demo import hubspot_contact_changes, hubspot_contact_stream
from sync.ingest.pipeline import ingest
from sync.store import model

NOW = datetime(2026, 11, 1, tzinfo=UTC)
STAGES = ("subscriber", "lead", "marketingqualifiedlead", "salesqualifiedlead", "opportunity", "customer",
          "evangelist")


def test_changes_keep_who_each_contact_is_and_change_what_they_hold_later():
    first, later = list(hubspot_contact_stream(4, 300, NOW)), list(hubspot_contact_changes(4, 300, NOW))
    assert [c["id"] for c in later] == [c["id"] for c in first]
    moved = 0
    for before, after in zip(first, later, strict=True):
        b, a = before["properties"], after["properties"]
        assert {k: a[k] for k in ("email", "phone", "mobilephone", "hs_object_id")} == \
               {k: b[k] for k in ("email", "phone", "mobilephone", "hs_object_id")}
        assert a["jobtitle"] != b["jobtitle"]
        assert a["lastmodifieddate"] == after["updatedAt"] == "2026-11-02T00:00:00.000Z" > b["lastmodifieddate"]
        if a["lifecyclestage"] != b["lifecyclestage"]:
            assert STAGES.index(a["lifecyclestage"]) == STAGES.index(b["lifecyclestage"]) + 1
            moved += 1
    assert moved > 50  # every third contact not at the last stage
    assert later == list(hubspot_contact_changes(4, 300, NOW))  # deterministic


def test_re_ingesting_the_changes_updates_every_contact_once(store):
    config = load_config(None)
    assert ingest("hubspot", "contacts", hubspot_contact_stream(3, 90, NOW), store=store, config=config,
                  batch_size=40).created == 90
    with store.transaction() as session:
        transitions = session.scalar(select(func.count()).select_from(model.StageTransition))
    changed = ingest("hubspot", "contacts", hubspot_contact_changes(3, 90, NOW), store=store, config=config,
                     batch_size=40)
    assert (changed.created, changed.updated, changed.unchanged, changed.dead_lettered) == (0, 90, 0, 0)
    with store.transaction() as session:
        titles = session.scalars(select(model.Contact.attributes)).all()
        assert len(titles) == 90
        assert all(a["job_title"]["value"].endswith("(since 2026-11-02)") for a in titles)
        assert session.scalar(select(func.count()).select_from(model.StageTransition)) > transitions
    again = ingest("hubspot", "contacts", hubspot_contact_changes(3, 90, NOW), store=store, config=config)
    assert (again.updated, again.unchanged) == (0, 90)
