"""The Meta ad-name reader against recorded Graph API answers (``responses``): one batch of ≤ 50 ads a request."""

from __future__ import annotations

import json
from urllib.parse import parse_qs

import pytest
import responses

from sync.attribution.adnames.meta import FIELDS, MetaAdReader
from sync.attribution.networks.meta import appsecret_proof
from sync.errors import AuthError, PermanentError

BASE = "https://graph.example.test"
URL = f"{BASE}/v26.0/"
TOKEN = "EAAGmarketingtoken123456"


def reader(waits=None, **kwargs):
    return MetaAdReader(TOKEN, base_url=BASE, api_version="v26.0", sleep=(waits if waits is not None else []).append,
                        **kwargs)


def ok(ad_id, name, adset, campaign):
    body = {"id": ad_id, "name": name, "adset": {"id": adset[0], "name": adset[1]},
            "campaign": {"id": campaign[0], "name": campaign[1]}}
    return {"code": 200, "body": json.dumps(body)}


def refused(code, subcode, message, transient=False):
    return {"code": 400, "body": json.dumps({"error": {"message": message, "type": "GraphMethodException",
                                                       "code": code, "error_subcode": subcode,
                                                       "is_transient": transient, "fbtrace_id": "Atrace"}})}


NO_OBJECT = ("Unsupported get request. Object with ID '1203' does not exist, cannot be loaded due to missing "
             "permissions, or does not support this operation.")


@responses.activate
def test_one_batch_request_names_found_ads_and_records_metas_refusal():
    responses.post(URL, json=[ok("1201", "Spring | Image", ("11", "Broad"), ("1", "Spring Promo")),
                              refused(100, 33, NO_OBJECT), None,
                              refused(80004, 2446079, "There have been too many calls to this ad-account.", True)])
    found = reader(app_secret="s3cret").read(["1201", "1203", "1204", "1205"])
    assert found.requests == 1 and len(responses.calls) == 1
    form = parse_qs(responses.calls[0].request.body)
    assert json.loads(form["batch"][0]) == [{"method": "GET", "relative_url": f"{i}?fields={FIELDS}"}
                                           for i in ("1201", "1203", "1204", "1205")]
    assert FIELDS == "id,name,adset{id,name},campaign{id,name}"
    assert form["include_headers"] == ["false"]
    assert form["access_token"] == [TOKEN] and form["appsecret_proof"] == [appsecret_proof("s3cret", TOKEN)]
    assert TOKEN not in responses.calls[0].request.url  # the token travels in the body, never in a URL
    info = found.found["1201"]
    assert (info.ad_name, info.adset_id, info.adset_name, info.campaign_id, info.campaign_name) == (
        "Spring | Image", "11", "Broad", "1", "Spring Promo")
    assert found.refused == {"1203": f"Meta code 100/33: {NO_OBJECT}"}
    assert found.later == ["1204", "1205"]  # timed out (null) and throttled inside the batch: asked again later


@responses.activate
def test_a_throttled_request_is_retried_after_the_time_meta_asks_for():
    usage = {"act_1": [{"type": "ads_management", "call_count": 100, "estimated_time_to_regain_access": 1}]}
    responses.post(URL, status=400, headers={"X-Business-Use-Case-Usage": json.dumps(usage)},
                   json={"error": {"message": "There have been too many calls to this ad-account.", "code": 80004,
                                   "error_subcode": 2446079, "is_transient": True, "type": "OAuthException"}})
    responses.post(URL, json=[ok("1201", "A", ("11", "S"), ("1", "C"))])
    waits: list[float] = []
    found = reader(waits).read(["1201"])
    assert list(found.found) == ["1201"] and waits == [60.0]  # estimated_time_to_regain_access is in minutes


@pytest.mark.parametrize(("code", "error"), [(190, AuthError), (2635, PermanentError)])
@responses.activate
def test_a_refused_request_raises_the_classified_error_without_the_token(code, error):
    responses.post(URL, status=400, json={"error": {"message": f"refused {TOKEN}", "code": code,
                                                    "type": "OAuthException"}})
    with pytest.raises(error) as raised:
        reader().read(["1201"])
    assert f"code {code}" in str(raised.value) and TOKEN not in str(raised.value)


def test_more_than_fifty_ads_is_a_programming_error_not_a_request():
    with pytest.raises(ValueError, match="at most 50"):
        reader().read([str(n) for n in range(51)])


@responses.activate
def test_an_answer_that_is_not_a_batch_leaves_every_ad_for_later():
    responses.post(URL, json={"unexpected": True})
    found = reader().read(["1201", "1202"])
    assert (found.found, found.refused, found.later) == ({}, {}, ["1201", "1202"])
