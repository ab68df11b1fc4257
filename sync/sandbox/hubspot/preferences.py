"""HubSpot communication preferences in the sandbox: unsubscribe an e-mail address from all e-mail.

``POST /communication-preferences/{version}/statuses/{subscriberIdString}/unsubscribe-all?channel=EMAIL``
for the dated versions that exist (``VERSIONS``: 2026-03, 2026-09; any other is HubSpot's 404), behind the
app's bearer-token gate. Rules:

* the app needs the scope ``communication_preferences.statuses.write`` (``sandbox.granted_scopes``, a knob):
  without it HubSpot's 403 ``MISSING_SCOPES``, naming the scope;
* ``channel`` is required and must be ``EMAIL`` (400 ``VALIDATION_ERROR``); the subscriber must be an
  e-mail address (400);
* the address is recorded as unsubscribed from all e-mail (``sandbox.unsubscribed``) whether or not a contact
  has it — assumed: HubSpot keeps an opt-out for an address it has no contact for, so a contact created
  later with it is already opted out (as its GDPR delete blocklists an unknown address);
* a live contact with that e-mail gets ``hs_email_optout`` ``"true"`` and a new modification time, so the
  next pull sees it;
* the answer, shaped as v4's ``ActionResponseWithResultsPublicWideStatus``: ``{status: "COMPLETE",
  results: [{subscriberIdString, channel, status: "UNSUBSCRIBED", wideStatusType: "PORTAL_WIDE",
  timestamp, businessUnitId}], startedAt, completedAt}``.

The dated single-address path is assumed to mirror v4's (``sync.connectors.hubspot.preferences`` says
what is documented); hubspot-api-client 12.0.0 has only the v3 status API, so it is no oracle here.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING

from flask import Flask, Response, request

from sync.sandbox.hubspot.errors import ApiError, error_body, validation_error
from sync.sandbox.hubspot.records import iso

if TYPE_CHECKING:
    from sync.sandbox.hubspot.sandbox import HubSpotSandbox

VERSIONS = ("2026-03", "2026-09")
WRITE_SCOPE = "communication_preferences.statuses.write"
CHANNELS = ("EMAIL",)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def missing_scopes(*scopes: str) -> ApiError:
    """HubSpot's 403 for a token whose app lacks a scope the call needs."""
    return ApiError(403, error_body(
        "This app hasn't been granted all required scopes to make this call. Read more about required scopes "
        "here: https://developers.hubspot.com/scopes.", "MISSING_SCOPES",
        errors=[{"message": "One or more of the following scopes are required.",
                 "context": {"requiredGranularScopes": list(scopes)}}],
        links={"scopes": "https://developers.hubspot.com/scopes"}))


def register(app: Flask, sandbox: HubSpotSandbox) -> None:
    """Add the communication preferences routes to the HubSpot sandbox's app."""

    @app.post("/communication-preferences/<version>/statuses/<subscriber>/unsubscribe-all")
    def unsubscribe_all(version: str, subscriber: str) -> Response:
        if version not in VERSIONS:
            raise ApiError(404, error_body("Resource not found", "OBJECT_NOT_FOUND"))
        if WRITE_SCOPE not in sandbox.granted_scopes:
            raise missing_scopes(WRITE_SCOPE)
        channel = request.args.get("channel")
        if channel is None:
            raise validation_error("channel is required (query parameter): expected EMAIL")
        if channel not in CHANNELS:
            raise validation_error(f"Invalid channel {channel!r}: expected one of {', '.join(CHANNELS)}")
        address = subscriber.strip().lower()
        if not _EMAIL.match(address):
            raise validation_error(f"Invalid subscriberIdString {subscriber!r}: expected an email address")
        with sandbox.lock:
            now = sandbox.now_ms()
            sandbox.unsubscribed.setdefault(address, set()).add(channel)
            table = sandbox.table("contacts")
            record = table.by_email(address)
            if record is not None and record.props.get("hs_email_optout") != "true":
                record.props["hs_email_optout"] = "true"
                record.updated_ms = now
                table.changed(record, record.props.get("email"))
            result = {"subscriberIdString": address, "channel": channel, "status": "UNSUBSCRIBED",
                      "wideStatusType": "PORTAL_WIDE", "timestamp": iso(now), "businessUnitId": 0}
            body = {"status": "COMPLETE", "results": [result], "startedAt": iso(now), "completedAt": iso(now)}
        return Response(json.dumps(body, separators=(",", ":")), status=200, mimetype="application/json")
