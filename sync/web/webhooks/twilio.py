"""``/webhooks/twilio[/<connection>]``: inbound SMS and WhatsApp messages (and status callbacks) from Twilio."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from flask import Response, abort, request

from sync.connectors import jsonread, twilio
from sync.store import model
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

# Twilio wants TwiML (or nothing) back; an empty <Response/> sends no reply to the sender
_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
_MAX_FIELDS = 1000


def _form_params(body: bytes) -> list[tuple[str, str]] | None:
    """The POST parameters in order, or None when the body is not UTF-8 form data."""
    try:
        return parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False,
                         max_num_fields=_MAX_FIELDS)
    except (UnicodeDecodeError, ValueError):
        return None


def _json_fields(body: bytes) -> dict[str, Any]:
    """Top-level fields of a JSON body, only to route it (verification decides if they count)."""
    try:
        payload = jsonread.loads(body)
    except jsonread.JsonInputError:
        return {}
    return payload if isinstance(payload, dict) else {}


def _route(fields: dict[str, Any]) -> str:
    """The connection whose account SID and numbers match the delivery (``default`` if none does).

    Only chooses which auth token to verify with: a delivery claiming another connection's
    account still has to carry that connection's signature.
    """
    account, to = str(fields.get("AccountSid") or ""), twilio.routing_number(str(fields.get("To") or ""))
    for name in twilio.TwilioSettings.connections(settings(), "auth_token"):
        conf = connection_settings(twilio.TwilioSettings, name)
        sid, numbers = conf.account_sid, set(conf.numbers)
        if (sid or numbers) and (not sid or sid == account) and (not numbers or to in numbers):
            return name
    return "default"


@bp.post("/twilio", defaults={"connection": None})
@bp.post("/twilio/<connection>")
def twilio_messages(connection: str | None) -> Any:
    """Messages verified by ``X-Twilio-Signature`` (form-encoded, or JSON pinned by ``bodySHA256``)."""
    body = raw_body()
    is_json = "bodySHA256" in request.args
    params = None if is_json else _form_params(body)
    name = connection_name(connection) if connection else _route(_json_fields(body) if is_json else dict(params or []))
    conf = configured(twilio.TwilioSettings, name, "auth_token")
    token, algorithm = conf.auth_token, conf.signature_algorithm
    # behind a proxy, LIFESYNC_TWILIO_PUBLIC_URL: the URL Twilio called and signed
    url, signature = signed_url(conf.public_url), request.headers.get("X-Twilio-Signature")
    if is_json:
        ok = twilio.verify_json(token, url, body, signature, algorithm)
    else:
        ok = params is not None and twilio.verify(token, url, params, signature, algorithm)
    if not ok:
        abort(401, description="X-Twilio-Signature does not match the URL and parameters")
    if is_json:
        payload = parse_json(body)
        if not isinstance(payload, dict):
            abort(400, description="expected a JSON object of Twilio message parameters")
        fields: Any = payload
    else:
        fields = params
    try:
        events = twilio.split(fields, model.utcnow(), name)
    except twilio.PayloadError as exc:
        abort(400, description=str(exc))
    accept(events)
    return Response(_TWIML, mimetype="text/xml")
