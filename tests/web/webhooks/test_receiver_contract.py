"""The receiver contract: what every webhook receiver does with a delivery, whoever sent it.

Each property runs for every ``support.receivers.RECEIVERS`` entry and checks what was stored
(raw inbox rows, and nothing downstream of them) and queued (the ``enqueued`` fixture):

- a forged, missing, empty, garbled or stale signature, or a tampered body → 401 saying why;
  nothing stored, nothing queued;
- a redelivery (before and after processing, signed anew) → one inbox row per event, queued
  once, processed into the state of one delivery;
- a connection nobody configured → 404 naming it;
- a body over ``LIFESYNC_WEBHOOK_MAX_BYTES``, with a Content-Length or chunked → 413; a body of
  exactly the cap is read whole and accepted;
- a validly signed but malformed body → 400 naming the problem.

Receiver-specific behaviour (parsing details, routing, handshakes, signature versions, TwiML
and SOAP answers...) stays in ``tests/web/test_<receiver>.py``.
"""

from __future__ import annotations

import io
from typing import Any

import pytest
from sqlalchemy import select
from support.inbox_checks import counts, process
from support.receivers import RECEIVER_ENV, RECEIVERS, Delivery, Receiver
from support.webhook_app import ENV, app_with

from sync.store import model

CAP = int(ENV["LIFESYNC_WEBHOOK_MAX_BYTES"])
FORGED = "a-guessed-secret"


@pytest.fixture
def app(store, config, enqueued, database_url):
    """The app of tests/web with every receiver's connection configured (one cap for all)."""
    return app_with(store, config, enqueued, database_url, **RECEIVER_ENV)


def send(client, delivery: Delivery, *, chunked: bool = False) -> Any:
    """POST a delivery; ``chunked`` as a server hands over a chunked request (no length, a terminated stream)."""
    if chunked:
        return client.post(delivery.path, input_stream=io.BytesIO(delivery.body),
                           headers={**delivery.headers, "Transfer-Encoding": "chunked"},
                           environ_overrides={"wsgi.input_terminated": True})
    return client.post(delivery.path, data=delivery.body, headers=delivery.headers)


def acknowledged(receiver: Receiver, res: Any) -> None:
    receiver.acknowledges(res.status_code, res.mimetype, res.data)


def canonical(store) -> tuple[int, ...]:
    """(contacts, activities, touchpoints) in the canonical store."""
    return counts(store, (model.Contact, model.Activity, model.Touchpoint))


def assert_refused(res: Any, status: int, reason: str, store, enqueued) -> None:
    """An error answer in the app's JSON shape naming the problem; no inbox row, nothing downstream, nothing queued."""
    assert res.status_code == status, (res.status_code, res.data[:300])
    assert res.json["status"] == status and reason in res.json["message"], res.json
    assert counts(store) == (0, 0, 0) and enqueued == []


# -- signatures -------------------------------------------------------------------------------------

def _forged(r: Receiver) -> Delivery:
    return r.deliver(secret=FORGED)


def _missing(r: Receiver) -> Delivery:
    return r.deliver().without(r.header)


def _empty(r: Receiver) -> Delivery:
    return r.deliver().with_header(r.header, "")


def _garbled(r: Receiver) -> Delivery:
    return r.deliver().with_header(r.header, r.garble(r.body))


def _tampered(r: Receiver) -> Delivery:
    assert r.tamper is not None
    signed = r.deliver()
    return Delivery(signed.path, r.tamper(r.body), signed.headers)


def _stale(r: Receiver) -> Delivery:
    assert r.window is not None
    return r.deliver(age=r.window + 5)  # just outside: a few seconds spare for a slow run


def _future(r: Receiver) -> Delivery:
    assert r.window is not None
    return r.deliver(age=-(r.window + 5))


REJECTIONS = {"forged": _forged, "missing": _missing, "empty": _empty, "garbled": _garbled, "tampered": _tampered,
              "stale": _stale, "future": _future}


