"""``/webhooks/hubspot[/<connection>]``: HubSpot webhook deliveries (signature v1, v2 or v3)."""

from __future__ import annotations

from typing import Any

from flask import abort, request

from sync.connectors.hubspot import webhooks as hubspot
from sync.web.webhooks.blueprint import bp
from sync.web.webhooks.receive import (
    accept,
    connection_name,
    parse_json,
    raw_body,
    required_setting,
    settings,
    signed_url,
)


def signed_uri(connection: str) -> str:
    """The URL HubSpot called, query string included, as signed (``LIFESYNC_HUBSPOT_PUBLIC_URL`` behind a proxy)."""
    return signed_url(_setting("public_url", connection))


def _setting(name: str, connection: str) -> str | None:
    """A connection's own value, else the default connection's (one app, one proxy, several portals)."""
    return settings().connection_setting("hubspot", name, connection) or settings().connection_setting("hubspot", name)


def _accepted(connection: str) -> set[str]:
    raw = _setting("signature_versions", connection) or ",".join(hubspot.VERSIONS)
    return {v.strip().lower() for v in raw.split(",") if v.strip()}


@bp.post("/hubspot", defaults={"connection": None})
@bp.post("/hubspot/<connection>")
def hubspot_events(connection: str | None) -> Any:
    """A batch of CRM events, verified by its HubSpot signature."""
    name = connection_name(connection)
    secret = required_setting("hubspot", "client_secret", name)
    body = raw_body()
    headers = request.headers
    try:
        hubspot.verify(secret, request.method, signed_uri(name), body,
                       signature_v3=headers.get("X-HubSpot-Signature-v3"),
                       timestamp=headers.get("X-HubSpot-Request-Timestamp"),
                       signature=headers.get("X-HubSpot-Signature"),
                       version=headers.get("X-HubSpot-Signature-Version"),
                       tolerance=settings().webhook_tolerance, accepted=_accepted(name))
    except hubspot.SignatureError as exc:
        abort(401, description=str(exc))
    try:
        events = hubspot.split(parse_json(body), name)
    except hubspot.PayloadError as exc:
        abort(400, description=str(exc))
    return accept(events)
