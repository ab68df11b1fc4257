"""A local emulator of the Data Manager API's ``events:ingest`` and ``requestStatus:retrieve``, in memory.

Served by the Google sandbox app (``google_ads.create_app``) for the same account: the customer
``GoogleAdsSandbox.CUSTOMER_ID`` (its manager ``MANAGER_ID`` may log in), the conversion actions
``CONVERSION_ACTIONS`` as product destinations, the bearer token ``ACCESS_TOKEN``; accepted
events go to the sandbox's ``accepted`` list (with their ``productDestinationId`` and
``requestId``), like the Ads API's conversions.

Fast-fail, as Google does (https://developers.google.com/data-manager/api/devguides/concepts/
understand-errors): one invalid record refuses the whole request, 400 INVALID_ARGUMENT with an
``ErrorInfo`` reason and a field violation per bad field, nothing recorded:

* the JSON parser (``google_data_manager_parse``): unknown fields, types, enum values, oneofs;
* destinations: 1..10 (TOO_MANY_DESTINATIONS), unique references (DUPLICATE_DESTINATION_REFERENCE),
  a Google Ads operating account that is ours (else 403 PERMISSION_DENIED, as is a login account
  that is neither the account nor its manager), a ``productDestinationId`` that is one of the
  account's conversion actions (INVALID_CONVERSION_ACTION_ID);
* events: 1..2,000 (TOO_MANY_EVENTS, IngestEventsRequest.events "At most 2000"), an
  ``eventTimestamp`` in RFC 3339 not in the future (EVENT_TIME_INVALID), references naming a
  destination of the request (INVALID_DESTINATION), an ad identifier or a user identifier
  (NO_IDENTIFIERS_PROVIDED), ≤ 10 user identifiers (TOO_MANY_USER_IDENTIFIERS), hashes shaped
  as the request's ``encoding`` says (``encoding`` is required with user data;
  INVALID_HEX_ENCODING / INVALID_BASE64_ENCODING / INVALID_SHA256_FORMAT), addresses with all of
  given and family name, region code (INVALID_COUNTRY_CODE) and postal code
  (INVALID_POSTAL_CODE), a 3-letter currency (INVALID_CURRENCY_CODE).

What Google finds later is in the request's status (``requestStatus:retrieve``, per destination,
as ``RetrieveRequestStatusResponse``), not in the answer: an event older than the 90-day click
window (PROCESSING_ERROR_REASON_EVENT_TOO_OLD, https://support.google.com/google-ads/answer/13321563),
a transaction id already recorded for the action (…_DUPLICATE_TRANSACTION_ID; kept in
``duplicate_events``), a malformed or several click ids (…_INVALID_GCLID / GBRAID / WBRAID,
…_INVALID_AD_IDENTIFIERS). ``validateOnly`` validates and records nothing (no request id, no
status). Auth: a bearer token, else 401 UNAUTHENTICATED in Google's words; rate limit: 429
RESOURCE_EXHAUSTED with a ``RetryInfo``.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from flask import Flask, Response, g, request

from sync.sandbox.ads.common import json_response, looks_hashed, request_json
from sync.sandbox.ads.google_data_manager_parse import DataManagerError, Violation, invalid, parse

if TYPE_CHECKING:
    from sync.sandbox.ads.google_ads import GoogleAdsSandbox
    from sync.sandbox.faults import Fault

PREFIX = "/v1/"
MAX_EVENTS, MAX_DESTINATIONS, MAX_IDENTIFIERS = 2000, 10, 10
MAX_AGE = 90 * 86_400
FUTURE_SLACK = 60
CLICK_IDS = ("gclid", "gbraid", "wbraid")
CLICK_ID = re.compile(r"[A-Za-z0-9_\-.]{1,512}")
HEX = re.compile(r"[0-9a-fA-F]+")
REGION = re.compile(r"[A-Z]{2}")
CURRENCY = re.compile(r"[A-Z]{3}")
AUTH_HELP = ("Expected OAuth 2 access token, login cookie or other valid authentication credential. See "
             "https://developers.google.com/identity/sign-in/web/devconsole-project.")


def _request_id(index: int) -> str:
    return f"dm-sandbox-{index:08d}"


def authorize(sandbox: GoogleAdsSandbox) -> None:
    """The bearer token, refused in Google's words (``CREDENTIALS_MISSING`` / ``ACCESS_TOKEN_TYPE_UNSUPPORTED``)."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise DataManagerError(401, f"Request is missing required authentication credential. {AUTH_HELP}",
                               "CREDENTIALS_MISSING", domain="googleapis.com")
    if token.strip() != sandbox.ACCESS_TOKEN:
        raise DataManagerError(401, f"Request had invalid authentication credentials. {AUTH_HELP}",
                               "ACCESS_TOKEN_TYPE_UNSUPPORTED", domain="googleapis.com")
    if not sandbox.rate.admit():
        raise throttled(sandbox)


