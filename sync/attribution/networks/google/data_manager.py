"""Google's default transport: offline conversions through the Data Manager API (``POST /v1/events:ingest``).

Google directs offline conversions and enhanced conversions for leads here
(https://developers.google.com/data-manager/api/devguides/events/google-ads/offline): OAuth
with the scope ``https://www.googleapis.com/auth/datamanager``, no developer token.

``event`` turns facts into one ``Event`` (REST JSON, camelCase; reusable by anything that sends
the same conversion again, e.g. a restatement with a new ``conversionValue``):

* ``destinationReferences``: the id of the conversion action of its kind
  (``dest.conversion_actions[kind]``); the request carries one ``Destination`` per action, its
  ``reference`` and ``productDestinationId`` both that id, so one request holds every kind
  (https://developers.google.com/data-manager/api/devguides/events/send-events, "destination
  references");
* ``adIdentifiers``: the click id of the last Google touch (gclid, else gbraid, else wbraid);
* ``userData.userIdentifiers`` (≤ 10): hashed e-mails, phones and, with names, country and postal
  code all known, one ``address``; hex SHA-256 (the request's ``encoding`` is ``HEX``), left out
  when the contact denied ``ad_user_data``;
* ``eventTimestamp`` RFC 3339 UTC; ``transactionId`` the order id, else the conversion's
  ``event_id`` (stable: Google de-duplicates on it, adjustments name it);
* ``conversionValue`` and ``currency``; ``eventSource`` ``OTHER`` (a CRM's record, neither a web
  page, an app, a store nor a call); ``consent`` CONSENT_GRANTED / CONSENT_DENIED per field, left
  out when unknown; ``adPersonalization`` CONSENT_DENIED when the privacy policy says ``restricted``
  (``sync.attribution.policy``), and no ``userData`` when it says ``strip``.

``Sender`` POSTs ≤ 2,000 events (and ≤ 10 destinations) a request, with ``validateOnly`` for a
dry run. Google fails a request fast: one bad event refuses all of it
(https://developers.google.com/data-manager/api/devguides/concepts/understand-errors), with a
``google.rpc.BadRequest`` whose field violations name ``events[i]`` — those events fail with
Google's words and the rest are sent again — or ``destinations[k]`` — every event of that
conversion action fails. The ``requestId`` of an accepted request goes into each event's
delivery response; ``diagnose`` reads its asynchronous status (``requestStatus:retrieve``) later
(``sync.attribution.diagnostics``). ``check`` sends one ``validateOnly`` request.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from functools import partial
from typing import Any

import requests

from sync.attribution.delivery import BatchSender, VendorError, json_body, result_for_error, vendor_text
from sync.attribution.destination import (
    MAX_FUTURE,
    BuiltEvent,
    DestinationConfig,
    EventResult,
    NormalizeCache,
    currency_code,
    now_utc,
    require_purchase_value,
    utc,
    value_problem,
)
from sync.attribution.facts import ContactFacts, ConversionFacts, TouchpointFacts
from sync.attribution.network import Adjusts, Network
from sync.attribution.networks.google.adjustments import DATA_MANAGER_NO_RETRACTION, data_manager_restatement
from sync.attribution.networks.google.common import (
    CLICK_WINDOW_DAYS,
    EVENT_NAMES,
    NAME,
    SETTINGS_PLATFORM,
    TOUCHES,
    USER_DATA,
    action_id,
    configure,
    consent,
    customer_id,
)
from sync.attribution.networks.google.versions import DATA_MANAGER
from sync.attribution.touch import attributed, click_id
from sync.errors import AuthError, RateLimited, SyncError, TransientError, ValidationError
from sync.http import Action, Rule, join_url

VENDOR = "Google Data Manager API"
INGEST = "events:ingest"
STATUS = "requestStatus:retrieve"
MAX_EVENTS = 2000  # IngestEventsRequest.events: "At most 2000 Event resources can be sent in a single request"
MAX_DESTINATIONS = 10  # ErrorReason TOO_MANY_DESTINATIONS: "Maximum number of destinations allowed per request is 10"
MAX_IDENTIFIERS = 10  # UserData.user_identifiers: "At most 10 userIdentifiers"
EVENT_SOURCE = "OTHER"
_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z")
_HEX64 = re.compile(r"[0-9a-f]{64}")
_LOCATED = re.compile(r"(events|destinations)\[(\d+)\]")

# Google's ErrorInfo reasons (and google.rpc codes) as rows of the HTTP table; the rest stand as the HTTP table says.
CODES: dict[str, Rule] = {
    "RESOURCE_EXHAUSTED": Rule(Action.RATE_LIMITED, RateLimited, "quota exhausted"),
    "UNAUTHENTICATED": Rule(Action.AUTH, AuthError, "the OAuth token was refused (it needs the datamanager scope)"),
    "PERMISSION_DENIED": Rule(Action.FAIL, AuthError, "the credentials may not send data to this account"),
    "INTERNAL_ERROR": Rule(Action.RETRY, TransientError, "a temporary error"),
    "DEADLINE_EXCEEDED": Rule(Action.RETRY, TransientError, "a temporary error"),
}


def user_identifiers(contact: ContactFacts, dest: DestinationConfig, cache: NormalizeCache) -> list[dict[str, Any]]:
    """The contact's hashed e-mails, phones and (all four parts known) address; none when it denied ad_user_data.

    Also Customer Match's ``UserData`` (``sync.segments.destinations.google_customer_match``).
    """
    if contact.consent.get("ad_user_data") is False:
        return []
    region = cache.region(USER_DATA, contact, dest)
    found: dict[str, dict[str, Any]] = {}
    for email in contact.emails:
        if digest := cache.wire(USER_DATA, "email", email, region):
            found.setdefault(digest, {"emailAddress": digest})
    for phone in contact.phones:
        if digest := cache.phone(USER_DATA, phone, region):
            found.setdefault(digest, {"phoneNumber": digest})
    address = {"givenName": cache.wire(USER_DATA, "first_name", contact.first_name, region),
               "familyName": cache.wire(USER_DATA, "last_name", contact.last_name, region),
               "regionCode": cache.wire(USER_DATA, "country", contact.country, region),
               "postalCode": cache.wire(USER_DATA, "zip", contact.zip, region)}
    identifiers = list(found.values())
    if all(address.values()):  # AddressInfo: all four are required
        identifiers.append({"address": address})
    return identifiers[:MAX_IDENTIFIERS]


def event(conversion: ConversionFacts, contact: ContactFacts, touchpoints: Sequence[TouchpointFacts],
          dest: DestinationConfig, *, cache: NormalizeCache | None = None) -> dict[str, Any]:
    """The Data Manager ``Event`` for ``conversion`` (not validated: ``build`` does that)."""
    cache = cache if cache is not None else NormalizeCache()
    payload: dict[str, Any] = {"destinationReferences": [action_id(dest, conversion.kind)],
                               "transactionId": conversion.order_id or conversion.event_id,
                               "eventTimestamp": utc(conversion.occurred_at).strftime("%Y-%m-%dT%H:%M:%SZ"),
                               "eventSource": EVENT_SOURCE}
    touch = attributed(touchpoints, TOUCHES, before=conversion.occurred_at)
    clicked = click_id(touch, TOUCHES) if touch is not None else None
    if clicked:
        payload["adIdentifiers"] = {clicked[0]: clicked[1]}
    identifiers = user_identifiers(contact, dest, cache)
    if identifiers:
        payload["userData"] = {"userIdentifiers": identifiers}
    if conversion.value is not None:
        payload["conversionValue"] = conversion.value
    if conversion.currency:
        payload["currency"] = currency_code(conversion.currency, upper=True)
    granted = consent(contact.consent, "CONSENT_GRANTED", "CONSENT_DENIED", restricted=contact.restricted)
    if granted:
        payload["consent"] = granted
    return payload


def build(conversion: ConversionFacts, contact: ContactFacts, touchpoints: Sequence[TouchpointFacts],
          dest: DestinationConfig, *, now: datetime | None = None, cache: NormalizeCache | None = None) -> BuiltEvent:
    """The event for ``conversion``; ValidationError saying why when it cannot be sent."""
    require_purchase_value(conversion)
    payload = event(conversion, contact, touchpoints, dest, cache=cache)
    problem = validate(payload, now_utc(now))
    if problem:
        raise ValidationError(f"Google conversion {conversion.event_id}: {problem}")
    return BuiltEvent(conversion.event_id, payload)


def validate(payload: Mapping[str, Any], now: datetime) -> str | None:
    """Why the Data Manager API would refuse the event (which field, what was expected), or None."""
    clicks = [name for name in TOUCHES.click_ids if (payload.get("adIdentifiers") or {}).get(name)]
    if len(clicks) > 1:
        return f"only one of gclid, gbraid, wbraid may be set (found {', '.join(clicks)})"
    identifiers = (payload.get("userData") or {}).get("userIdentifiers") or []
    if not clicks and not identifiers:
        return "no click id (gclid, gbraid or wbraid) and no user identifier (e-mail, phone or address) to match"
    if len(identifiers) > MAX_IDENTIFIERS:
        return f"at most {MAX_IDENTIFIERS} userIdentifiers are accepted (found {len(identifiers)})"
    for identifier in identifiers:
        hashed = [v for k, v in identifier.items() if k in ("emailAddress", "phoneNumber")]
        hashed += [v for k, v in (identifier.get("address") or {}).items() if k in ("givenName", "familyName")]
        if any(not _HEX64.fullmatch(str(v)) for v in hashed):
            return "user identifiers must be SHA-256 digests in lowercase hex (encoding HEX)"
    references = payload.get("destinationReferences") or []
    if len(references) != 1 or not str(references[0]).isdigit():
        return "destinationReferences must name one conversion action id (digits)"
    when = str(payload.get("eventTimestamp") or "")
    if not _TIMESTAMP.fullmatch(when):
        return "eventTimestamp must be RFC 3339 UTC, like 2026-12-06T10:00:00Z"
    if datetime.fromisoformat(when.replace("Z", "+00:00")) > now + MAX_FUTURE:
        return "eventTimestamp is in the future"
    if not payload.get("transactionId"):
        return "transactionId is required (Google de-duplicates on it)"
    return value_problem(payload.get("conversionValue"), payload.get("currency"), required=False, upper=True)


def destination(dest: DestinationConfig, reference: str) -> dict[str, Any]:
    """The ``Destination`` of conversion action ``reference`` in ``dest``'s customer (through its manager, if set)."""
    account = {"accountType": "GOOGLE_ADS", "accountId": customer_id(dest.account_id)}
    found: dict[str, Any] = {"reference": reference, "operatingAccount": account, "productDestinationId": reference}
    login = customer_id(dest.credentials.get("login_customer_id") or "")
    if login:
        found["loginAccount"] = {"accountType": "GOOGLE_ADS", "accountId": login}
    return found


