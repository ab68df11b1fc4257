"""The TikTok Events API sandbox: auth codes, whole-request refusals, partial success per rule, age window, dedup."""

from __future__ import annotations

import hashlib

import pytest
from flask import Flask
from support.clock import Clock
from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.test import Client

from sync.sandbox.ads.tiktok import TRACK_PATH, TikTokSandbox, create_app
from sync.sandbox.faults import Faults

NOW = 1_750_000_000
DAY = 86_400
EMAIL = hashlib.sha256(b"ana@example.com").hexdigest()
PHONE = hashlib.sha256(b"+34600111222").hexdigest()
AUTH = {"Access-Token": TikTokSandbox.ACCESS_TOKEN}




@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def sandbox(clock: Clock) -> TikTokSandbox:
    return TikTokSandbox(clock=clock)


@pytest.fixture
def client(sandbox: TikTokSandbox):
    return create_app(sandbox).test_client()


def event(**changes) -> dict:
    base = {"event": "CompletePayment", "event_time": NOW - 60, "event_id": "order-1",
            "user": {"email": [EMAIL], "phone": PHONE, "ttclid": "E.C.P.v3fQ2RHacdksKfofPmlyuStIIHJ4Af1tKYxF"},
            "properties": {"value": 25.5, "currency": "EUR"}, "lead": {"lead_id": "7135063418060406785"}}
    base.update(changes)
    return base


def send(client, data, *, headers=AUTH, **body):
    payload = {"event_source": "crm", "event_source_id": TikTokSandbox.EVENT_SOURCE_ID, "data": data, **body}
    return client.post(TRACK_PATH, json=payload, headers=headers)


def test_a_valid_batch_is_recorded(client, sandbox):
    answer = send(client, [event(), event(event="Lead", event_id="lead-1", properties=None)],
                  partner_name="lifesync")

    assert answer.status_code == 200
    assert answer.json == {"code": 0, "message": "OK", "request_id": answer.json["request_id"], "data": {}}
    assert [e["event_id"] for e in sandbox.accepted] == ["order-1", "lead-1"]
    first = sandbox.accepted[0]
    assert (first["request"], first["event_source"], first["event_source_id"]) == (1, "crm", "CRM0000001")


@pytest.mark.parametrize(("headers", "code"), [({}, 40104), ({"Access-Token": "wrong"}, 40105),
                                               ({"Authorization": f"Bearer {TikTokSandbox.ACCESS_TOKEN}"}, 40104)])
def test_auth_errors_answer_http_200_with_tiktoks_code(client, sandbox, headers, code):
    answer = send(client, [event()], headers=headers)

    assert answer.status_code == 200 and answer.json["code"] == code
    assert sandbox.accepted == [] and (sandbox.rejected_batches, sandbox.rejected_events) == (1, 1)


@pytest.mark.parametrize(("body", "code"), [
    pytest.param({"event_source": "email"}, 40002, id="unknown event_source"),
    pytest.param({"event_source": None}, 40002, id="no event_source"),
    pytest.param({"event_source_id": ""}, 40002, id="no event_source_id"),
    pytest.param({"event_source_id": TikTokSandbox.PIXEL_CODE}, 40001, id="a pixel code for the crm source"),
    pytest.param({"event_source_id": "CRM9999999"}, 40001, id="someone else's event set"),
    pytest.param({"data": []}, 40002, id="empty data"),
    pytest.param({"data": {"event": "Lead"}}, 40002, id="data not an array"),
    pytest.param({"data": [event(event_id=str(i)) for i in range(1001)]}, 40002, id="1001 events"),
    pytest.param({"test_event_code": ""}, 40002, id="empty test code"),
])
def test_whole_request_refusals(client, sandbox, body, code):
    payload = {"event_source": "crm", "event_source_id": TikTokSandbox.EVENT_SOURCE_ID, "data": [event()], **body}

    answer = client.post(TRACK_PATH, json=payload, headers=AUTH)

    assert answer.status_code == 200 and answer.json["code"] == code and answer.json["message"]
    assert sandbox.accepted == [] and sandbox.rejected_batches == 1


def test_malformed_json_is_a_parameter_error(client, sandbox):
    answer = client.post(TRACK_PATH, data=b'{"event_source": "crm", "data": [', headers=AUTH,
                         content_type="application/json")

    assert answer.json["code"] == 40002 and sandbox.rejected_batches == 1


def _user(**changes):
    return lambda e: e["user"].update(changes)


def _set(**changes):
    return lambda e: e.update(changes)


