"""Preview of effect: the real pipeline's plan for one record, with the database left exactly as it was."""

from __future__ import annotations

import copy
import json
from pathlib import Path

from sqlalchemy import select, text
from support.brands import brand_config_dir

from sync.config import load_config
from sync.ingest.pipeline import ingest
from sync.ingest.preview import preview_effect
from sync.mappings.loader import load_mapping
from sync.outbox.effects import Effects
from sync.store import model
from sync.store.model import Base

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
CONFIG = load_config(None)
MAPPING = CONFIG.mappings[("hubspot", "contacts")]
EFFECTS = Effects(conversion_rules=CONFIG.conversions, conversion_destinations=frozenset({"meta", "google"}))
WRITING_BACK = Effects(push_targets=frozenset({"respondio"}), conversion_rules=CONFIG.conversions)


def hubspot(**properties) -> dict:
    record = copy.deepcopy(json.loads((FIXTURES / "hubspot" / "contact.json").read_text()))
    updated = properties.pop("updatedAt", record["updatedAt"])
    record["properties"].update(properties)
    record["updatedAt"] = updated
    return record


def dump(store) -> list:
    """Every row of every table, and on PostgreSQL every sequence's position."""
    rows = []
    with store.engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            found = conn.execute(select(table)).all()
            rows.append((table.name, sorted(map(repr, found))))
        if store.dialect == "postgresql":
            rows.append(("sequences", conn.execute(text(
                "SELECT sequencename, last_value FROM pg_sequences ORDER BY sequencename")).all()))
    return rows


def contact_state(store):
    with store.transaction() as session:
        [contact] = session.scalars(select(model.Contact)).all()
        events = sorted(session.scalars(select(model.ConversionEvent.event_id)))
        return contact.stage, dict(contact.attributes), events


def test_a_preview_changes_nothing_and_predicts_what_ingest_then_does(store):
    ingest("hubspot", "contacts", [hubspot()], store=store, config=CONFIG, effects=EFFECTS)
    before = dump(store)
    changed = hubspot(firstname="Anita", lifecyclestage="opportunity", updatedAt="2026-03-05T09:00:00Z")

    preview = preview_effect(store, CONFIG, MAPPING, changed, EFFECTS)

    assert dump(store) == before
    assert preview["refused"] is None and preview["outcome"]["changed"] is True
    [seen] = preview["contacts"]
    assert seen["new"] is False and seen["stage"] == {"before": "Hot Lead", "after": "Payment"}
    first = next(f for f in seen["fields"] if f["field"] == "first_name")
    rule = CONFIG.lifecycle.rule_for("first_name").rule
    assert (first["before"]["value"], first["after"]["value"], first["rule"]) == ("Ana María", "Anita", rule)
    assert [(t["from_stage"], t["to_stage"]) for t in seen["transitions"]] == [("Hot Lead", "Payment")]
    purchase = [c for c in preview["conversions"] if c["new"] and c["kind"] == "add_to_cart"]
    assert purchase and set(purchase[0]["destinations"]) <= {"meta", "google"}

    ingest("hubspot", "contacts", [changed], store=store, config=CONFIG, effects=EFFECTS)
    stage, attributes, events = contact_state(store)
    assert stage == seen["stage"]["after"] and attributes["first_name"]["value"] == "Anita"
    assert {c["event_id"] for c in preview["conversions"] if c["new"]} <= set(events)


def test_a_new_contact_gets_a_placeholder_id_and_nothing_is_created(store):
    before = dump(store)
    preview = preview_effect(store, CONFIG, MAPPING, hubspot(), EFFECTS)
    assert dump(store) == before
    [seen] = preview["contacts"]
    assert seen["new"] is True and seen["id"] is None and "hubspot:51" in seen["identities_added"]


def test_an_unsaved_mapping_is_previewed_as_written(store, tmp_path):
    ingest("hubspot", "contacts", [hubspot()], store=store, config=CONFIG, effects=EFFECTS)
    source = Path(MAPPING.file).read_text()
    edited = tmp_path / "hubspot_contacts.yaml"
    edited.write_text(source.replace("first_name: {path: properties.firstname",
                                     "first_name: {path: properties.company"))
    preview = preview_effect(store, CONFIG, load_mapping(edited), hubspot(updatedAt="2026-03-09T00:00:00Z"), EFFECTS)
    [seen] = preview["contacts"]
    first = next(f for f in seen["fields"] if f["field"] == "first_name")
    assert first["after"]["value"] == "Acme Logistics"


def test_a_record_the_mapping_refuses_is_answered_with_the_reason(store):
    preview = preview_effect(store, CONFIG, MAPPING, hubspot(updatedAt="not a date"), EFFECTS)
    assert preview["patch"] is None and "modified_at" in preview["refused"]


def test_write_backs_that_would_be_queued_are_listed(store):
    ingest("hubspot", "contacts", [hubspot()], store=store, config=CONFIG, effects=WRITING_BACK)
    with store.transaction() as session:
        queued = session.scalar(select(model.Outbox.id).order_by(model.Outbox.id.desc()).limit(1))
    changed = hubspot(lifecyclestage="opportunity", updatedAt="2026-03-05T09:00:00Z")
    preview = preview_effect(store, CONFIG, MAPPING, changed, WRITING_BACK)
    assert [(w["destination"], w["payload"].get("stage")) for w in preview["write_backs"]] == [("respondio", "Payment")]
    ingest("hubspot", "contacts", [changed], store=store, config=CONFIG, effects=WRITING_BACK)
    with store.transaction() as session:
        added = session.scalars(select(model.Outbox).where(model.Outbox.id > (queued or 0))).all()
    assert [(o.destination, o.kind) for o in added] == [(w["destination"], w["kind"]) for w in preview["write_backs"]]


def test_a_preview_of_another_brands_record_shows_that_brands_stage(store, tmp_path):
    config = load_config(brand_config_dir(tmp_path))
    mapping = config.mappings[("hubspot", "contacts")]
    ingest("hubspot", "contacts", [hubspot()], store=store, config=config)  # Glow's (the default brand's) lead
    changed = hubspot(lifecyclestage="opportunity", updatedAt="2026-03-05T09:00:00Z")

    lumen = preview_effect(store, config, mapping, changed, brand="lumen")
    glow = preview_effect(store, config, mapping, changed)

    [seen] = lumen["contacts"]
    assert lumen["brand"] == "lumen" and seen["stage"] == {"before": None, "after": "Payment"}
    assert [(t["from_stage"], t["to_stage"], t["brand"]) for t in seen["transitions"]] == [
        (None, "Payment", "lumen")]
    assert glow["brand"] == "default" and glow["contacts"][0]["stage"] == {"before": "Hot Lead", "after": "Payment"}
    ingest("hubspot", "contacts", [changed], store=store, config=config, brand="lumen")
    with store.transaction() as session:
        assert session.scalar(select(model.Contact.stage)) == "Hot Lead"  # Glow's funnel did not move
        assert session.scalar(select(model.ContactStage.stage).where(model.ContactStage.brand == "lumen")) == "Payment"
