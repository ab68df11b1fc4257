"""Twilio messaging webhooks (SMS and WhatsApp via Twilio): signatures and inbox events.

Signature: ``X-Twilio-Signature`` is the base64 HMAC (SHA-1 by default, SHA-256 where the
account uses it) keyed with the auth token of the full URL Twilio called, followed by every
POST parameter's name and value in name order (the values of a repeated name sorted too).
Twilio's own validators accept the URL with or without the scheme's default port, so we
do. A JSON body is signed over the URL alone and pinned by the ``bodySHA256`` query
parameter, the SHA-256 hex of the raw body.

An inbound message becomes one event keyed by ``MessageSid`` whose record is the request's
parameters (first value of each name) plus two fields lifesync adds, in lowercase so they
never clash with Twilio's PascalCase names: ``channel`` (``whatsapp`` when ``From`` starts
with ``whatsapp:``, else ``sms``) and ``received_at`` (Twilio sends no message time). A
status callback (``MessageStatus`` other than ``received``) becomes a ``status`` event keyed
by (sid, status), since every status of one message shares its sid.

``TwilioSettings`` holds one connection's settings (``LIFESYNC_TWILIO_*``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit, urlunsplit

from sync.connectors.events import InboundEvent
from sync.connectors.signatures import matches
from sync.settings import URL, ConnectionSettings, Kind, choice, comma_list, matching, setting

SOURCE = "twilio"
ALGORITHMS = {"sha1": hashlib.sha1, "sha256": hashlib.sha256}
_DEFAULT_PORTS = {"https": 443, "http": 80}
_INBOUND = {"", "received", "receiving"}

Params = Sequence[tuple[str, str]]


class PayloadError(ValueError):
    """The verified body is not a Twilio message webhook; the message says what is wrong."""


def signature_base(url: str, params: Params, *, dedupe: bool = False) -> str:
    """The text Twilio signs: the URL, then each name+value in sorted order."""
    grouped: dict[str, list[str]] = {}
    for name, value in params:
        grouped.setdefault(name, []).append(value)
    parts = [url]
    for name in sorted(grouped):
        values = sorted(set(grouped[name])) if dedupe else sorted(grouped[name])
        parts += [name + value for value in values]
    return "".join(parts)


def sign(token: str, url: str, params: Params = (), algorithm: str = "sha1", *, dedupe: bool = False) -> str:
    """The ``X-Twilio-Signature`` Twilio would send for this URL and these parameters."""
    digest = ALGORITHMS[algorithm]
    mac = hmac.new(token.encode(), signature_base(url, params, dedupe=dedupe).encode(), digest)
    return base64.b64encode(mac.digest()).decode()


def url_variants(url: str) -> list[str]:
    """The URL as given, plus the same URL with the scheme's default port added or removed."""
    parts = urlsplit(url)
    default = _DEFAULT_PORTS.get(parts.scheme.lower())
    try:
        port = parts.port
    except ValueError:  # not a number: nothing to add or remove
        return [url]
    userinfo, at, host = parts.netloc.rpartition("@")
    if default is None or not host:
        return [url]
    if port is None:
        netloc = f"{userinfo}{at}{host}:{default}"
    elif port == default:
        netloc = f"{userinfo}{at}{host[: host.rfind(':')]}"
    else:
        return [url]
    return [url, urlunsplit(parts._replace(netloc=netloc))]


def _matches(token: str, urls: Iterable[str], params: Params, signature: str, algorithm: str) -> bool:
    """Constant-time check against every accepted spelling (no early exit on the first miss)."""
    # twilio-python drops repeated identical values of one name; other validators keep them
    spellings = (False, True) if len(set(params)) != len(params) else (False,)
    ok = False
    for url in urls:
        for dedupe in spellings:
            expected = sign(token, url, params, algorithm, dedupe=dedupe)
            ok |= matches(expected, signature)
    return ok


def verify(token: str, url: str, params: Params, signature: str | None, algorithm: str = "sha1") -> bool:
    """True when ``signature`` is Twilio's for a form-encoded POST of ``params`` to ``url``."""
    if not signature or algorithm not in ALGORITHMS:
        return False
    return _matches(token, url_variants(url), params, signature.strip(), algorithm)


def verify_json(token: str, url: str, body: bytes, signature: str | None, algorithm: str = "sha1") -> bool:
    """True when the URL's ``bodySHA256`` pins ``body`` and ``signature`` is Twilio's for the URL."""
    if not signature or algorithm not in ALGORITHMS:
        return False
    pinned = parse_qs(urlsplit(url).query).get("bodySHA256", [""])[0]
    body_ok = matches(hashlib.sha256(body).hexdigest(), pinned.lower())
    return _matches(token, url_variants(url), (), signature.strip(), algorithm) and body_ok


def record_of(params: Params | dict[str, Any], received_at: datetime) -> dict[str, Any]:
    """The record a mapping reads: first value of each parameter, plus ``channel`` and ``received_at``."""
    pairs = params.items() if isinstance(params, dict) else params
    record: dict[str, Any] = {}
    for name, value in pairs:
        record.setdefault(name, value)
    sender = str(record.get("From") or "")
    recipient = str(record.get("To") or "")
    whatsapp = sender.lower().startswith("whatsapp:") or recipient.lower().startswith("whatsapp:")
    record["channel"] = "whatsapp" if whatsapp else "sms"
    record["received_at"] = received_at.isoformat()
    return record


def split(params: Params | dict[str, Any], received_at: datetime, connection: str = "default") -> list[InboundEvent]:
    """The inbox event of one verified delivery; raises PayloadError for a body of the wrong shape."""
    record = record_of(params, received_at)
    sid = record.get("MessageSid") or record.get("SmsSid")
    if not isinstance(sid, str) or not sid.strip():
        raise PayloadError("expected a Twilio message webhook with a MessageSid parameter")
    if not record.get("From") or not record.get("To"):
        raise PayloadError("a Twilio message webhook needs From and To parameters")
    status = str(record.get("MessageStatus") or record.get("SmsStatus") or "").strip().lower()
    if status in _INBOUND:
        return [InboundEvent(SOURCE, "message", sid.strip(), record, connection)]
    return [InboundEvent(SOURCE, "status", f"{sid.strip()}:{status}", record, connection)]


def routing_number(number: str) -> str:
    """A number as routing compares it: lower case, without ``whatsapp:`` (``To`` carries it for WhatsApp)."""
    return number.lower().removeprefix("whatsapp:")


@dataclass(frozen=True)
class TwilioSettings(ConnectionSettings):
    """One Twilio connection: the auth token it verifies with, and the account SID and numbers routed to it.

    The signature algorithm and the public URL are the deployment's: a named connection
    falls back to the default connection's.
    """

    platform: ClassVar[str] = "twilio"

    auth_token: str | None = setting("LIFESYNC_TWILIO_AUTH_TOKEN")
    account_sid: str | None = setting("LIFESYNC_TWILIO_ACCOUNT_SID",
                                      matching(r"AC[0-9a-fA-F]{32}", "AC followed by 32 hexadecimal digits"))
    numbers: tuple[str, ...] = setting("LIFESYNC_TWILIO_NUMBERS", comma_list(Kind(routing_number)))
    signature_algorithm: str = setting("LIFESYNC_TWILIO_SIGNATURE_ALGORITHM", choice(*ALGORITHMS), fallback=True)
    public_url: str | None = setting("LIFESYNC_TWILIO_PUBLIC_URL", URL, fallback=True)