INVALID_EVENTS = [  # (name, change to a valid event, fragment of the per-event message)
    ("no event name", lambda e: e.pop("event"), "event: Missing"),
    ("no event_time", lambda e: e.pop("event_time"), "event_time: Missing"),
    ("event_time as text", _set(event_time="2025-06-15T10:00:00Z"), "integer"),
    ("event_time in milliseconds", _set(event_time=NOW * 1000), "milliseconds"),
    ("event_time in the future", _set(event_time=NOW + 3600), "future"),
    ("event_id as a number", _set(event_id=42), "event_id"),
    ("e-mail in clear", _user(email="ana@example.com"), "user.email"),
    ("phone array with a raw number", _user(phone=[PHONE, "+34600111222"]), "user.phone"),
    ("uppercase external_id digest", _user(external_id=EMAIL.upper()), "user.external_id"),
    ("first name in clear", _user(first_name="ana"), "user.first_name"),
    ("hashed ttclid", _user(ttclid=hashlib.sha256(b"click").hexdigest()), "user.ttclid"),
    ("hashed ip", _user(ip=hashlib.sha256(b"203.0.113.9").hexdigest()), "user.ip"),
    ("event_time older than 28 days", _set(event_time=NOW - 28 * DAY - 1), "more than 28 days old"),
    ("crm event without lead, e-mail or phone", lambda e: (e.pop("lead"), e["user"].pop("email"),
                                                          e["user"].pop("phone")), "lead.lead_id"),
    ("crm event with an empty lead id", _set(lead={"lead_id": ""}), "lead.lead_id"),
    ("lead naming only its source", _set(lead={"lead_event_source": "HubSpot"}), "lead.lead_id"),
    ("lead not an object", _set(lead="7135063418060406785"), "lead: must be an object"),
    ("empty lead_event_source", _set(lead={"lead_id": "7135063418060406785", "lead_event_source": " "}),
     "lead.lead_event_source"),
    ("payment without value", lambda e: e["properties"].pop("value"), "required for CompletePayment"),
    ("Purchase without currency", _set(event="Purchase", properties={"value": 3}), "required for Purchase"),
    ("lowercase currency", lambda e: e["properties"].update(currency="eur"), "currency"),
    ("value as text", lambda e: e["properties"].update(value="25.50"), "value"),
    ("limited_data_use as text", _set(limited_data_use="true"), "limited_data_use"),
    ("event not an object", lambda e: None, "object"),
]


@pytest.mark.parametrize(("change", "fragment"), [pytest.param(c, f, id=n) for n, c, f in INVALID_EVENTS])
def test_invalid_events_fail_alone_with_partial_success(client, sandbox, change, fragment):
    bad = event(event_id="order-2")
    change(bad)
    if fragment == "object":
        bad = ["not", "an", "event"]

    answer = send(client, [event(), bad, event(event_id="order-3")])

    assert answer.status_code == 200
    assert answer.json["code"] == 20001
    failed = answer.json["data"]["failed_events"]
    assert len(failed) == 1 and failed[0]["index"] == 1 and failed[0]["code"] == 40002
    assert fragment in failed[0]["message"]
    if isinstance(bad, dict) and isinstance(bad.get("event_id"), str):
        assert failed[0]["event_id"] == "order-2"
    assert [e["event_id"] for e in sandbox.accepted] == ["order-1", "order-3"]
    assert (sandbox.rejected_batches, sandbox.rejected_events) == (0, 1)


def test_a_batch_of_only_invalid_events_is_refused(client, sandbox):
    answer = send(client, [event(user={"email": "ana@example.com"}), event(event_time="soon", event_id="x")])

    assert answer.json["code"] == 40002
    assert [f["index"] for f in answer.json["data"]["failed_events"]] == [0, 1]
    assert sandbox.accepted == [] and (sandbox.rejected_batches, sandbox.rejected_events) == (1, 2)


def test_a_crm_event_matches_on_email_or_phone_without_a_lead(client, sandbox):
    by_email, by_phone = event(event_id="a"), event(event_id="b")
    del by_email["lead"], by_phone["lead"], by_phone["user"]["email"]
    named = event(event_id="c", lead={"lead_id": "7135063418060406785", "lead_event_source": "Salesforce"})

    answer = send(client, [by_email, by_phone, named])

    assert answer.json["code"] == 0 and [e["event_id"] for e in sandbox.accepted] == ["a", "b", "c"]


SOURCE_IDS = {"crm": TikTokSandbox.EVENT_SOURCE_ID, "offline": TikTokSandbox.EVENT_SOURCE_ID,
              "web": TikTokSandbox.PIXEL_CODE, "app": TikTokSandbox.APP_ID}


