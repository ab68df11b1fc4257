"""CRM sync runner and write-back with in-memory connectors: the quota stop, outbox, echoes, no ping-pong.

Cursors, resuming after a crash and the rest every real connector must do are the connector contract's
(tests/crm/test_connector_contract.py).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from support.segments import segment

from sync.config import load_config
from sync.connectors.crm import Page, PushResult, QuotaReached, SyncStats
from sync.crm.plan import crm_targets
from sync.crm.pull import load_cursor, run_sync
from sync.crm.push import dispatch_crm
from sync.errors import RateLimited
from sync.ingest.pipeline import ingest_patches, map_records, mapping_for
from sync.outbox.effects import Effects
from sync.segments.compile import members_query
from sync.store import model

CONFIG = load_config(None)
BOTH = frozenset({"hubspot", "salesforce"})
T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


def hubspot_contact(n: int, at: datetime = T0, **props: str) -> dict:
    base = {"email": f"person{n}@example.com", "firstname": f"First{n}", "lastname": f"Last{n}",
            "lifecyclestage": "lead"}
    base.update(props)
    return {"id": str(1000 + n), "properties": base, "createdAt": T0.isoformat(), "updatedAt": at.isoformat(),
            "archived": False}


class FakePuller:
    """Pages of HubSpot contacts; the cursor is the index of the next page. Stops on request (quota)."""

    source = "hubspot"

    def __init__(self, pages: list[list[dict]], *, quota_after: int | None = None):
        self.pages, self.quota_after = pages, quota_after
        self.stats = SyncStats()

    def objects(self) -> list[str]:
        return ["contacts"]

    def pull(self, obj, cursor, *, full=False, now=None):
        start = 0 if full else cursor.get("page", 0)
        for n in range(start, len(self.pages)):
            if self.quota_after is not None and n >= self.quota_after:
                raise QuotaReached("25% of the daily quota used")
            self.stats.pages += 1
            self.stats.records += len(self.pages[n])
            yield Page("contacts", self.pages[n], {"page": n + 1})


def counts(store):
    with store.transaction() as s:
        return (s.scalar(select(func.count()).select_from(model.Contact)),
                s.scalar(select(func.count()).select_from(model.FieldValue)))


PAGES = [[hubspot_contact(p * 10 + i) for i in range(10)] for p in range(5)]


def test_quota_stops_the_run_cleanly_and_the_next_run_resumes(store):
    report = run_sync(FakePuller(PAGES, quota_after=2), store, CONFIG, batch_size=1000)
    assert report.objects[0].stopped == "quota"
    assert load_cursor(store, "hubspot", "default", "contacts") == {"page": 2}
    assert counts(store)[0] == 20
    run_sync(FakePuller(PAGES), store, CONFIG)
    assert counts(store)[0] == 50


def test_unknown_objects_are_refused_with_the_choices():
    with pytest.raises(ValueError, match="choose from contacts"):
        run_sync(FakePuller([]), None, CONFIG, objects=["tickets"])


# ---- write-back -------------------------------------------------------------------------

def ingest(store, source, obj, records):
    items, dead = map_records(mapping_for(CONFIG, source, obj), records)
    assert not dead, dead
    return ingest_patches(store, CONFIG.lifecycle, items, dead, Effects(BOTH, crm_targets(CONFIG, BOTH)))


def outbox(store):
    with store.transaction() as s:
        return [(o.destination, o.contact_id, o.payload, o.status)
                for o in s.scalars(select(model.Outbox).order_by(model.Outbox.id))]


class FakePusher:
    max_batch = 2

    def __init__(self, answer=None):
        self.calls: list[tuple[str, list]] = []
        self.stats = SyncStats()
        self.answer = answer or (lambda item: PushResult(item.key, "ok", item.vendor_id or f"00Q{item.external_id}"))

    def push(self, obj, items):
        self.calls.append((obj, items))
        return [self.answer(item) for item in items]


def test_a_hubspot_contact_is_planned_for_salesforce_only_and_once(store):
    ingest(store, "hubspot", "contacts", [hubspot_contact(1, company="Acme")])
    rows = outbox(store)
    assert [(d, p["values"]) for d, _, p, _ in rows] == [
        ("salesforce", {"company": "Acme", "email": "person1@example.com", "first_name": "First1",
                        "last_name": "Last1"})]
    ingest(store, "hubspot", "contacts", [hubspot_contact(1, company="Acme")])  # the same record again
    ingest(store, "hubspot", "contacts", [hubspot_contact(1, at=T0 + timedelta(hours=1), company="Acme")])
    assert len(outbox(store)) == 1  # already on its way: not planned again


def test_round_trip_hubspot_to_salesforce_and_back_leaves_nothing_to_push(store):
    ingest(store, "hubspot", "contacts", [hubspot_contact(1, company="Acme", hs_lead_status="NEW")])
    pusher = FakePusher()
    counts_ = dispatch_crm(store, CONFIG, "salesforce", pusher)
    assert counts_["sent"] == 1 and counts_["requests"] == 1
    (obj, items), = pusher.calls
    assert obj == "Lead" and items[0].vendor_id is None and items[0].external_id is not None
    assert items[0].properties == {"Company": "Acme", "Email": "person1@example.com", "FirstName": "First1",
                                   "LastName": "Last1"}
    with store.transaction() as s:
        lead_id = s.scalar(select(model.Identity.value).where(model.Identity.kind == "salesforce_lead"))
        delivery = s.scalars(select(model.Delivery)).one()
    assert lead_id == f"00Q{items[0].external_id}" and delivery.status == "sent"
    # the echo: Salesforce now reports the lead, modified later, with the values lifesync wrote
    echo = {"Id": lead_id, "Email": "person1@example.com", "FirstName": "First1", "LastName": "Last1",
            "Company": "Acme", "Status": "Open - Not Contacted", "IsConverted": False, "IsDeleted": False,
            "SystemModstamp": (T0 + timedelta(minutes=5)).isoformat()}
    ingest(store, "salesforce", "Lead", [echo])
    with store.transaction() as s:
        contact = s.scalars(select(model.Contact)).one()
        echoed = s.scalar(select(model.FieldValue).where(model.FieldValue.source == "salesforce",
                                                         model.FieldValue.field == "first_name"))
    assert {k: v["value"] for k, v in contact.attributes.items()} == {
        "company": "Acme", "email": "person1@example.com", "first_name": "First1", "last_name": "Last1",
        "lead_status": "NEW"}
    assert echoed.source_time == T0  # the echo keeps its origin's time: it is not a newer change
    assert len(outbox(store)) == 1  # nothing new for HubSpot nor Salesforce: no ping-pong
    assert dispatch_crm(store, CONFIG, "hubspot", FakePusher())["requests"] == 0


def test_a_real_change_in_salesforce_is_pushed_to_hubspot_by_id(store):
    ingest(store, "hubspot", "contacts", [hubspot_contact(1)])
    dispatch_crm(store, CONFIG, "salesforce", FakePusher())
    with store.transaction() as s:
        lead_id = s.scalar(select(model.Identity.value).where(model.Identity.kind == "salesforce_lead"))
    changed = {"Id": lead_id, "Email": "person1@example.com", "FirstName": "First1", "LastName": "Last1",
               "City": "Lisbon", "Status": "Open - Not Contacted", "IsConverted": False, "IsDeleted": False,
               "SystemModstamp": (T0 + timedelta(days=1)).isoformat()}
    ingest(store, "salesforce", "Lead", [changed])
    hub = [p for d, _, p, _ in outbox(store) if d == "hubspot"]
    assert [p["values"] for p in hub] == [{"city": "Lisbon", "lead_status": "NEW"}]
    pusher = FakePusher()
    dispatch_crm(store, CONFIG, "hubspot", pusher)
    (obj, items), = pusher.calls
    assert (obj, items[0].vendor_id, items[0].properties) == ("contacts", "1001",
                                                              {"city": "Lisbon", "hs_lead_status": "NEW"})


def test_refused_records_are_dead_lettered_and_the_rest_of_the_batch_lands(store):
    ingest(store, "hubspot", "contacts", [hubspot_contact(n) for n in range(1, 6)])

    def answer(item):
        if item.properties.get("Email") == "person3@example.com":
            return PushResult(item.key, "failed", error="REQUIRED_FIELD_MISSING: Company")
        if item.properties.get("Email") == "person4@example.com":
            return PushResult(item.key, "conflict", error="several Leads have this Lifesync_Id__c")
        return PushResult(item.key, "ok", f"00Q{item.external_id}")

    pusher = FakePusher(answer)
    result = dispatch_crm(store, CONFIG, "salesforce", pusher)
    assert (result["sent"], result["dead"], result["conflicts"], result["requests"]) == (3, 2, 1, 3)
    with store.transaction() as s:
        letters = sorted(d.reason for d in s.scalars(select(model.DeadLetter)))
        conflicts = [c.rule for c in s.scalars(select(model.ConflictLog)
                                               .where(model.ConflictLog.source == "salesforce"))]
        dead_contacts = {o.contact_id for o in s.scalars(select(model.Outbox).where(model.Outbox.status == "dead"))}
        echoes = {e.contact_id for e in s.scalars(select(model.EchoRecord)
                                                  .where(model.EchoRecord.system == "salesforce"))}
    assert letters == ["REQUIRED_FIELD_MISSING: Company", "several Leads have this Lifesync_Id__c"]
    assert conflicts == ["ambiguous_match"]
    assert not dead_contacts & echoes  # values that did not land are planned again on the next change


def test_the_quota_share_stops_a_write_back_and_the_next_run_sends_the_rest(store):
    ingest(store, "hubspot", "contacts", [hubspot_contact(n) for n in range(1, 6)])  # 5 rows: 3 batches of 2

    class Quota(FakePusher):
        def push(self, obj, items):
            if len(self.calls) == 1:  # the second request would go over the run's share
                raise QuotaReached("this run used its share of the daily API limit")
            return super().push(obj, items)

    first = dispatch_crm(store, CONFIG, "salesforce", Quota())
    assert (first["sent"], first["requests"], first["dead"], first["retrying"]) == (2, 1, 0, 0)
    assert sorted(status for *_, status in outbox(store)) == ["pending"] * 3 + ["sent"] * 2  # nothing spent
    rest = FakePusher()
    assert dispatch_crm(store, CONFIG, "salesforce", rest)["sent"] == 3 and len(rest.calls) == 2


def test_deferred_items_stay_pending_and_stop_the_run(store):
    """A pusher that spent the run's API share half-way through a batch answers the rest ``deferred``."""
    ingest(store, "hubspot", "contacts", [hubspot_contact(n) for n in range(1, 6)])  # 5 rows: 3 batches of 2

    class Spent(FakePusher):
        def push(self, obj, items):
            self.calls.append((obj, items))
            return [PushResult(items[0].key, "ok", f"00Q{items[0].external_id}")] + [
                PushResult(i.key, "deferred", error="this run used its share") for i in items[1:]]

    spent = Spent()
    first = dispatch_crm(store, CONFIG, "salesforce", spent)
    assert len(spent.calls) == 1  # nothing more after the deferral
    assert (first["sent"], first["dead"], first["retrying"]) == (1, 0, 0)
    assert sorted(status for *_, status in outbox(store)) == ["pending"] * 4 + ["sent"]
    with store.transaction() as s:  # a deferral is no failed attempt
        assert not s.scalars(select(model.Delivery).where(model.Delivery.status != "sent")).all()
    rest = FakePusher()
    assert dispatch_crm(store, CONFIG, "salesforce", rest)["sent"] == 4 and len(rest.calls) == 2


