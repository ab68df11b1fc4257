"""Console connections: every connection's health for every role; "test connection" and "sync now" as the API's."""

from __future__ import annotations

import re

import pytest
import responses
from rq import Queue
from support.console import SECRET_KEY, csrf_of, sign_in
from support.webhook_app import ENV

from jobs.connection import redis_connection
from jobs.web import RqJobs
from sync.access.audit import AuditFilter, entries
from sync.crm import runs
from sync.errors import AuthError
from sync.settings import Settings
from sync.web import create_app

HUBSPOT = {"LIFESYNC_HUBSPOT_TOKEN": "hub-token-0123456789"}
RESPONDIO = {"LIFESYNC_RESPONDIO_API_TOKEN": "respondio-token-0123456789"}
RESPONDIO_USERS = "https://api.respond.io/v2/space/user"
SYNC = "/console/connections/hubspot/default/sync"


@pytest.fixture
def console_with(store, config, database_url, role_tokens):
    """``console_with(jobs=True, **settings)``: ({role: signed-in client}, its queue) of an app with those settings."""
    def build(jobs: bool = True, **extra: str):
        settings = Settings.from_env({"DATABASE_URL": database_url, **ENV, "LIFESYNC_SECRET_KEY": SECRET_KEY, **extra})
        connection = redis_connection(settings)
        connection.flushdb()
        app = create_app(settings, store=store, config=config, enqueue=lambda ids: None, queue=connection,
                         jobs=RqJobs(connection) if jobs else None)
        app.extensions["lifesync"]["auth_attempts"].clear()
        clients = {}
        for role, token in role_tokens.items():
            clients[role] = app.test_client()
            assert sign_in(clients[role], token).status_code == 302
        return clients, connection
    return build


def card(page: str, kind: str, name: str) -> str:
    """The HTML of one connection's card."""
    found = re.search(rf'<article class="connection" aria-labelledby="h-{kind}-{name}">(.*?)</article>', page, re.S)
    assert found, f"no card for {kind}/{name}"
    return found.group(1)


def test_every_role_sees_every_connection_and_only_operators_see_buttons(signed_in):
    for role, client in signed_in.items():
        answer = client.get("/console/connections")
        assert answer.status_code == 200, role
        page = answer.get_data(as_text=True)
        salon2 = card(page, "whatsapp", "salon2")
        assert "whatsapp/salon2" in salon2 and "state-idle" in salon2
        assert "generic/shop" in page and "respondio/agency" in page
        assert re.search(r"Not configured:.*hubspot/default", page, re.S)  # listed, without a card
        has_buttons = "Test connection" in page
        assert has_buttons == (role != "viewer"), role
        assert "Sync now" not in salon2  # a webhook channel has nothing to sync


def test_a_failed_run_shows_the_vendors_message_as_is_and_the_state(console_with, store):
    clients, _ = console_with(**HUBSPOT)
    run = runs.start(store, "hubspot", "default")
    runs.finish(store, run, {"stats": {"api_calls": 3, "rate_limit_waits": 1, "rate_limit_seconds": 2.5}},
                error=AuthError("HubSpot rejected the token (HTTP 401)", vendor_message="Credentials <not> found"))
    page = card(clients["viewer"].get("/console/connections").get_data(as_text=True), "hubspot", "default")
    assert "state-failing" in page and "Failing" in page
    assert "HubSpot rejected the token (HTTP 401): Credentials &lt;not&gt; found" in page  # as is, escaped
    assert "API calls: 3; waits for the rate limit: 1 (2.5 s)" in page


def test_the_page_is_in_arabic_with_vendor_messages_untranslated(console_with, store):
    clients, _ = console_with(**HUBSPOT)
    run = runs.start(store, "hubspot", "default")
    runs.finish(store, run, error=AuthError("HubSpot rejected the token", vendor_message="Invalid token"))
    viewer = clients["viewer"]
    viewer.post("/console/language", data={"lang": "ar", "csrf_token": csrf_of(viewer, "/console/connections")})
    page = viewer.get("/console/connections").get_data(as_text=True)
    assert 'dir="rtl"' in page and "<h1>الاتصالات</h1>" in page and "آخر خطأ" in page  # Last error
    assert "HubSpot rejected the token: Invalid token" in page


