"""`lifesync sync hubspot` against the HubSpot sandbox: the search cap, a long 429 storm, mappings the portal refuses.

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
