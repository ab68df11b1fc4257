"""Stage write-back: outbox rows in the same transaction as the change, then dispatch with deliveries."""

from __future__ import annotations

from datetime import timedelta

import pytest
import responses
from sqlalchemy import select
from support.lifecycle_fixtures import make_config, patch

from sync.connectors.respondio.client import RespondioClient
from sync.connectors.respondio.writeback import respondio_stage
from sync.errors import PermanentError, RateLimited
from sync.ingest.deadletter import replay
from sync.ingest.pipeline import ingest_patches
from sync.outbox.effects import Effects
from sync.outbox.stage_dispatch import MAX_ATTEMPTS, dispatch
from sync.outbox.targets import TARGETS, stage_outbox_rows
from sync.reconcile.patch import IdentityRef
from sync.store import model

CONFIG = make_config()
RESPONDIO = frozenset({"respondio"})


def ingest(store, *patches):
    return ingest_patches(store, CONFIG, [(p, None) for p in patches], effects=Effects(push_targets=RESPONDIO))


def outbox(store):
    with store.transaction() as s:
        return [(o.destination, o.payload, o.status) for o in s.scalars(select(model.Outbox).order_by(model.Outbox.id))]


@pytest.mark.parametrize(("identities", "expected"), [
    (["respondio:42", "email:a@x.com"], "id:42"),
    (["email:a@x.com", "phone:+34600111222"], "email:a@x.com"),
    (["phone:+34600111222"], "phone:+34600111222"),
    (["hubspot:1"], None),
])
def test_respondio_identifier_prefers_its_own_id(identities, expected):
    assert TARGETS["respondio"].identifier([IdentityRef.parse(i) for i in identities]) == expected


def test_no_row_for_the_system_that_reported_the_stage_or_without_an_address():
    ids = [IdentityRef("email", "a@x.com")]
    assert stage_outbox_rows(1, "Hot Lead", 2, "respondio", ids, RESPONDIO) == []
    assert stage_outbox_rows(1, "Hot Lead", 2, "hubspot", [IdentityRef("hubspot", "1")], RESPONDIO) == []
    [row] = stage_outbox_rows(1, "Hot Lead", 2, "hubspot", ids, RESPONDIO)
    assert row["payload"] == {"identifier": "email:a@x.com", "stage": "Hot Lead"}


def test_stage_changes_enter_the_outbox_once(store):
    ingest(store, patch("hubspot", "1", ["hubspot:1", "email:a@x.com"], stage="New Lead"))
    ingest(store, patch("hubspot", "1", ["hubspot:1", "email:a@x.com"], stage="New Lead"))  # unchanged: nothing
    ingest(store, patch("hubspot", "1", ["hubspot:1"], minutes=5, stage="Hot Lead"))
    ingest(store, patch("respondio", "9", ["respondio:9", "email:a@x.com"], minutes=9, stage="Payment"))  # its own
    assert outbox(store) == [
        ("respondio", {"identifier": "email:a@x.com", "stage": "New Lead"}, "pending"),
        ("respondio", {"identifier": "email:a@x.com", "stage": "Hot Lead"}, "pending"),
    ]


def test_without_targets_nothing_is_queued(store):
    ingest_patches(store, CONFIG, [(patch("hubspot", "1", ["email:a@x.com"], stage="Hot Lead"), None)])
    assert outbox(store) == []


def test_dispatch_sends_the_newest_stage_per_contact_and_records_deliveries(store):
    ingest(store, patch("hubspot", "1", ["email:a@x.com"], stage="New Lead"))
    ingest(store, patch("hubspot", "1", ["email:a@x.com"], minutes=5, stage="Hot Lead"))
    sent = []
    counts = dispatch(store, "respondio", lambda payload: sent.append(payload) or {"ok": True})
    assert counts == {"sent": 1, "superseded": 1, "retrying": 0, "dead": 0, "deferred": 0}
    assert sent == [{"identifier": "email:a@x.com", "stage": "Hot Lead",  # with the contact's facts now
                     "contact": {"values": {}, "identities": {"email": ["a@x.com"]}}}]
    assert [s for _, _, s in outbox(store)] == ["superseded", "sent"]
    with store.transaction() as s:
        [d] = s.scalars(select(model.Delivery))
    assert (d.status, d.attempts, d.response) == ("sent", 1, {"ok": True})
    assert dispatch(store, "respondio", lambda payload: pytest.fail("nothing is due")) == {
        "sent": 0, "superseded": 0, "retrying": 0, "dead": 0, "deferred": 0}


def test_rate_limits_back_off_then_give_up_into_a_dead_letter_that_replays(store):
    ingest(store, patch("hubspot", "1", ["email:a@x.com"], stage="Hot Lead"))

    def limited(payload):
        raise RateLimited("respond.io answered HTTP 429", retry_after=120)

    now = model.utcnow() + timedelta(seconds=1)  # the item became due when it was written
    for attempt in range(1, MAX_ATTEMPTS + 1):
        counts = dispatch(store, "respondio", limited, now=now)
        assert counts["retrying" if attempt < MAX_ATTEMPTS else "dead"] == 1
        assert dispatch(store, "respondio", limited, now=now + timedelta(seconds=60)) == {
            "sent": 0, "superseded": 0, "retrying": 0, "dead": 0, "deferred": 0}  # Retry-After is honoured
        now += timedelta(hours=2)
    with store.transaction() as s:
        [letter] = s.scalars(select(model.DeadLetter))
        [d] = s.scalars(select(model.Delivery))
    assert letter.stage == "dispatch" and "gave up after 6 attempts" in letter.reason
    assert (d.status, d.attempts) == ("dead", MAX_ATTEMPTS)
    assert replay(store, None, [letter.id]).replayed == [letter.id]
    assert dispatch(store, "respondio", lambda p: {}, now=now)["sent"] == 1


def test_permanent_refusal_is_dead_at_once(store):
    ingest(store, patch("hubspot", "1", ["email:a@x.com"], stage="Hot Lead"))

    def refuse(payload):
        raise PermanentError("respond.io refused the request (HTTP 400): lifecycle not found")

    assert dispatch(store, "respondio", refuse)["dead"] == 1
    with store.transaction() as s:
        assert "lifecycle not found" in s.scalar(select(model.DeadLetter.reason))


@responses.activate(assert_all_requests_are_fired=True)
def test_respondio_sender_upserts_then_sets_the_lifecycle():
    base = "https://api.respond.io/v2"
    responses.post(f"{base}/contact/create_or_update/email:a@x.com", json={"id": 42},
                   match=[responses.matchers.json_params_matcher({"firstName": "Ana", "email": "a@x.com"})])
    responses.post(f"{base}/contact/email:a@x.com/lifecycle/update", json={"contactId": 42},
                   match=[responses.matchers.json_params_matcher({"name": "Hot Lead"})])
    send = respondio_stage(RespondioClient("tok", base, sleep=lambda s: None))
    assert send({"identifier": "email:a@x.com", "stage": "Hot Lead",
                 "contact": {"values": {"first_name": "Ana"}, "identities": {}}}) == {
        "lifecycle": "Hot Lead", "contact": ["email", "firstName"]}
    assert responses.calls[1].request.headers["Authorization"] == "Bearer tok"