def request_body(dest: DestinationConfig, events: Sequence[Mapping[str, Any]], references: Sequence[str]) -> dict:
    """The ``IngestEventsRequest`` for ``events`` to the conversion actions ``references``."""
    return {"destinations": [destination(dest, ref) for ref in references], "events": list(events),
            "encoding": "HEX", "validateOnly": dest.validate_only}


def references_of(events: Sequence[Mapping[str, Any]]) -> list[str]:
    """The conversion actions the events name, in order of first appearance."""
    return list(dict.fromkeys(str(ref) for e in events for ref in e.get("destinationReferences") or ()))


def _details(error: Mapping[str, Any], kind: str) -> list[dict[str, Any]]:
    details = error.get("details")
    return [d for d in details if isinstance(d, dict) and str(d.get("@type", "")).endswith(kind)] \
        if isinstance(details, list) else []


def read_status(response: requests.Response,
                located: re.Pattern[str] = _LOCATED) -> tuple[str, str, list[tuple[str, int, str]]]:
    """(code, message, [(``events``/``destinations``, index, description)]) of a google.rpc.Status body.

    ``located``: the field paths that name a record (``audience_members[i]`` for Customer Match).
    """
    body = json_body(response)
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return "", "", []
    info = next(iter(_details(error, "google.rpc.ErrorInfo")), {})
    code = str(info.get("reason") or error.get("status") or error.get("code") or "")
    violations = []
    for bad in _details(error, "google.rpc.BadRequest"):
        for violation in bad.get("fieldViolations") or []:
            where = located.search(str(violation.get("field", "")))
            if where:
                said = vendor_text(violation.get("description") or "invalid")
                reason = violation.get("reason")
                violations.append((where.group(1), int(where.group(2)),
                                   f"{said} ({violation.get('field')}{f', {reason}' if reason else ''})"))
    return code, vendor_text(error.get("message") or ""), violations


