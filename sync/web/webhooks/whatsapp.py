"""``/webhooks/whatsapp[/<connection>]``: WhatsApp Cloud API (Meta) webhooks."""

from __future__ import annotations

from typing import Any

from flask import Response, abort, request

from sync.connectors import meta_signature, whatsapp
from sync.web.webhooks import bp
from sync.web.webhooks.receive import accept, connection_name, parse_json, raw_body, required_setting, settings


@bp.get("/whatsapp", defaults={"connection": None})
@bp.get("/whatsapp/<connection>")
def whatsapp_handshake(connection: str | None) -> Any:
    """Meta's subscription handshake: echo the challenge when the verify token matches."""
    name = connection_name(connection)
    challenge = meta_signature.handshake(request.args, required_setting("whatsapp", "verify_token", name))
    if challenge is None:
        abort(403, description="verify token does not match")
    return Response(challenge, mimetype="text/plain")


def _route(payload: dict[str, Any], connection: str) -> str:
    """The connection owning the delivery's phone_number_id (several numbers, one app)."""
    ids = whatsapp.phone_number_ids(payload)
    for name in settings().connections("whatsapp", "phone_number_ids"):
        owned = {p.strip() for p in (settings().connection_setting("whatsapp", "phone_number_ids", name) or "")
                 .split(",") if p.strip()}
        if ids and ids <= owned:
            return name
    return connection


@bp.post("/whatsapp", defaults={"connection": None})
@bp.post("/whatsapp/<connection>")
def whatsapp_events(connection: str | None) -> Any:
    """Messages and statuses, verified by ``X-Hub-Signature-256``."""
    name = connection_name(connection)
    secret = required_setting("whatsapp", "app_secret", name)
    body = raw_body()
    if not meta_signature.verify(secret, body, request.headers.get("X-Hub-Signature-256")):
        abort(401, description="X-Hub-Signature-256 does not match the body")
    payload = parse_json(body)
    try:
        events = whatsapp.split(payload, _route(payload, name) if isinstance(payload, dict) else name)
    except whatsapp.PayloadError as exc:
        abort(400, description=str(exc))
    return accept(events)
