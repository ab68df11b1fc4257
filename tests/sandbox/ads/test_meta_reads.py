"""The Meta sandbox's Marketing API reads: ad nodes, batches of ≤ 50, tokens, versions, throttling; SDK as oracle."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from support.clock import Clock

from sync.sandbox.ads.meta import MetaSandbox, create_app
from sync.sandbox.server import SandboxServer

NOW = datetime(2026, 12, 6, 12, tzinfo=UTC).timestamp()
FIELDS = "id,name,adset{id,name},campaign{id,name}"
AD = ("120230000000000001", "Spring | Image", "120230000000000011", "Broad 25-54", "120230000000000021",
      "Spring Promo | Click to WhatsApp | Leads")
NO_OBJECT = ("Unsupported get request. Object with ID '{}' does not exist, cannot be loaded due to missing "
             "permissions, or does not support this operation.")


@pytest.fixture
def sandbox() -> MetaSandbox:
    box = MetaSandbox(clock=Clock(NOW))
    box.ads.add(*AD)
    return box


@pytest.fixture
def client(sandbox):
    return create_app(sandbox).test_client()


def get(client, node, token=MetaSandbox.MARKETING_TOKEN, version="v26.0", fields=FIELDS):
    return client.get(f"/{version}/{node}", query_string={"access_token": token, "fields": fields})


def batch(client, ids, token=MetaSandbox.MARKETING_TOKEN, version="v26.0", **extra):
    calls = [{"method": "GET", "relative_url": f"{ad_id}?fields={FIELDS}"} for ad_id in ids]
    return client.post(f"/{version}/", data={"access_token": token, "batch": json.dumps(calls), **extra})


def test_the_marketing_token_reads_an_ad_with_its_ad_set_and_campaign(client, sandbox):
    answer = get(client, AD[0])
    assert answer.status_code == 200
    assert answer.json == {"id": AD[0], "name": AD[1], "adset": {"id": AD[2], "name": AD[3]},
                           "campaign": {"id": AD[4], "name": AD[5]}}
    assert get(client, AD[0], fields="campaign").json == {"campaign": {"id": AD[4]}, "id": AD[0]}
    assert sandbox.ads.reads == 2


@pytest.mark.parametrize("token", [MetaSandbox.ACCESS_TOKEN, MetaSandbox.MARKETING_TOKEN])
def test_an_ad_that_does_not_exist_or_that_the_token_cannot_see_is_metas_100_33(client, token):
    node = AD[0] if token == MetaSandbox.ACCESS_TOKEN else "120239999999999999"
    answer = get(client, node, token=token)
    error = answer.json["error"]
    assert answer.status_code == 400 and (error["code"], error["error_subcode"]) == (100, 33)
    assert error["message"] == NO_OBJECT.format(node) and error["type"] == "GraphMethodException"


def test_tokens_and_fields_are_checked(client):
    assert get(client, AD[0], token="").json["error"]["code"] == 104
    assert get(client, AD[0], token="forged").json["error"]["code"] == 190
    missing = get(client, AD[0], fields="id,budget").json["error"]
    assert (missing["code"], missing["message"]) == (100, "(#100) Tried accessing nonexisting field (budget) on node "
                                                          "type (Ad)")
    sub = get(client, AD[0], fields="adset{id,targeting}").json["error"]
    assert sub["message"] == "(#100) Tried accessing nonexisting field (targeting) on node type (Adset)"


def test_a_batch_answers_each_call_in_order_and_drops_headers_when_asked(client, sandbox):
    answer = batch(client, [AD[0], "404"], include_headers="false")
    assert answer.status_code == 200 and [a["code"] for a in answer.json] == [200, 400]
    assert json.loads(answer.json[0]["body"])["campaign"] == {"id": AD[4], "name": AD[5]}
    assert json.loads(answer.json[1]["body"])["error"]["error_subcode"] == 33
    assert all("headers" not in a for a in answer.json)
    assert all("headers" in a for a in batch(client, [AD[0]]).json)
    assert sandbox.requests == 2  # a batch is one request


def test_a_batch_takes_at_most_fifty_calls(client):
    answer = batch(client, [AD[0]] * 51)
    assert answer.status_code == 400
    assert answer.json["error"]["message"] == "Too many requests in batch message. Maximum batch size is 50"
    assert answer.json["error"]["type"] == "GraphBatchException"
    assert batch(client, [AD[0]] * 50).status_code == 200


@pytest.mark.parametrize(("version", "code"), [("v21.0", 2635), ("v99.0", 2500)])
def test_ended_and_unknown_versions_are_refused_on_reads_and_batches(client, version, code):
    assert get(client, AD[0], version=version).json["error"]["code"] == code
    assert batch(client, [AD[0]], version=version).json["error"]["code"] == code


def test_each_call_counts_against_the_ad_account_limit(sandbox):
    sandbox.rate.limit = 3
    client = create_app(sandbox).test_client()
    first = batch(client, [AD[0]] * 5)
    assert [a["code"] for a in first.json] == [200, 200, 200, 400, 400]
    throttled = json.loads(first.json[3]["body"])["error"]
    assert (throttled["code"], throttled["error_subcode"], throttled["is_transient"]) == (80004, 2446079, True)
    whole = batch(client, [AD[0]])
    assert whole.status_code == 400 and whole.json["error"]["code"] == 80004
    assert "estimated_time_to_regain_access" in whole.headers["X-Business-Use-Case-Usage"]


def test_the_multi_id_read_is_not_served(client):
    answer = client.get("/v26.0/", query_string={"ids": AD[0], "access_token": MetaSandbox.MARKETING_TOKEN})
    assert answer.status_code in (404, 405)


def test_facebook_business_reads_the_ad_alone_and_in_a_batch():
    """Meta's own SDK as the oracle: its Ad read and its batch both parse what the sandbox answers.

    The SDK checks field names against ``Ad.Field`` (it warns on field expansion, so it asks for
    ``adset``/``campaign`` and gets their ids, as Meta answers an object field without expansion).
    """
    from facebook_business.adobjects.ad import Ad
    from facebook_business.api import FacebookAdsApi

    box = MetaSandbox()
    box.ads.add(*AD)
    with SandboxServer(meta=box) as server:
        api = FacebookAdsApi.init(access_token=MetaSandbox.MARKETING_TOKEN, app_secret=MetaSandbox.APP_SECRET,
                                  api_version="v26.0")
        api._session.GRAPH = f"{server.url}/meta"
        ad = Ad(AD[0], api=api).api_get(fields=[Ad.Field.name, Ad.Field.adset, Ad.Field.campaign])
        assert (ad["name"], ad["adset"]["id"], ad["campaign"]["id"]) == (AD[1], AD[2], AD[4])
        answers: list = []
        sdk_batch = api.new_batch()
        for ad_id in (AD[0], "120239999999999999"):
            Ad(ad_id, api=api).api_get(fields=[Ad.Field.name, Ad.Field.campaign_id], batch=sdk_batch,
                                       success=lambda r: answers.append(("ok", r.json())),
                                       failure=lambda r: answers.append(("failed", r.error().api_error_subcode())))
        assert sdk_batch.execute() is None  # nothing left to retry
    assert answers == [("ok", {"id": AD[0], "name": AD[1], "campaign_id": AD[4]}),
                       ("failed", 33)]
