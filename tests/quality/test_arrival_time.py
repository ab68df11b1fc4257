"""A mapping without ``modified_at`` dates its records by their arrival: never an epoch date anywhere."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from sync.config import load_config
from sync.ingest.inbox import process_events
from sync.ingest.pipeline import ingest, map_records
from sync.outbox.effects import Effects
from sync.store import model

CONFIG = load_config(None)
UNDATED = replace(CONFIG.mappings[("hubspot", "contacts")], modified_at=None)
UNDATED_CONFIG = replace(CONFIG, mappings={**CONFIG.mappings, ("hubspot", "contacts"): UNDATED})
VALUES = ("lead", "salesqualifiedlead", "opportunity", "customer", None)
_ids = itertools.count()


def dates(store, contact_ids) -> list[datetime]:
    """Every date lifesync derived for these contacts: signals, transitions, conversions, values' times."""
    found: list[datetime] = []
    with store.transaction() as session:
        for column, owner in ((model.StageSignal.at, model.StageSignal.contact_id),
                              (model.StageTransition.at, model.StageTransition.contact_id),
                              (model.ConversionEvent.occurred_at, model.ConversionEvent.contact_id),
                              (model.Contact.stage_changed_at, model.Contact.id),
                              (model.FieldValue.source_time, model.FieldValue.contact_id)):
            found += [d for d in session.scalars(select(column).where(owner.in_(contact_ids))) if d is not None]
    return found


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(VALUES), min_size=1, max_size=4))
@example(["salesqualifiedlead"])  # a qualified_lead conversion, which the issue saw dated 1970-01-01
@example(["opportunity", "salesqualifiedlead"])  # back from Payment: ignored, no qualified_lead
def test_a_mapping_without_modified_at_never_produces_an_epoch_date(migrated_store, stages):
    record_id = f"undated-{next(_ids)}"
    before = datetime.now(UTC) - timedelta(seconds=1)
    for stage in stages:  # the same record changing stage, read again and again
        ingest("hubspot", "contacts", [{"id": record_id, "archived": False,
                                        "properties": {"email": f"{record_id}@example.com", "lifecyclestage": stage}}],
               store=migrated_store, config=UNDATED_CONFIG, batch_size=10, effects=Effects.rules_only(UNDATED_CONFIG))
    with migrated_store.transaction() as session:
        contact_ids = list(session.scalars(select(model.Identity.contact_id).where(
            model.Identity.kind == "hubspot", model.Identity.value == record_id)))
    found = dates(migrated_store, contact_ids)
    assert found and all(before <= d <= datetime.now(UTC) for d in found), found
    earlier = stages[:stages.index("salesqualifiedlead")] if "salesqualifiedlead" in stages else ["opportunity"]
    if not {"opportunity", "customer"} & set(earlier):  # Hot Lead entered: its qualified_lead, dated by arrival
        with migrated_store.transaction() as session:
            kinds = set(session.scalars(select(model.ConversionEvent.kind).where(
                model.ConversionEvent.contact_id.in_(contact_ids))))
        assert "qualified_lead" in kinds


def test_each_record_is_dated_by_its_own_arrival():
    first, second = datetime(2026, 4, 1, tzinfo=UTC), datetime(2026, 4, 2, tzinfo=UTC)
    records = [{"id": "a", "properties": {}}, {"id": "b", "properties": {}}]
    items, dead = map_records(UNDATED, records, [first, second])
    assert not dead and [p.source_time for p, _ in items] == [first, second]
    assert not any(p.refusals for p, _ in items)  # the mapping has none: config check warns, records are fine
    items, _ = map_records(UNDATED, records, first)
    assert {p.source_time for p, _ in items} == {first}


def test_a_webhook_event_is_dated_by_when_the_inbox_received_it(store):
    received = datetime(2026, 4, 3, 9, 30, tzinfo=UTC)
    with store.transaction() as session:
        raw = model.RawEvent(source="hubspot", object="contacts", event_key="e1", received_at=received, headers={},
                             body=b'{"id": "w1", "properties": {"lifecyclestage": "lead", "email": "w1@example.com"}}',
                             status="received")
        session.add(raw)
        session.flush()
        raw_id = raw.id
    process_events(store, UNDATED_CONFIG, [raw_id])
    with store.transaction() as session:
        assert list(session.scalars(select(model.StageTransition.at))) == [received]
