"""``/webhooks/whatsapp[/<connection>]``: WhatsApp Cloud API (Meta) webhooks."""

from __future__ import annotations

from typing import Any

from flask import abort, request

from sync.connectors.meta import signature as meta_signature
from sync.connectors.meta import whatsapp
from sync.connectors.meta.settings import WhatsAppSettings
from sync.web.webhooks.blueprint import bp
from sync.web.webhooks.meta_pages import handshake
from sync.web.webhooks.receive import accept, configured, connection_name, connection_owning, parse_json, raw_body


@bp.get("/whatsapp", defaults={"connection": None})
@bp.get("/whatsapp/<connection>")
def whatsapp_handshake(connection: str | None) -> Any:
    """Meta's subscription handshake: echo the challenge when the verify token matches."""
    return handshake("whatsapp", connection)


@bp.post("/whatsapp", defaults={"connection": None})
@bp.post("/whatsapp/<connection>")
def whatsapp_events(connection: str | None) -> Any:
    """Messages, statuses and automatic events, verified by ``X-Hub-Signature-256``.

    A body of the wrong shape is 400 with the path that is wrong (``whatsapp.PayloadError``),
    whether routing or splitting finds it; nothing of it is stored.
    """
    name = connection_name(connection)
    secret = configured(WhatsAppSettings, name, "app_secret").app_secret
    body = raw_body()
    if not meta_signature.verify(secret, body, request.headers.get("X-Hub-Signature-256")):
        abort(401, description="X-Hub-Signature-256 does not match the body")
    payload = parse_json(body)
    try:
        owner = connection_owning(WhatsAppSettings, "phone_number_ids", whatsapp.phone_number_ids(payload), name)
        events = whatsapp.split(payload, owner)
    except whatsapp.PayloadError as exc:
        abort(400, description=str(exc))
    return accept(events)
