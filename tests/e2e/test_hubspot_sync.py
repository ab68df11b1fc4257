"""`lifesync sync hubspot` against the HubSpot sandbox: the search cap, a long 429 storm, mappings the portal refuses,
the portal's validation rules (API version 2026-09) refusing one record of a write-back batch.

Backfill, increments, deletes, a short 429 storm, resuming after a crash and write-back batches are the
connector contract's (tests/crm/test_connector_contract.py), for every CRM.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from support.crm import count, run, settings_for

from sync.crm.pull import load_cursor
from sync.errors import RateLimited
from sync.sandbox.hubspot.sandbox import HubSpotSandbox
from sync.sandbox.salesforce.sandbox import SalesforceSandbox
from sync.sandbox.server import SandboxServer
from sync.store import model


@pytest.fixture
def hubspot(store, database_url):
    def start(sandbox: HubSpotSandbox):
        server = SandboxServer(hubspot=sandbox).start()
        started.append(server)
        return sandbox, settings_for(server, database_url)

    started: list[SandboxServer] = []
    yield start
    for server in started:
        server.stop()


def test_12000_contacts_sharing_one_modified_time_all_arrive_without_looping(hubspot, store):
    sandbox, settings = hubspot(HubSpotSandbox(rate_per_10s=None, search_per_second=None))
    run("hubspot", settings, store, objects=["contacts"], push=False)  # empty first run sets the bookmark
    at = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=1)
    for n in range(12_000):
        sandbox.put("contacts", {"email": f"same.time.{n}@example.com", "firstname": f"N{n}"}, at=at)
    # the second run must start after `at` (its upper bound is its own start time)
    sandbox.clock = lambda: at.timestamp() + 5
    import time as _time
    while _time.time() < at.timestamp() + 1.5:
        _time.sleep(0.05)
    report = run("hubspot", settings, store, objects=["contacts"], push=False)
    assert report["objects"]["contacts"]["created"] == 12_000
    searches = sandbox.calls["POST /crm/objects/2026-09/contacts/search"]
    assert searches <= 12_000 // 200 + 3  # no page read twice past the cap, no loop
    assert count(store, model.Contact) == 12_000


def test_a_long_storm_stops_the_run_and_the_next_run_resumes_with_nothing_lost_or_repeated(hubspot, store):
    sandbox, settings = hubspot(HubSpotSandbox.seeded(contacts=2_000, rate_per_10s=None, search_per_second=None))
    pages = []

    def storm_after_five_pages(obj, stats, result):
        pages.append(result.records)
        if len(pages) == 1:
            sandbox.faults.storm(50, retry_after=0.01)

    with pytest.raises(RateLimited):
        run("hubspot", settings, store, objects=["contacts"], push=False, progress=storm_after_five_pages)
    committed = count(store, model.Contact)
    assert 0 < committed < 2_000
    cursor = load_cursor(store, "hubspot", "default", "contacts")
    assert cursor  # the committed pages' cursor
    sandbox.faults.storm(0)
    before = sandbox.calls["GET /crm/objects/2026-09/contacts"]
    report = run("hubspot", settings, store, objects=["contacts"], push=False)
    assert report["objects"]["contacts"]["created"] == 2_000 - committed
    assert count(store, model.Contact) == 2_000
    assert sandbox.calls["GET /crm/objects/2026-09/contacts"] - before < 21  # resumed, not restarted


def test_lifesync_sync_refuses_mappings_whose_values_the_portal_does_not_have(hubspot, store, tmp_path, monkeypatch):
    import shutil

    from sync.config import BUNDLED_CONFIG_DIR, load_config
    from sync.errors import ConfigError

    _sandbox, settings = hubspot(HubSpotSandbox.seeded(contacts=10, rate_per_10s=None, search_per_second=None))
    project = tmp_path / "project"
    (project / "mappings").mkdir(parents=True)
    text = (BUNDLED_CONFIG_DIR / "mappings" / "hubspot_contacts.yaml").read_text()
    (project / "mappings" / "hubspot_contacts.yaml").write_text(text.replace("opportunity: Payment",
                                                                             "opportunity_won: Payment"))
    shutil.copy(BUNDLED_CONFIG_DIR / "lifecycle.yaml", project / "lifecycle.yaml")
    config = load_config(project)
    with pytest.raises(ConfigError) as caught:
        run("hubspot", settings, store, config=config, objects=["contacts"], push=False, check_mappings=True)
    text = "\n".join(map(str, caught.value.issues))
    assert "hubspot_contacts.yaml" in text and "opportunity_won" in text
    assert count(store, model.Contact) == 0  # nothing synced with a mapping the portal contradicts
    run("hubspot", settings, store, objects=["contacts"], push=False, check_mappings=True)  # the bundled one is fine
    assert count(store, model.Contact) == 10


@pytest.mark.parametrize("version", ["2026-09", "legacy"])
def test_a_record_the_portals_rules_refuse_is_dead_lettered_alone_with_hubspots_message(store, database_url, version):
    hub = HubSpotSandbox(rate_per_10s=None, search_per_second=None)
    hub.add_validation_rule("contacts", "jobtitle", on_create=True)  # the create form requires a job title
    sf = SalesforceSandbox()
    for n in range(6):  # six people only Salesforce knows; one without a title
        sf.insert("Lead", {"LastName": f"Person{n}", "Company": "Acme", "Email": f"person{n}@example.com",
                           "Status": "Open - Not Contacted", **({"Title": "Buyer"} if n != 3 else {})})
    with SandboxServer(hubspot=hub, salesforce=sf) as server:
        settings = settings_for(server, database_url, LIFESYNC_HUBSPOT_API_VERSION=version)
        run("salesforce", settings, store, push=False)
        pushed = run("hubspot", settings, store)["pushed"]
    emails = sorted(r["properties"]["email"] for r in hub.records("contacts"))
    with store.transaction() as session:
        reasons = [d.reason for d in session.query(model.DeadLetter).filter_by(source="hubspot")]
    if version == "legacy":  # the legacy paths ignore the portal's rules (they were UI-only)
        assert (pushed["sent"], pushed["dead"]) == (6, 0) and len(emails) == 6 and reasons == []
        return
    assert (pushed["sent"], pushed["dead"], pushed["requests"]) == (5, 1, 1)  # one batch, one record refused
    assert emails == [f"person{n}@example.com" for n in (0, 1, 2, 4, 5)]
    (reason,) = reasons
    assert reason.startswith("VALIDATION_ERROR: Property values were not valid")
    assert "jobtitle is required to create this record" in reason
