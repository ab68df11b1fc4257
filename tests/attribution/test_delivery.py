"""VendorCodes, the ad networks' judge on HttpClient: the vendor's code in the body decides, on any status."""

from __future__ import annotations

import pytest
import responses

from sync.attribution.delivery import VendorCodes
from sync.errors import AuthError, PermanentError, RateLimited, TransientError, ValidationError
from sync.http import Action, Rule, VendorError, classify, make_session

URL = "https://graph.example.com/v21.0/123/events"
SECRET = "tok-9f8e7d6c5b"
CODES = {
    "100": Rule(Action.FAIL, ValidationError, "an event was rejected"),
    "100/33": Rule(Action.FAIL, PermanentError, "the dataset does not exist"),
    "190": Rule(Action.AUTH, AuthError, "the access token is invalid"),
    "4": Rule(Action.RATE_LIMITED, RateLimited, "rate limit reached"),
}


def read(response):
    body = response.json()
    if "code" not in body:
        return None
    return VendorError(code=str(body["code"]), subcode=str(body.get("sub") or ""), message=body.get("msg", ""),
                       transient=body.get("transient") is True,
                       located={int(k): v for k, v in (body.get("located") or {}).items()},
                       retry_after=body.get("wait"))


@pytest.fixture
def judged():
    judge = VendorCodes("Net", read_error=read, codes=CODES, bisect_when=lambda found: found.full_code == "100",
                        secrets=(SECRET,))
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        def judged(status, body, headers=None):
            mock.add(responses.POST, URL, status=status, json=body, headers=headers or {})
            return judge(classify(make_session().post(URL, json={}), vendor="Net"))
        yield judged


def test_a_known_code_names_the_rule_and_fills_the_declared_context(judged):
    outcome = judged(400, {"code": 100, "msg": "event too old", "located": {1: "too old"}})
    error = outcome.error
    assert outcome.action is Action.FAIL and type(error) is ValidationError
    assert str(error) == "Net: an event was rejected (HTTP 400, code 100): event too old"
    assert (error.status, error.vendor_code, error.vendor_message) == (400, "100", "event too old")
    assert error.bisect is True and error.located == {1: "too old"}


def test_the_subcode_row_wins_and_is_not_bisected(judged):
    outcome = judged(400, {"code": 100, "sub": 33, "msg": "no dataset"})
    assert type(outcome.error) is PermanentError and outcome.error.vendor_code == "100/33"
    assert outcome.error.bisect is False


def test_a_code_on_a_2xx_is_a_refusal(judged):
    outcome = judged(200, {"code": 4, "msg": "slow down", "wait": 120.0})
    assert outcome.action is Action.RATE_LIMITED and type(outcome.error) is RateLimited
    assert outcome.retry_after == outcome.error.retry_after == 120.0  # the vendor's wait, without Retry-After
    assert outcome.error.located == {} and outcome.error.bisect is False  # only a FAIL locates or bisects
    unknown = judged(200, {"code": 77, "msg": "what"})
    assert unknown.action is Action.FAIL and type(unknown.error) is PermanentError
    assert str(unknown.error) == "Net: the request was refused (HTTP 200, code 77): what"


def test_retry_after_header_wins_over_the_vendors_wait(judged):
    assert judged(200, {"code": 4, "wait": 120.0}, {"Retry-After": "5"}).error.retry_after == 5.0


def test_a_transient_flag_retries_an_unknown_code(judged):
    outcome = judged(500, {"code": 9, "msg": "try again", "transient": True})
    assert outcome.action is Action.RETRY and type(outcome.error) is TransientError
    assert "code 9" in str(outcome.error)


def test_an_unknown_code_on_a_refusal_keeps_the_http_tables_error_with_the_vendors_context(judged):
    outcome = judged(400, {"code": 999, "msg": "odd", "located": {0: "x"}})
    assert outcome.action is Action.FAIL and type(outcome.error) is ValidationError
    assert "(HTTP 400) POST " + URL in str(outcome.error)
    assert (outcome.error.vendor_code, outcome.error.vendor_message, outcome.error.located) == ("999", "odd", {0: "x"})


def test_no_code_in_the_body_leaves_the_http_outcome(judged):
    assert judged(200, {"events_received": 3}).action is Action.OK
    outcome = judged(503, {"message": "down"})
    assert outcome.action is Action.RETRY and outcome.error.vendor_code == ""


def test_credentials_echoed_by_the_vendor_are_blanked(judged):
    outcome = judged(400, {"code": 190, "msg": f"token {SECRET} expired"})
    assert outcome.action is Action.AUTH and SECRET not in str(outcome.error)
    assert SECRET not in outcome.error.vendor_message and "[redacted]" in outcome.error.vendor_message
    plain = judged(400, {"message": f"bad {SECRET}"})
    assert SECRET not in str(plain.error) and SECRET not in plain.error.vendor_message
