"""Every webhook receiver described the same way, for the receiver contract and the end-to-end run.

A ``Receiver`` says where a platform posts, how it signs a body (``support.signatures``, never
lifesync's verifiers), a valid delivery and what acknowledges it, what that delivery makes once
processed, malformed bodies with the words their 400 must use, how to tamper with a body and
garble a signature, and whether a timestamp is signed (a replay window to fall outside of).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from urllib.parse import parse_qsl, urlencode

from support.payloads import FIXTURES, SHOP_ORDER, body_of, whatsapp_delivery, whatsapp_value
from support.signatures import (
    basic_auth,
    generic_signature,
    hubspot_v3,
    meta_signature,
    respondio_signature,
    tiktok_signature,
    twilio_signature,
)
from support.social_payloads import FB_PSID, IG_SID, fixture, meta_delivery

HOST = "http://localhost"  # the Flask test client's base URL: what a sender calls, and signs
WINDOW = 300  # seconds: LIFESYNC_WEBHOOK_TOLERANCE_SECONDS's default, and HubSpot's own v3 window
TWIML = b'<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
SOAP = {"soapenv": "http://schemas.xmlsoap.org/soap/envelope/", "om": "http://soap.sforce.com/2005/09/outbound"}

# (url, body, secret, signing time in epoch seconds) -> the headers that sign the delivery
Signer = Callable[[str, bytes, str, float], dict[str, str]]
# (status, content type, body) of an answer -> None, or AssertionError saying how it is no acknowledgement
Ack = Callable[[int, str, bytes], None]


@dataclass(frozen=True)
class Delivery:
    """One POST as a sender makes it: path (with any query), body and headers."""

    path: str
    body: bytes
    headers: dict[str, str]

    def without(self, header: str) -> Delivery:
        """The same delivery without ``header``."""
        return replace(self, headers={k: v for k, v in self.headers.items() if k != header})

    def with_header(self, header: str, value: str) -> Delivery:
        """The same delivery with ``header`` set to ``value``."""
        return replace(self, headers={**self.headers, header: value})


@dataclass(frozen=True)
class Malformed:
    """A validly signed body the receiver must refuse with 400, and the words its message must use."""

    label: str
    body: bytes
    reason: str


def json_ack(events: int) -> Ack:
    """The JSON acknowledgement ``{"received": events}``."""

    def check(status: int, content_type: str, body: bytes) -> None:
        assert (status, content_type, json.loads(body)) == (200, "application/json", {"received": events}), body

    return check


def twiml_ack(status: int, content_type: str, body: bytes) -> None:
    """Twilio's acknowledgement: an empty TwiML ``<Response/>`` (no reply to the sender)."""
    assert (status, content_type, body) == (200, "text/xml", TWIML), body


def soap_ack(status: int, content_type: str, body: bytes) -> None:
    """Salesforce's acknowledgement: the SOAP ``notificationsResponse`` with ``<Ack>true</Ack>``."""
    assert (status, content_type) == (200, "text/xml"), body
    assert ET.fromstring(body).findtext("soapenv:Body/om:notificationsResponse/om:Ack", namespaces=SOAP) == "true"


def spaces(body: bytes, n: int) -> bytes:
    """The same JSON or XML document, ``n`` bytes longer (trailing white space)."""
    return body + b" " * n


def form_padding(body: bytes, n: int) -> bytes:
    """The same form, ``n`` bytes longer (one more parameter, signed like the others)."""
    return body + b"&Padding=" + b"x" * (n - len(b"&Padding="))


def swap(old: bytes, new: bytes) -> Callable[[bytes], bytes]:
    """A tamperer: the body with ``old`` replaced by ``new`` (which must be there)."""

    def tamper(body: bytes) -> bytes:
        assert old in body, f"{old!r} is not in the body to tamper with"
        return body.replace(old, new)

    return tamper


