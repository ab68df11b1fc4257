"""`lifesync sync salesforce` against the Salesforce sandbox, and HubSpot ↔ Salesforce through lifesync."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from support.crm import count, identities, run, settings_for, source_values

from sync.crm.pull import load_cursor
from sync.sandbox.hubspot.sandbox import HubSpotSandbox
from sync.sandbox.salesforce.sandbox import SalesforceSandbox
from sync.sandbox.server import SandboxServer
from sync.store import model


@pytest.fixture
def sandboxes(store, database_url):
    started: list[SandboxServer] = []

    def start(*, hubspot=None, salesforce=None, **extra):
        server = SandboxServer(hubspot=hubspot, salesforce=salesforce).start()
        started.append(server)
        return settings_for(server, database_url, **extra)

    yield start
    for server in started:
        server.stop()


def test_a_late_commit_inside_the_overlap_and_a_converted_lead_arrive(sandboxes, store):
    sf = SalesforceSandbox.seeded(leads=300, contacts=50, opportunities=20)
    settings = sandboxes(salesforce=sf)
    run("salesforce", settings, store, push=False)  # the backfill: the connector contract's first sync
    assert load_cursor(store, "salesforce", "default", "Lead")["bookmark"]

    late = sf.insert("Lead", {"LastName": "Late", "Company": "Slow Commit Ltd", "Email": "late@example.com",
                              "Status": "Open - Not Contacted"},
                     modstamp=datetime.now(UTC) - timedelta(seconds=60))  # committed late, stamped earlier
    converted = sf.records("Lead")[7]["Id"]
    contact_id = sf.convert_lead(converted)
    report = run("salesforce", settings, store, push=False)
    assert late in identities(store, "salesforce_lead")
    assert source_values(store, "salesforce_lead", late, "salesforce")["last_name"] == "Late"
    with store.transaction() as s:
        owners = set(s.scalars(select(model.Identity.contact_id).where(
            model.Identity.value.in_([converted, contact_id]))))
    assert len(owners) == 1  # the converted lead was followed to its contact: one person
    assert report["objects"]["Lead"]["created"] == 1


def test_a_bulk_backfill_above_the_threshold(sandboxes, store):
    sf = SalesforceSandbox.seeded(leads=2_500)
    settings = sandboxes(salesforce=sf, LIFESYNC_SALESFORCE_BULK_THRESHOLD="1000")
    report = run("salesforce", settings, store, objects=["Lead"], push=False)
    assert report["objects"]["Lead"]["records"] == 2_500
    assert any("jobs/query" in key for key in sf.calls)
    assert count(store, model.Identity, model.Identity.kind == "salesforce_lead") == 2_500


def test_the_quota_share_stops_a_run_which_resumes_later(sandboxes, store):
    sf = SalesforceSandbox.seeded(leads=5_000, daily_limit=40, query_batch_size=500)
    settings = sandboxes(salesforce=sf, LIFESYNC_SALESFORCE_QUOTA_SHARE="0.25")  # 10 calls a run, 10 pages to read
    first = run("salesforce", settings, store, objects=["Lead"], push=False)
    assert first["objects"]["Lead"]["stopped"] == "quota"
    got = count(store, model.Identity, model.Identity.kind == "salesforce_lead")
    assert 0 < got < 5_000
    runs = 1
    while count(store, model.Identity, model.Identity.kind == "salesforce_lead") < 5_000 and runs < 10:
        sf.use_quota(-sf.api_usage())  # a new day
        run("salesforce", settings, store, objects=["Lead"], push=False)
        runs += 1
    assert count(store, model.Identity, model.Identity.kind == "salesforce_lead") == 5_000


def test_hubspot_to_salesforce_and_back_makes_no_ping_pong(sandboxes, store):
    hub = HubSpotSandbox.seeded(contacts=300, rate_per_10s=None, search_per_second=None)
    sf = SalesforceSandbox()
    settings = sandboxes(hubspot=hub, salesforce=sf)
    first = run("hubspot", settings, store, objects=["contacts"], push=False)
    assert first["objects"]["contacts"]["created"] == 300
    pushed = run("salesforce", settings, store)  # pulls (nothing yet), then writes back what Salesforce lacks
    assert pushed["pushed"]["sent"] == 300
    assert pushed["pushed"]["requests"] == 2  # 200 records per collection request
    assert len(sf.records("Lead")) == 300
    assert {w["client"] for w in sf.writes} == {"lifesync"}  # every write marked for echo suppression

    outbox_before = count(store, model.Outbox)
    echo = run("salesforce", settings, store)  # the leads come back: echoes, not changes
    assert echo["objects"]["Lead"]["records"] == 300
    assert run("hubspot", settings, store)["pushed"]["sent"] == 0
    assert run("salesforce", settings, store)["pushed"]["sent"] == 0
    assert count(store, model.Outbox) == outbox_before  # nothing planned for either CRM: no ping-pong
    assert len(sf.records("Lead")) == 300 and len(hub.records("contacts")) == 300


def test_partial_batch_failures_are_dead_lettered_while_the_rest_lands(sandboxes, store):
    hub = HubSpotSandbox(rate_per_10s=None, search_per_second=None)
    for n in range(10):
        props = {"email": f"p{n}@example.com", "firstname": f"P{n}", "company": "Acme"}
        if n in (3, 7):
            props.pop("company")
        hub.put("contacts", {**props, "lastname": f"L{n}"} if n != 5 else props)
    sf = SalesforceSandbox()
    settings = sandboxes(hubspot=hub, salesforce=sf)
    run("hubspot", settings, store, objects=["contacts"], push=False)
    report = run("salesforce", settings, store)
    leads = sf.records("Lead")
    assert report["pushed"]["sent"] == len(leads)
    assert report["pushed"]["dead"] == 10 - len(leads) > 0
    with store.transaction() as s:
        reasons = [d.reason for d in s.scalars(select(model.DeadLetter).where(model.DeadLetter.stage == "dispatch"))]
    assert len(reasons) == report["pushed"]["dead"]
    assert all("REQUIRED_FIELD_MISSING" in r for r in reasons)


def test_every_fault_knob_at_once_loses_and_duplicates_nothing(sandboxes, store):
    from sync.sandbox.faults import Faults

    hub = HubSpotSandbox.seeded(contacts=1_500, rate_per_10s=None, search_per_second=None,
                                 faults=Faults(error_rate=0.15, latency=0.001))
    sf = SalesforceSandbox.seeded(leads=1_500, faults=Faults(error_rate=0.15, latency=0.001, seed=3))
    settings = sandboxes(hubspot=hub, salesforce=sf)
    hub.faults.storm(3, retry_after=1)
    sf.faults.storm(2, retry_after=1)
    reports = [run("hubspot", settings, store, push=False), run("salesforce", settings, store, push=False)]
    assert hub.faults.injected >= 5 and sf.faults.injected >= 3  # the faults really happened (seeded: same every run)
    assert identities(store, "hubspot") == {r["id"] for r in hub.records("contacts")}
    assert identities(store, "salesforce_lead") == {r["Id"] for r in sf.records("Lead")}
    for report in reports:
        assert all(o["dead_lettered"] == 0 for o in report["objects"].values())
    with store.transaction() as s:
        per_slot = s.execute(select(model.FieldValue.contact_id, model.FieldValue.field, model.FieldValue.source)
                             .group_by(model.FieldValue.contact_id, model.FieldValue.field, model.FieldValue.source)
                             .having(func.count() > 1)).all()
    assert per_slot == []  # nothing written twice
    # and the write-back through the same faults: every record lands once
    pushed = run("salesforce", settings, store)["pushed"]
    assert pushed["dead"] == 0
    emails = [r.get("Email") for r in sf.records("Lead")]
    assert len(emails) == len(set(emails))  # no lead created twice by a retried request
