"""bench/vendor_refs' dispatch: each recorded request goes to its vendor's checker; none is lost."""

from __future__ import annotations

from bench.vendor_refs import UNCHECKED, check, template
from sync.sandbox.recording import RecordedRequest


def request(sandbox: str, path: str, body: bytes = b"{}") -> RecordedRequest:
    return RecordedRequest(sandbox, "POST", path, "", "application/json", body, 200)


def test_a_google_mount_of_any_name_reaches_the_google_checker():
    verdict = check(request("google-datamanager", "/v1/events:ingest", b'{"events": [{"eventSource": "WEB"}]}'))
    assert (verdict.vendor, verdict.endpoint, verdict.outcome) == ("Google", "POST /v1/events:ingest", "accepted")


def test_an_unknown_sandbox_is_unchecked_not_dropped():
    verdict = check(request("twilio", "/2010-04-01/Accounts/AC1/Messages.json"))
    assert verdict.outcome == UNCHECKED and verdict.reasons == ("no checker for the 'twilio' sandbox",)


def test_templates_hide_ids_and_keep_names():
    assert template("/crm/v3/objects/contacts/10503106509") == "/crm/v3/objects/contacts/{id}"
    assert template("/sobjects/Contact/0035g0000000001AAA") == "/sobjects/Contact/{id}"
    assert template("/v18/customers/1234567890:uploadClickConversions") == "/v18/customers/{id}:uploadClickConversions"
    assert template("/sobjects/Opportunity/describe") == "/sobjects/Opportunity/describe"