@dataclass(frozen=True)
class Receiver:
    """How one webhook receiver is called, signed, answered and refused (see the module docstring)."""

    name: str
    path: str  # the default connection's URL path
    secret: str  # the default connection's secret (app secret, token, key or shared secret)
    body: bytes  # a valid delivery
    sign: Signer
    header: str  # the header that carries the signature
    reason: str  # what a 401 message says about a forged signature
    acknowledges: Ack
    state: tuple[int, int, int]  # (contacts, activities, touchpoints) the valid delivery makes once processed
    malformed: tuple[Malformed, ...]
    garble: Callable[[bytes], str]  # a signature header value of the wrong form for a body
    tamper: Callable[[bytes], bytes] | None = None  # None: the secret does not sign the body
    events: int = 1  # inbox rows the valid delivery makes
    reasons: Mapping[str, str] = field(default_factory=dict)  # rejection case -> its 401 words, where not ``reason``
    window: int | None = None  # seconds a signed timestamp may be off; None: no timestamp is signed
    query: Callable[[bytes], str] | None = None  # a query string the body decides (Twilio's bodySHA256)
    pad: Callable[[bytes, int], bytes] = spaces
    content_type: str = "application/json"
    unconfigured: str = ""  # a path naming no configured connection (default: ``<path>/nope``)
    env: Mapping[str, str] = field(default_factory=dict)  # the settings it needs beyond tests/web's ENV

    def deliver(self, body: bytes | None = None, *, secret: str | None = None, age: float = 0.0,
                path: str | None = None, base: str = HOST) -> Delivery:
        """``body`` (default: the valid one) signed as the sender would, ``age`` seconds ago, for ``path``."""
        body = self.body if body is None else body
        path = (path or self.path) + (self.query(body) if self.query else "")
        headers = self.sign(base + path, body, secret or self.secret, time.time() - age)
        return Delivery(path, body, {"Content-Type": self.content_type, **headers})

    def sized(self, size: int) -> bytes:
        """The valid delivery padded to exactly ``size`` bytes."""
        body = self.pad(self.body, size - len(self.body)) if size != len(self.body) else self.body
        assert len(body) == size, (len(body), size)
        return body

    def reason_for(self, case: str) -> str:
        """What the 401 of a rejection case says."""
        return self.reasons.get(case, self.reason)

    @property
    def nowhere(self) -> str:
        """A path naming no configured connection."""
        return self.unconfigured or f"{self.path}/nope"


def _meta(url: str, body: bytes, secret: str, at: float) -> dict[str, str]:
    return {"X-Hub-Signature-256": meta_signature(secret, body)}


def _tiktok(url: str, body: bytes, secret: str, at: float) -> dict[str, str]:
    return {"Tiktok-Signature": tiktok_signature(secret, body, int(at))}


def _twilio_form(url: str, body: bytes, secret: str, at: float) -> dict[str, str]:
    return {"X-Twilio-Signature": twilio_signature(secret, url, parse_qsl(body.decode(), keep_blank_values=True))}


def _twilio_json(url: str, body: bytes, secret: str, at: float) -> dict[str, str]:
    return {"X-Twilio-Signature": twilio_signature(secret, url, [])}  # the body is pinned by bodySHA256 in the URL


def _hubspot(url: str, body: bytes, secret: str, at: float) -> dict[str, str]:
    stamp = str(int(at * 1000))
    return {"X-HubSpot-Signature-v3": hubspot_v3(secret, "POST", url, body, stamp),
            "X-HubSpot-Request-Timestamp": stamp}


def _salesforce(url: str, body: bytes, secret: str, at: float) -> dict[str, str]:
    return {"SOAPAction": '""', **basic_auth(secret)}


def _respondio(url: str, body: bytes, secret: str, at: float) -> dict[str, str]:
    return {"X-Webhook-Signature": respondio_signature(secret, body)}


def _generic(url: str, body: bytes, secret: str, at: float) -> dict[str, str]:
    stamp = str(int(at))
    return {"X-Lifesync-Signature": generic_signature(secret, body, stamp), "X-Lifesync-Timestamp": stamp}


def twilio_params(name: str) -> list[tuple[str, str]]:
    """A Twilio fixture's parameters, without the fields lifesync adds on receipt."""
    record = json.loads((FIXTURES / "twilio" / name).read_text(encoding="utf-8"))
    return [(k, v) for k, v in record.items() if k not in ("channel", "received_at")]


NOT_JSON = Malformed("not JSON", b"{not json", "not valid JSON")
HUB_SIGNED = dict(sign=_meta, header="X-Hub-Signature-256", reason="X-Hub-Signature-256 does not match the body",
                  garble=lambda body: "sha1=abc")
TWILIO_SIGNED = dict(header="X-Twilio-Signature", reason="X-Twilio-Signature does not match",
                     garble=lambda body: "!!!not-base64!!!", acknowledges=twiml_ack)
WINDOWED = {"stale": "replay window", "future": "replay window"}