def test_sync_now_queues_exactly_one_job_however_often_it_is_clicked(console_with, store):
    clients, connection = console_with(**HUBSPOT)
    operator = clients["operator"]
    assert operator.post(SYNC).status_code == 400  # no CSRF token: refused before anything is queued
    assert Queue("sync", connection=connection).count == 0
    csrf = csrf_of(operator, "/console/connections")
    assert f'action="{SYNC}"' in card(operator.get("/console/connections").get_data(as_text=True),
                                      "hubspot", "default")
    first = operator.post(SYNC, data={"csrf_token": csrf}, headers={"HX-Request": "true"})
    assert first.status_code == 200
    assert "Sync queued as job lifesync-sync-hubspot-default." in first.get_data(as_text=True)
    assert "<html" not in first.get_data(as_text=True)  # htmx gets only the result
    again = operator.post(SYNC, data={"csrf_token": csrf})  # a plain form: the whole page, the result in place
    page = again.get_data(as_text=True)
    assert again.status_code == 200 and "<html" in page
    assert "Already queued" in card(page, "hubspot", "default")
    assert Queue("sync", connection=connection).job_ids == ["lifesync-sync-hubspot-default"]
    logged = entries(store, AuditFilter(action="connection.sync"))
    assert [(e.actor, e.via, e.after["queued"]) for e in logged] == [("operator-token", "console", False),
                                                                     ("operator-token", "console", True)]


def test_sync_now_without_a_job_queue_is_a_503_page(console_with):
    clients, _ = console_with(jobs=False, **HUBSPOT)
    operator = clients["operator"]
    answer = operator.post(SYNC, data={"csrf_token": csrf_of(operator, "/console/connections")})
    assert answer.status_code == 503
    assert "no job queue wired in" in card(answer.get_data(as_text=True), "hubspot", "default")


@pytest.mark.parametrize(("path", "status", "says"), [
    ("/console/connections/whatsapp/salon2/sync", 409, "has nothing to sync"),
    ("/console/connections/salesforce/default/sync", 409, "salesforce/default is not configured"),
    ("/console/connections/nothing/default/sync", 404, "no connection nothing/default"),
])
def test_a_sync_that_cannot_be_queued_says_why(console_with, path, status, says):
    clients, connection = console_with()
    operator = clients["operator"]
    answer = operator.post(path, data={"csrf_token": csrf_of(operator, "/console/connections")})
    assert answer.status_code == status and says in answer.get_data(as_text=True)
    assert Queue("sync", connection=connection).count == 0


def test_test_connection_shows_the_vendors_answer_in_place(console_with, store):
    clients, _ = console_with(**RESPONDIO)
    operator = clients["operator"]
    csrf = csrf_of(operator, "/console/connections")
    with responses.RequestsMock() as mock:
        mock.add(responses.GET, RESPONDIO_USERS, status=401, json={"message": "Unauthorized: invalid token"})
        answer = operator.post("/console/connections/respondio/default/check", data={"csrf_token": csrf},
                               headers={"HX-Request": "true"})
    shown = answer.get_data(as_text=True)
    assert answer.status_code == 200 and "Connection failed" in shown
    assert "Unauthorized: invalid token" in shown and "respondio-token" not in shown
    assert [e.after for e in entries(store, AuditFilter(action="connection.check"))] == [{"status": "failed"}]


def test_a_viewer_gets_403_posting_anyway(console_with, store):
    clients, connection = console_with(**HUBSPOT)
    viewer = clients["viewer"]
    csrf = csrf_of(viewer, "/console/connections")
    for action in ("sync", "check"):
        answer = viewer.post(f"/console/connections/hubspot/default/{action}", data={"csrf_token": csrf})
        assert answer.status_code == 403, action
    assert Queue("sync", connection=connection).count == 0
    assert entries(store, AuditFilter(target_type="connection")) == []
