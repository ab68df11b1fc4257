"""The Meta sandbox's Custom Audiences, driven by the meta_audience destination and by raw requests."""

from __future__ import annotations

from dataclasses import replace

import pytest
import requests

from sync.sandbox.ads.meta import MetaSandbox
from sync.sandbox.server import SandboxServer
from sync.segments.destinations import build
from sync.segments.destinations.base import Audience, AudienceMember, Entry
from sync.segments.destinations.meta_audience import MetaAudience
from sync.settings import Settings

H = "a" * 64


@pytest.fixture(scope="module")
def served():
    sandbox = MetaSandbox(require_appsecret_proof=True)
    with SandboxServer(meta=sandbox) as server:
        config = MetaAudience.from_settings("meta-lapsed", {}, Settings.from_env(server.env()))
        yield sandbox, config, f"{server.url}/meta/v26.0"


@pytest.fixture
def meta(served):
    """The module's sandbox with fresh counters and limits (each test makes its own audiences)."""
    sandbox = served[0]
    sandbox.requests, sandbox.rate.limit, sandbox.audience_book.tos_accepted = 0, None, True
    sandbox.audience_book.sessions.clear()
    return served


def members(count: int) -> list[AudienceMember]:
    return [AudienceMember(i, emails=(f"p{i}@example.com", f"q{i}@example.com")[:2 if i % 3 == 0 else 1],
                           first_name="Ann", last_name="Lee", country="US", zip="94103") for i in range(count)]


def test_a_segment_is_created_filled_in_session_batches_and_emptied_again(meta):
    sandbox, config, _ = meta
    dest = build(config)
    dest.max_batch = 5
    audience_id = dest.ensure(Audience("lapsed", "Lapsed customers"))
    stored = sandbox.audience_book.audiences[audience_id]
    assert (stored["name"], stored["subtype"], stored["customer_file_source"]) == (
        "Lapsed customers", "CUSTOM", "USER_PROVIDED_ONLY")
    entries = [Entry(m.contact_id, dest.keys(m)) for m in members(12)]  # 16 rows: members 0, 3, 6, 9 have two
    assert {r.status for r in dest.add(audience_id, entries)} == {"done"}
    assert len(stored["rows"]) == 16 and sandbox.requests == 1 + 4
    assert [s["batches"] for s in sandbox.audience_book.sessions.values()] == [4]
    assert all(s["closed"] for s in sandbox.audience_book.sessions.values())
    assert {r.status for r in dest.remove(audience_id, entries[:7])} == {"done"}
    assert len(stored["rows"]) == 16 - 10
    dest.remove(audience_id, entries[7:])
    assert stored["rows"] == []


def test_limited_data_use_rows_are_kept_with_their_option_and_removed_by_the_same_rows(meta):
    sandbox, config, _ = meta
    dest = build(config)
    audience_id = dest.ensure(Audience("ca", "California"))
    people = members(2)
    entries = [Entry(0, dest.keys(people[0])), Entry(1, dest.keys(replace(people[1], policy="restricted")))]
    assert {r.status for r in dest.add(audience_id, entries)} == {"done"}
    rows = sandbox.audience_book.audiences[audience_id]["rows"]
    assert [row.get("DATA_PROCESSING_OPTIONS") for row in rows] == [None, None, ["LDU"]]  # member 0 has two rows
    assert {r.status for r in dest.remove(audience_id, entries)} == {"done"} and rows == []


def test_an_ended_version_and_the_conversions_token_are_refused_as_meta_refuses_them(meta):
    sandbox, config, _ = meta
    old = build(replace(config, api_version="v24.0"))
    entries = [Entry(1, old.keys(members(1)[0]))]
    audience_id = build(config).ensure(Audience("a", "A"))
    result = old.add(audience_id, entries)[0]
    assert result.status == "failed" and "2635" in result.reason
    capi = build(replace(config, credentials={**config.credentials, "access_token": sandbox.ACCESS_TOKEN}))
    result = capi.add(audience_id, entries)[0]
    assert result.status == "retry" and "ads_management" in result.reason
    assert sandbox.audience_book.audiences[audience_id]["rows"] == []


def test_a_blocked_audience_and_the_rate_limit(meta):
    sandbox, config, _ = meta
    dest = MetaAudience(config, sleep=lambda _s: None)
    audience_id = dest.ensure(Audience("a", "A"))
    entries = [Entry(m.contact_id, dest.keys(m)) for m in members(3)]
    sandbox.audience_book.audiences[audience_id]["blocked"] = True
    assert all(r.status == "failed" and "1713230" in r.reason for r in dest.add(audience_id, entries))
    sandbox.audience_book.audiences[audience_id]["blocked"] = False
    sandbox.rate.limit = 1
    sandbox.rate.admit()
    assert {r.status for r in dest.add(audience_id, entries)} == {"retry"}


