"""``/webhooks/salesforce[/<connection>[/<secret>]]``: Salesforce Outbound Messages (SOAP).

The shared secret comes from the URL path or, preferably, the basic-auth password (a
secret in the path ends up in access logs). Any rejection is an HTTP error so Salesforce
keeps retrying and nothing is stored; the SOAP Ack is sent only once the notifications
are in the inbox.
"""

from __future__ import annotations

from typing import Any

from flask import Response, abort, jsonify, request

from sync.connectors.salesforce import outbound
from sync.connectors.salesforce.settings import SalesforceSettings
from sync.web.webhooks.blueprint import bp
from sync.web.webhooks.receive import accept, configured, connection_name, raw_body


def _unauthorized(message: str) -> Any:
    # built here rather than through abort(): the JSON error handler drops the challenge header
    return (jsonify(error="Unauthorized", message=message, status=401), 401,
            {"WWW-Authenticate": 'Basic realm="lifesync"'})


@bp.post("/salesforce", defaults={"connection": None, "secret": None})
@bp.post("/salesforce/<connection>", defaults={"secret": None})
@bp.post("/salesforce/<connection>/<secret>")
def salesforce_outbound(connection: str | None, secret: str | None) -> Any:
    """Outbound Message notifications, authenticated by shared secret and organisation id."""
    name = connection_name(connection)
    conf = configured(SalesforceSettings, name, "outbound_secret", "org_ids")
    expected, allowed = conf.outbound_secret, conf.org_ids
    given = secret if secret is not None else (request.authorization.password if request.authorization else None)
    if not outbound.secret_matches(expected, given):
        return _unauthorized("the shared secret (URL path or basic-auth password) is missing or wrong")
    try:
        message = outbound.parse(raw_body())
    except outbound.PayloadError as exc:
        abort(400, description=str(exc))
    if not outbound.org_allowed(message.organization_id, allowed):
        return _unauthorized("the message's OrganizationId is not allowed on this connection")
    accept(outbound.events(message, name))
    return Response(outbound.ACK, status=200, mimetype="text/xml")
