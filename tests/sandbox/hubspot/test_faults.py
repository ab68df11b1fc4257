"""HubSpot sandbox: the shared fault knobs (error rate, 429 storms, failing paths, latency) in HubSpot's shapes."""

from __future__ import annotations

from datetime import UTC, datetime

from sync.sandbox.faults import Faults
from sync.sandbox.hubspot.sandbox import HubSpotSandbox, create_app

START = datetime(2026, 11, 27, 10, 0, tzinfo=UTC).timestamp()
AUTH = {"Authorization": f"Bearer {HubSpotSandbox.TOKEN}"}
LIST = "/crm/v3/objects/contacts"


def make(faults: Faults, **kwargs):
    sandbox = HubSpotSandbox(faults=faults, clock=lambda: START, **kwargs)
    return sandbox, create_app(sandbox).test_client()


def test_an_error_rate_of_one_fails_every_request_with_a_hubspot_500():
    sandbox, client = make(Faults(error_rate=1.0))
    response = client.get(LIST, headers=AUTH)
    assert response.status_code == 500
    assert response.json["status"] == "error" and response.json["category"] == "INTERNAL_ERROR"
    assert response.json["correlationId"]
    assert sandbox.faults.injected == 1
    assert sandbox.calls[f"GET {LIST}"] == 1  # still a call the client paid for


def test_a_partial_error_rate_is_reproducible_for_a_seed():
    outcomes = []
    for _ in range(2):
        _, client = make(Faults(error_rate=0.3, seed=3), rate_per_10s=None)
        outcomes.append([client.get(LIST, headers=AUTH).status_code for _ in range(40)])
    assert outcomes[0] == outcomes[1]
    assert set(outcomes[0]) == {200, 500}


def test_a_storm_answers_429_with_retry_after_then_passes():
    sandbox, client = make(Faults())
    sandbox.faults.storm(2, retry_after=3)
    storm = [client.get(LIST, headers=AUTH) for _ in range(2)]
    for response in storm:
        assert response.status_code == 429
        assert response.headers["Retry-After"] == "3"
        assert response.json["errorType"] == "RATE_LIMIT" and response.json["policyName"] == "TEN_SECONDLY_ROLLING"
    calm = client.get(LIST, headers=AUTH)
    assert calm.status_code == 200
    assert calm.headers["X-HubSpot-RateLimit-Remaining"] == "189"  # storm answers used none of the budget


def test_a_storm_without_retry_after_leaves_the_header_out():
    sandbox, client = make(Faults())
    sandbox.faults.storm(1, retry_after=None)
    response = client.get(LIST, headers=AUTH)
    assert response.status_code == 429 and "Retry-After" not in response.headers


def test_fail_paths_hit_only_matching_paths_including_the_token_endpoint():
    _, client = make(Faults(fail_paths={"/search": 503, "/oauth": 502}))
    assert client.post(f"{LIST}/search", json={}, headers=AUTH).status_code == 503
    assert client.get(LIST, headers=AUTH).status_code == 200
    token = client.post("/oauth/v1/token", data={"grant_type": "refresh_token"})
    assert token.status_code == 502 and token.json["status"] == "error"


def test_faults_come_before_authentication():
    _, client = make(Faults(error_rate=1.0))
    assert client.get(LIST).status_code == 500


def test_zero_latency_and_no_faults_serve_normally():
    sandbox, client = make(Faults(latency=0.0))
    assert client.get(LIST, headers=AUTH).status_code == 200
    assert sandbox.faults.injected == 0


def test_unknown_routes_are_not_api_requests_for_faults():
    sandbox, client = make(Faults(error_rate=1.0))
    assert client.get("/nowhere", headers=AUTH).status_code == 404
    assert sandbox.faults.injected == 0 and sandbox.api_calls == 0