def _post(base: str, sandbox: MetaSandbox, audience_id: str, payload, session=None, method="POST"):
    token = sandbox.MARKETING_TOKEN
    body = {"access_token": token, "appsecret_proof": sandbox.appsecret_proof(token), "payload": payload}
    if session is not None:
        body["session"] = session
    return requests.request(method, f"{base}/{audience_id}/users", json=body, timeout=5)


def _session(seq: int, last: bool, session_id: int = 5) -> dict:
    return {"session_id": session_id, "batch_seq": seq, "last_batch_flag": last, "estimated_num_total": 3}


@pytest.mark.parametrize(("payload", "said"), [
    ({"schema": ["EMAIL", "FN"], "data": [[H, H]]}, "is_raw"),
    ({"schema": ["EMAIL", "NICKNAME"], "is_raw": True, "data": [[H, H]]}, "distinct"),
    ({"schema": ["EMAIL", "FN"], "is_raw": True, "data": [[H]]}, "data[0]"),
    ({"schema": ["EMAIL"], "is_raw": True, "data": []}, "non-empty"),
    ({"schema": ["EMAIL"], "is_raw": True, "data": [[H]] * 10_001}, "at most 10000"),
    ({"schema": ["EMAIL", "DATA_PROCESSING_OPTIONS"], "is_raw": True, "data": [[H, ["GDPR"]]]}, "data[0]"),
    ({"schema": ["EMAIL", "DATA_PROCESSING_OPTIONS"], "is_raw": True, "data": [[H, "LDU"]]}, "data[0]"),
])
def test_a_malformed_upload_is_refused_whole_with_code_100(meta, payload, said):
    sandbox, config, base = meta
    audience_id = build(config).ensure(Audience("a", "A"))
    answer = _post(base, sandbox, audience_id, payload)
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["code"] == 100 and said in error["error_user_msg"]
    assert sandbox.audience_book.audiences[audience_id]["rows"] == []


def test_session_batches_count_from_one_without_gaps_and_end_at_the_last_flag(meta):
    sandbox, config, base = meta
    audience_id = build(config).ensure(Audience("a", "A"))
    payload = {"schema": ["EMAIL"], "is_raw": True, "data": [[H]]}
    assert _post(base, sandbox, audience_id, payload, _session(2, False)).status_code == 400  # must start at 1
    assert _post(base, sandbox, audience_id, payload, _session(1, False)).status_code == 200
    assert _post(base, sandbox, audience_id, payload, _session(3, False)).status_code == 400  # a gap
    assert _post(base, sandbox, audience_id, payload, _session(2, True)).status_code == 200
    closed = _post(base, sandbox, audience_id, payload, _session(3, False))
    assert closed.status_code == 400 and "closed" in closed.json()["error"]["error_user_msg"]
    assert _post(base, sandbox, audience_id, payload, _session(1, True), "DELETE").status_code == 200  # its own


def test_unhashed_values_are_counted_invalid_and_the_rest_of_the_request_is_taken(meta):
    sandbox, config, base = meta
    audience_id = build(config).ensure(Audience("a", "A"))
    payload = {"schema": ["EMAIL", "EXTERN_ID"], "is_raw": True,
               "data": [[H, "crm-1"], ["ann@example.com", ""], ["", ""], [H.upper(), ""]]}
    answer = _post(base, sandbox, audience_id, payload, _session(1, True)).json()
    assert (answer["num_received"], answer["num_invalid_entries"]) == (4, 3)
    assert set(answer["invalid_entry_samples"]) == {"ann@example.com", H.upper()}
    assert sandbox.audience_book.audiences[audience_id]["rows"] == [{"EMAIL": H, "EXTERN_ID": "crm-1"}]


def test_audiences_need_an_ad_account_of_ours_that_accepted_the_terms(meta):
    sandbox, config, _ = meta
    other = build(replace(config, options={"ad_account_id": "act_1"}))
    with pytest.raises(Exception, match="does not exist"):
        other.ensure(Audience("a", "A"))
    sandbox.audience_book.tos_accepted = False
    with pytest.raises(Exception, match=r"(?i)permission"):
        build(config).ensure(Audience("a", "A"))


def test_the_book_holds_each_row_once_and_follows_rows_changed_beside_it():
    from sync.sandbox.ads.meta_audiences import AudienceBook

    book = AudienceBook()
    rid = book.create({"name": "n"})
    rows = [{"EMAIL": f"{i:064x}"} for i in range(5)]
    book.apply(rid, "POST", rows + rows[:2])
    book.apply(rid, "POST", [{"EMAIL": f"{1:064x}"}])
    assert book.audiences[rid]["rows"] == rows
    book.apply(rid, "DELETE", [rows[1], rows[3], {"EMAIL": H}])
    assert book.audiences[rid]["rows"] == [rows[0], rows[2], rows[4]]
    book.audiences[rid]["rows"].clear()  # changed without the book: it reads the rows again
    book.apply(rid, "POST", [rows[0]])
    assert book.audiences[rid]["rows"] == [rows[0]]
