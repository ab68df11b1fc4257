"""/api/dead-letters: groups, lists, detail, replay and dismissal over HTTP; bad input is a 404 or 422."""

from __future__ import annotations

import logging

import pytest
from support import dead_letters
from support.dead_letters import seed
from web.api.conftest import BOOTSTRAP, bearer

from jobs.connection import redis_connection
from sync.config import load_config
from sync.ingest.deadletter import list_open, record_job_failure
from sync.web import create_app


@pytest.fixture
def junk_config(tmp_path):
    return dead_letters.junk_config(tmp_path)


@pytest.fixture
def queued():
    return []


class RecordingJobs:
    """A job system that records the job dead letters it is asked to queue again."""

    def __init__(self, queued: list):
        self.replay = queued.append

    def enqueue(self, task, kwargs, job_id):
        raise AssertionError("no sync is queued here")

    def overview(self, limit):
        return {}


@pytest.fixture
def dl_app(store, api_settings, queued, request):
    """The app with the real configuration (the junk mistake fixed) and a job queue that records."""
    app = create_app(api_settings, store=store, config=load_config(None), enqueue=lambda ids: None,
                     queue=redis_connection(api_settings), jobs=RecordingJobs(queued))
    app.extensions["lifesync"]["auth_attempts"].clear()
    return app


@pytest.fixture
def client(dl_app, role_tokens):
    test_client = dl_app.test_client()

    def call(method: str, path: str, role: str = "operator", **kwargs):
        return test_client.open(path, method=method, headers=bearer(role_tokens[role]), **kwargs)

    return call


def test_groups_list_detail(client, store, junk_config):
    ids = seed(store, junk_config, reconcile=3, mapping=2)
    res = client("GET", "/api/dead-letters/groups", "viewer")
    assert res.status_code == 200
    body = res.get_json()
    assert [(g["stage"], g["count"]) for g in body["items"]] == [("reconcile", 3), ("mapping", 2)]
    assert body["next"] is None and "position" not in body["items"][0]
    group = body["items"][0]["group"]
    page = client("GET", "/api/dead-letters/groups?limit=1", "viewer").get_json()
    assert [g["stage"] for g in page["items"]] == ["reconcile"]
    rest = client("GET", f"/api/dead-letters/groups?limit=1&cursor={page['next']}", "viewer").get_json()
    assert [g["stage"] for g in rest["items"]] == ["mapping"] and rest["next"] is None
    first = client("GET", f"/api/dead-letters?group={group}&limit=2", "viewer").get_json()
    second = client("GET", f"/api/dead-letters?group={group}&limit=2&cursor={first['next']}", "viewer").get_json()
    assert [r["id"] for r in first["items"] + second["items"]] == sorted(ids["reconcile"], reverse=True)
    assert "payload" not in first["items"][0]
    by_ids = client("GET", f"/api/dead-letters?ids={ids['mapping'][0]},{ids['reconcile'][0]}", "viewer").get_json()
    assert {r["id"] for r in by_ids["items"]} == {ids["mapping"][0], ids["reconcile"][0]}
    assert client("GET", "/api/dead-letters?stage=mapping&source=whatsapp", "viewer").get_json()["items"][0][
        "stage"] == "mapping"
    detail = client("GET", f"/api/dead-letters/{ids['reconcile'][0]}", "viewer").get_json()
    assert detail["payload"]["messages"][0]["id"].startswith("wamid.N") and detail["group"] == group


def test_replay_a_group_answers_what_happened(client, store, junk_config, queued, caplog):
    ids = seed(store, junk_config, reconcile=2, mapping=1)
    job = record_job_failure(store, queue="maintenance", func="jobs.tasks.sweep_inbox", args=[], kwargs={},
                             job_id="j1", reason="TransientError: 503")
    groups = {g["stage"]: g["group"] for g in client("GET", "/api/dead-letters/groups").get_json()["items"]}
    caplog.set_level(logging.DEBUG)
    res = client("POST", "/api/dead-letters/replay", json={"group": groups["reconcile"]})
    assert res.status_code == 200
    assert res.get_json() == {"replayed": sorted(ids["reconcile"]), "failed": {}, "not_open": [], "enqueued": [],
                              "remaining": 0}
    assert {r["id"] for r in list_open(store)} == {*ids["mapping"], job}
    res = client("POST", "/api/dead-letters/replay", json={"ids": [job, *ids["mapping"]]}).get_json()
    assert (res["replayed"], res["enqueued"], list(res["failed"])) == ([job], [job], [str(ids["mapping"][0])])
    assert [q["func"] for q in queued] == ["jobs.tasks.sweep_inbox"]
    assert "4479111" not in caplog.text and "wamid" not in caplog.text  # payloads are never logged
    audit = client("GET", "/api/audit?action=dead_letter.replay", "viewer").get_json()["items"]
    assert {a["actor"] for a in audit} == {"operator-token"} and len(audit) == 2