class Sender(BatchSender):
    """Ingests events into ``dest``'s customer, ≤ 2,000 a request, every conversion action in one request."""

    max_batch = MAX_EVENTS
    vendor = VENDOR

    def __init__(self, dest: DestinationConfig, session: requests.Session | None = None, *,
                 sleep: Callable[[float], None] = time.sleep, clock: Callable[[], datetime] | None = None) -> None:
        client = self.client_for(dest, session, VENDOR, sleep=sleep, read_error=self.read_error, codes=CODES)
        super().__init__(dest, client, clock=clock)
        self.headers = {"Authorization": f"Bearer {dest.credential('access_token')}"}
        self.url = join_url(dest.base_url, f"{dest.api_version}/{INGEST}")
        self._sending: list[str] = []  # the conversion action of each event of the request in flight
        self._destinations: list[str] = []  # the request's destinations, in order

    def read_error(self, response: requests.Response) -> VendorError | None:
        """Google's google.rpc.Status; field violations located at the events they name (or whose action they name)."""
        if response.status_code < 400:
            return None
        code, message, violations = read_status(response)
        if not code:
            return None
        located: dict[int, str] = {}
        for where, index, said in violations:
            if where == "events":
                hits = [index] if 0 <= index < len(self._sending) else []
            else:
                ref = self._destinations[index] if 0 <= index < len(self._destinations) else None
                hits = [i for i, sent in enumerate(self._sending) if sent == ref]
            for hit in hits:
                located[hit] = "; ".join(filter(None, (located.get(hit), said)))
        text = "; ".join(s for _, _, s in violations[:3]) or message
        return VendorError(code=code, message=text, located=located)

    def validate(self, payload: dict[str, Any], now: datetime) -> str | None:
        """Why Google would refuse the event now, or None."""
        return validate(payload, now)

    def post(self, events: Sequence[BuiltEvent]) -> list[EventResult]:
        """POST one batch (split when it names more than 10 conversion actions); one result per event."""
        references = references_of([e.payload for e in events])
        if len(references) <= MAX_DESTINATIONS:
            return self._ingest(events, references)
        results: dict[str, EventResult] = {}
        for start in range(0, len(references), MAX_DESTINATIONS):
            group = set(references[start:start + MAX_DESTINATIONS])
            part = [e for e in events if e.payload["destinationReferences"][0] in group]
            try:
                results.update((r.key, r) for r in self._ingest(part, references_of([e.payload for e in part])))
            except SyncError as error:  # not isolated further: these events are retried or failed as the error says
                results.update((e.key, r) for e, r in zip(part, self._failed(part, error), strict=True))
        return [results[e.key] for e in events]

    def _failed(self, events: Sequence[BuiltEvent], error: SyncError) -> list[EventResult]:
        return [EventResult(e.key, "failed", f"{VENDOR} rejected the event: {error.located[i]}")
                if i in error.located else result_for_error(e.key, error, VENDOR) for i, e in enumerate(events)]

    def _ingest(self, events: Sequence[BuiltEvent], references: list[str]) -> list[EventResult]:
        self._sending = [str(e.payload["destinationReferences"][0]) for e in events]
        self._destinations = references
        body = request_body(self.dest, [e.payload for e in events], references)
        reply = json_body(self.client.request("POST", self.url, headers=self.headers, json=body))
        request_id = str(reply.get("requestId") or "") if isinstance(reply, dict) else ""
        summary: dict[str, Any] = {"validate_only": True} if self.dest.validate_only else {}
        if request_id:
            summary["request_id"] = request_id
        return [EventResult(e.key, "sent", response={**summary, "product_destination_id": ref})
                for e, ref in zip(events, self._sending, strict=True)]