def test_a_rate_limited_batch_waits_and_is_sent_later(store):
    ingest(store, "hubspot", "contacts", [hubspot_contact(1)])

    class Limited(FakePusher):
        def push(self, obj, items):
            raise RateLimited("429 from Salesforce", retry_after=120)

    assert dispatch_crm(store, CONFIG, "salesforce", Limited())["retrying"] == 1
    (_, _, _, status), = outbox(store)
    assert status == "pending"
    assert dispatch_crm(store, CONFIG, "salesforce", FakePusher())["requests"] == 0  # not due yet
    later = model.utcnow() + timedelta(seconds=121)
    assert dispatch_crm(store, CONFIG, "salesforce", FakePusher(), now=later)["sent"] == 1


def test_a_row_overtaken_by_a_later_record_sends_the_current_value_or_nothing(store):
    ingest(store, "hubspot", "contacts", [hubspot_contact(1, city="Porto")])
    dispatch_crm(store, CONFIG, "salesforce", FakePusher())  # the lead exists in Salesforce now
    with store.transaction() as s:
        lead_id = s.scalar(select(model.Identity.value).where(model.Identity.kind == "salesforce_lead"))
    ingest(store, "hubspot", "contacts", [hubspot_contact(1, at=T0 + timedelta(hours=1), city="Faro")])
    assert [p["values"] for d, _, p, st in outbox(store) if d == "salesforce" and st == "pending"] == [
        {"city": "Faro"}]
    # before it is sent, Salesforce itself reports a newer city: the planned "Faro" is stale
    lead = {"Id": lead_id, "Email": "person1@example.com", "FirstName": "First1", "LastName": "Last1",
            "City": "Braga", "Status": "Open - Not Contacted", "IsConverted": False, "IsDeleted": False,
            "SystemModstamp": (T0 + timedelta(hours=2)).isoformat()}
    ingest(store, "salesforce", "Lead", [lead])
    pusher = FakePusher()
    counts = dispatch_crm(store, CONFIG, "salesforce", pusher)
    assert pusher.calls == [] and counts["superseded"] == 1  # never "Faro" over Salesforce's newer "Braga"
    with store.transaction() as s:
        assert not s.scalars(select(model.EchoRecord).where(model.EchoRecord.system == "salesforce",
                                                           model.EchoRecord.field == "city")).all()
    # and HubSpot is told Salesforce's newer value once
    hub = FakePusher()
    dispatch_crm(store, CONFIG, "hubspot", hub)
    assert [i.properties for _, items in hub.calls for i in items] == [{"city": "Braga", "hs_lead_status": "NEW"}]


