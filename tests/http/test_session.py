"""The session factory: base URL joining, User-Agent, default timeouts, no credentials in repr."""

from __future__ import annotations

from importlib.metadata import version

import pytest
import responses

from sync.http import join_url, make_session


@pytest.mark.parametrize(("base", "path", "url"), [
    ("https://api.hubapi.com", "/crm/v3/objects/contacts", "https://api.hubapi.com/crm/v3/objects/contacts"),
    ("https://api.hubapi.com/", "crm/v3/objects/contacts", "https://api.hubapi.com/crm/v3/objects/contacts"),
    ("http://127.0.0.1:8765/hubspot", "/crm/v3/objects/deals", "http://127.0.0.1:8765/hubspot/crm/v3/objects/deals"),
    ("https://x.my.salesforce.com/services/data/v60.0", "query", "https://x.my.salesforce.com/services/data/v60.0/query"),
    ("https://api.hubapi.com", "https://api.hubapi.com/oauth/v1/token", "https://api.hubapi.com/oauth/v1/token"),
    ("https://login.salesforce.com", "https://x.my.salesforce.com/services/data/v60.0/query/01g-2000",
     "https://x.my.salesforce.com/services/data/v60.0/query/01g-2000"),
    ("", "https://example.com/x", "https://example.com/x"),
    ("https://api.hubapi.com", "", "https://api.hubapi.com"),
])
def test_join_url(base, path, url):
    assert join_url(base, path) == url


def test_requests_carry_user_agent_default_timeout_and_joined_url(mock):
    session = make_session("http://127.0.0.1:8765/hubspot/", timeout=(2.0, 9.0),
                           headers={"Authorization": "Bearer pat-na1-zzz"})
    mock.add(responses.GET, "http://127.0.0.1:8765/hubspot/crm/v3/objects/contacts?limit=100", json={"results": []})
    mock.add(responses.GET, "http://127.0.0.1:8765/hubspot/crm/v3/objects/deals", json={"results": []})
    session.get("/crm/v3/objects/contacts", params={"limit": 100})
    session.get("crm/v3/objects/deals", timeout=1.0)
    first, second = mock.calls
    assert first.request.headers["User-Agent"] == f"lifesync/{version('lifesync')}"
    assert first.request.headers["Authorization"] == "Bearer pat-na1-zzz"
    assert first.request.req_kwargs["timeout"] == (2.0, 9.0)
    assert second.request.req_kwargs["timeout"] == 1.0


def test_prepare_and_send_use_the_default_timeout(mock):
    session = make_session("https://api.hubapi.com")
    mock.add(responses.POST, "https://api.hubapi.com/crm/v3/objects/contacts/search", json={"total": 0})
    session.send(session.prepare("post", "/crm/v3/objects/contacts/search", json={"limit": 200}))
    assert mock.calls[0].request.req_kwargs["timeout"] == (5.0, 60.0)
    assert mock.calls[0].request.method == "POST"


def test_repr_never_shows_headers():
    session = make_session("https://api.hubapi.com", headers={"Authorization": "Bearer pat-na1-secret"})
    assert "secret" not in repr(session) and "api.hubapi.com" in repr(session)
