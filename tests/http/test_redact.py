"""Redaction: one function blanks tokens, secrets, e-mail addresses and phone numbers everywhere."""

from __future__ import annotations

import logging
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sync.http import RedactingFilter, redact, redact_headers, redact_url


@pytest.mark.parametrize(("text", "secret", "kept"), [
    ("Authorization: Bearer pat-na1-11111111-2222-3333", "pat-na1-11111111", "Authorization: Bearer [redacted]"),
    ("bearer 00D5g000004Xyz!AQ4AQHk.tok", "00D5g000004Xyz", "bearer [redacted]"),
    ("Authorization: Bearer pat-sandbox-hubspot", "pat-sandbox", "Bearer [redacted]"),
    ("Authorization: Bearer abcdefghijklmnopqrstu", "abcdefghijklm", "Bearer [redacted]"),  # letters only, but long
    ("Authorization: Basic dXNlcjpwYXNzd29yZDEyMw==", "dXNlcjpw", "Basic [redacted]"),
    ("GET /x?hapikey=hk-123456&limit=100", "hk-123456", "limit=100"),
    ("POST /oauth/v1/token refresh_token=rt-abcdef&client_secret=cs-998877", "rt-abcdef", "refresh_token=[redacted]"),
    ("POST /oauth/v1/token refresh_token=rt-abcdef&client_secret=cs-998877", "cs-998877", "client_secret=[redacted]"),
    ('{"access_token": "00Dxx!AQ4AQ.tok", "instance_url": "https://x.my.salesforce.com"}', "00Dxx",
     "instance_url"),
    ("grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=eyJhbGciOi.eyJpc3Mi.sig", "eyJhbGciOi",
     "grant_type="),
    ("contact jane.doe+promo@example.co.uk was rejected", "jane.doe", "contact [email] was rejected"),
    ("/contacts/jane.doe%40example.com?idProperty=email", "jane.doe", "idProperty=email"),
    ("Email: invalid email address: bob.smith@@example", "bob.smith", "invalid email address"),
    ("call +44 20 7946 0958 today", "7946", "call [phone] today"),
    ("phone=%2B14155550123", "4155550123", "phone="),
    ("US (555) 123-4567 and 555.123.4567", "123", "US [phone] and [phone]"),
    ('"GET /console/contacts?q=Noor+Al&stage=Hot+Lead HTTP/1.1" 200', "Noor",
     "/console/contacts?q=[redacted]&stage=Hot+Lead HTTP/1.1"),  # what was typed to find someone
    ('"GET /api/contacts?limit=5&identity=whatsapp:34698047005&cursor=NTg HTTP/1.1"', "34698047005",
     "/api/contacts?limit=5&identity=[redacted]&cursor=NTg HTTP/1.1"),
    ('"GET /console/contacts/58 HTTP/1.1" 200 "http://h/console/contacts?q=3469" "Chrome"', "3469",
     '"GET /console/contacts/58 HTTP/1.1" 200 "http://h/console/contacts?q=[redacted]" "Chrome"'),  # the Referer
])
def test_redaction_table(text, secret, kept):
    out = redact(text)
    assert secret not in out
    assert kept in out


@pytest.mark.parametrize("text", [
    "contact 51 moved to lifecyclestage customer",
    "Salesforce record 0035g00000AbCdEFGH updated at 2026-11-24T16:42:31.000Z",
    "hs_object_id 123456789012 lastmodifieddate 1700000000000",
    "errorCode INVALID_FIELD on field StageName",
    "Basic authentication failed",
    "Salesforce refused the OAuth access token (invalid_grant)",  # prose after OAuth / Bearer is not a token
    "Bearer tokens expire after six hours",
])
def test_ids_timestamps_and_prose_stay_readable(text):
    assert redact(text) == text


def test_redact_url_masks_userinfo_and_secret_or_personal_parameters():
    url = "https://user:pw@api.example.com/v2/contact/email:ana@example.com?access_token=x1&after=5&phone=%2B34612&code=c9"
    out = redact_url(url)
    assert out.startswith("https://[redacted]@api.example.com/v2/contact/email:")
    for secret in ("pw", "ana@", "x1", "34612", "c9"):
        assert secret not in out
    assert "after=5" in out


def test_redact_headers():
    headers = {"Authorization": "Bearer secret-token-1", "Cookie": "sid=abc", "X-Trace": "for ops@example.com",
               "Content-Type": "application/json"}
    assert redact_headers(headers) == {"Authorization": "[redacted]", "Cookie": "[redacted]",
                                       "X-Trace": "for [email]", "Content-Type": "application/json"}


