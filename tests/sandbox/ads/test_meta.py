"""The Meta Conversions API sandbox: auth, whole-batch refusal per rule, dedup, test mode, throttling, faults."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
from datetime import datetime

import pytest
from flask import Flask
from support.clock import Clock
from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.test import Client

from sync.sandbox.ads.meta import MetaSandbox, create_app
from sync.sandbox.faults import Faults

NOW = 1_750_000_000
DAY = 86_400
EM = hashlib.sha256(b"john_smith@gmail.com").hexdigest()
PH = hashlib.sha256(b"16505551212").hexdigest()
PATH = f"/v21.0/{MetaSandbox.DATASET_ID}/events"




@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def sandbox(clock: Clock) -> MetaSandbox:
    return MetaSandbox(clock=clock)


@pytest.fixture
def client(sandbox: MetaSandbox):
    return create_app(sandbox).test_client()


def event(**changes) -> dict:
    base = {"event_name": "Purchase", "event_time": NOW - 60, "action_source": "system_generated",
            "event_id": "order-1", "user_data": {"em": [EM], "ph": PH},
            "custom_data": {"value": 142.52, "currency": "usd"}}
    base.update(changes)
    return base


def messaging(channel: str = "whatsapp", **changes) -> dict:
    ids = {"whatsapp": {"whatsapp_business_account_id": MetaSandbox.WABA_ID, "ctwa_clid": "ARAkLkA8rmlFeiCktEJQ"},
           "messenger": {"page_id": MetaSandbox.PAGE_ID, "page_scoped_user_id": "24390312349"},
           "instagram": {"ig_account_id": "17841400000000", "ig_sid": "5637212345678"}}[channel]
    fields = {"event_name": "LeadSubmitted", "action_source": "business_messaging", "messaging_channel": channel,
              "event_id": f"{channel}-lead", "user_data": {"em": EM, **ids}, "custom_data": None}
    return event(**{**fields, **changes})


def send(client, data, *, path: str = PATH, **params):
    params.setdefault("access_token", MetaSandbox.ACCESS_TOKEN)
    return client.post(path, json={"data": data, **params})


def test_a_valid_batch_is_recorded_with_its_request_index(client, sandbox):
    answer = send(client, [event(), event(event_id="order-2")])

    assert answer.status_code == 200
    assert answer.json == {"events_received": 2, "messages": [], "fbtrace_id": answer.json["fbtrace_id"]}
    assert [e["event_id"] for e in sandbox.accepted] == ["order-1", "order-2"]
    assert sandbox.accepted[0]["request"] == 1 and "test_event_code" not in sandbox.accepted[0]
    assert (sandbox.requests, sandbox.duplicates, sandbox.rejected_batches) == (1, 0, 0)


@pytest.mark.parametrize("how", ["json", "query", "form", "bearer"])
def test_the_token_is_read_where_graph_reads_it(client, sandbox, how):
    token, data = MetaSandbox.ACCESS_TOKEN, [event()]
    if how == "json":
        answer = client.post(PATH, json={"data": data, "access_token": token})
    elif how == "query":
        answer = client.post(f"{PATH}?access_token={token}", json={"data": data})
    elif how == "form":
        answer = client.post(PATH, data={"data": json.dumps(data), "access_token": token})
    else:
        answer = client.post(PATH, json={"data": data}, headers={"Authorization": f"Bearer {token}"})

    assert answer.status_code == 200, answer.json
    assert len(sandbox.accepted) == 1


@pytest.mark.parametrize(("path", "params", "code", "subcode", "kind"), [
    (PATH, {"access_token": ""}, 104, None, "OAuthException"),
    (PATH, {"access_token": "EAAB-wrong"}, 190, None, "OAuthException"),
    ("/v21.0/999/events", {}, 100, 33, "GraphMethodException"),
    ("/latest/1234567890/events", {}, 2500, None, "OAuthException"),
])
def test_auth_and_object_errors(client, sandbox, path, params, code, subcode, kind):
    answer = send(client, [event()], path=path, **params)

    assert answer.status_code == 400
    error = answer.json["error"]
    assert (error["code"], error.get("error_subcode"), error["type"]) == (code, subcode, kind)
    assert error["is_transient"] is False and error["fbtrace_id"]
    assert sandbox.accepted == []
    if code == 190:
        assert "invalid_token" in answer.headers["WWW-Authenticate"]


def test_appsecret_proof_is_checked_when_given_and_required_when_configured(clock):
    sandbox = MetaSandbox(require_appsecret_proof=True, clock=clock)
    client = create_app(sandbox).test_client()
    good = hmac.new(MetaSandbox.APP_SECRET.encode(), MetaSandbox.ACCESS_TOKEN.encode(), hashlib.sha256).hexdigest()

    missing = send(client, [event()])
    wrong = send(client, [event()], appsecret_proof="0" * 64)
    right = send(client, [event()], appsecret_proof=good)

    assert missing.json["error"]["message"] == "API calls from the server require an appsecret_proof argument"
    assert wrong.json["error"]["message"] == "Invalid appsecret_proof provided in the API argument"
    assert (missing.status_code, wrong.status_code, right.status_code) == (400, 400, 200)
    assert len(sandbox.accepted) == 1 and sandbox.rejected_batches == 2


def _user(**changes):
    return lambda e: e["user_data"].update(changes)


def _drop(*path):
    def change(e):
        target = e
        for key in path[:-1]:
            target = target[key]
        del target[path[-1]]
    return change


def _set(**changes):
    return lambda e: e.update(changes)


WEBSITE = {"action_source": "website", "event_source_url": "https://shop.example/checkout"}
INVALID_EVENTS = [  # (name, change to a valid event, Meta error subcode)
    ("no event_name", _drop("event_name"), 2804001),
    ("event_time as text", _set(event_time=str(NOW)), 2804007),
    ("event_time as float", _set(event_time=NOW - 1.5), 2804007),
    ("event_time in milliseconds", _set(event_time=NOW * 1000), 2804004),
    ("event 8 days old", _set(event_time=NOW - 8 * DAY), 2804003),
    ("physical store 63 days old", _set(event_time=NOW - 63 * DAY, action_source="physical_store"), 2804003),
    ("event 2 minutes ahead", _set(event_time=NOW + 120), 2804004),
    ("no action_source", _drop("action_source"), 2804001),
    ("unknown action_source", _set(action_source="web"), 2804007),
    ("website without user agent", _set(**WEBSITE), 2804001),
    ("website without url", lambda e: (e.update(action_source="website"),
                                       e["user_data"].update(client_user_agent="Mozilla/5.0")), 2804001),
    ("no user_data", _drop("user_data"), 2804001),
    ("empty user_data", _set(user_data={}), 2804001),
    ("e-mail in clear", _user(em="john_smith@gmail.com"), 2804016),
    ("uppercase digest", _user(em=EM.upper()), 2804016),
    ("phone array with a raw number", _user(ph=[PH, "+16505551212"]), 2804016),
    ("external_id in clear", _user(external_id="crm-42"), 2804016),
    ("hashed ctwa_clid", _user(ctwa_clid=hashlib.sha256(b"click").hexdigest()), 2804017),
    ("hashed client ip", _user(client_ip_address=hashlib.sha256(b"1.2.3.4").hexdigest()), 2804017),
    ("hashed fbp", _user(fbp=hashlib.sha256(b"fb.1.1.1").hexdigest().upper()), 2804017),
    ("fbc with seconds", _user(fbc="fb.1.1554763741.IwAR2F4-dbP0l7Mn1IawQQGCINEz7PYXQvwjNwB_qa2ofrHyiLjcbCRxTDMgE"),
     2804007),
    ("bare fbclid as fbc", _user(fbc="IwAR2F4-dbP0l7Mn1IawQQGCINEz7PYXQvwjNwB_qa2ofrHyiLjcbCRxTDMgE"), 2804007),
    ("Purchase without value", _drop("custom_data", "value"), 2804019),
    ("Purchase without currency", _drop("custom_data", "currency"), 2804019),
    ("Purchase without custom_data", _drop("custom_data"), 2804019),
    ("currency not 3 letters", lambda e: e["custom_data"].update(currency="dollars"), 2804007),
    ("value as text", lambda e: e["custom_data"].update(value="142.52"), 2804007),
    ("unknown processing option", _set(data_processing_options=["GDPR"]), 2804007),
    ("LDU with a bad state", _set(data_processing_options=["LDU"], data_processing_options_state=5), 2804007),
    ("LDU country as text", _set(data_processing_options=["LDU"], data_processing_options_country="0"), 2804007),
    ("LDU state as a boolean", _set(data_processing_options=["LDU"], data_processing_options_state=False), 2804007),
    ("event_id as an object", _set(event_id={"id": 1}), 2804007),
]


@pytest.mark.parametrize(("change", "subcode"), [pytest.param(c, s, id=n) for n, c, s in INVALID_EVENTS])
def test_one_invalid_event_refuses_the_whole_batch(client, sandbox, change, subcode):
    bad = event(event_id="order-2")
    change(bad)

    answer = send(client, [event(), bad, event(event_id="order-3")])

    assert answer.status_code == 400
    error = answer.json["error"]
    assert (error["code"], error["error_subcode"], error["type"]) == (100, subcode, "OAuthException")
    assert error["message"] == "Invalid parameter" and error["is_transient"] is False
    assert error["error_user_title"] and error["error_user_msg"].startswith("data[1]")
    assert sandbox.accepted == [] and sandbox.duplicate_events == []
    assert (sandbox.rejected_batches, sandbox.rejected_events) == (1, 3)


@pytest.mark.parametrize(("change", "subcode"), [
    pytest.param(_set(messaging_channel=None), 2804001, id="no channel"),
    pytest.param(_set(messaging_channel="sms"), 2804007, id="unknown channel"),
    pytest.param(lambda e: e["user_data"].pop("whatsapp_business_account_id"), 2804001, id="whatsapp without waba"),
    pytest.param(lambda e: e["user_data"].pop("ctwa_clid"), 2804001, id="whatsapp without ctwa_clid"),
    pytest.param(_set(event_name="Lead"), 2804066, id="Lead instead of LeadSubmitted"),
    pytest.param(_set(event_name="Schedule"), 2804066, id="Schedule"),
    pytest.param(_set(event_name="Purchase"), 2804019, id="Purchase without value"),
])
def test_business_messaging_rules(client, sandbox, change, subcode):
    bad = messaging()
    change(bad)
    if bad.get("messaging_channel") is None:
        del bad["messaging_channel"]

    answer = send(client, [bad])

    assert answer.status_code == 400 and answer.json["error"]["error_subcode"] == subcode
    assert sandbox.accepted == []


def test_business_messaging_events_of_each_channel_are_accepted(client, sandbox):
    purchase = messaging("whatsapp", event_name="Purchase", event_id="wa-buy",
                         custom_data={"value": 20, "currency": "EUR"})
    answer = send(client, [messaging("whatsapp"), messaging("messenger"), messaging("instagram"), purchase])

    assert answer.status_code == 200, answer.json
    assert [e["messaging_channel"] for e in sandbox.accepted] == ["whatsapp", "messenger", "instagram", "whatsapp"]


def test_messenger_needs_the_page_scoped_user(client):
    bad = messaging("messenger")
    del bad["user_data"]["page_scoped_user_id"]

    assert send(client, [bad]).json["error"]["error_subcode"] == 2804001


def test_the_business_messaging_event_names_are_configurable(client, sandbox):
    sandbox.messaging_event_names["whatsapp"] = frozenset({"Lead"})

    assert send(client, [messaging(event_name="Lead")]).status_code == 200
    assert send(client, [messaging(event_name="LeadSubmitted", event_id="x")]).status_code == 400


def test_website_and_old_physical_store_events_within_their_limits_are_accepted(client, sandbox):
    website = event(**WEBSITE, event_id="w1")
    website["user_data"].update(client_user_agent="Mozilla/5.0", client_ip_address="203.0.113.9",
                                fbc="fb.1.1554763741205.IwAR2F4-dbP0l7Mn1IawQQGCINEz7PYXQvwjNwB_qa2ofrHyiLjcbCRxTDMgE",
                                fbp="fb.1.1558571054389.1098115397")
    store = event(action_source="physical_store", event_time=NOW - 30 * DAY, event_id="s1")
    answer = send(client, [website, store, event(event_time=NOW + 30, event_id="clock-skew")])

    assert answer.status_code == 200, answer.json
    assert len(sandbox.accepted) == 3


@pytest.mark.parametrize(("data", "subcode"), [
    pytest.param([], 2804001, id="empty"),
    pytest.param({"event_name": "Purchase"}, 2804001, id="not an array"),
    pytest.param([event(event_id=str(i)) for i in range(1001)], 2804048, id="1001 events"),
])
def test_batch_shape_errors(client, sandbox, data, subcode):
    answer = send(client, data)

    assert answer.status_code == 400 and answer.json["error"]["error_subcode"] == subcode
    assert sandbox.accepted == []


def test_a_thousand_events_are_one_batch(client, sandbox):
    answer = send(client, [event(event_id=str(i)) for i in range(1000)])

    assert answer.json["events_received"] == 1000 and len(sandbox.accepted) == 1000


def test_duplicates_within_48_hours_are_counted_not_recorded_again(client, sandbox, clock):
    send(client, [event()])
    clock.now += 47 * 3600
    again = send(client, [event(), event(event_name="AddToCart", custom_data=None)])

    assert again.status_code == 200 and again.json["events_received"] == 2
    assert sandbox.duplicates == 1 and sandbox.duplicate_events[0]["request"] == 2
    assert [e["event_name"] for e in sandbox.accepted] == ["Purchase", "AddToCart"]

    clock.now += 2 * 3600  # 49 h after the first copy: a new conversion
    send(client, [event(event_time=int(clock.now) - 60)])
    assert len(sandbox.accepted) == 3 and sandbox.duplicates == 1


def test_duplicates_inside_one_batch_and_events_without_ids(client, sandbox):
    no_id = event()
    del no_id["event_id"]

    send(client, [event(), event(), no_id, copy.deepcopy(no_id)])

    assert sandbox.duplicates == 1 and len(sandbox.accepted) == 3


def test_test_mode_records_the_code_and_dedups_apart_from_live_events(client, sandbox):
    send(client, [event()], test_event_code="TEST12345")
    send(client, [event()])
    send(client, [event()], test_event_code="TEST12345")

    assert [e.get("test_event_code") for e in sandbox.accepted] == ["TEST12345", None]
    assert sandbox.duplicates == 1 and sandbox.duplicate_events[0]["test_event_code"] == "TEST12345"
    assert send(client, [event()], test_event_code="").status_code == 400


@pytest.mark.parametrize("status", [400, 429])
def test_rate_limit_answers_code_17_until_the_minute_passes(clock, status):
    sandbox = MetaSandbox(rate_limit=2, clock=clock, rate_limit_status=status)
    client = create_app(sandbox).test_client()

    first = send(client, [event(event_id="a")])
    send(client, [event(event_id="b")])
    clock.now += 20
    limited = send(client, [event(event_id="c")])

    assert json.loads(first.headers["X-Business-Use-Case-Usage"])[MetaSandbox.DATASET_ID][0]["call_count"] == 50
    assert limited.status_code == status
    error = limited.json["error"]
    assert (error["code"], error["error_subcode"], error["is_transient"]) == (17, 2446079, True)
    usage = json.loads(limited.headers["X-Business-Use-Case-Usage"])[MetaSandbox.DATASET_ID][0]
    assert usage["estimated_time_to_regain_access"] == 1 and usage["call_count"] == 100
    assert len(sandbox.accepted) == 2 and sandbox.rejected_batches == 1

    clock.now += 40
    assert send(client, [event(event_id="c")]).status_code == 200


def test_faults_are_answered_in_metas_shape(clock):
    faults = Faults(fail_paths={})
    sandbox = MetaSandbox(faults=faults, clock=clock)
    client = create_app(sandbox).test_client()

    faults.storm(1, retry_after=150)
    storm = send(client, [event()])
    faults.fail_paths["/events"] = 500
    broken = send(client, [event()])
    faults.fail_paths.clear()
    fine = send(client, [event()])

    assert storm.status_code == 400 and storm.json["error"]["code"] == 17
    assert json.loads(storm.headers["X-Business-Use-Case-Usage"])[MetaSandbox.DATASET_ID][0][
        "estimated_time_to_regain_access"] == 3
    assert broken.status_code == 500
    assert (broken.json["error"]["code"], broken.json["error"]["is_transient"]) == (2, True)
    assert fine.status_code == 200
    assert (sandbox.requests, faults.injected, len(sandbox.accepted)) == (3, 2, 1)


def test_mounted_under_a_prefix_the_paths_and_fault_fragments_still_match(sandbox):
    sandbox.faults.fail_paths["/v21.0/"] = 503
    client = Client(DispatcherMiddleware(Flask("root"), {"/meta": create_app(sandbox)}))

    broken = client.post(f"/meta{PATH}", json={"data": [event()], "access_token": MetaSandbox.ACCESS_TOKEN})
    sandbox.faults.fail_paths.clear()
    fine = client.post(f"/meta{PATH}", json={"data": [event()], "access_token": MetaSandbox.ACCESS_TOKEN})

    assert (broken.status_code, fine.status_code) == (503, 200)
    assert len(sandbox.accepted) == 1


# --- versions: Meta's own refusals, on the sandbox clock's day ----------------------------------------------------

def _at(day: str) -> float:
    return datetime.fromisoformat(f"{day}T12:00:00+00:00").timestamp()


def _send_at(day: str, version: str):
    sandbox = MetaSandbox(clock=Clock(_at(day)))
    at = int(_at(day))
    answer = send(create_app(sandbox).test_client(), [event(event_time=at - 60)],
                  path=f"/{version}/{MetaSandbox.DATASET_ID}/events")
    return sandbox, answer


@pytest.mark.parametrize(("day", "version", "code", "message"), [
    ("2026-12-06", "v12.0", 2635, "(#2635) You are calling a deprecated version of the Ads API. Please update to the "
                                  "latest version: v27.0."),
    ("2026-12-06", "v21.0", 2635, "(#2635) You are calling a deprecated version of the Ads API. Please update to the "
                                  "latest version: v27.0."),
    ("2025-09-09", "v21.0", 2635, "(#2635) You are calling a deprecated version of the Ads API. Please update to the "
                                  "latest version: v23.0."),
    ("2026-12-06", "v99.0", 2500, f"Unknown path components: /{MetaSandbox.DATASET_ID}/events"),
    ("2026-07-28", "v26.0", 2500, f"Unknown path components: /{MetaSandbox.DATASET_ID}/events"),  # not released yet
    ("2026-12-06", "latest", 2500, f"Unknown path components: /{MetaSandbox.DATASET_ID}/events"),
])
def test_a_version_meta_refuses_gets_metas_error_and_nothing_is_recorded(day, version, code, message):
    sandbox, answer = _send_at(day, version)

    assert answer.status_code == 400
    assert answer.json["error"] == {"message": message, "type": "OAuthException", "code": code, "is_transient": False,
                                    "fbtrace_id": answer.json["error"]["fbtrace_id"]}
    assert sandbox.accepted == [] and (sandbox.rejected_batches, sandbox.rejected_events) == (1, 1)


@pytest.mark.parametrize(("day", "version"), [
    ("2025-09-08", "v21.0"),  # the last day before the Marketing API's end for v21.0
    ("2026-12-06", "v25.0"), ("2026-12-06", "v26.0"), ("2026-12-06", "v27.0"),
    ("2026-07-29", "v26.0"),  # its release day
])
def test_a_version_meta_serves_that_day_is_accepted(day, version):
    sandbox, answer = _send_at(day, version)
    assert answer.status_code == 200, answer.json
    assert len(sandbox.accepted) == 1


def test_the_sandbox_and_lifesyncs_meta_network_read_one_version_table():
    from sync.attribution.networks.meta import NETWORK
    from sync.sandbox.ads import meta as sandbox_meta

    assert sandbox_meta.VERSIONS is NETWORK.versions
    sandbox, answer = _send_at("2026-12-06", NETWORK.api_version)  # today's default is accepted today
    assert answer.status_code == 200 and len(sandbox.accepted) == 1