RECEIVERS = (
    Receiver("whatsapp", "/webhooks/whatsapp", "wa-secret", body_of(whatsapp_delivery(whatsapp_value())),
             acknowledges=json_ack(1), state=(1, 1, 1), tamper=swap(b"Hola", b"Hoal"), **HUB_SIGNED,
             malformed=(NOT_JSON, Malformed("another object", b'{"object": "page", "entry": []}',
                                            "whatsapp_business_account"))),
    Receiver("messenger", "/webhooks/messenger", "fb-secret", json.dumps(meta_delivery("messenger")).encode(),
             acknowledges=json_ack(1), state=(1, 1, 1), tamper=swap(FB_PSID.encode(), b"9999999999999999"),
             **HUB_SIGNED, malformed=(NOT_JSON, Malformed(
                 "another object", b'{"object": "whatsapp_business_account", "entry": []}', '"object": "page"'))),
    Receiver("instagram", "/webhooks/instagram", "ig-secret", json.dumps(meta_delivery("instagram")).encode(),
             acknowledges=json_ack(1), state=(1, 1, 0), tamper=swap(IG_SID.encode(), b"9999999999999999"),
             **HUB_SIGNED, malformed=(NOT_JSON, Malformed("another object", b'{"object": "page", "entry": []}',
                                                          '"object": "instagram"'))),
    Receiver("tiktok", "/webhooks/tiktok", "tt-secret", json.dumps(fixture("tiktok/webhook_receive_msg.json")).encode(),
             sign=_tiktok, header="Tiktok-Signature", reason="Tiktok-Signature does not match the body",
             reasons={"missing": "must look like", "empty": "must look like", "garbled": "must look like",
                      **WINDOWED},
             garble=lambda body: "sha256=" + "0" * 64, window=WINDOW, acknowledges=json_ack(1), state=(1, 1, 0),
             tamper=swap(b"starter kit", b"starter kyt"),
             malformed=(NOT_JSON, Malformed("no event", b"[]", '"event" name'))),
    Receiver("twilio", "/webhooks/twilio", "tw-token", urlencode(twilio_params("whatsapp_referral.json")).encode(),
             sign=_twilio_form, **TWILIO_SIGNED, state=(1, 1, 1), tamper=swap(b"quiero", b"querio"),
             pad=form_padding, content_type="application/x-www-form-urlencoded",
             malformed=(Malformed("no parameters", b"", "MessageSid"),)),
    Receiver("twilio-json", "/webhooks/twilio", "tw-token",
             json.dumps(dict(twilio_params("sms_inbound.json"))).encode(), sign=_twilio_json, **TWILIO_SIGNED,
             query=lambda body: f"?bodySHA256={hashlib.sha256(body).hexdigest()}", state=(1, 1, 0),
             tamper=swap(b"Saturday", b"Sunday"),
             malformed=(NOT_JSON, Malformed("not an object", b"[1, 2]", "JSON object"))),
    Receiver("hubspot", "/webhooks/hubspot", "hs-client-secret",
             (FIXTURES / "hubspot" / "webhook_contact_events.json").read_text().encode(), sign=_hubspot,
             header="X-HubSpot-Signature-v3", reason="X-HubSpot-Signature-v3 does not match the request",
             reasons={"missing": "missing X-HubSpot-Signature-v3", **WINDOWED}, garble=lambda body: "v3-but-not-base64",
             window=WINDOW, events=4, acknowledges=json_ack(4), state=(1, 0, 0), tamper=swap(b"Beatriz", b"Mallory"),
             malformed=(Malformed("not JSON", b"[{not json", "not valid JSON"),
                        Malformed("not an array", b'{"eventId": 1}', "non-empty JSON array")),
             env={"LIFESYNC_HUBSPOT_CLIENT_SECRET": "hs-client-secret"}),
    Receiver("salesforce", "/webhooks/salesforce", "sf-outbound-secret",
             (FIXTURES / "salesforce" / "outbound_lead.xml").read_bytes(), sign=_salesforce, header="Authorization",
             reason="the shared secret (URL path or basic-auth password) is missing or wrong",
             garble=lambda body: "Basic !!!not-base64", acknowledges=soap_ack, state=(1, 0, 0),
             content_type="text/xml; charset=utf-8",
             malformed=(Malformed("not XML", (FIXTURES / "salesforce" / "outbound_lead.xml").read_bytes().replace(
                 b"</sObject>", b"</sobject>"), "not well-formed XML"),
                 Malformed("not SOAP", b'<?xml version="1.0"?><notifications/>', "SOAP 1.1 Envelope")),
             env={"LIFESYNC_SALESFORCE_OUTBOUND_SECRET": "sf-outbound-secret",
                  "LIFESYNC_SALESFORCE_ORG_IDS": "00D000000000062, 00D5g000004XyZa"}),
    Receiver("respondio", "/webhooks/respondio", "rio-key-messages",
             (FIXTURES / "respondio" / "webhook_conversation_opened_ctc_ads.json").read_text().encode(),
             sign=_respondio, header="X-Webhook-Signature", reason="X-Webhook-Signature does not match the body",
             garble=lambda body: hmac.new(b"rio-key-messages", body, hashlib.sha256).hexdigest(),  # hex, not base64
             acknowledges=json_ack(1), state=(1, 0, 1), tamper=swap(b"ctc_ads", b"contact"),
             malformed=(NOT_JSON, Malformed("not an object", b"[]", "JSON object"))),
    Receiver("generic", "/webhooks/generic/shop", "shop-secret", json.dumps(SHOP_ORDER).encode(), sign=_generic,
             header="X-Lifesync-Signature", reason="X-Lifesync-Signature does not match the body", reasons=WINDOWED,
             garble=lambda body: "sha256=not-hex", window=WINDOW, acknowledges=json_ack(1), state=(1, 0, 0),
             tamper=swap(b"paid", b"void"), unconfigured="/webhooks/generic/other",
             malformed=(NOT_JSON, Malformed("not objects", b'"text"', "JSON object"))),
)
RECEIVER_ENV = {k: v for r in RECEIVERS for k, v in r.env.items()}
