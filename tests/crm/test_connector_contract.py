"""The CRM connector contract: what every puller/pusher does against its vendor, HubSpot and Salesforce alike.

Each property runs ``lifesync sync`` (``support.crm.run``: the real connector, runner and store)
against the in-process sandbox of every CRM in ``support.crm.CRMS``:

- a first sync (backfill) lands every record of every object, a page at a time;
- an incremental sync reads exactly what changed since its bookmark (and the overlap window
  before it), for two API calls;
- a deleted record arrives as a delete: the CRM's values are withdrawn, the person stays;
- a 429 is honoured: its Retry-After is slept and the sync completes; the run's stats count the wait;
- a run that dies after a commit resumes where it stopped: nothing lost, nothing repeated;
- write-back sends batches at the vendor's maximum (HubSpot 100, Salesforce 200 a request).

What only one CRM does (search caps, bulk jobs, quotas, converted leads, OAuth, index lag...)
stays in tests/connectors/ and tests/e2e/test_{hubspot,salesforce}_sync.py.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

import pytest
from support.crm import CRMS, HUBSPOT, SALESFORCE, Crm, count, identities, run, settings_for, source_values

from sync.crm.pull import load_cursor
from sync.sandbox.server import SandboxServer
from sync.store import model

OTHER = {HUBSPOT.name: SALESFORCE, SALESFORCE.name: HUBSPOT}  # where the people a write-back sends come from
EACH = pytest.mark.parametrize("crm", CRMS, ids=lambda c: c.name)


@pytest.fixture
def serve(store, database_url):
    """``serve(sandboxes)`` → settings pointing lifesync at the sandboxes (by CRM name), served on loopback."""
    started: list[SandboxServer] = []

    def start(sandboxes: dict[str, Any]):
        server = SandboxServer(**sandboxes).start()
        started.append(server)
        return settings_for(server, database_url)

    yield start
    for server in started:
        server.stop()


def pull(crm: Crm, settings, store, **kwargs) -> dict:
    """One sync of the people object, nothing written back."""
    return run(crm.name, settings, store, objects=[crm.obj], push=False, **kwargs)


def bookmark(store, crm: Crm) -> datetime:
    """Where the people object's next incremental sync starts."""
    return datetime.fromisoformat(load_cursor(store, crm.name, "default", crm.obj)["bookmark"].replace("Z", "+00:00"))


@EACH
def test_a_first_sync_lands_every_record_of_every_object_a_page_at_a_time(serve, store, crm):
    sandbox = crm.backfill()
    report = run(crm.name, serve({crm.name: sandbox}), store, push=False)
    for obj, kind in crm.objects.items():
        records, done = len(sandbox.records(obj)), report["objects"][obj]
        assert (done["records"], done["dead_lettered"], done["pages"]) == (records, 0, math.ceil(records / crm.page))
        if kind == crm.identity:
            assert done["created"] == records and identities(store, kind) == crm.ids(sandbox, obj)
        elif kind is not None:  # people of another object (Salesforce contacts): some may be leads already
            assert identities(store, kind) >= crm.ids(sandbox, obj)
    assert count(store, model.Contact) >= len(sandbox.records(crm.obj))
    assert load_cursor(store, crm.name, "default", crm.obj)["bookmark"]  # where the next sync starts


@EACH
def test_an_incremental_sync_reads_only_what_changed_since_its_bookmark(serve, store, crm):
    sandbox = crm.people(300)
    settings = serve({crm.name: sandbox})
    pull(crm, settings, store)
    since = bookmark(store, crm) - timedelta(seconds=crm.window)
    ids = sorted(crm.ids(sandbox, crm.obj))
    crm.change(sandbox, ids[10], "Porto")
    crm.change(sandbox, ids[20], "Faro")
    new = crm.add(sandbox, "new.arrival@example.com")
    report = pull(crm, settings, store)
    # the changes, and whatever else the overlap window before the bookmark re-reads: nothing more
    assert report["objects"][crm.obj]["records"] == sum(at >= since for at in crm.modified(sandbox)) < 10
    assert report["objects"][crm.obj]["created"] == 1 and report["stats"]["api_calls"] == crm.incremental_calls
    assert source_values(store, crm.identity, ids[10], crm.name)["city"] == "Porto"
    assert source_values(store, crm.identity, ids[20], crm.name)["city"] == "Faro"
    assert new in identities(store, crm.identity) and count(store, model.Contact) == 301