def test_a_value_that_comes_back_is_pushed_again(store):
    def lead(lead_id, city, at):
        return {"Id": lead_id, "Email": "person1@example.com", "FirstName": "First1", "LastName": "Last1",
                "City": city, "Status": "Open - Not Contacted", "IsConverted": False, "IsDeleted": False,
                "SystemModstamp": at.isoformat()}

    ingest(store, "hubspot", "contacts", [hubspot_contact(1, city="Porto", hs_lead_status="NEW")])
    dispatch_crm(store, CONFIG, "salesforce", FakePusher())
    with store.transaction() as s:
        lead_id = s.scalar(select(model.Identity.value).where(model.Identity.kind == "salesforce_lead"))
    ingest(store, "salesforce", "Lead", [lead(lead_id, "Porto", T0 + timedelta(minutes=5))])  # the echo
    pushed = []
    for hour, city in ((1, "Braga"), (3, "Braga"), (5, "Braga")):  # Salesforce changes it, HubSpot puts it back
        ingest(store, "salesforce", "Lead", [lead(lead_id, city, T0 + timedelta(hours=hour))])
        hub = FakePusher()
        dispatch_crm(store, CONFIG, "hubspot", hub)
        pushed += [i.properties.get("city") for _, items in hub.calls for i in items]
        ingest(store, "hubspot", "contacts", [hubspot_contact(1, at=T0 + timedelta(hours=hour, minutes=30),
                                                              city="Braga", hs_lead_status="NEW")])
        ingest(store, "hubspot", "contacts", [hubspot_contact(1, at=T0 + timedelta(hours=hour + 1),
                                                              city="Porto", hs_lead_status="NEW")])
        dispatch_crm(store, CONFIG, "salesforce", FakePusher())
        ingest(store, "salesforce", "Lead", [lead(lead_id, "Porto", T0 + timedelta(hours=hour + 1, minutes=30))])
    assert pushed == ["Braga", "Braga", "Braga"]  # each time Salesforce's newer Braga reaches HubSpot


