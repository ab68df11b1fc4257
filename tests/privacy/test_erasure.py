"""Erasure (issue 22 item 3): after ``forget`` a dump of the database holds none of the person's values,
someone else's stay, and the person's records coming back recreate no one."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select
from support.contacts import FIXTURES, build_ana
from support.forget import ANA_VALUES, found_in

from sync.access.roles import Principal
from sync.config import load_config
from sync.connectors.events import InboundEvent
from sync.errors import NotFound
from sync.ingest.inbox import process_events, store_events
from sync.ingest.pipeline import ingest
from sync.outbox.effects import Effects
from sync.privacy import suppression
from sync.privacy.erasure import forget
from sync.settings import Settings
from sync.store import model

ADMIN = Principal(name="cli:dpo", role="admin", via="cli")
BEN = {"id": "77", "properties": {"email": "ben.okafor@example.org", "firstname": "Benedict", "lastname": "Okafor",
                                  "lifecyclestage": "lead", "lastmodifieddate": "2026-03-01T10:15:42.120Z"}}
BEN_VALUES = ("ben.okafor@example.org", "Benedict", "Okafor")


@pytest.fixture(scope="module")
def config():
    return load_config(None)


def _hubspot_contact():
    return json.loads((FIXTURES / "hubspot/contact.json").read_text())


@pytest.fixture
def people(store, config):
    """Ana everywhere (build_ana), dead letters, an inbox event and a quality issue naming her; Ben from HubSpot."""
    ana = build_ana(store, config)
    result = ingest("hubspot", "contacts", [BEN], store=store, config=config, map_in_process=False)
    assert result.created == 1
    with store.transaction() as s:
        s.add(model.DeadLetter(stage="mapping", source="shop", object="order", record_id="o-1", reason="bad date",
                               payload={"buyer": "ANA.LOPEZ@example.com", "name": "Ana María López"}))
        s.add(model.DeadLetter(stage="mapping", source="hubspot", object="contacts", record_id="51",
                               reason="bad date", payload={"id": "51"}))
        s.add(model.RawEvent(source="whatsapp", object="message", event_key="ev-ana", status="processed",
                             body=json.dumps({"from": "447911123456", "name": "Ana María López"}).encode()))
        s.add(model.RawEvent(source="hubspot", object="contacts", event_key="ev-ben",
                             body=json.dumps({"email": "ben.okafor@example.org"}).encode(), status="processed"))
        s.add(model.QualityIssue(key="q-ana", source="hubspot", object="contacts", mapping="m", record_id="51",
                                 contact_id=ana, field="phone", kind="invalid", reason="not a phone",
                                 value="López"))
        s.add(model.SegmentMember(segment="vip", contact_id=ana, entered_at=model.utcnow()))
        s.add(model.AudienceMemberState(destination="csv-vip", segment="vip", contact_id=ana, state="added",
                                        keys={"contact_id": ana, "email": "ana.lopez@example.com"}))
    return ana


def test_forget_leaves_none_of_the_persons_values_and_keeps_everyone_elses(store, config, people):
    assert set(found_in(store, ANA_VALUES)) == set(ANA_VALUES)  # the dump does find her before
    done = forget(store, config, Settings.from_env({}), people, ADMIN)
    assert found_in(store, ANA_VALUES) == {}
    assert set(found_in(store, BEN_VALUES)) == set(BEN_VALUES)
    counts = done["counts"]
    assert counts["audiences"] == {"vip/csv-vip": "not configured any more: row deleted, the destination may "
                                                  "still hold them"}
    assert counts["contacts"] == 1 and counts["identities"] >= 4 and counts["suppressions"] == counts["identities"]
    assert counts["dead_letters"] == 2 and counts["raw_events"] == 1 and counts["conversion_events"] >= 1
    assert counts["merge_log"] == 1 and counts["quality_issues"] == 1 and counts["segment_members"] == 1
    with store.transaction() as s:
        raw = s.scalars(select(model.RawEvent).where(model.RawEvent.event_key == "ev-ana")).one()
        assert raw.body == b"" and raw.status == "processed"  # kept for de-duplication
        assert s.scalar(select(func.count()).select_from(model.Suppression)) == counts["identities"]
        entry = s.scalars(select(model.AuditEntry).where(model.AuditEntry.action == "contact.forget")).one()
        logged = json.dumps([entry.summary, entry.before, entry.after, entry.actor], ensure_ascii=False).lower()
        erasure = s.get(model.Erasure, done["id"])
        kept = json.dumps([erasure.counts, erasure.upstream, erasure.actor], ensure_ascii=False).lower()
    assert (entry.target_id, entry.actor, entry.after["counts"]["contacts"]) == (str(people), "cli:dpo", 1)
    for value in ANA_VALUES:
        assert value.lower() not in logged and value.lower() not in kept
    with pytest.raises(NotFound):
        forget(store, config, Settings.from_env({}), people, ADMIN)


def test_her_records_coming_back_recreate_no_one_and_queue_nothing(store, config, people):
    forget(store, config, Settings.from_env({}), people, ADMIN)
    effects = Effects(conversion_rules=config.conversions, conversion_destinations=frozenset({"meta"}))
    contact = _hubspot_contact()
    contact["properties"]["lifecyclestage"] = "customer"
    pulled = ingest("hubspot", "contacts", [contact, {**BEN, "id": "78", "properties": {
        **BEN["properties"], "email": "cleo@example.org"}}], store=store, config=config, effects=effects,
        map_in_process=False)
    assert (pulled.suppressed, pulled.created, pulled.dead_lettered) == (1, 1, 0)
    message = json.loads((FIXTURES / "whatsapp/message_text.json").read_text())
    ids = store_events(store, [InboundEvent("whatsapp", "message", "ev-again", message)])
    drained = process_events(store, config, ids)
    assert (drained.suppressed, drained.created) == (1, 0)
    assert found_in(store, ANA_VALUES) == {}  # the webhook's body went too
    with store.transaction() as s:
        assert "51" not in s.scalars(select(model.ConversionEvent.record_id)).all()  # no sendable conversion of hers
        hubspot_ids = s.scalars(select(model.Identity.value).where(model.Identity.kind == "hubspot")).all()
        assert sorted(hubspot_ids) == ["77", "78"]  # Ben, and Cleo
        assert suppression.is_suppressed(s, "email", "ana.lopez@example.com")
        assert not suppression.is_suppressed(s, "email", "ben.okafor@example.org")
        assert s.scalars(select(model.RawEvent.status).where(model.RawEvent.event_key == "ev-again")).one() == \
            "processed"


def test_the_salt_is_made_once_and_digests_are_keyed_by_it(store):
    with store.transaction() as s:
        first = suppression.salt(s, create=True)
    with store.transaction() as s:
        assert suppression.salt(s, create=True) == first and len(first) == 64
    assert suppression.digest(first, "email", "a@b.c") != suppression.digest("other", "email", "a@b.c")


def test_a_letter_of_hers_replayed_later_is_closed_emptied_and_recreates_no_one(store, config, people):
    from sync.ingest.deadletter import SUPPRESSED_PAYLOAD, replay

    forget(store, config, Settings.from_env({}), people, ADMIN)
    with store.transaction() as s:  # e.g. a letter written by a process that read her before the erasure
        letter = model.DeadLetter(stage="reconcile", source="hubspot", object="contacts", record_id="51",
                                  reason="database refused", payload=_hubspot_contact())
        s.add(letter)
        s.flush()
        letter_id = letter.id
    result = replay(store, config, [letter_id])
    assert result.replayed == [letter_id]
    with store.transaction() as s:
        assert s.get(model.DeadLetter, letter_id).payload == SUPPRESSED_PAYLOAD
        assert s.scalars(select(model.Identity).where(model.Identity.value == "51")).all() == []
    assert found_in(store, ANA_VALUES) == {}


def test_a_person_with_thousands_of_records_is_forgotten_whole(store, config, people):
    """A regular who wrote 1,500 times leaves 1,500 records: their quality issues go by record in chunks (one OR per
    record would pass SQLite's expression depth), with no row of theirs left and Ben's issue kept."""
    def issue(n: int, contact: int | None, record: str) -> model.QualityIssue:
        return model.QualityIssue(key=f"k{n}", source="whatsapp", object="message", mapping="whatsapp_message",
                                  record_id=record, contact_id=contact, field="phone", kind="invalid_phone",
                                  reason="not a number", value=None)

    with store.transaction() as s:
        s.add_all(issue(n, people, f"wamid.{n}") for n in range(1500))
        s.add(model.FieldValue(contact_id=people, field="note", source="whatsapp", value="x", record_id="wamid.1"))
        s.add_all(issue(2000 + n, None, f"wamid.{n}") for n in range(1500))  # not linked to her: found by record
        s.add(issue(9999, None, "ben-1"))
    done = forget(store, config, Settings.from_env({}), people, ADMIN)
    assert done["counts"]["quality_issues"] >= 3000
    with store.transaction() as s:
        left = s.scalars(select(model.QualityIssue.record_id).where(model.QualityIssue.record_id.like("wamid.%")))
        assert list(left) == []
        assert s.scalars(select(model.QualityIssue.key).where(model.QualityIssue.record_id == "ben-1")).all() == [
            "k9999"]