def throttled(sandbox: GoogleAdsSandbox, retry_after: float | None = None) -> DataManagerError:
    """429 RESOURCE_EXHAUSTED with a ``RetryInfo``."""
    delay = max(1, round(retry_after if retry_after is not None else sandbox.rate.retry_after()))
    return DataManagerError(429, "Resource has been exhausted (e.g. check quota).", "RATE_LIMIT_EXCEEDED",
                            domain="googleapis.com", retry_delay=delay)


def fault_error(sandbox: GoogleAdsSandbox, fault: Fault) -> DataManagerError:
    """An injected fault as the Data Manager API would answer it."""
    if fault.status == 429:
        return throttled(sandbox, fault.retry_after if fault.retry_after is not None else 30.0)
    if fault.status >= 500:
        reason = "DEADLINE_EXCEEDED" if fault.status == 504 else "INTERNAL_ERROR"
        return DataManagerError(fault.status, "The service is currently unavailable." if fault.status == 503
                                else "Internal error encountered.", reason)
    return DataManagerError(fault.status, f"Sandbox {fault.reason} ({fault.status}).", "INVALID_ARGUMENT")


def check_accounts(sandbox: GoogleAdsSandbox, destinations: list[dict[str, Any]]) -> None:
    """Each destination's operating account is the sandbox's Google Ads account; a login account, it or its manager."""
    for index, dest in enumerate(destinations):
        operating = dest.get("operatingAccount")
        where = f"destinations[{index}]"
        if not operating or not operating.get("accountId"):
            raise invalid([(f"{where}.operating_account", "The operating account is required.",
                            "REQUIRED_FIELD_MISSING")])
        kinds = {operating.get("accountType"), operating.get("product")} - {None}
        if kinds != {"GOOGLE_ADS"}:
            raise invalid([(f"{where}.operating_account.account_type", "The sandbox serves a Google Ads account: "
                            "accountType must be GOOGLE_ADS.", "INVALID_DESTINATION")])
        login = (dest.get("loginAccount") or {}).get("accountId")
        allowed = (None, sandbox.CUSTOMER_ID, sandbox.MANAGER_ID)
        if operating["accountId"] != sandbox.CUSTOMER_ID or login not in allowed:
            raise DataManagerError(403, "The caller does not have permission", "PERMISSION_DENIED")


def _destinations(sandbox: GoogleAdsSandbox, destinations: list[dict[str, Any]]) -> list[Violation]:
    bad: list[Violation] = []
    seen: set[str] = set()
    actions = set(sandbox.CONVERSION_ACTIONS.values())
    for index, dest in enumerate(destinations):
        where = f"destinations[{index}]"
        reference = dest.get("reference", "")
        if reference in seen:
            bad.append((f"{where}.reference", "Destination references must be unique.",
                        "DUPLICATE_DESTINATION_REFERENCE"))
        seen.add(reference)
        if dest.get("productDestinationId") not in actions:
            bad.append((f"{where}.product_destination_id", "The conversion action ID is not valid.",
                        "INVALID_CONVERSION_ACTION_ID"))
    return bad


def _hash_problem(value: str, encoding: str) -> str | None:
    """The ErrorReason of a hashed value that is not a SHA-256 digest in ``encoding``, or None."""
    if encoding == "BASE64":
        try:
            raw = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            return "INVALID_BASE64_ENCODING"
    else:
        if not HEX.fullmatch(value) or len(value) % 2:
            return "INVALID_HEX_ENCODING"
        raw = bytes.fromhex(value)
    return None if len(raw) == 32 else "INVALID_SHA256_FORMAT"


def identifier_problems(identifier: dict[str, Any], encoding: str, where: str) -> list[Violation]:
    bad: list[Violation] = []
    hashed = {k: v for k, v in identifier.items() if k in ("emailAddress", "phoneNumber")}
    address = identifier.get("address")
    if address is not None:
        for name in ("givenName", "familyName", "regionCode", "postalCode"):
            if not address.get(name):
                bad.append((f"{where}.address", f"The address needs {name}.", "REQUIRED_FIELD_MISSING"))
        hashed.update({f"address.{k}": v for k, v in address.items() if k in ("givenName", "familyName") and v})
        if address.get("regionCode") and not REGION.fullmatch(address["regionCode"]):
            bad.append((f"{where}.address.region_code", "The region code must be ISO-3166-1 alpha-2.",
                        "INVALID_COUNTRY_CODE"))
        if address.get("postalCode") is not None and not address["postalCode"].strip():
            bad.append((f"{where}.address.postal_code", "Postal code is not valid.", "INVALID_POSTAL_CODE"))
    for name, value in hashed.items():
        reason = _hash_problem(value, encoding)
        if reason:
            bad.append((f"{where}.{name}", f"The value is not a SHA-256 digest in {encoding} encoding.", reason))
    return bad


