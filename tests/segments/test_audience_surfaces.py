"""The audience sync's faces — ``lifesync segments sync``, the ``sync_audiences`` job (the API's are in
tests/web/api/test_audiences_api.py) — over the same service function, with segments and members handed in."""

from __future__ import annotations

import json
import os

import pytest
from click.testing import CliRunner
from support.audiences import FakeDestination, Segment, patch_segments

import jobs.tasks
from sync.cli.main import main
from sync.segments.audiences import run
from sync.segments.audiences.status import audience_status
from sync.segments.destinations.base import DestinationEntry

FAKE = DestinationEntry("fake-lapsed", "fake")


@pytest.fixture
def segments(store, monkeypatch, tmp_path):
    return patch_segments(store, monkeypatch, tmp_path)


def test_sync_segments_runs_each_destination_and_one_failing_does_not_stop_the_others(store, segments, tmp_path):
    broken = DestinationEntry("csv-broken", "csv", {"columns": "password"})
    lapsed = Segment("lapsed", "Lapsed customers", destinations=(broken, FAKE))
    fake = FakeDestination()
    from sync.settings import Settings

    results = run.sync_segments(store, Settings.from_env(), [lapsed], destinations={"fake-lapsed": fake})
    assert [r.destination for r in results] == ["csv-broken", "fake-lapsed"]
    assert results[0].error.startswith("SettingsError: audience destination 'csv-broken' (csv): columns")
    assert (results[1].added, results[1].skipped) == (2, 1) and sorted(fake.held) == sorted(segments[:2])
    status = {s["destination"]: s for s in audience_status(store, "lapsed")}
    assert status["fake-lapsed"]["members"] == {"added": 2, "pending_add": 0, "pending_remove": 0, "skipped": 1,
                                               "failed": 0}
    assert status["fake-lapsed"]["remote_id"] == "aud-lapsed" and status["fake-lapsed"]["last_sync"]["added"] == 2


def test_unknown_segments_and_destinations_are_named_with_what_exists(segments):
    with pytest.raises(run.NotFound, match="no segment 'gone'; configured: lapsed, hot"):
        run.select_segments(run.configured_segments(None), "gone", None)
    with pytest.raises(run.NotFound, match="no destination 'meta' for segment 'lapsed'; destinations: csv-lapsed"):
        run.select_segments(run.configured_segments(None), "lapsed", "meta")


@pytest.fixture
def cli(store, segments, database_url, monkeypatch):
    for name in [n for n in os.environ if n.startswith("LIFESYNC_") and n != "LIFESYNC_AUDIENCE_CSV_DIR"]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("DATABASE_URL", database_url)
    return lambda *args: CliRunner().invoke(main, ["segments", "sync", *args])


def audited(store):
    from sync.store import model

    with store.transaction() as s:
        return s.query(model.AuditEntry).filter_by(action="segment.sync").order_by(model.AuditEntry.target_id).all()


def test_the_cli_prints_counts_per_destination_dry_then_for_real(cli, tmp_path, store):
    dry = cli("lapsed", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert dry.output == ("lapsed → csv-lapsed: added 2, removed 0, unchanged 0, skipped 1, failed 0 "
                          "(dry run: nothing sent)\n")
    assert not (tmp_path / "csv").exists()
    assert not audited(store)  # a dry run changes nothing
    real = cli()
    assert real.output == "lapsed → csv-lapsed: added 2, removed 0, unchanged 0, skipped 1, failed 0\n"
    assert [(e.actor.startswith("cli:"), e.target_id, e.after["results"]) for e in audited(store)] == [
        (True, "lapsed", {"csv-lapsed": {"added": 2, "removed": 0, "failed": 0, "error": None}})]
    again = json.loads(cli("lapsed", "--destination", "csv-lapsed", "--json").output)
    assert [(r["added"], r["unchanged"], r["skipped"]) for r in again] == [(0, 2, 1)]
    state = CliRunner().invoke(main, ["segments", "audiences", "lapsed"])
    assert state.output.startswith("csv-lapsed (csv, ") and state.output.rstrip().endswith(
        "added 2, pending_add 0, pending_remove 0, skipped 1, failed 0")
    none = CliRunner().invoke(main, ["segments", "audiences", "hot"])
    assert none.output == "segment 'hot' has no audience synced yet\n"
    missing = cli("gone")
    assert missing.exit_code == 1 and "no segment 'gone'; configured: lapsed, hot" in missing.output


def test_the_job_syncs_every_segment_and_reports_per_destination(settings, store, segments, monkeypatch):
    monkeypatch.setattr(jobs.tasks, "_config", lambda s: None)  # the segments come from the patched seam
    out = jobs.tasks.sync_audiences()
    assert out["hot"] == {"skipped": False, "result": {}}  # no destinations: nothing to do
    lapsed = out["lapsed"]["result"]["csv-lapsed"]  # run under the segment's lock
    assert lapsed["added"] == 2 and lapsed["error"] is None
    again = jobs.tasks.sync_audiences(segment="lapsed")
    assert list(again) == ["lapsed"]
    assert (again["lapsed"]["result"]["csv-lapsed"]["added"], again["lapsed"]["result"]["csv-lapsed"]["unchanged"]) \
        == (0, 2)
    state = audience_status(store, "lapsed")
    assert state[0]["members"]["added"] == 2


def test_a_segment_being_synced_is_skipped_by_another_run_and_the_others_go_on(settings, store, segments, monkeypatch):
    from jobs.connection import redis_connection
    from jobs.locks import host_scope, sync_lock

    monkeypatch.setattr(jobs.tasks, "_config", lambda s: None)
    with sync_lock(redis_connection(settings), "lifesync", "sync_audiences_lapsed", host_scope(settings)) as held:
        assert held is not None
        out = jobs.tasks.sync_audiences()
    assert out["lapsed"]["skipped"] is True and out["hot"]["skipped"] is False
    assert audience_status(store, "lapsed") == []  # nothing done for the segment another run holds


def test_members_may_come_as_a_select_of_contact_ids_as_segment_membership_gives_them(store, segments):
    from sqlalchemy import select

    from sync.settings import Settings
    from sync.store import model

    fake = FakeDestination()
    lapsed = Segment("lapsed", "Lapsed customers", destinations=(FAKE,))
    query = select(model.Contact.id).where(model.Contact.id.in_(segments[:2]))
    results = run.sync_segments(store, Settings.from_env(), [lapsed], members_of=lambda session, key: query,
                                destinations={"fake-lapsed": fake})
    assert results[0].added == 2 and sorted(fake.held) == sorted(segments[:2])


def test_the_cli_does_not_sync_a_segment_the_job_is_syncing_and_says_so(cli, settings_env_lock):
    with settings_env_lock("lapsed"):
        busy = cli("lapsed")
    assert busy.exit_code == 1
    assert "lapsed: not synced: another run of lifesync sync_audiences_lapsed is in progress" in busy.output
    assert cli("lapsed").exit_code == 0  # free again


@pytest.fixture
def settings_env_lock():
    from contextlib import contextmanager

    from jobs.connection import redis_connection
    from jobs.locks import host_scope, sync_lock
    from sync.segments.audiences.run import lock_name
    from sync.settings import Settings

    @contextmanager
    def hold(key: str):
        found = Settings.from_env()
        with sync_lock(redis_connection(found), "lifesync", lock_name(key), host_scope(found)) as lease:
            assert lease is not None
            yield

    return hold