def check(dest: DestinationConfig, session: requests.Session | None = None) -> str:
    """One ``validateOnly`` ingest to every configured conversion action (``lifesync connections check``).

    Google validates the request and records nothing ("If true, the request is validated but not
    executed", IngestEventsRequest.validate_only). The event is a minimal valid one: a gclid-less
    event needs a user identifier, so it carries the SHA-256 of a placeholder address.
    """
    probe = Sender(dest, session)
    references = sorted({action_id(dest, kind) for kind in dest.conversion_actions})[:MAX_DESTINATIONS]
    if not references:
        raise ValidationError(f"destination {dest.name!r} has no conversion action to check "
                              "(LIFESYNC_GOOGLE_ADS_CONVERSION_ACTIONS)")
    placeholder = "connection-check@example.com"
    sample = {"transactionId": "lifesync-connection-check", "eventSource": EVENT_SOURCE,
              "eventTimestamp": now_utc().strftime("%Y-%m-%dT%H:%M:%SZ"),
              "userData": {"userIdentifiers": [{"emailAddress": hashlib.sha256(placeholder.encode()).hexdigest()}]}}
    body = {**request_body(dest, [sample], references), "validateOnly": True}
    probe.client.request("POST", probe.url, headers=probe.headers, json=body)
    return f"validateOnly ingest accepted for customer {customer_id(dest.account_id)}, " \
           f"conversion action(s) {', '.join(references)}"


