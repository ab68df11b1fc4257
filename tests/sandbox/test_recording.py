"""Recording sandbox requests: on only inside recording(), the sandbox still reads the body it was sent."""

from __future__ import annotations

import io

import requests

from sync.sandbox import recording
from sync.sandbox.ads.meta import MetaSandbox
from sync.sandbox.hubspot.sandbox import HubSpotSandbox
from sync.sandbox.server import SandboxServer


def test_requests_are_recorded_per_sandbox_with_body_query_and_status():
    hubspot, meta = HubSpotSandbox.seeded(3, 0, rate_per_10s=None, search_per_second=None), MetaSandbox()
    auth = {"Authorization": f"Bearer {HubSpotSandbox.TOKEN}"}
    with recording.recording() as log, SandboxServer(hubspot=hubspot, meta=meta) as server:
        listed = requests.get(f"{server.url}/hubspot/crm/v3/objects/contacts", params={"limit": 2}, headers=auth,
                              timeout=5)
        search = {"filterGroups": [], "properties": ["email"], "limit": 1}
        found = requests.post(f"{server.url}/hubspot/crm/v3/objects/contacts/search", json=search, headers=auth,
                              timeout=5)
        refused = requests.post(f"{server.url}/meta/v26.0/{MetaSandbox.DATASET_ID}/events", json={"data": []},
                                timeout=5)
    assert listed.status_code == 200 and found.json()["total"] == 3  # the sandbox read the body the recorder read
    first, second, third = list(log)
    assert (first.sandbox, first.method, first.path, first.query, first.body, first.status) == \
        ("hubspot", "GET", "/crm/v3/objects/contacts", "limit=2", b"", 200)
    assert (second.sandbox, second.path, second.content_type, second.status) == \
        ("hubspot", "/crm/v3/objects/contacts/search", "application/json", 200)
    assert requests.compat.json.loads(second.body) == search
    assert (third.sandbox, third.path, third.status) == ("meta", f"/v26.0/{MetaSandbox.DATASET_ID}/events",
                                                         refused.status_code)
    assert third.status >= 400  # no access token: the sandbox's refusal is recorded as answered


def test_nothing_is_wrapped_or_kept_outside_a_recording_block():
    def app(environ, start_response):
        return []

    assert recording.wrap(app) is app
    with recording.recording() as log:
        wrapped = recording.wrap(app)
    assert isinstance(wrapped, recording.RecordingMiddleware) and wrapped.log is log
    assert recording.wrap(app) is app
    hubspot = HubSpotSandbox.seeded(1, 0, rate_per_10s=None)
    with SandboxServer(hubspot=hubspot) as server:
        requests.get(f"{server.url}/hubspot/crm/v3/objects/contacts", timeout=5,
                     headers={"Authorization": f"Bearer {HubSpotSandbox.TOKEN}"})
    assert len(log) == 0


def test_a_chunked_body_without_length_is_read_whole():
    seen = []

    def app(environ, start_response):
        seen.append(environ["wsgi.input"].read())
        start_response("201 Created", [])
        return [b""]

    log = recording.RequestLog()
    environ = {"PATH_INFO": "/google/v1/events:ingest", "REQUEST_METHOD": "POST", "wsgi.input_terminated": True,
               "wsgi.input": io.BytesIO(b'{"events": []}')}
    recording.RecordingMiddleware(app, log)(environ, lambda status, headers: None)
    (item,) = list(log)
    assert seen == [b'{"events": []}'] and item.body == b'{"events": []}'
    assert (item.sandbox, item.path, item.status) == ("google", "/v1/events:ingest", 201)
