"""``/webhooks/tiktok[/<connection>]``: TikTok Business Messaging webhooks."""

from __future__ import annotations

from typing import Any

from flask import abort, request

from sync.connectors import tiktok as tiktok_messaging
from sync.web.webhooks.blueprint import bp
from sync.web.webhooks.receive import accept, configured, connection_name, parse_json, raw_body, settings


@bp.post("/tiktok", defaults={"connection": None})
@bp.post("/tiktok/<connection>")
def tiktok_events(connection: str | None) -> Any:
    """Direct messages and their echoes, verified by ``Tiktok-Signature`` within the replay window."""
    name = connection_name(connection)
    secret = configured(tiktok_messaging.TikTokSettings, name, "app_secret").app_secret
    body = raw_body()
    try:
        tiktok_messaging.verify(secret, body, request.headers.get("Tiktok-Signature"), settings().webhook_tolerance)
    except tiktok_messaging.SignatureError as exc:
        abort(401, description=str(exc))
    try:
        events = tiktok_messaging.split(parse_json(body), name)
    except tiktok_messaging.PayloadError as exc:
        abort(400, description=str(exc))
    return accept(events)
