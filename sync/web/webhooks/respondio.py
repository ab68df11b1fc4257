"""``/webhooks/respondio[/<connection>]``: respond.io webhook events (messages, contacts, conversations)."""

from __future__ import annotations

from typing import Any

from flask import abort, request

from sync.connectors.respondio import webhooks as respondio
from sync.connectors.respondio.settings import RespondioSettings
from sync.store import model
from sync.web.webhooks.blueprint import bp
from sync.web.webhooks.receive import accept, configured, connection_name, parse_json, raw_body


@bp.post("/respondio", defaults={"connection": None})
@bp.post("/respondio/<connection>")
def respondio_events(connection: str | None) -> Any:
    """One event per delivery, verified by ``X-Webhook-Signature`` with any of the connection's keys."""
    name = connection_name(connection)
    keys = list(configured(RespondioSettings, name, "webhook_keys").webhook_keys)
    body = raw_body()
    if not respondio.verify(keys, body, request.headers.get("X-Webhook-Signature")):
        abort(401, description="X-Webhook-Signature does not match the body")
    try:
        events = respondio.split(parse_json(body), model.utcnow(), name)
    except respondio.PayloadError as exc:
        abort(400, description=str(exc))
    return accept(events)
