"""respond.io stage write-back over the store, with respond.io answered by ``responses``.

A rate limit stops the run (no long inline sleep) and leaves what was not tried pending with a
not-before time; each outcome is committed as it completes; attempts grow to dead; a spent
``X-RateLimit-Remaining`` budget pauses the run before any 429; the contact is told what
lifesync knows; a cleared stage is sent as ``{"name": null}``; respond.io's own stages are
not echoed back to it.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
import responses
from responses import matchers
from sqlalchemy import select
from support.clock import SleepingClock
from support.lifecycle_fixtures import make_config, patch

from sync.connectors.respondio.client import RespondioClient
from sync.connectors.respondio.writeback import contact_fields, contact_mapping, respondio_stage
from sync.errors import RateLimited
from sync.ingest.pipeline import ingest_patches
from sync.outbox.effects import Effects
from sync.outbox.stage_dispatch import DEFAULT_PAUSE, MAX_ATTEMPTS, dispatch
from sync.store import model

BASE = "https://api.respond.io/v2"
ANY_CALL = re.compile(re.escape(BASE) + r"/.*")
CONFIG = make_config()
RESPONDIO = frozenset({"respondio"})


@pytest.fixture
def clock():
    return SleepingClock()


@pytest.fixture
def send(clock):
    return respondio_stage(RespondioClient("tok", BASE, sleep=clock.sleep, clock=clock))


@pytest.fixture
def rio():
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


def ingest(store, *patches):
    return ingest_patches(store, CONFIG, [(p, None) for p in patches], effects=Effects(push_targets=RESPONDIO))


def leads(store, n):
    """``n`` contacts with a first name, each with one pending stage write-back; the time they became due."""
    for i in range(n):
        ingest(store, patch("hubspot", str(i), [f"hubspot:{i}", f"email:c{i}@x.com"], stage="Hot Lead",
                            first_name=f"Ana{i}"))
    return model.utcnow() + timedelta(seconds=1)


def state(store):
    """Per outbox row, oldest first: (status, available_at, delivery status, attempts)."""
    with store.transaction() as s:
        deliveries = {d.outbox_id: d for d in s.scalars(select(model.Delivery))}
        return [(o.status, o.available_at, getattr(deliveries.get(o.id), "status", None),
                 getattr(deliveries.get(o.id), "attempts", 0))
                for o in s.scalars(select(model.Outbox).order_by(model.Outbox.id))]


def near(when, expected):
    return abs((when - expected).total_seconds()) < 1


def counts(**given):
    return {"sent": 0, "superseded": 0, "retrying": 0, "dead": 0, "deferred": 0, **given}


@pytest.mark.parametrize("retry_after", [30, 600])
def test_a_sustained_429_stops_the_run_at_once_and_leaves_the_rest_pending_until_retry_after(
        store, rio, send, clock, retry_after):
    now = leads(store, 5)
    rio.add(responses.POST, ANY_CALL, status=429, headers={"Retry-After": str(retry_after)})
    assert dispatch(store, "respondio", send, now=now) == counts(retrying=1, deferred=4)
    assert len(rio.calls) == 1 and clock.sleeps == []  # not 25 calls and 600 s of sleep
    [first, *rest] = state(store)
    assert first[0] == "pending" and first[2:] == ("failed", 1)
    assert near(first[1], now + timedelta(seconds=max(retry_after, 30)))  # never before Retry-After
    for status, available_at, delivery, attempts in rest:  # not tried: no attempt counted, same not-before
        assert (status, delivery, attempts) == ("pending", None, 0)
        assert near(available_at, now + timedelta(seconds=retry_after))
    assert dispatch(store, "respondio", send, now=now + timedelta(seconds=retry_after - 5)) == counts()
    assert len(rio.calls) == 1  # Retry-After is honoured: nothing was due


def test_a_429_without_retry_after_rests_the_destination_for_the_default_pause(store, rio, send):
    now = leads(store, 2)
    rio.add(responses.POST, ANY_CALL, status=429)
    assert dispatch(store, "respondio", send, now=now) == counts(retrying=1, deferred=1)
    assert len(rio.calls) == 3  # the client's few inline tries, with short backoff
    assert near(state(store)[1][1], now + timedelta(seconds=DEFAULT_PAUSE))


def test_items_sent_before_a_429_are_recorded_and_not_sent_again(store, rio, send):
    now = leads(store, 3)
    rio.add(responses.POST, f"{BASE}/contact/create_or_update/email:c0@x.com", json={"id": 1})
    rio.add(responses.POST, f"{BASE}/contact/email:c0@x.com/lifecycle/update", json={})
    rio.add(responses.POST, f"{BASE}/contact/create_or_update/email:c1@x.com", status=429,
            headers={"Retry-After": "60"})
    assert dispatch(store, "respondio", send, now=now) == counts(sent=1, retrying=1, deferred=1)
    assert [(s, d, a) for s, _, d, a in state(store)] == [("sent", "sent", 1), ("pending", "failed", 1),
                                                          ("pending", None, 0)]
    rio.reset()
    rio.add(responses.POST, ANY_CALL, json={})
    assert dispatch(store, "respondio", send, now=now + timedelta(minutes=2)) == counts(sent=2)
    assert not any("c0@x.com" in c.request.url for c in rio.calls)  # delivered once, never again


class JobKilled(BaseException):
    """What rq raises inside a job that outlives its timeout."""


def test_a_run_killed_half_way_keeps_what_it_delivered(store):
    now = leads(store, 3)
    sent = []

    def send(payload):
        if len(sent) == 2:
            raise JobKilled
        sent.append(payload["identifier"])
        return {"ok": True}

    with pytest.raises(JobKilled):
        dispatch(store, "respondio", send, now=now)
    assert [(s, d) for s, _, d, _ in state(store)] == [("sent", "sent"), ("sent", "sent"), ("pending", None)]
    assert dispatch(store, "respondio", lambda p: sent.append(p["identifier"]) or {}, now=now) == counts(sent=1)
    assert sent == ["email:c0@x.com", "email:c1@x.com", "email:c2@x.com"]  # nobody twice


def test_attempts_grow_under_a_sustained_429_and_reach_dead_with_the_reason(store, rio, send, clock):
    now = leads(store, 1)
    rio.add(responses.POST, ANY_CALL, status=429, headers={"Retry-After": "120"})
    for attempt in range(1, MAX_ATTEMPTS + 1):
        assert dispatch(store, "respondio", send, now=now) == counts(
            **({"retrying": 1} if attempt < MAX_ATTEMPTS else {"dead": 1}))
        [(status, _, delivery, attempts)] = state(store)
        assert attempts == attempt and len(rio.calls) == attempt  # one call a run, each one counted
        now += timedelta(hours=2)
    assert (status, delivery) == ("dead", "dead") and clock.sleeps == []
    with store.transaction() as s:
        [letter] = s.scalars(select(model.DeadLetter))
    assert f"gave up after {MAX_ATTEMPTS} attempts" in letter.reason and "HTTP 429" in letter.reason


def test_a_spent_rate_limit_budget_pauses_the_run_before_any_429(store, rio, send, clock):
    now = leads(store, 3)
    spent = {"X-RateLimit-Limit": "5", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "90"}
    rio.add(responses.POST, ANY_CALL, json={}, headers=spent)
    assert dispatch(store, "respondio", send, now=now) == counts(sent=1, deferred=2)
    assert len(rio.calls) == 2 and clock.sleeps == []  # the first contact's two calls; then no call at all
    [first, *rest] = state(store)
    assert first[0] == "sent"
    for status, available_at, delivery, attempts in rest:  # nothing failed: no attempt, back after the reset
        assert (status, delivery, attempts) == ("pending", None, 0)
        assert near(available_at, now + timedelta(seconds=90))


def test_a_short_spent_budget_is_waited_out_inline(store, rio, send, clock):
    now = leads(store, 2)
    rio.add(responses.POST, ANY_CALL, json={}, headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1"})
    assert dispatch(store, "respondio", send, now=now) == counts(sent=2)
    assert clock.sleeps == [1.0]  # before the second contact's upsert; the lifecycle budget was back by then


def test_a_run_stops_starting_sends_when_its_time_budget_is_spent(store):
    now = leads(store, 3)
    elapsed, sent = [0.0], []

    def slow(payload):  # each send takes 100 s
        elapsed[0] += 100
        sent.append(payload)
        return {}

    result = dispatch(store, "respondio", slow, now=now, budget=150, clock=lambda: elapsed[0])
    assert result == counts(sent=2, deferred=1) and len(sent) == 2  # the third would start 200 s in
    assert [s for s, _, _, _ in state(store)] == ["sent", "sent", "pending"]
    assert dispatch(store, "respondio", lambda p: {}, now=now) == counts(sent=1)  # still due, no delay added


def test_waits_count_from_the_429_not_from_the_start_of_a_long_run(store):
    now = leads(store, 3)
    elapsed = [0.0]

    def send(payload):
        elapsed[0] += 100
        if payload["identifier"] == "email:c1@x.com":
            raise RateLimited("respond.io rate limit reached (HTTP 429)", retry_after=300)
        return {}

    assert dispatch(store, "respondio", send, now=now, clock=lambda: elapsed[0]) == counts(
        sent=1, retrying=1, deferred=1)
    _, (_, second, _, _), (_, third, _, _) = state(store)
    assert near(second, now + timedelta(seconds=200 + 300)) and near(third, now + timedelta(seconds=200 + 300))


def test_the_upsert_tells_respondio_the_names_email_and_phone_lifesync_knows(store, rio, send):
    now = model.utcnow()
    ingest(store, patch("hubspot", "1", ["hubspot:1", "email:ana@x.com", "phone:+525512345678"],
                        stage="Hot Lead", first_name="Ana", last_name="Ruiz", language="es-MX", country="mx",
                        company="Acme"))
    body = {"firstName": "Ana", "lastName": "Ruiz", "email": "ana@x.com", "phone": "+525512345678",
            "language": "es", "countryCode": "MX"}
    rio.add(responses.POST, f"{BASE}/contact/create_or_update/email:ana@x.com", json={"id": 7},
            match=[matchers.json_params_matcher(body)])
    rio.add(responses.POST, f"{BASE}/contact/email:ana@x.com/lifecycle/update", json={},
            match=[matchers.json_params_matcher({"name": "Hot Lead"})])
    assert dispatch(store, "respondio", send, now=now + timedelta(seconds=1)) == counts(sent=1)
    assert [c.request.url.rsplit("/", 1)[-1] for c in rio.calls] == ["email:ana@x.com", "update"]
    with store.transaction() as s:
        response = s.scalar(select(model.Delivery.response))
    assert response == {"lifecycle": "Hot Lead", "contact": sorted(body)}


@pytest.mark.parametrize(("values", "identities", "identifier", "expected"), [
    # respond.io's own id addresses the contact; e-mail and phone come from the identities
    ({"first_name": "Ana"}, {"email": ["ana@x.com"], "phone": ["+34600111222"]}, "id:42",
     {"firstName": "Ana", "email": "ana@x.com", "phone": "+34600111222"}),
    # the identifier's own value wins over another winning e-mail (the contact stays findable by it)
    ({"first_name": "Ana", "email": "new@x.com"}, {"email": ["ana@x.com", "new@x.com"]}, "email:ana@x.com",
     {"firstName": "Ana", "email": "ana@x.com"}),
    # a country or language respond.io would refuse is left out rather than cost the stage; blanks too
    ({"first_name": "Ana", "last_name": " ", "country": "Mexico", "language": "spanish"}, {}, "phone:+34600111222",
     {"firstName": "Ana", "phone": "+34600111222"}),
    ({}, {}, "phone:+34600111222", {"phone": "+34600111222"}),
])
def test_contact_fields(values, identities, identifier, expected):
    contact = {"values": values, "identities": identities}
    assert contact_fields(contact, identifier, contact_mapping(None)) == expected


def test_without_a_first_name_only_the_lifecycle_is_set(rio, send):
    rio.add(responses.POST, f"{BASE}/contact/phone:%2B34600111222/lifecycle/update", json={},
            match=[matchers.json_params_matcher({"name": "Payment"})])
    payload = {"identifier": "phone:+34600111222", "stage": "Payment",
               "contact": {"values": {"last_name": "Ruiz"}, "identities": {}}}
    assert send(payload)["lifecycle"] == "Payment"
    assert len(rio.calls) == 1  # no create_or_update: respond.io requires firstName, none is invented


def test_without_a_first_name_a_contact_respondio_lacks_is_dead_with_the_reason(store, rio, send):
    ingest(store, patch("hubspot", "1", ["hubspot:1", "email:ana@x.com"], stage="Hot Lead"))
    rio.add(responses.POST, f"{BASE}/contact/email:ana@x.com/lifecycle/update", status=404,
            json={"message": "Contact not found"})
    assert dispatch(store, "respondio", send, now=model.utcnow() + timedelta(seconds=1)) == counts(dead=1)
    with store.transaction() as s:
        reason = s.scalar(select(model.DeadLetter.reason))
    assert "no contact with this email" in reason and "first name" in reason and "ana@x.com" not in reason


def test_a_refused_contact_field_does_not_hold_the_stage_back(rio, send):
    rio.add(responses.POST, f"{BASE}/contact/create_or_update/id:42", status=400,
            json={"message": "invalid email"})
    rio.add(responses.POST, f"{BASE}/contact/id:42/lifecycle/update", json={})
    result = send({"identifier": "id:42", "stage": "Customer",
                   "contact": {"values": {"first_name": "Ana"}, "identities": {"email": ["bad@x.com"]}}})
    assert result["lifecycle"] == "Customer" and "invalid email" in result["contact"]


def clear_row(store, identifier="email:ana@x.com"):
    """A pending write-back telling respond.io the contact has no stage any more (as sync.outbox.targets queues it)."""
    ingest(store, patch("hubspot", "1", ["hubspot:1", "email:ana@x.com"], first_name="Ana"))
    with store.transaction() as s:
        cid = s.scalar(select(model.Contact.id))
        s.add(model.Outbox(idempotency_key=f"stage:respondio:{cid}:0:", kind="stage", destination="respondio",
                           contact_id=cid, payload={"identifier": identifier, "stage": None}))
    return model.utcnow() + timedelta(seconds=1)


def test_a_cleared_stage_is_sent_as_name_null_without_an_upsert(store, rio, send):
    now = clear_row(store)
    rio.add(responses.POST, f"{BASE}/contact/email:ana@x.com/lifecycle/update", json={},
            match=[matchers.json_params_matcher({"name": None})])
    assert dispatch(store, "respondio", send, now=now) == counts(sent=1)
    assert len(rio.calls) == 1 and rio.calls[0].request.body == b'{"name": null}'


def test_clearing_a_contact_respondio_does_not_have_is_done(store, rio, send):
    now = clear_row(store)
    rio.add(responses.POST, f"{BASE}/contact/email:ana@x.com/lifecycle/update", status=404,
            json={"message": "Contact not found"})
    assert dispatch(store, "respondio", send, now=now) == counts(sent=1)


def test_a_stage_newer_than_a_clear_supersedes_it(store):
    now = clear_row(store)
    ingest(store, patch("hubspot", "1", ["hubspot:1"], minutes=5, stage="Hot Lead"))
    sent = []
    assert dispatch(store, "respondio", lambda p: sent.append(p["stage"]) or {}, now=now) == counts(
        sent=1, superseded=1)
    assert sent == ["Hot Lead"]


def test_respondio_stages_and_their_echoes_are_not_sent_back(store, rio, send):
    ingest(store, patch("hubspot", "1", ["hubspot:1", "email:ana@x.com"], stage="Hot Lead", first_name="Ana"))
    rio.add(responses.POST, ANY_CALL, json={})
    now = model.utcnow() + timedelta(seconds=1)
    assert dispatch(store, "respondio", send, now=now) == counts(sent=1)
    # respond.io's webhook reports the stage lifesync just set (the echo), then a move made in respond.io
    ingest(store, patch("respondio", "9", ["respondio:9", "email:ana@x.com"], minutes=10, stage="Hot Lead"))
    ingest(store, patch("respondio", "9", ["respondio:9", "email:ana@x.com"], minutes=20, stage="Payment"))
    with store.transaction() as s:
        assert s.scalar(select(model.Contact.stage)) == "Payment"
    assert dispatch(store, "respondio", send, now=now + timedelta(hours=1)) == counts()
    assert len(rio.calls) == 2  # the first write-back's upsert and lifecycle calls, nothing since



def test_the_job_sender_uses_the_effective_contact_mapping(rio):
    from sync.outbox.targets import stage_sender
    from sync.settings import Settings

    send = stage_sender("respondio", Settings.from_env({"LIFESYNC_RESPONDIO_API_TOKEN": "tok"}))
    rio.add(responses.POST, f"{BASE}/contact/create_or_update/id:42", json={},
            match=[matchers.json_params_matcher({"firstName": "Ana", "lastName": "Ruiz"})])
    rio.add(responses.POST, f"{BASE}/contact/id:42/lifecycle/update", json={})
    send({"identifier": "id:42", "stage": "Customer",
          "contact": {"values": {"first_name": "Ana", "last_name": "Ruiz", "company": "Acme"}, "identities": {}}})
    assert len(rio.calls) == 2 and rio.calls[0].request.headers["Authorization"] == "Bearer tok"


def test_the_job_sender_follows_the_active_configuration(rio, store):
    """A revision of respondio_contact.yaml that stops writing last names: the sender built on it sends none."""
    from sync.config.revisions import Revisions
    from sync.outbox.targets import stage_sender
    from sync.settings import Settings

    revisions = Revisions(store, None)
    document = "mappings/respondio_contact.yaml"
    revisions.propose(document, revisions.read(document).text.replace(
        "last_name:  {path: lastName, transforms: [strip], direction: both}",
        "last_name:  {path: lastName, transforms: [strip], direction: in}"), "ops")
    send = stage_sender("respondio", Settings.from_env({"LIFESYNC_RESPONDIO_API_TOKEN": "tok"}),
                        revisions.active_config())
    rio.add(responses.POST, f"{BASE}/contact/create_or_update/id:42", json={},
            match=[matchers.json_params_matcher({"firstName": "Ana"})])
    rio.add(responses.POST, f"{BASE}/contact/id:42/lifecycle/update", json={})
    send({"identifier": "id:42", "stage": "Customer",
          "contact": {"values": {"first_name": "Ana", "last_name": "Ruiz"}, "identities": {}}})
    assert len(rio.calls) == 2


def test_a_deferred_older_stage_never_overwrites_a_newer_one(store, rio, send):
    """Ana's Hot Lead is deferred by a 429 on another contact; she becomes Customer meanwhile."""
    now = leads(store, 2)  # c0 (first: meets the 429), c1 = Ana, Hot Lead, deferred untried
    rio.add(responses.POST, ANY_CALL, status=429, headers={"Retry-After": "60"})
    assert dispatch(store, "respondio", send, now=now) == counts(retrying=1, deferred=1)
    ingest(store, patch("hubspot", "1", ["hubspot:1", "email:c1@x.com"], stage="Customer", first_name="Ana1"))
    rio.reset()
    rio.add(responses.POST, ANY_CALL, json={})
    # before the deferral ends, only Customer is due: sent
    assert dispatch(store, "respondio", send, now=model.utcnow() + timedelta(seconds=1)) == counts(sent=1)
    # after it, Ana's Hot Lead is older than what was sent: superseded, not sent; c0 is retried
    assert dispatch(store, "respondio", send, now=model.utcnow() + timedelta(minutes=5)) == counts(sent=1,
                                                                                                 superseded=1)
    lifecycles = [(c.request.url.split("/contact/")[1].split("/")[0], json.loads(c.request.body)["name"])
                  for c in rio.calls if c.request.url.endswith("/lifecycle/update")]
    assert lifecycles == [("email:c1@x.com", "Customer"), ("email:c0@x.com", "Hot Lead")]
