"""The body-size cap (LIFESYNC_WEBHOOK_MAX_BYTES → 413) holds for chunked bodies too, which carry no length."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select
from support.payloads import body_of, meta_signature, whatsapp_delivery, whatsapp_value

from sync.store import model

from .conftest import ENV

LIMIT = int(ENV["LIFESYNC_WEBHOOK_MAX_BYTES"])


def sized(size: int) -> bytes:
    """A valid WhatsApp delivery of exactly ``size`` bytes (the message text pads it)."""
    value = whatsapp_value()
    value["messages"][0]["text"]["body"] = ""
    bare = len(body_of(whatsapp_delivery(value)))
    value["messages"][0]["text"]["body"] = "x" * (size - bare)
    body = body_of(whatsapp_delivery(value))
    assert len(body) == size
    return body


def post_chunked(client, body: bytes):
    """As a server hands over a chunked request: no Content-Length, an input stream it terminates."""
    return client.post("/webhooks/whatsapp", input_stream=io.BytesIO(body),
                        headers={"X-Hub-Signature-256": meta_signature("wa-secret", body),
                                 "Content-Type": "application/json", "Transfer-Encoding": "chunked"},
                        environ_overrides={"wsgi.input_terminated": True})


def raw_count(store) -> int:
    with store.transaction() as s:
        return s.scalar(select(func.count()).select_from(model.RawEvent))


@pytest.mark.parametrize("size", [LIMIT + 1, LIMIT + 5000])
def test_a_chunked_body_over_the_cap_is_413_and_stores_nothing(client, store, enqueued, size):
    res = post_chunked(client, sized(size))
    assert res.status_code == 413 and res.json["status"] == 413
    assert raw_count(store) == 0 and enqueued == []


@pytest.mark.parametrize("size", [LIMIT, LIMIT - 1, 1500])
def test_a_chunked_body_within_the_cap_is_read_whole_and_verified(client, store, size):
    res = post_chunked(client, sized(size))
    assert res.status_code == 200, res.json
    assert raw_count(store) == 1


def test_a_body_over_the_cap_with_a_length_is_413(client, store):
    body = sized(LIMIT + 1)
    res = client.post("/webhooks/whatsapp", data=body, headers={
        "X-Hub-Signature-256": meta_signature("wa-secret", body), "Content-Type": "application/json"})
    assert res.status_code == 413 and raw_count(store) == 0