def _event_problems(event: dict[str, Any], index: int, references: set[str], encoding: str,
                    now: float) -> list[Violation]:
    where = f"events[{index}]"
    bad: list[Violation] = []
    when = _instant(event.get("eventTimestamp"))
    if when is None:
        bad.append((f"{where}.event_timestamp", "The event timestamp is required, in RFC 3339.", "EVENT_TIME_INVALID"))
    elif when > now + FUTURE_SLACK:
        bad.append((f"{where}.event_timestamp", "The event timestamp is in the future.", "EVENT_TIME_INVALID"))
    for ref in event.get("destinationReferences", []):
        if ref not in references:
            bad.append((f"{where}.destination_references", f"No destination of the request has the reference "
                                                           f"{ref!r}.", "INVALID_DESTINATION"))
    identifiers = (event.get("userData") or {}).get("userIdentifiers", [])
    clicks = [c for c in CLICK_IDS if (event.get("adIdentifiers") or {}).get(c)]
    if not clicks and not identifiers:
        bad.append((where, "The event has no ad identifier and no user identifier.", "NO_IDENTIFIERS_PROVIDED"))
    if len(identifiers) > MAX_IDENTIFIERS:
        bad.append((f"{where}.user_data.user_identifiers", f"At most {MAX_IDENTIFIERS} user identifiers.",
                    "TOO_MANY_USER_IDENTIFIERS"))
    if identifiers and encoding not in ("HEX", "BASE64"):
        bad.append(("encoding", "The encoding is required with user data.", "REQUIRED_FIELD_MISSING"))
    else:
        for position, identifier in enumerate(identifiers):
            bad += identifier_problems(identifier, encoding, f"{where}.user_data.user_identifiers[{position}]")
    currency = event.get("currency")
    if currency is not None and not CURRENCY.fullmatch(currency):
        bad.append((f"{where}.currency", "The currency code is not valid.", "INVALID_CURRENCY_CODE"))
    if event.get("conversionValue", 0) < 0:
        bad.append((f"{where}.conversion_value", "The conversion value must not be negative.", "INVALID_ARGUMENT"))
    return bad


def _instant(text: Any) -> float | None:
    if not isinstance(text, str) or "T" not in text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def _processing_error(sandbox: GoogleAdsSandbox, event: dict[str, Any], now: float) -> str | None:
    """What Google finds while processing an accepted event (its ProcessingErrorReason), or None."""
    when = _instant(event["eventTimestamp"])
    if when is not None and now - when > MAX_AGE:
        return "PROCESSING_ERROR_REASON_EVENT_TOO_OLD"
    ads = event.get("adIdentifiers") or {}
    clicks = [c for c in CLICK_IDS if ads.get(c)]
    if len(clicks) > 1:
        return "PROCESSING_ERROR_REASON_INVALID_AD_IDENTIFIERS"
    for name in clicks:
        if not CLICK_ID.fullmatch(ads[name]) or looks_hashed(ads[name]):
            return f"PROCESSING_ERROR_REASON_INVALID_{name.upper()}"
    return None


def ingest(sandbox: GoogleAdsSandbox, body: dict[str, Any], request_index: int) -> dict[str, Any]:
    """Validate the request (fast fail), then process and record its events; returns Google's response."""
    destinations, events = body.get("destinations", []), body.get("events", [])
    if not destinations:
        raise invalid([("destinations", "At least one destination is required.", "REQUIRED_FIELD_MISSING")])
    if len(destinations) > MAX_DESTINATIONS:
        raise invalid([("destinations", f"At most {MAX_DESTINATIONS} destinations.", "TOO_MANY_DESTINATIONS")])
    if not events:
        raise invalid([("events", "At least one event is required.", "REQUIRED_FIELD_MISSING")])
    if len(events) > MAX_EVENTS:
        raise invalid([("events", f"Too many events: at most {MAX_EVENTS} in one request.", "TOO_MANY_EVENTS")])
    check_accounts(sandbox, destinations)
    now, encoding = sandbox.clock(), body.get("encoding", "ENCODING_UNSPECIFIED")
    references = {d.get("reference", "") for d in destinations}
    bad = _destinations(sandbox, destinations)
    for index, event in enumerate(events):
        bad += _event_problems(event, index, references, encoding, now)
    if bad:
        raise invalid(bad)
    if body.get("validateOnly"):
        return {}
    request_id = _request_id(request_index)
    sandbox.request_statuses[request_id] = _process(sandbox, destinations, events, request_id, now)
    return {"requestId": request_id}


