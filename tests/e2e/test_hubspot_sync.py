"""`lifesync sync hubspot` against the HubSpot sandbox: backfill, increments, the search cap, deletes, faults."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from support.crm import count, identities, run, settings_for

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


def contact_fields(store, hubspot_id: str) -> dict:
    with store.transaction() as s:
        cid = s.scalar(select(model.Identity.contact_id).where(model.Identity.kind == "hubspot",
                                                               model.Identity.value == hubspot_id))
        return {f.field: f.value for f in s.scalars(select(model.FieldValue).where(
            model.FieldValue.contact_id == cid, model.FieldValue.source == "hubspot"))}


def test_backfill_of_20000_contacts_then_only_what_changed(hubspot, store):
    sandbox, settings = hubspot(HubSpotSandbox.seeded(contacts=20_000, rate_per_10s=None))
    report = run("hubspot", settings, store, objects=["contacts"], push=False)
    assert report["objects"]["contacts"]["created"] == 20_000
    assert identities(store, "hubspot") == {r["id"] for r in sandbox.records("contacts")}
    assert sandbox.calls["GET /crm/v3/objects/contacts"] == 200  # 100 a page
    first_calls = sandbox.api_calls

    ids = sorted(identities(store, "hubspot"), key=int)
    sandbox.put("contacts", {"city": "Porto"}, id=ids[10])
    sandbox.put("contacts", {"city": "Faro"}, id=ids[20])
    sandbox.archive("contacts", ids[30])
    report = run("hubspot", settings, store, objects=["contacts"], push=False)
    contacts = report["objects"]["contacts"]
    assert contacts["records"] < 50  # the changes, plus whatever the lookback window re-reads
    assert contacts["created"] == 0
    assert sandbox.api_calls - first_calls <= 3  # one search page and the archived pass
    assert contact_fields(store, ids[10])["city"] == "Porto"
    assert contact_fields(store, ids[20])["city"] == "Faro"
    assert contact_fields(store, ids[30]) == {}  # archived: HubSpot's values no longer count
    assert count(store, model.Contact) == 20_000


def test_12000_contacts_sharing_one_modified_time_all_arrive_without_looping(hubspot, store):
    sandbox, settings = hubspot(HubSpotSandbox(rate_per_10s=None))
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
    searches = sandbox.calls["POST /crm/v3/objects/contacts/search"]
    assert searches <= 12_000 // 200 + 3  # no page read twice past the cap, no loop
    assert count(store, model.Contact) == 12_000


def test_a_429_storm_is_ridden_out(hubspot, store):
    sandbox, settings = hubspot(HubSpotSandbox.seeded(contacts=1_000, rate_per_10s=None))
    sandbox.faults.storm(3, retry_after=1)  # HubSpot sends whole seconds; sleeping is faked here
    report = run("hubspot", settings, store, objects=["contacts"], push=False)
    assert report["objects"]["contacts"]["created"] == 1_000
    assert report["stats"]["rate_limit_waits"] >= 3
    assert sandbox.faults.injected == 3


def test_a_long_storm_stops_the_run_and_the_next_run_resumes_with_nothing_lost_or_repeated(hubspot, store):
    sandbox, settings = hubspot(HubSpotSandbox.seeded(contacts=2_000, rate_per_10s=None))
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
    before = sandbox.calls["GET /crm/v3/objects/contacts"]
    report = run("hubspot", settings, store, objects=["contacts"], push=False)
    assert report["objects"]["contacts"]["created"] == 2_000 - committed
    assert count(store, model.Contact) == 2_000
    assert sandbox.calls["GET /crm/v3/objects/contacts"] - before < 21  # resumed, not restarted


class Killed(Exception):
    """The worker dying right after a commit."""


def test_a_crash_mid_sync_resumes_with_nothing_lost_or_duplicated(hubspot, store):
    sandbox, settings = hubspot(HubSpotSandbox.seeded(contacts=1_500, rate_per_10s=None))
    commits = []

    def die_on_second_commit(obj, stats, result):
        commits.append(result.records)
        if len(commits) == 2:
            raise Killed

    with pytest.raises(Killed):
        run("hubspot", settings, store, objects=["contacts"], push=False, progress=die_on_second_commit)
    assert count(store, model.Contact) == 1_000  # two batches of 500 committed, with their cursor
    before = sandbox.calls["GET /crm/v3/objects/contacts"]
    report = run("hubspot", settings, store, objects=["contacts"], push=False)
    assert report["objects"]["contacts"]["created"] == 500
    assert sandbox.calls["GET /crm/v3/objects/contacts"] - before == 5  # the five pages not yet committed
    assert count(store, model.Contact) == 1_500
    assert count(store, model.Identity, model.Identity.kind == "hubspot") == 1_500
    per_contact = count(store, model.FieldValue) / 1_500
    full = run("hubspot", settings, store, objects=["contacts"], push=False, full=True)
    assert full["objects"]["contacts"]["created"] == 0 and full["objects"]["contacts"]["updated"] == 0
    assert count(store, model.FieldValue) / 1_500 == per_contact  # nothing duplicated


def test_lifesync_sync_refuses_mappings_whose_values_the_portal_does_not_have(hubspot, store, tmp_path, monkeypatch):
    import shutil

    from sync.config import BUNDLED_CONFIG_DIR, load_config
    from sync.errors import ConfigError

    _sandbox, settings = hubspot(HubSpotSandbox.seeded(contacts=10, rate_per_10s=None))
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
