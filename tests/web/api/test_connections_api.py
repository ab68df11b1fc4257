"""``/api/connections``: the list with health, a sync queued once and audit-logged, a check against the vendor."""

from __future__ import annotations

import re

import pytest
import responses
from responses import matchers
from rq import Queue
from support.crm import KEY
from support.webhook_app import ENV
from web.api.conftest import BOOTSTRAP, bearer

from jobs.connection import redis_connection
from jobs.web import RqJobs
from sync.access.audit import AuditFilter, entries
from sync.crm import runs
from sync.errors import AuthError
from sync.settings import Settings
from sync.web import create_app

ADMIN = bearer(BOOTSTRAP)
RESPONDIO_USERS = "https://api.respond.io/v2/space/user"


@pytest.fixture
def client_with(store, config, database_url):
    """``client_with(**settings)``: a test client of an app with ``ENV`` plus those settings, on an empty queue."""
    def build(**extra: str):
        settings = Settings.from_env({"DATABASE_URL": database_url, **ENV, "LIFESYNC_OPS_TOKEN": BOOTSTRAP, **extra})
        connection = redis_connection(settings)
        connection.flushdb()
        app = create_app(settings, store=store, config=config, enqueue=lambda ids: None, queue=connection,
                         jobs=RqJobs(connection))
        return app.test_client(), connection
    return build


def by_label(body):
    return {f"{c['kind']}/{c['name']}": c for c in body["items"]}


def test_the_list_shows_configured_and_unconfigured_connections(api, role_tokens):
    response = api.get("/api/connections", headers=bearer(role_tokens["viewer"]))
    assert response.status_code == 200
    found = by_label(response.json)
    assert found["whatsapp/salon2"]["configured"] and found["generic/shop"]["configured"]
    assert found["respondio/agency"]["category"] == "messaging"
    assert found["hubspot/default"]["configured"] is False and found["hubspot/default"]["category"] == "crm"
    assert found["destination/meta"] == {**found["destination/meta"], "configured": False, "network": "meta"}
    assert api.get("/api/connections/whatsapp/salon2", headers=ADMIN).json == found["whatsapp/salon2"]
    missing = api.get("/api/connections/whatsapp/salon9", headers=ADMIN)
    assert missing.status_code == 404 and "no connection whatsapp/salon9" in missing.json["message"]


def test_a_failed_sync_run_shows_the_vendors_message(client_with, store):
    client, _ = client_with(LIFESYNC_HUBSPOT_TOKEN="hub-token-0123456789")
    run = runs.start(store, "hubspot", "default")
    runs.finish(store, run, error=AuthError("HubSpot rejected the token (HTTP 401); check LIFESYNC_HUBSPOT_TOKEN",
                                            vendor_message="Authentication credentials not found"))
    health = client.get("/api/connections/hubspot/default", headers=ADMIN).json
    assert health["configured"] is True
    assert health["last_failure"]["message"] == ("HubSpot rejected the token (HTTP 401); check LIFESYNC_HUBSPOT_TOKEN"
                                                 ": Authentication credentials not found")
    assert health["last_success"] is None and health["running_since"] is None


def test_sync_queues_exactly_one_job_and_is_audit_logged(client_with, store, role_tokens):
    client, connection = client_with(LIFESYNC_HUBSPOT_TOKEN="hub-token-0123456789")
    operator = bearer(role_tokens["operator"])
    first = client.post("/api/connections/hubspot/default/sync", headers=operator)
    assert first.status_code == 202
    assert first.json == {"job_id": "lifesync-sync-hubspot-default", "queued": True, "task": "sync_crm_connection"}
    again = client.post("/api/connections/hubspot/default/sync", headers=operator)
    assert again.json["queued"] is False  # still pending: the same job
    queue = Queue("sync", connection=connection)
    assert queue.job_ids == ["lifesync-sync-hubspot-default"]
    job = queue.fetch_job("lifesync-sync-hubspot-default")
    assert (job.func_name, job.kwargs) == ("jobs.tasks.sync_crm_connection",
                                           {"system": "hubspot", "connection": "default"})
    logged = entries(store, AuditFilter(action="connection.sync"))
    assert [(e.actor, e.target_id, e.after["queued"]) for e in logged] == [
        ("operator-token", "hubspot/default", False), ("operator-token", "hubspot/default", True)]
    jobs = client.get("/api/jobs", headers=bearer(role_tokens["viewer"])).json
    assert [(j["id"], j["func"], j["queue"]) for j in jobs["queued"]] == [
        ("lifesync-sync-hubspot-default", "jobs.tasks.sync_crm_connection", "sync")]
    assert {q["name"]: q["queued"] for q in jobs["queues"]} == {"ingest": 0, "sync": 1, "dispatch": 0,
                                                                "maintenance": 0}