@EACH
def test_a_deleted_record_arrives_as_a_delete(serve, store, crm):
    sandbox = crm.people(300)
    settings = serve({crm.name: sandbox})
    pull(crm, settings, store)
    gone = sorted(crm.ids(sandbox, crm.obj))[30]
    assert source_values(store, crm.identity, gone, crm.name)
    crm.delete(sandbox, gone)
    report = pull(crm, settings, store)
    assert report["stats"]["deleted"] == 1
    assert source_values(store, crm.identity, gone, crm.name) == {}  # the CRM's values no longer count
    assert gone in identities(store, crm.identity) and count(store, model.Contact) == 300  # the person stays


def storm_after_the_first_commit(sandbox) -> Any:
    """A progress hook: the requests after the first committed batch are answered 429 (Retry-After: 2 s) thrice."""
    commits = []

    def hook(obj, stats, result):
        commits.append(result.records)
        if len(commits) == 1:
            sandbox.faults.storm(3, retry_after=2)

    return hook


@EACH
def test_a_429_is_waited_out_for_its_retry_after_and_the_sync_completes(serve, store, crm):
    sandbox = crm.people(1_000)
    settings = serve({crm.name: sandbox})
    slept: list[float] = []
    report = pull(crm, settings, store, sleep=slept.append, progress=storm_after_the_first_commit(sandbox))
    assert sandbox.faults.injected == 3 and slept == [2.0, 2.0, 2.0]
    assert report["objects"][crm.obj]["created"] == 1_000
    assert report["stats"]["api_calls"] == report["objects"][crm.obj]["pages"] + crm.overhead + 3  # 429s: retried
    assert identities(store, crm.identity) == crm.ids(sandbox, crm.obj)


@EACH
def test_a_429_wait_is_counted_in_the_run_stats(serve, store, crm):
    sandbox = crm.people(1_000)
    settings = serve({crm.name: sandbox})
    report = pull(crm, settings, store, sleep=lambda seconds: None, progress=storm_after_the_first_commit(sandbox))
    stats = report["stats"]
    assert (stats["rate_limit_waits"], stats["rate_limit_seconds"]) == (3, 6.0)


class Killed(Exception):
    """The worker dying right after a commit."""


@EACH
def test_a_run_killed_after_a_commit_resumes_with_nothing_lost_or_repeated(serve, store, crm):
    sandbox = crm.people(1_500)
    settings = serve({crm.name: sandbox})
    commits = []

    def die_on_second_commit(obj, stats, result):
        commits.append(result.records)
        if len(commits) == 2:
            raise Killed

    with pytest.raises(Killed):
        pull(crm, settings, store, progress=die_on_second_commit)
    assert count(store, model.Contact) == 1_000  # two batches of 500 committed, with their cursor
    assert load_cursor(store, crm.name, "default", crm.obj)
    before = crm.page_calls(sandbox)
    report = pull(crm, settings, store)
    assert report["objects"][crm.obj]["created"] == 500
    # only the pages not yet committed: resumed, not restarted
    assert report["objects"][crm.obj]["pages"] == crm.page_calls(sandbox) - before == 500 // crm.page
    assert count(store, model.Contact) == 1_500 and identities(store, crm.identity) == crm.ids(sandbox, crm.obj)
    per_contact = count(store, model.FieldValue) / 1_500
    full = pull(crm, settings, store, full=True)
    assert full["objects"][crm.obj]["created"] == 0 and full["objects"][crm.obj]["updated"] == 0
    assert count(store, model.FieldValue) / 1_500 == per_contact  # nothing duplicated


@EACH
def test_write_back_sends_batches_at_the_vendor_maximum(serve, store, crm):
    other = OTHER[crm.name]
    sandbox, source = crm.people(0), other.people(2 * crm.max_batch)
    settings = serve({crm.name: sandbox, other.name: source})
    pull(other, settings, store)  # the other CRM's people, which this one lacks
    pushed = run(crm.name, settings, store)["pushed"]
    assert (pushed["sent"], pushed["dead"], pushed["requests"]) == (2 * crm.max_batch, 0, 2)
    assert sandbox.calls[crm.write] == 2  # each request at the maximum: the sandbox refuses one more
    assert crm.written(sandbox) == 2 * crm.max_batch
