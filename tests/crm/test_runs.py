"""``sync.crm.runs``: every CRM sync run leaves one row (how it ended, what it moved, the vendor's message)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from support.crm import run, settings_for

from sync.crm import runs
from sync.errors import AuthError
from sync.sandbox.hubspot.sandbox import HubSpotSandbox
from sync.sandbox.server import SandboxServer
from sync.store import model

WRONG = "wrong-secret-value-123456"


@pytest.fixture
def hubspot(store):
    server = SandboxServer(hubspot=HubSpotSandbox.seeded(contacts=30, rate_per_10s=None,
                                                         search_per_second=None)).start()
    yield server
    server.stop()


def rows(store) -> list[model.SyncRun]:
    with store.transaction() as session:
        found = list(session.scalars(select(model.SyncRun).order_by(model.SyncRun.id)))
        session.expunge_all()
    return found


def test_a_sync_run_is_recorded_with_what_it_read(hubspot, store, database_url):
    report = run("hubspot", settings_for(hubspot, database_url), store)
    [row] = rows(store)
    assert (row.system, row.connection, row.status, row.error) == ("hubspot", "default", runs.OK, None)
    assert row.records_in == sum(o["records"] for o in report["objects"].values()) >= 30
    assert row.api_calls == report["stats"]["api_calls"] > 0
    assert row.finished_at >= row.started_at
    assert row.summary["objects"].keys() == report["objects"].keys()


def test_a_refused_run_is_recorded_failed_with_the_vendors_message_and_no_secret(hubspot, store, database_url):
    with pytest.raises(AuthError):
        run("hubspot", settings_for(hubspot, database_url, LIFESYNC_HUBSPOT_TOKEN=WRONG), store)
    [row] = rows(store)
    assert row.status == runs.FAILED and row.finished_at is not None
    assert "Authentication credentials not found" in row.error
    assert WRONG not in row.error and WRONG not in str(row.summary)


def test_a_run_left_running_is_abandoned_when_the_next_starts_and_old_runs_are_purged(store):
    now = model.utcnow()
    ancient = runs.start(store, "hubspot", "default", now=now - runs.RETENTION - timedelta(minutes=1))
    runs.finish(store, ancient, {}, now=now - runs.RETENTION)
    killed = runs.start(store, "hubspot", "default", now=now - timedelta(hours=1))
    other = runs.start(store, "salesforce", "default", now=now - timedelta(hours=1))
    runs.start(store, "hubspot", "default", now=now)
    found = {r.id: r for r in rows(store)}
    assert ancient not in found
    assert (found[killed].status, found[killed].error) == (runs.ABANDONED, runs.ABANDONED_REASON)
    assert found[other].status == runs.RUNNING  # another connection's run is its own business