@pytest.mark.parametrize(("path", "status", "says"), [
    ("/api/connections/salesforce/default/sync", 409, "salesforce/default is not configured"),
    ("/api/connections/whatsapp/salon2/sync", 409, "has nothing to sync: its vendor calls lifesync"),
    ("/api/connections/nothing/default/sync", 404, "no connection nothing/default"),
])
def test_a_sync_that_cannot_be_queued_says_why_and_queues_nothing(client_with, store, path, status, says):
    client, connection = client_with()
    response = client.post(path, headers=ADMIN)
    assert response.status_code == status and says in response.json["message"]
    assert Queue("sync", connection=connection).count == 0
    assert entries(store, AuditFilter(action="connection.sync")) == []


def test_check_calls_the_vendor_and_answers_with_its_message(client_with, store, role_tokens):
    client, _ = client_with(LIFESYNC_RESPONDIO_API_TOKEN="respondio-token-0123456789")
    with responses.RequestsMock() as mock:
        mock.add(responses.GET, RESPONDIO_USERS, status=401, json={"message": "Unauthorized: invalid token"},
                 match=[matchers.header_matcher({"Authorization": "Bearer respondio-token-0123456789"})])
        mock.add(responses.GET, RESPONDIO_USERS, json={"items": [{"id": 1}], "pagination": {}})
        refused = client.post("/api/connections/respondio/default/check", headers=bearer(role_tokens["operator"]))
        accepted = client.post("/api/connections/respondio/default/check", headers=bearer(role_tokens["operator"]))
    assert refused.status_code == 200
    assert refused.json["status"] == "failed"
    assert refused.json["detail"].endswith(": Unauthorized: invalid token")
    assert "respondio-token" not in refused.json["detail"]
    assert accepted.json == {"connection": "respondio/default", "kind": "respondio", "name": "default",
                             "status": "ok", "detail": "1 workspace user(s) on the first page"}
    logged = entries(store, AuditFilter(action="connection.check"))
    assert [e.after for e in logged] == [{"status": "ok"}, {"status": "failed"}]


def test_a_webhook_channel_check_is_skipped_saying_why(api, role_tokens):
    response = api.post("/api/connections/whatsapp/salon2/check", headers=bearer(role_tokens["operator"]))
    assert response.json["status"] == "skipped" and "makes no call" in response.json["detail"]


def test_a_destination_check_reads_the_dataset_with_its_token(client_with, role_tokens):
    client, _ = client_with(LIFESYNC_META_ACCESS_TOKEN="meta-token-0123456789", LIFESYNC_META_DATASET_ID="4242",
                            LIFESYNC_META_BASE_URL="https://graph.example.test")
    with responses.RequestsMock() as mock:
        mock.add(responses.GET, "https://graph.example.test/v26.0/4242",
                 json={"id": "4242", "name": "Salon dataset"},
                 match=[matchers.query_param_matcher({"fields": "id,name"}, strict_match=False)])
        response = client.post("/api/connections/destination/meta/check", headers=bearer(role_tokens["operator"]))
    assert response.json == {"connection": "destination/meta", "kind": "destination", "name": "meta",
                             "status": "ok", "detail": "dataset 4242 'Salon dataset'"}


@pytest.mark.parametrize(("secret_key", "status", "says"), [
    (KEY, "failed", ": Authentication credentials not found"),
    (None, "failed", "LIFESYNC_SECRET_KEY must be set with PostgreSQL"),
], ids=["key-set", "no-key"])  # named: a random key in a test id differs between pytest-xdist workers
def test_a_crm_check_answers_with_the_vendors_message(client_with, database_url, secret_key, status, says):
    extra = {"LIFESYNC_HUBSPOT_TOKEN": "hub-token-0123456789"}
    if secret_key:
        extra["LIFESYNC_SECRET_KEY"] = secret_key
    elif not database_url.startswith("postgresql"):
        says = ": Authentication credentials not found"  # SQLite keeps tokens without a key of its own
    client, _ = client_with(**extra)
    with responses.RequestsMock(assert_all_requests_are_fired="credentials not found" in says) as mock:
        mock.add(responses.GET, re.compile(r"https://api\.hubapi\.com/account-info/[^/]+/details"), status=401,
                 json={"status": "error", "message": "Authentication credentials not found",
                       "category": "INVALID_AUTHENTICATION"})
        response = client.post("/api/connections/hubspot/default/check", headers=ADMIN)
    assert response.status_code == 200
    assert response.json["status"] == status and says in response.json["detail"]
    assert "hub-token-0123456789" not in response.json["detail"]