def _applies(r: Receiver, case: str) -> bool:
    if case == "tampered":
        return r.tamper is not None
    if case in ("stale", "future"):
        return r.window is not None
    return True


@pytest.mark.parametrize(("receiver", "case"), [pytest.param(r, case, id=f"{r.name}-{case}") for r in RECEIVERS
                                                for case in REJECTIONS if _applies(r, case)])
def test_a_delivery_not_signed_by_the_connection_now_is_401_and_leaves_nothing(client, store, enqueued, receiver,
                                                                                case):
    res = send(client, REJECTIONS[case](receiver))
    assert_refused(res, 401, receiver.reason_for(case), store, enqueued)


# -- redelivery -------------------------------------------------------------------------------------

@pytest.mark.parametrize("receiver", RECEIVERS, ids=lambda r: r.name)
def test_a_redelivery_is_one_inbox_row_queued_once(client, store, config, enqueued, receiver):
    acknowledged(receiver, send(client, receiver.deliver(age=20)))
    assert counts(store)[0] == receiver.events and len(enqueued) == 1
    acknowledged(receiver, send(client, receiver.deliver(age=10)))  # before processing: signed anew, same events
    assert counts(store)[0] == receiver.events and len(enqueued) == 1
    process(store, config, enqueued)
    assert canonical(store) == receiver.state
    acknowledged(receiver, send(client, receiver.deliver()))  # after processing: nothing to queue again
    process(store, config, enqueued)
    assert counts(store)[0] == receiver.events and len(enqueued) == 1
    assert canonical(store) == receiver.state
    with store.transaction() as s:
        assert set(s.scalars(select(model.RawEvent.status))) == {"processed"}


# -- connections ------------------------------------------------------------------------------------

@pytest.mark.parametrize("receiver", RECEIVERS, ids=lambda r: r.name)
def test_a_connection_nobody_configured_is_404(client, store, enqueued, receiver):
    res = send(client, receiver.deliver(path=receiver.nowhere))
    assert_refused(res, 404, f"connection {receiver.nowhere.rpartition('/')[2]!r} is configured", store, enqueued)


# -- body size --------------------------------------------------------------------------------------

TRANSPORTS = [pytest.param(False, id="length"), pytest.param(True, id="chunked")]


@pytest.mark.parametrize("chunked", TRANSPORTS)
@pytest.mark.parametrize("over", [pytest.param(1, id="one byte over"), pytest.param(5000, id="far over")])
@pytest.mark.parametrize("receiver", RECEIVERS, ids=lambda r: r.name)
def test_a_body_over_the_cap_is_413_and_leaves_nothing(client, store, enqueued, receiver, over, chunked):
    res = send(client, receiver.deliver(receiver.sized(CAP + over)), chunked=chunked)
    assert_refused(res, 413, "", store, enqueued)


@pytest.mark.parametrize("chunked", TRANSPORTS)
@pytest.mark.parametrize("size", [pytest.param(lambda r: CAP, id="at the cap"),
                                  pytest.param(lambda r: CAP - 1, id="one byte under"),
                                  pytest.param(lambda r: len(r.body), id="as sent")])
@pytest.mark.parametrize("receiver", RECEIVERS, ids=lambda r: r.name)
def test_a_body_up_to_the_cap_is_read_whole_and_accepted(client, store, enqueued, receiver, size, chunked):
    """A chunked body carries no length: one byte more than the cap must tell it from a longer one."""
    res = send(client, receiver.deliver(receiver.sized(size(receiver))), chunked=chunked)
    acknowledged(receiver, res)
    assert counts(store)[0] == receiver.events and len(enqueued) == 1


# -- malformed bodies -------------------------------------------------------------------------------

@pytest.mark.parametrize(("receiver", "malformed"), [
    pytest.param(r, m, id=f"{r.name}-{m.label}") for r in RECEIVERS for m in r.malformed])
def test_a_malformed_signed_body_is_400_naming_the_problem(client, store, enqueued, receiver, malformed):
    res = send(client, receiver.deliver(malformed.body))
    assert_refused(res, 400, malformed.reason, store, enqueued)
