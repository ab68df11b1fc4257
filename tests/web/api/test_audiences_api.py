"""``/api/segments/<key>/sync``: a sync queued once and audit-logged, a dry run's counts, the audiences' state."""

from __future__ import annotations

import pytest
from rq import Queue
from support.audiences import patch_segments
from web.api.conftest import bearer

from sync.access.audit import AuditFilter, entries
from sync.segments.audiences import run
from sync.settings import Settings


@pytest.fixture
def segments(store, monkeypatch, tmp_path):
    return patch_segments(store, monkeypatch, tmp_path)


def test_the_api_queues_one_job_audit_logged_counts_dry_and_reads_the_state(api, store, segments, role_tokens):
    operator, viewer = bearer(role_tokens["operator"]), bearer(role_tokens["viewer"])
    dry = api.post("/api/segments/lapsed/sync", headers=operator, json={"dry_run": True})
    assert dry.status_code == 200
    assert [(i["destination"], i["added"], i["skipped"], i["dry_run"]) for i in dry.json["results"]] == [
        ("csv-lapsed", 2, 1, True)]
    first = api.post("/api/segments/lapsed/sync", headers=operator, json={})
    assert first.status_code == 202
    assert first.json == {"job_id": "lifesync-audiences-lapsed", "queued": True, "task": "sync_audiences"}
    assert api.post("/api/segments/lapsed/sync", headers=operator, json={}).json["queued"] is False
    connection = api.application.extensions["lifesync"]["jobs"].connection
    job = Queue("dispatch", connection=connection).fetch_job("lifesync-audiences-lapsed")
    assert (job.func_name, job.kwargs) == ("jobs.tasks.sync_audiences", {"segment": "lapsed", "destination": None})
    logged = entries(store, AuditFilter(action="segment.sync"))
    assert [(e.target_id, e.after["queued"]) for e in logged] == [("lapsed", False), ("lapsed", True)]
    assert api.get("/api/segments/lapsed/sync", headers=viewer).json == {"segment": "lapsed", "items": []}
    run.sync_segments(store, Settings.from_env(), run.configured_segments(None))  # the CSV under tmp_path
    state = api.get("/api/segments/lapsed/sync", headers=viewer).json["items"]
    assert [(i["destination"], i["kind"], i["members"]["added"], i["members"]["skipped"], i["last_sync"]["added"])
            for i in state] == [("csv-lapsed", "csv", 2, 1, 2)]
    missing = api.post("/api/segments/lapsed/sync", headers=operator, json={"destination": "meta"})
    assert missing.status_code == 404 and "no destination 'meta'" in missing.json["message"]
    assert api.get("/api/segments/gone/sync", headers=viewer).status_code == 404
    assert api.post("/api/segments/lapsed/sync", headers=viewer, json={}).status_code == 403


@pytest.mark.parametrize(("body", "status"), [(None, 202), ({"dry_run": "sometimes"}, 422),
                                              ({"destination": ""}, 422), ({"colour": "red"}, 422)])
def test_a_request_body_is_optional_and_a_bad_one_is_a_clear_422(api, segments, role_tokens, body, status):
    kwargs = {} if body is None else {"json": body}
    answer = api.post("/api/segments/lapsed/sync", headers=bearer(role_tokens["operator"]), **kwargs)
    assert answer.status_code == status, answer.json
    if status == 422:
        assert answer.json["errors"]


def test_a_token_limited_to_a_brand_syncs_and_reads_only_its_brands_segments(store, api_settings, tmp_path,
                                                                               monkeypatch):
    from support.audiences import Segment
    from support.brands import brand_config_dir
    from support.ops_app import ops_app

    from sync.access import tokens
    from sync.access.roles import Principal
    from sync.config import load_config

    found = [Segment("glow-lapsed", "Lapsed (Glow)"), Segment("lumen-lapsed", "Lapsed (Lumen)", brand="lumen")]
    monkeypatch.setattr("sync.web.api.audiences.configured_segments", lambda config: found)
    client = ops_app(api_settings, store, load_config(brand_config_dir(tmp_path))).test_client()
    lumen = bearer(tokens.create(store, Principal(name="t", role="admin", via="cli"), "lumen-operator", "operator",
                                 brands=["lumen"])[1])
    assert client.get("/api/segments/lumen-lapsed/sync", headers=lumen).status_code == 200
    assert client.post("/api/segments/lumen-lapsed/sync", headers=lumen, json={}).status_code == 202
    for answer in (client.get("/api/segments/glow-lapsed/sync", headers=lumen),
                   client.post("/api/segments/glow-lapsed/sync", headers=lumen, json={})):
        assert answer.status_code == 403 and "may not see brand 'default'" in answer.json["message"]
    assert [e.target_id for e in entries(store, AuditFilter(action="segment.sync"))] == ["lumen-lapsed"]