@pytest.mark.parametrize("source", sorted(SOURCE_IDS))
def test_each_source_takes_events_up_to_28_days_old_by_the_sandbox_clock(client, sandbox, clock, source):
    edge = event(event_id="edge", event_time=NOW - 28 * DAY)
    older = event(event_id="older", event_time=NOW - 28 * DAY - 1)

    answer = send(client, [edge, older], event_source=source, event_source_id=SOURCE_IDS[source])

    assert answer.json["code"] == 20001
    [failed] = answer.json["data"]["failed_events"]
    assert (failed["index"], failed["code"], failed["event_id"]) == (1, 40002, "older")
    assert failed["message"] == (f"event_time: the event is more than 28 days old, outside the attribution window "
                                 f"of {source} events.")
    assert [e["event_id"] for e in sandbox.accepted] == ["edge"]
    clock.advance(1)  # a second later the edge event is past the window too: the whole request is refused
    late = send(client, [event(event_id="edge-again", event_time=NOW - 28 * DAY)], event_source=source,
                event_source_id=SOURCE_IDS[source])
    assert late.json["code"] == 40002 and "more than 28 days old" in late.json["message"]
    assert len(sandbox.accepted) == 1


def test_web_events_go_to_the_pixel_and_need_no_lead(client, sandbox):
    web = event(event="ViewContent", properties=None)
    del web["lead"]

    answer = send(client, [web], event_source="web", event_source_id=TikTokSandbox.PIXEL_CODE)

    assert answer.json["code"] == 0 and sandbox.accepted[0]["event_source"] == "web"


def test_duplicates_by_event_id_within_48_hours(client, sandbox, clock):
    send(client, [event()])
    clock.now += 47 * 3600
    again = send(client, [event(event_time=int(clock.now)), event(event="Lead", properties=None)])

    assert again.json["code"] == 0
    assert sandbox.duplicates == 1 and sandbox.duplicate_events[0]["request"] == 2
    assert [e["event"] for e in sandbox.accepted] == ["CompletePayment", "Lead"]

    clock.now += 2 * 3600
    send(client, [event(event_time=int(clock.now))])
    assert len(sandbox.accepted) == 3 and sandbox.duplicates == 1


def test_events_without_id_are_never_duplicates(client, sandbox):
    no_id = event()
    del no_id["event_id"]

    send(client, [no_id, dict(no_id)])

    assert len(sandbox.accepted) == 2 and sandbox.duplicates == 0


def test_test_mode_is_recorded_and_deduplicated_apart(client, sandbox):
    send(client, [event()], test_event_code="TEST0001")
    send(client, [event()])

    assert [e.get("test_event_code") for e in sandbox.accepted] == ["TEST0001", None]
    assert sandbox.duplicates == 0


def test_rate_limit_answers_40100_until_the_minute_passes(clock):
    sandbox = TikTokSandbox(rate_limit=1, clock=clock)
    client = create_app(sandbox).test_client()

    send(client, [event()])
    limited = send(client, [event(event_id="order-2")])
    clock.now += 60
    later = send(client, [event(event_id="order-2")])

    assert limited.status_code == 200 and limited.json["code"] == 40100
    assert later.json["code"] == 0 and len(sandbox.accepted) == 2


def test_faults_in_tiktoks_shape(clock):
    faults = Faults()
    sandbox = TikTokSandbox(faults=faults, clock=clock)
    client = create_app(sandbox).test_client()

    faults.storm(1)
    storm = send(client, [event()])
    faults.fail_paths["/event/track"] = 503
    broken = send(client, [event()])
    faults.fail_paths.clear()
    fine = send(client, [event()])

    assert (storm.status_code, storm.json["code"]) == (200, 40100)
    assert (broken.status_code, broken.json["code"]) == (503, 50000)
    assert fine.json["code"] == 0
    assert (sandbox.requests, faults.injected, len(sandbox.accepted)) == (3, 2, 1)


def test_mounted_under_a_prefix(sandbox):
    client = Client(DispatcherMiddleware(Flask("root"), {"/tiktok": create_app(sandbox)}))
    payload = {"event_source": "crm", "event_source_id": TikTokSandbox.EVENT_SOURCE_ID, "data": [event()]}

    answer = client.post(f"/tiktok{TRACK_PATH}", json=payload, headers=AUTH)

    assert answer.json["code"] == 0 and len(sandbox.accepted) == 1


def test_ad_get_refuses_more_than_a_hundred_ad_ids_and_unknown_fields():
    import json as _json

    from sync.sandbox.ads.tiktok import TikTokSandbox
    from sync.sandbox.ads.tiktok import create_app as tiktok_app

    box = TikTokSandbox()
    client = tiktok_app(box).test_client()
    headers = {"Access-Token": box.MARKETING_TOKEN}

    def ask(ids, fields=("ad_id",)):
        return client.get("/open_api/v1.3/ad/get/", headers=headers, query_string={
            "advertiser_id": box.ADVERTISER_ID, "filtering": _json.dumps({"ad_ids": ids}),
            "fields": _json.dumps(list(fields))}).json

    assert ask([str(n) for n in range(101)])["code"] == 40002
    assert ask(["1"], ("ad_id", "budget"))["message"] == "fields: budget is not a valid field."
    assert ask(["1"])["code"] == 0 and ask(["1"])["data"]["list"] == []