def _process(sandbox: GoogleAdsSandbox, destinations: list[dict[str, Any]], events: list[dict[str, Any]],
             request_id: str, now: float) -> list[dict[str, Any]]:
    statuses = []
    for dest in destinations:
        mine = [e for e in events if not e.get("destinationReferences")
                or dest.get("reference", "") in e["destinationReferences"]]
        errors: Counter[str] = Counter()
        for event in mine:
            action = dest["productDestinationId"]
            error = _processing_error(sandbox, event, now)
            key = ("transaction", action, event.get("transactionId")) if event.get("transactionId") else None
            copy = {**event, "productDestinationId": action, "requestId": request_id}
            if error is None and key is not None and sandbox.ledger.contains(key, now):
                if _restates(sandbox, key, copy):
                    continue
                error = "PROCESSING_ERROR_REASON_DUPLICATE_TRANSACTION_ID"
                sandbox.duplicate_events.append({"request": g.request_index, **copy, "error": error})
            if error is not None:
                errors[error] += 1
                sandbox.rejected_events += error != "PROCESSING_ERROR_REASON_DUPLICATE_TRANSACTION_ID"
                continue
            if sandbox.deliver(copy, key, g.request_index) and key is not None:
                sandbox.transactions[key] = sandbox.accepted[-1]  # what a restatement overwrites
        state = "SUCCESS" if not errors else "FAILED" if sum(errors.values()) == len(mine) else "PARTIAL_SUCCESS"
        status: dict[str, Any] = {"destination": dest, "requestStatus": state,
                                  "eventsIngestionStatus": {"recordCount": str(len(mine))}}
        if errors:
            status["errorInfo"] = {"errorCounts": [{"recordCount": str(n), "reason": reason}
                                                   for reason, n in sorted(errors.items())]}
        statuses.append(status)
    return statuses


def _restates(sandbox: GoogleAdsSandbox, key: tuple[str, str, str], event: dict[str, Any]) -> bool:
    """True when ``event`` restates the conversion recorded under ``key``: a new value or currency, same transaction.

    "If the transactionId matches an existing conversion for the same conversion action, Data Manager API
    treats the request as a conversion adjustment": ``conversionValue`` and ``currency`` are overwritten, every
    other field keeps what was recorded
    (https://developers.google.com/data-manager/api/devguides/events/google-ads/conversion-adjustments). The
    same event sent again changes nothing and is the duplicate Google's status reports
    (PROCESSING_ERROR_REASON_DUPLICATE_TRANSACTION_ID: "A conversion with the same order id and conversion
    action combination was already uploaded").
    """
    recorded = sandbox.transactions.get(key)
    if recorded is None:
        return False
    new = (event.get("conversionValue"), event.get("currency"))
    if new == (recorded.get("conversionValue"), recorded.get("currency")):
        return False
    recorded["conversionValue"], recorded["currency"] = new
    sandbox.restatements.append({"request": g.request_index, **event})
    return True


def serve_json(sandbox: GoogleAdsSandbox, work: Callable[[Any], dict[str, Any]], records: str) -> Response:
    """``work`` on the request's JSON body (``{}`` when empty), authorised, under the lock; Google's answer.

    A refusal counts the request and the items of its ``records`` field as rejected.
    """
    try:
        raw, malformed = request_json(), False
    except ValueError:
        raw, malformed = None, True
    with sandbox.lock:
        try:
            authorize(sandbox)
            if malformed:
                raise invalid([("", "Invalid JSON payload received. Unexpected token.", "INVALID_ARGUMENT")])
            answer = work(raw if raw is not None else {})
        except DataManagerError:
            items = raw.get(records) if isinstance(raw, dict) else None
            sandbox.reject(len(items) if isinstance(items, list) else 0)
            raise
    return json_response(200, answer)


def register(app: Flask, sandbox: GoogleAdsSandbox) -> None:
    """Serve ``/v1/events:ingest`` and ``/v1/requestStatus:retrieve`` on the Google sandbox app."""

    @app.errorhandler(DataManagerError)
    def data_manager_error(error: DataManagerError) -> Response:
        return json_response(error.status, error.body(_request_id(g.get("request_index", 0))))

    @app.post("/v1/events:ingest")
    def ingest_events() -> Response:
        return serve_json(sandbox, lambda raw: ingest(sandbox, parse(raw), g.request_index), "events")

    @app.get("/v1/requestStatus:retrieve")
    def retrieve_status() -> Response:
        """``RetrieveRequestStatusResponse``: the request's status per destination, in the request's order."""
        with sandbox.lock:
            authorize(sandbox)
            request_id = request.args.get("requestId") or request.args.get("request_id")
            if not request_id:
                raise invalid([("request_id", "The request ID is required.", "REQUIRED_FIELD_MISSING")])
            found = sandbox.request_statuses.get(request_id)
            if found is None:
                raise invalid([("request_id", f"No request {request_id!r} is known.", "INVALID_REQUEST_ID")])
        return json_response(200, {"requestStatusPerDestination": found})
