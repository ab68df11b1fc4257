"""What every receiver shares: connection names, secrets, raw bodies, JSON, accepting events."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from typing import Any, TypeVar
from urllib.parse import quote, urlsplit

from flask import abort, current_app, jsonify, request
from werkzeug.exceptions import RequestEntityTooLarge

from sync.connectors import jsonread
from sync.connectors.events import InboundEvent
from sync.errors import SettingsError
from sync.ingest.inbox import store_events
from sync.settings import ConnectionSettings, Settings

_CONNECTION = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
Block = TypeVar("Block", bound=ConnectionSettings)


def settings() -> Settings:
    """The app's settings."""
    return current_app.extensions["lifesync"]["settings"]


def connection_name(connection: str | None) -> str:
    """A valid connection name from the URL (404 for anything else)."""
    name = (connection or "default").lower()
    if not _CONNECTION.match(name):
        abort(404, description="unknown connection")
    return name


def configured(kind: type[Block], connection: str, *required: str) -> Block:
    """A connection's typed settings; 404 when a ``required`` field (a secret) is unset.

    Unset comes first: without the secret there is nothing to verify with, whatever else is set.
    """
    current = settings()
    if not all(kind.is_set(current, name, connection) for name in required):
        abort(404, description=f"no {kind.platform} connection {connection!r} is configured")
    return connection_settings(kind, connection)


def connection_settings(kind: type[Block], connection: str) -> Block:
    """A connection's typed settings (the app refused to start with a malformed one: the 500 is a guard)."""
    try:
        return kind.of(settings(), connection)
    except SettingsError as exc:
        abort(500, description=str(exc))


def connection_owning(kind: type[Block], field: str, ids: set[str], fallback: str) -> str:
    """The connection whose ``field`` (a list of ids) holds every id of a delivery (several accounts, one app)."""
    for name in kind.connections(settings(), field):
        if ids and ids <= set(getattr(connection_settings(kind, name), field)):
            return name
    return fallback


def signed_url(public_base: str | None) -> str:
    """The URL a sender called, as it signed it (Twilio, HubSpot v2/v3).

    Scheme and host are the request's own, or ``public_base`` behind a proxy (scheme, host and
    any path prefix the proxy strips). The path and query string are taken exactly as they
    arrived — ``RAW_URI`` (gunicorn) or ``REQUEST_URI`` (werkzeug) and ``QUERY_STRING`` — since
    the sender signed the escapes it sent: ``request.url`` would decode ``%2F`` or ``%7E``.
    """
    raw = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI")
    if raw:
        path = raw.split("?", 1)[0] if raw.startswith("/") else urlsplit(raw).path  # absolute-form request target
    else:
        path = quote(request.script_root + request.path, safe="/:@!$&'()*+,;=-._~")
    query = request.environ.get("QUERY_STRING", "")
    return (public_base or request.host_url).rstrip("/") + path + (f"?{query}" if query else "")


def raw_body() -> bytes:
    """The body exactly as received (size capped by MAX_CONTENT_LENGTH → 413).

    A body announced by Content-Length is refused before it is read. A chunked one is read up
    to the cap, and werkzeug then stops without a word: one more byte from the server's own
    stream tells a body of exactly the cap from a longer one, which would otherwise be cut
    short and fail its signature (401) instead of being called too large.
    """
    body = request.get_data(cache=True)
    if request.content_length is None:  # chunked (rare): is there more than the cap?
        limit = request.max_content_length
        if limit is not None and len(body) >= limit and request.environ["wsgi.input"].read(1):
            raise RequestEntityTooLarge()
    return body


def parse_json(body: bytes) -> Any:
    """The JSON of a verified body read within ``jsonread``'s limits, or 400 saying what broke where."""
    try:
        return jsonread.loads(body)
    except jsonread.JsonInputError as exc:
        abort(400, description=f"body refused: {exc}")


# delivery headers kept with each event (raw_events.headers): when and how the sender sent it;
# never a signature or a credential
KEPT_HEADERS = ("X-HubSpot-Request-Timestamp", "X-HubSpot-Signature-Version", "I-Twilio-Idempotency-Token",
                "X-Lifesync-Timestamp", "X-Lifesync-Event-Id")
_KEPT_ENVIRON = tuple((name, "HTTP_" + name.upper().replace("-", "_")) for name in KEPT_HEADERS)  # WSGI's keys


def accept(events: Sequence[InboundEvent]) -> Any:
    """Persist events to the inbox (with the delivery's ``KEPT_HEADERS``), queue their processing, answer 200."""
    ext = current_app.extensions["lifesync"]
    environ = request.environ  # read directly: werkzeug's Headers.get costs a microsecond or more a name
    kept = tuple((name, value) for name, key in _KEPT_ENVIRON if (value := environ.get(key)))
    if kept:
        events = [replace(e, headers=e.headers + kept) for e in events]
    ids = store_events(ext["store"], events)
    if ids:
        try:
            ext["enqueue"](ids)
        except Exception:  # stored is what matters: the sweeper re-queues unprocessed events
            current_app.logger.warning("could not enqueue %d stored events; the sweeper will", len(ids))
    return jsonify(received=len(events))
