"""``/webhooks/messenger[/<connection>]`` and ``/webhooks/instagram[/<connection>]``: Meta messaging webhooks.

Both follow WhatsApp's scheme: a GET subscription handshake with the connection's verify
token, and POSTs signed with ``X-Hub-Signature-256`` under the connection's app secret.
A delivery whose page (or Instagram account) ids all belong to one connection's
``PAGE_IDS`` is filed under that connection (several pages, one Meta app).
"""

from __future__ import annotations

from typing import Any

from flask import Response, abort, request

from sync.connectors.meta import messenger
from sync.connectors.meta import signature as meta_signature
from sync.connectors.meta.settings import PLATFORMS
from sync.web.webhooks.blueprint import bp
from sync.web.webhooks.receive import accept, configured, connection_name, connection_owning, parse_json, raw_body


def handshake(platform: str, connection: str | None) -> Any:
    """Meta's subscription handshake (WhatsApp, Messenger, Instagram): echo the challenge or 403."""
    name = connection_name(connection)
    verify_token = configured(PLATFORMS[platform], name, "verify_token").verify_token
    challenge = meta_signature.handshake(request.args, verify_token)
    if challenge is None:
        abort(403, description="verify token does not match")
    return Response(challenge, mimetype="text/plain")


def _events(platform: str, connection: str | None) -> Any:
    name = connection_name(connection)
    kind = PLATFORMS[platform]
    secret = configured(kind, name, "app_secret").app_secret
    body = raw_body()
    if not meta_signature.verify(secret, body, request.headers.get("X-Hub-Signature-256")):
        abort(401, description="X-Hub-Signature-256 does not match the body")
    payload = parse_json(body)
    try:
        owner = connection_owning(kind, "page_ids", messenger.account_ids(payload), name) \
            if isinstance(payload, dict) else name
        events = messenger.split(payload, platform, owner)
    except messenger.PayloadError as exc:
        abort(400, description=str(exc))
    return accept(events)


@bp.get("/messenger", defaults={"connection": None})
@bp.get("/messenger/<connection>")
def messenger_handshake(connection: str | None) -> Any:
    """Meta's subscription handshake for a Messenger connection."""
    return handshake("messenger", connection)


@bp.post("/messenger", defaults={"connection": None})
@bp.post("/messenger/<connection>")
def messenger_events(connection: str | None) -> Any:
    """Messenger messages, echoes, postbacks and referrals, verified by ``X-Hub-Signature-256``."""
    return _events("messenger", connection)


@bp.get("/instagram", defaults={"connection": None})
@bp.get("/instagram/<connection>")
def instagram_handshake(connection: str | None) -> Any:
    """Meta's subscription handshake for an Instagram connection."""
    return handshake("instagram", connection)


@bp.post("/instagram", defaults={"connection": None})
@bp.post("/instagram/<connection>")
def instagram_events(connection: str | None) -> Any:
    """Instagram Direct messages, echoes, postbacks and referrals, verified by ``X-Hub-Signature-256``."""
    return _events("instagram", connection)
