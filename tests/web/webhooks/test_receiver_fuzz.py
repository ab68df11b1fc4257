"""Fuzzing every webhook receiver: no input makes a 5xx, and a refused delivery leaves nothing.

Each ``support.receivers.RECEIVERS`` entry gets bodies of any shape — its own valid delivery with
one part replaced by any JSON value (or form field, or XML text), bodies nested 50,000 deep,
numbers of thousands of digits, escaped lone surrogates, ``NaN``, other encodings, random
bytes — signed as the sender signs them, and signature headers holding any Latin-1 character
(what a server hands the app of a header's bytes). Whatever comes in, the answer is below 500,
and a 4xx stores no inbox row and queues nothing.

The example count is modest so the suite stays fast: ``LIFESYNC_FUZZ_EXAMPLES`` raises it for a
longer hunt; ``bench/hostile_input.py`` counts 5xx over many more (the suite only guards).
"""

from __future__ import annotations

import json
import os
from typing import Any
from urllib.parse import parse_qsl, urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.inbox_checks import counts
from support.receivers import RECEIVER_ENV, RECEIVERS, Delivery, Receiver
from support.webhook_app import app_with

EXAMPLES = int(os.environ.get("LIFESYNC_FUZZ_EXAMPLES", "40"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

# raw JSON text a dumped placeholder string is replaced with: what json.dumps cannot write
_RAW = {
    "\x00deep\x00": "[" * 50_000 + "]" * 50_000,
    "\x00nest\x00": '{"a":' * 200 + "1" + "}" * 200,
    "\x00bigint\x00": "9" * 4301,
    "\x00longnum\x00": "1." + "5" * 5000 + "e3",
    "\x00nan\x00": "NaN",
    "\x00inf\x00": "-Infinity",
    "\x00overflow\x00": "1e400",
    "\x00lone\x00": '"\\ud800 and \\udfff"',
    "\x00nul\x00": '"a\\u0000b"',
}
SPECIAL = st.sampled_from(sorted(_RAW))
LEAF = st.one_of(st.none(), st.booleans(), st.integers(), st.integers(min_value=-(10**30), max_value=10**30),
                 st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=40),
                 st.text(min_size=300, max_size=400), SPECIAL)
JSON = st.recursive(LEAF, lambda inner: st.lists(inner, max_size=4)
                    | st.dictionaries(st.text(max_size=12) | SPECIAL.filter(lambda s: "lone" in s or "nul" in s),
                                      inner, max_size=4), max_leaves=12)


def render(value: Any, ascii_only: bool) -> bytes:
    """JSON of ``value`` with every placeholder swapped for its raw text (surrogates kept as bytes)."""
    text = json.dumps(value, ensure_ascii=ascii_only)
    for token, raw in _RAW.items():
        text = text.replace(json.dumps(token), raw)
    return text.encode("utf-8", "surrogatepass")


def paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    """Every path (keys and indexes) into a JSON value, the root included."""
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found += paths(item, (*prefix, key))
    elif isinstance(value, list):
        for n, item in enumerate(value):
            found += paths(item, (*prefix, n))
    return found


def replaced(value: Any, path: tuple, new: Any) -> Any:
    """``value`` with the part at ``path`` replaced by ``new``."""
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        return {**value, head: replaced(value[head], rest, new)}
    return [replaced(item, rest, new) if n == head else item for n, item in enumerate(value)]


@st.composite
def json_bodies(draw: st.DrawFn, receiver: Receiver) -> bytes:
    """The receiver's valid JSON delivery with one part replaced, any JSON, an attack, or other bytes."""
    kind = draw(st.sampled_from(["mutated", "mutated", "mutated", "any", "special", "encoded", "bytes"]))
    base = json.loads(receiver.body)
    if kind == "mutated":
        path = draw(st.sampled_from(paths(base)))
        return render(replaced(base, path, draw(JSON)), draw(st.booleans()))
    if kind == "any":
        return render(draw(JSON), draw(st.booleans()))
    if kind == "special":
        return _RAW[draw(SPECIAL)].encode()
    if kind == "encoded":
        return json.dumps(base, ensure_ascii=False).encode(draw(st.sampled_from(["utf-16", "utf-32", "latin-1",
                                                                                  "utf-8-sig", "cp1252"])),
                                                           "replace")
    return draw(st.binary(max_size=200))


@st.composite
def form_bodies(draw: st.DrawFn, receiver: Receiver) -> bytes:
    """The receiver's valid form with fields changed, added or dropped, in UTF-8 or not; or other bytes."""
    params = dict(parse_qsl(receiver.body.decode(), keep_blank_values=True))
    if draw(st.integers(0, 9)) == 0:
        return draw(st.binary(max_size=200))
    for name in draw(st.lists(st.sampled_from(sorted(params)), max_size=3, unique=True)):
        del params[name]
    changed = draw(st.dictionaries(st.sampled_from([*sorted(params), "X", "Body", "From", "To"]) | st.text(max_size=8),
                                   st.text(max_size=60) | st.sampled_from(["\ud800", "\x00", "9" * 5000]),
                                   max_size=4))
    params.update(changed)
    return urlencode(params, encoding=draw(st.sampled_from(["utf-8", "latin-1"])), errors="replace").encode()


@st.composite
def xml_bodies(draw: st.DrawFn, receiver: Receiver) -> bytes:
    """The receiver's valid SOAP message with a text node or chunk replaced, entity bombs, or other bytes."""
    kind = draw(st.sampled_from(["text", "cut", "entity", "bytes"]))
    body = receiver.body
    if kind == "text":
        start = body.index(b">", draw(st.integers(0, len(body) - 2))) + 1
        end = body.find(b"<", start)
        return body[:start] + draw(st.text(max_size=80)).encode("utf-8", "surrogatepass") + body[max(end, start):]
    if kind == "cut":
        at = draw(st.integers(0, len(body)))
        return body[:at] + draw(st.binary(max_size=40)) + body[at + draw(st.integers(0, 40)):]
    if kind == "entity":
        return (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">'
                b'<!ENTITY c SYSTEM "file:///etc/passwd">]>' + body.split(b"?>", 1)[-1].replace(b"Beatriz", b"&b;&c;"))
    return draw(st.binary(max_size=200))


def bodies(receiver: Receiver) -> st.SearchStrategy[bytes]:
    """What to post to a receiver, by the content it takes."""
    if receiver.content_type.startswith("application/x-www-form-urlencoded"):
        return form_bodies(receiver)
    if receiver.content_type.startswith("text/xml"):
        return xml_bodies(receiver)
    return json_bodies(receiver)


HEADER_TEXT = st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"), max_size=90)


@pytest.fixture
def app(store, config, enqueued, database_url):
    """The app of tests/web with every receiver's connection configured."""
    return app_with(store, config, enqueued, database_url, **RECEIVER_ENV)


def signed(receiver: Receiver, body: bytes) -> Delivery:
    """``body`` signed as the sender would; a body the sender's own signer cannot read goes unsigned."""
    try:
        return receiver.deliver(body)
    except (UnicodeDecodeError, ValueError):  # Twilio signs parameters: a body that is no UTF-8 form has none
        valid = receiver.deliver()
        return Delivery(valid.path, body, valid.headers)


def post(client, store, enqueued, delivery: Delivery) -> int:
    """POST a delivery; assert it is no 5xx and that a refusal stored and queued nothing. Its status."""
    before, queued = counts(store), len(enqueued)
    res = client.post(delivery.path, data=delivery.body, headers=delivery.headers)
    assert res.status_code < 500, (res.status_code, res.data[:300], delivery.body[:200])
    if res.status_code >= 400:
        assert (counts(store), len(enqueued)) == (before, queued), (res.status_code, res.data[:300])
        assert res.json["status"] == res.status_code and res.json["message"], res.data[:300]
    return res.status_code


@pytest.mark.parametrize("receiver", RECEIVERS, ids=lambda r: r.name)
def test_a_signed_body_of_any_shape_is_never_a_5xx_and_a_refusal_leaves_nothing(client, store, enqueued, receiver):
    @FUZZ
    @given(body=bodies(receiver))
    def run(body: bytes) -> None:
        post(client, store, enqueued, signed(receiver, body))

    run()


@pytest.mark.parametrize("receiver", RECEIVERS, ids=lambda r: r.name)
def test_a_signature_header_of_any_latin1_text_is_401_never_a_5xx(client, store, enqueued, receiver):
    @FUZZ
    @given(value=HEADER_TEXT, non_ascii=st.characters(min_codepoint=0x80, max_codepoint=0xFF))
    def run(value: str, non_ascii: str) -> None:
        forged = receiver.deliver().with_header(receiver.header, value[:10] + non_ascii + value[10:])
        assert post(client, store, enqueued, forged) == 401

    run()