def test_a_system_that_moves_its_stage_again_is_told_the_current_stage(store):
    ingest(store, "hubspot", "contacts", [hubspot_contact(1, lifecyclestage="lead")])
    ingest(store, "salesforce", "Lead", [{
        "Id": "00Q1", "Email": "person1@example.com", "FirstName": "First1", "LastName": "Last1",
        "Status": "Working - Contacted", "IsConverted": False, "IsDeleted": False,
        "SystemModstamp": (T0 + timedelta(hours=1)).isoformat()}])  # Hot Lead
    hub = FakePusher()
    dispatch_crm(store, CONFIG, "hubspot", hub)
    assert [i.properties.get("lifecyclestage") for _, items in hub.calls for i in items] == ["salesqualifiedlead"]
    # a HubSpot user moves the contact back to lead; lifesync's stages only move forward, so HubSpot is corrected
    ingest(store, "hubspot", "contacts", [hubspot_contact(1, at=T0 + timedelta(hours=2), lifecyclestage="lead")])
    again = FakePusher()
    dispatch_crm(store, CONFIG, "hubspot", again)
    assert [i.properties.get("lifecyclestage") for _, items in again.calls for i in items] == ["salesqualifiedlead"]


def test_a_hubspot_opt_out_reaches_contacts_segments_and_salesforce_without_ping_pong(store):
    ingest(store, "hubspot", "contacts", [hubspot_contact(1, company="Acme", hs_lead_status="NEW",
                                                          hs_email_optout="true")])
    with store.transaction() as s:
        contact = s.scalars(select(model.Contact)).one()
        fv = s.scalars(select(model.FieldValue).where(model.FieldValue.field == "consent.marketing_email")).one()
        denied = set(s.scalars(members_query(segment("{label: x, conditions: [{consent: {marketing_email: denied}}]}"),
                                             store.dialect, T0)))
    assert contact.consent == {"marketing_email": False} and "consent.marketing_email" not in contact.attributes
    assert (fv.source, fv.value, fv.source_time, fv.record_id) == ("hubspot", False, T0, "1001")
    assert denied == {contact.id}
    [(destination, _, payload, _)] = outbox(store)
    assert destination == "salesforce" and payload["values"]["consent.marketing_email"] is False

    pusher = FakePusher()
    assert dispatch_crm(store, CONFIG, "salesforce", pusher)["sent"] == 1
    [(obj, [item])] = pusher.calls
    assert obj == "Lead" and item.properties["HasOptedOutOfEmail"] is True
    with store.transaction() as s:
        lead_id = s.scalar(select(model.Identity.value).where(model.Identity.kind == "salesforce_lead"))
    # Salesforce reports the lead back, opted out as lifesync wrote it: an echo, dated by its origin
    echo = {"Id": lead_id, "Email": "person1@example.com", "FirstName": "First1", "LastName": "Last1",
            "Company": "Acme", "Status": "Open - Not Contacted", "IsConverted": False, "IsDeleted": False,
            "HasOptedOutOfEmail": True, "SystemModstamp": (T0 + timedelta(minutes=5)).isoformat()}
    ingest(store, "salesforce", "Lead", [echo])
    with store.transaction() as s:
        back = s.scalars(select(model.FieldValue).where(model.FieldValue.field == "consent.marketing_email",
                                                        model.FieldValue.source == "salesforce")).one()
        assert s.scalars(select(model.Contact)).one().consent == {"marketing_email": False}
    assert back.source_time == T0  # not a newer change
    assert len(outbox(store)) == 1  # nothing new to push anywhere