def test_dismiss_with_a_note(client, store, junk_config):
    ids = seed(store, junk_config, reconcile=2, mapping=1)
    group = client("GET", "/api/dead-letters/groups?stage=reconcile").get_json()["items"][0]["group"]
    res = client("POST", "/api/dead-letters/dismiss", json={"group": group, "note": "test numbers"})
    assert res.status_code == 200
    assert res.get_json() == {"dismissed": sorted(ids["reconcile"]), "not_open": [], "remaining": 0}
    assert [g["stage"] for g in client("GET", "/api/dead-letters/groups").get_json()["items"]] == ["mapping"]
    gone = client("GET", "/api/dead-letters/groups?status=dismissed").get_json()["items"]
    assert [(g["group"], g["count"]) for g in gone] == [(group, 2)]
    listed = client("GET", f"/api/dead-letters?group={group}&status=dismissed").get_json()["items"]
    assert {(r["note"], r["dismissed_by"]) for r in listed} == {("test numbers", "operator-token")}
    [entry] = client("GET", "/api/audit?action=dead_letter.dismiss", "viewer").get_json()["items"]
    assert (entry["actor"], entry["role"]) == ("operator-token", "operator")
    assert (entry["before"]["status"], entry["after"]["status"]) == ("open", "dismissed")


def test_a_viewer_may_read_but_not_act(client, store, junk_config):
    ids = seed(store, junk_config, reconcile=1, mapping=0)
    assert client("POST", "/api/dead-letters/replay", "viewer", json={"ids": ids["reconcile"]}).status_code == 403
    assert client("POST", "/api/dead-letters/dismiss", "viewer",
                  json={"ids": ids["reconcile"], "note": "x"}).status_code == 403
    assert len(list_open(store)) == 1


@pytest.mark.parametrize(("method", "path", "body", "status"), [
    ("GET", "/api/dead-letters/999999", None, 404),
    ("GET", "/api/dead-letters?group=not-a-group", None, 422),
    ("GET", "/api/dead-letters?cursor=!!", None, 422),
    ("GET", "/api/dead-letters?cursor=WyJ4Il0", None, 422),  # ["x"]: not an id
    ("GET", "/api/dead-letters?ids=1,x", None, 422),
    ("GET", "/api/dead-letters?status=lost", None, 422),
    ("GET", "/api/dead-letters/groups?cursor=WzFd", None, 422),  # [1]
    ("GET", "/api/dead-letters/groups?since=yesterday", None, 422),
    ("GET", "/api/dead-letters/groups?limit=0", None, 422),
    ("POST", "/api/dead-letters/replay", {}, 422),
    ("POST", "/api/dead-letters/replay", {"ids": [1], "group": "x"}, 422),
    ("POST", "/api/dead-letters/replay", {"ids": []}, 422),
    ("POST", "/api/dead-letters/replay", {"ids": ["a"]}, 422),
    ("POST", "/api/dead-letters/replay", {"group": "bm90IGpzb24"}, 422),
    ("POST", "/api/dead-letters/replay", {"ids": [999999]}, 404),
    ("POST", "/api/dead-letters/replay", {"group": "WyJyZWNvbmNpbGUiLCJodWJzcG90IiwibiJd"}, 404),
    ("POST", "/api/dead-letters/dismiss", {"ids": [999999]}, 422),  # no note
    ("POST", "/api/dead-letters/dismiss", {"ids": [999999], "note": ""}, 422),
    ("POST", "/api/dead-letters/dismiss", {"ids": [999999], "note": "gone"}, 404),
])
def test_bad_input_is_a_clear_404_or_422(client, method, path, body, status):
    res = client(method, path, json=body) if body is not None else client(method, path)
    assert res.status_code == status, res.get_json()
    error = res.get_json()
    assert set(error) >= {"error", "message", "status"} and error["status"] == status


def test_the_bootstrap_token_may_replay(dl_app, store, junk_config):
    ids = seed(store, junk_config, reconcile=1, mapping=0)
    res = dl_app.test_client().post("/api/dead-letters/replay", headers=bearer(BOOTSTRAP),
                                    json={"ids": ids["reconcile"]})
    assert res.get_json()["replayed"] == ids["reconcile"]