def diagnose(dest: DestinationConfig, request_id: str, session: requests.Session | None = None) -> dict[str, Any]:
    """``GET /v1/requestStatus:retrieve?requestId=…``: Google's RetrieveRequestStatusResponse for the request."""
    probe = Sender(dest, session)
    url = join_url(dest.base_url, f"{dest.api_version}/{STATUS}")
    reply = json_body(probe.client.request("GET", url, headers=probe.headers, params={"requestId": request_id}))
    return reply if isinstance(reply, dict) else {}


def delivery_summary(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The click id the event carried and its hashed user identifier kinds (what the delivery report reads)."""
    click = next((k for k in TOUCHES.click_ids if (payload.get("adIdentifiers") or {}).get(k)), None)
    keys = sorted({k for ident in (payload.get("userData") or {}).get("userIdentifiers") or [] for k in ident})
    return {"click_id": click, "keys": keys}


def event_label(payload: Mapping[str, Any]) -> str:
    """The conversion action an event was sent to (what the demo counts it under)."""
    references = payload.get("destinationReferences") or [payload.get("productDestinationId", "")]
    return str(references[0])


NETWORK = Network(
    name=NAME, vendor=VENDOR, settings_platform=SETTINGS_PLATFORM, required_settings=("access_token", "customer_id"),
    base_url="https://datamanager.googleapis.com", api_version="v1", versions=DATA_MANAGER, version_setting=False,
    event_names=EVENT_NAMES, user_data=USER_DATA, touches=TOUCHES, build=build, sender=Sender, configure=configure,
    check=check, diagnose=diagnose, max_event_age=lambda _dest: CLICK_WINDOW_DAYS, delivery_summary=delivery_summary,
    event_label=event_label,
    # a restatement is the original event again with its new value (same transactionId); no retraction exists
    adjust=Adjusts(build=partial(data_manager_restatement, build=build), retracts=False,
                   unsupported=DATA_MANAGER_NO_RETRACTION),
)
