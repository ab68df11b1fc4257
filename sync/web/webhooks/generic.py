"""``/webhooks/generic/<name>``: signed JSON from booking systems, carts and shops."""

from __future__ import annotations

from typing import Any

from flask import abort, request

from sync.connectors import generic
from sync.web.webhooks.blueprint import bp
from sync.web.webhooks.receive import accept, configured, connection_name, parse_json, raw_body, settings


@bp.post("/generic/<name>")
def generic_events(name: str) -> Any:
    """Events mapped by the endpoint's configured mapping (``LIFESYNC_GENERIC_MAPPING``)."""
    endpoint = connection_name(name)
    conf = configured(generic.GenericSettings, endpoint, "secret", "mapping")
    source, obj = conf.source_object  # a well-formed mapping: endpoint_issues refused the app otherwise
    body = raw_body()
    try:
        generic.verify(conf.secret, body, request.headers.get("X-Lifesync-Signature"),
                       request.headers.get("X-Lifesync-Timestamp"), settings().webhook_tolerance)
    except generic.SignatureError as exc:
        abort(401, description=str(exc))
    try:
        events = generic.split(parse_json(body), source, obj, endpoint, request.headers.get("X-Lifesync-Event-Id"))
    except generic.PayloadError as exc:
        abort(400, description=str(exc))
    return accept(events)
