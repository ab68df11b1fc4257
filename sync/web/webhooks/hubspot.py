"""``/webhooks/hubspot[/<connection>]``: HubSpot webhook deliveries (signature v1, v2 or v3)."""

from __future__ import annotations

from typing import Any

from flask import abort, request

from sync.connectors.hubspot import webhooks as hubspot
from sync.connectors.hubspot.settings import HubSpotSettings
from sync.web.webhooks.blueprint import bp
from sync.web.webhooks.receive import (
    accept,
    configured,
    connection_name,
    connection_settings,
    parse_json,
    raw_body,
    settings,
    signed_url,
)


def signed_uri(connection: str) -> str:
    """The URL HubSpot called, query string included, as signed (``LIFESYNC_HUBSPOT_PUBLIC_URL`` behind a proxy)."""
    return signed_url(connection_settings(HubSpotSettings, connection).public_url)


@bp.post("/hubspot", defaults={"connection": None})
@bp.post("/hubspot/<connection>")
def hubspot_events(connection: str | None) -> Any:
    """A batch of CRM events, verified by its HubSpot signature."""
    name = connection_name(connection)
    conf = configured(HubSpotSettings, name, "client_secret")
    body = raw_body()
    headers = request.headers
    try:
        hubspot.verify(conf.client_secret, request.method, signed_uri(name), body,
                       signature_v3=headers.get("X-HubSpot-Signature-v3"),
                       timestamp=headers.get("X-HubSpot-Request-Timestamp"),
                       signature=headers.get("X-HubSpot-Signature"),
                       version=headers.get("X-HubSpot-Signature-Version"),
                       tolerance=settings().webhook_tolerance, accepted=conf.signature_versions)
    except hubspot.SignatureError as exc:
        abort(401, description=str(exc))
    try:
        events = hubspot.split(parse_json(body), name)
    except hubspot.PayloadError as exc:
        abort(400, description=str(exc))
    return accept(events)
