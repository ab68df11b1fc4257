"""HubSpot sandbox: unsubscribe-all (Communication Preferences API) — scope, version, channel, unknown addresses."""

from __future__ import annotations

from datetime import UTC, datetime

from sync.sandbox.hubspot.preferences import WRITE_SCOPE
from sync.sandbox.hubspot.sandbox import HubSpotSandbox, create_app

START = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
AUTH = {"Authorization": f"Bearer {HubSpotSandbox.TOKEN}"}
PATH = "/communication-preferences/{version}/statuses/{email}/unsubscribe-all"


def portal():
    sandbox = HubSpotSandbox(clock=lambda: START.timestamp(), rate_per_10s=None, search_per_second=None)
    hub_id = sandbox.put("contacts", {"email": "Ana@Example.com", "firstname": "Ana"},
                         at=datetime(2026, 12, 1, tzinfo=UTC))
    return sandbox, create_app(sandbox).test_client(), hub_id


def post(client, version="2026-09", email="ana%40example.com", channel="EMAIL", headers=AUTH):
    query = {} if channel is None else {"channel": channel}
    return client.post(PATH.format(version=version, email=email), query_string=query, headers=headers)


def test_unsubscribing_a_contacts_address_ticks_its_opt_out_and_answers_the_wide_status():
    sandbox, client, hub_id = portal()
    answer = post(client, version="2026-03")
    assert answer.status_code == 200, answer.json
    assert answer.json["status"] == "COMPLETE" and answer.json["results"] == [{
        "subscriberIdString": "ana@example.com", "channel": "EMAIL", "status": "UNSUBSCRIBED",
        "wideStatusType": "PORTAL_WIDE", "timestamp": "2026-12-07T10:00:00.000Z", "businessUnitId": 0}]
    record = sandbox.get("contacts", hub_id)
    assert record["properties"]["hs_email_optout"] == "true" and record["updatedAt"] == "2026-12-07T10:00:00.000Z"
    # an address no contact has is still recorded as unsubscribed (assumed HubSpot behaviour)
    assert post(client, email="nobody%40example.com").status_code == 200
    assert sandbox.unsubscribed == {"ana@example.com": {"EMAIL"}, "nobody@example.com": {"EMAIL"}}


def test_unsubscribe_all_refuses_what_hubspot_refuses():
    sandbox, client, hub_id = portal()
    assert post(client, headers={}).status_code == 401
    assert post(client, version="2026-06").status_code == 404  # no such version
    assert post(client, version="v3").status_code == 404
    missing = post(client, channel=None)
    assert missing.status_code == 400 and "channel is required" in missing.json["message"]
    assert post(client, channel="SMS").status_code == 400
    assert post(client, email="not-an-address").status_code == 400
    sandbox.granted_scopes.discard(WRITE_SCOPE)
    refused = post(client)
    assert refused.status_code == 403 and refused.json["category"] == "MISSING_SCOPES"
    assert refused.json["errors"][0]["context"] == {"requiredGranularScopes": [WRITE_SCOPE]}
    assert "hs_email_optout" not in sandbox.get("contacts", hub_id)["properties"] and not sandbox.unsubscribed