def test_a_logged_request_line_contains_none_of_them(caplog):
    logger = logging.getLogger("sync.http.test_redact")
    logger.addFilter(RedactingFilter())
    try:
        with caplog.at_level(logging.INFO, logger=logger.name):
            logger.info("POST %s headers=%s body=%s",
                        "https://api.hubapi.com/crm/v3/objects/contacts?hapikey=hk-42&email=ana@example.com",
                        {"Authorization": "Bearer pat-na1-abcdef123"},
                        '{"properties": {"phone": "+34 612 345 678", "refresh_token": "rt-777"}}')
    finally:
        logger.filters.clear()
    line = caplog.records[0].getMessage()
    assert line.startswith("POST https://api.hubapi.com/crm/v3/objects/contacts?hapikey=[redacted]")
    for secret in ("hk-42", "ana@example.com", "pat-na1-abcdef123", "612 345", "rt-777"):
        assert secret not in line and secret not in caplog.text


def test_meta_appsecret_proof_is_blanked_in_urls():
    from sync.http.redact import redact_url

    url = "https://graph.facebook.com/v21.0/123/events?access_token=EAAB&appsecret_proof=abc123def"
    assert "abc123def" not in redact_url(url) and "EAAB" not in redact_url(url)


# The e-mail pattern before it was anchored to the start of a run of local-part characters:
# the same matches, found in quadratic time on long runs (a percent-encoded SOQL query).
_UNANCHORED_EMAIL = re.compile(r"[\w.%+-]+(?:@|%40)+[\w.-]*[\w-]")


@given(st.text(alphabet="ab9._%+-@40 /&=é", max_size=60))
def test_the_anchored_email_pattern_blanks_exactly_what_the_unanchored_one_did(text):
    from sync.http.redact import _EMAIL

    # adjacent matches ("0@0" then ".@0" in "0@0.@0") are one for the anchored pattern
    unanchored = re.sub(r"(?:\[email\])+", "[email]", _UNANCHORED_EMAIL.sub("[email]", text))
    assert _EMAIL.sub("[email]", text) == unanchored


def test_a_match_that_starts_where_the_previous_one_ended_is_blanked_too():
    assert redact("0@0.@0 and a@b.c+d@e.f") == "[email] and [email]"


def test_a_long_percent_encoded_query_url_is_redacted_in_one_pass():
    ids = "%2C".join(f"%27003{i:012d}AAA%27" for i in range(300))
    url = f"https://x.my.salesforce.com/services/data/v60.0/query?q=SELECT+Id+FROM+Contact+WHERE+Id+IN+({ids})"
    redacted = redact_url(url + "+AND+Email%3D%27ana%40example.com%27")
    assert "ana" not in redacted and "[email]" in redacted  # (the loose pattern takes the whole run)
    assert "[email]" not in redact_url(url) and "003000000000299AAA" in redact_url(url)


def test_configured_secrets_path_secrets_and_tracebacks_are_blanked_by_the_filter():
    from sync.http.redact import secrets_redacted

    with secrets_redacted(["cfg-secret-4471", "short"]):  # "short" is below MIN_SECRET: not matched by value
        check_redaction()
    assert redact("x cfg-secret-4471") == "x cfg-secret-4471"  # the block's secrets are forgotten after it


def check_redaction():
    assert redact("x cfg-secret-4471 y cfg-secret-4471") == "x [redacted] y [redacted]"
    path = "POST /webhooks/salesforce/shop/s3cr3t HTTP/1.1"
    assert redact(path) == "POST /webhooks/salesforce/shop/[redacted] HTTP/1.1"
    assert redact("POST /webhooks/salesforce/shop HTTP/1.1") == "POST /webhooks/salesforce/shop HTTP/1.1"
    assert "vt-1" not in redact("GET /webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=vt-1&hub.challenge=9")
    assert redact("a short word") == "a short word"
    record = logging.LogRecord("t", logging.ERROR, __file__, 1, "failed %s", ("cfg-secret-4471",), None)
    try:
        raise RuntimeError("token cfg-secret-4471 refused for bob@example.com")
    except RuntimeError:
        import sys
        record.exc_info = sys.exc_info()
    RedactingFilter().filter(record)
    text = logging.Formatter().format(record)
    assert "cfg-secret-4471" not in text and "bob@example.com" not in text and "RuntimeError" in text
