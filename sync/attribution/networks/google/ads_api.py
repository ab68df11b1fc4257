"""Google's second transport: offline click conversions through the Google Ads API (``uploadClickConversions``).

Chosen with ``LIFESYNC_GOOGLE_ADS_TRANSPORT=ads_api``; the Data Manager API (``data_manager``) is
the default. Google Ads API versions are sunset about a year after their release
(``versions.ADS_API``), and since 2026-06-15 ``uploadClickConversions`` refuses developer tokens
that had not uploaded before (CUSTOMER_NOT_ALLOWLISTED_FOR_THIS_FEATURE,
https://developers.google.com/ads/blog/posts/2026/05/changes-to-offline-click-conversion).

``build`` makes one ``ClickConversion`` (REST JSON, camelCase):

* the click id of the last Google touch at or before the conversion — ``gclid``, else
  ``gbraid``, else ``wbraid`` (one only, as Google requires);
* ``conversionAction`` ``customers/{cid}/conversionActions/{id}`` from
  ``dest.conversion_actions[kind]`` (an id or a full resource name);
* ``conversionDateTime`` ``yyyy-mm-dd hh:mm:ss+00:00`` (UTC), ``conversionValue``,
  ``currencyCode``; ``orderId`` is the order id, else the conversion's ``event_id`` (Google
  de-duplicates on it, so a re-upload cannot double count);
* ``consent {adUserData, adPersonalization}``: GRANTED/DENIED from the contact's consent,
  each left out when unknown; ``adPersonalization`` DENIED when the privacy policy says
  ``restricted`` (``sync.attribution.policy``), and no ``userIdentifiers`` when it says ``strip``;
* ``userIdentifiers`` (≤ 5: e-mails, then phones) hashed by ``hashing`` (Gmail dots removed,
  E.164 with ``+``) — left out when the contact denied ``ad_user_data``.

No click id and no user identifier → ValidationError.

``Sender`` POSTs ≤ 2,000 conversions with ``partialFailure: true`` (and ``validateOnly`` for
a dry run; those results are ``sent`` with ``response.validate_only``). Per-conversion errors
come back in ``partialFailureError.details[].errors[]`` located by
``fieldPathElements[{fieldName: conversions, index}]``: those events fail with Google's
message, the rest are sent. ``CLICK_CONVERSION_ALREADY_EXISTS``, ``ORDER_ID_ALREADY_IN_USE``
and the in-request duplicates are ``sent`` with ``response.duplicate`` (Google already holds the
conversion: an earlier upload got through); the dispatcher counts them ``delivered_before``.
A refused request naming conversions the same way fails those and resends the rest once.

``NETWORK`` declares the transport (``google`` declares it under ``transports["ads_api"]``):
settings as in ``common`` plus the developer token; a sunset or unknown version is refused by
Google with gRPC UNIMPLEMENTED (HTTP 501, "GRPC target method can't be resolved",
https://github.com/googleads/google-ads-python/issues/897), which is never retried.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from functools import partial
from typing import Any

import requests

from sync.attribution.delivery import BatchSender, VendorError, json_body, vendor_text
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
from sync.attribution.networks.google.adjustments import ADJUSTABLE_DAYS, adjustment_sender, ads_adjustment
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
    partial_results,
)
from sync.attribution.networks.google.versions import ADS_API, ADS_API_DEFAULT
from sync.attribution.touch import attributed, click_id
from sync.errors import AuthError, PermanentError, RateLimited, TransientError, ValidationError
from sync.http import Action, Rule, join_url

log = logging.getLogger(__name__)

VENDOR = "Google Ads API"
MAX_IDENTIFIERS = 5
# Google already holds this conversion (an earlier upload, or its twin in the same request): delivered.
DUPLICATES = ("CLICK_CONVERSION_ALREADY_EXISTS", "ORDER_ID_ALREADY_IN_USE", "DUPLICATE_ORDER_ID",
              "DUPLICATE_CLICK_CONVERSION_IN_REQUEST")
_ACTION = re.compile(r"customers/\d+/conversionActions/\d+")
_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}")

# Google's error codes (``details[].errors[].errorCode``: {family: code}) as rows of the HTTP table.
CODES: dict[str, Rule] = {
    "quotaError": Rule(Action.RATE_LIMITED, RateLimited, "quota exhausted"),
    "authenticationError": Rule(Action.AUTH, AuthError, "the OAuth token or developer token was refused"),
    "authorizationError": Rule(Action.FAIL, AuthError, "the credentials may not upload to this customer"),
    "internalError": Rule(Action.RETRY, TransientError, "a temporary error"),
    # a sunset (or unknown) API version: retrying cannot help, the version setting must change
    "UNIMPLEMENTED": Rule(Action.FAIL, PermanentError, "this Google Ads API version is sunset or does not exist "
                                                       "(LIFESYNC_GOOGLE_ADS_API_VERSION)"),
}


def _identifiers(contact: ContactFacts, dest: DestinationConfig, cache: NormalizeCache) -> list[dict[str, str]]:
    if contact.consent.get("ad_user_data") is False:
        return []
    region = cache.region(USER_DATA, contact, dest)
    found: dict[str, dict[str, str]] = {}
    for key, field_, values in (("hashedEmail", "email", contact.emails),
                                ("hashedPhoneNumber", "phone", contact.phones)):
        for value in values:
            digest = (cache.phone(USER_DATA, value, region) if field_ == "phone"
                      else cache.wire(USER_DATA, field_, value, region))
            if digest:
                found.setdefault(digest, {key: digest})
    return list(found.values())[:MAX_IDENTIFIERS]


def conversion_action(dest: DestinationConfig, kind: str) -> str:
    """The conversion action resource name for ``kind``; ValidationError when none is configured."""
    action = (dest.conversion_actions.get(kind) or "").strip()
    if action.startswith("customers/"):
        return action
    return f"customers/{customer_id(dest.account_id)}/conversionActions/{action_id(dest, kind)}"


def build(conversion: ConversionFacts, contact: ContactFacts, touchpoints: Sequence[TouchpointFacts],
          dest: DestinationConfig, *, now: datetime | None = None, cache: NormalizeCache | None = None) -> BuiltEvent:
    """The click conversion for ``conversion``; ValidationError saying why when it cannot be sent."""
    cache = cache if cache is not None else NormalizeCache()
    require_purchase_value(conversion)
    payload: dict[str, Any] = {}
    touch = attributed(touchpoints, TOUCHES, before=conversion.occurred_at)
    clicked = click_id(touch, TOUCHES) if touch is not None else None
    if clicked:
        payload[clicked[0]] = clicked[1]
    payload["conversionAction"] = conversion_action(dest, conversion.kind)
    payload["conversionDateTime"] = utc(conversion.occurred_at).strftime("%Y-%m-%d %H:%M:%S+00:00")
    if conversion.value is not None:
        payload["conversionValue"] = conversion.value
    if conversion.currency:
        payload["currencyCode"] = currency_code(conversion.currency, upper=True)
    payload["orderId"] = conversion.order_id or conversion.event_id
    granted = consent(contact.consent, "GRANTED", "DENIED", restricted=contact.restricted)
    if granted:
        payload["consent"] = granted
    identifiers = _identifiers(contact, dest, cache)
    if identifiers:
        payload["userIdentifiers"] = identifiers
    problem = validate(payload, now_utc(now))
    if problem:
        raise ValidationError(f"Google conversion {conversion.event_id}: {problem}")
    return BuiltEvent(conversion.event_id, payload)


def validate(conversion: Mapping[str, Any], now: datetime) -> str | None:
    """Why Google would refuse ``conversion`` (which field, what was expected), or None."""
    clicks = [name for name in TOUCHES.click_ids if conversion.get(name)]
    if len(clicks) > 1:
        return f"only one of gclid, gbraid, wbraid may be set (found {', '.join(clicks)})"
    identifiers = conversion.get("userIdentifiers") or []
    if not clicks and not identifiers:
        return "no click id (gclid, gbraid or wbraid) and no user identifier (e-mail or phone) to match"
    if len(identifiers) > MAX_IDENTIFIERS:
        return f"at most {MAX_IDENTIFIERS} userIdentifiers are accepted (found {len(identifiers)})"
    if not _ACTION.fullmatch(str(conversion.get("conversionAction") or "")):
        return "conversionAction must be customers/{customer id}/conversionActions/{id}"
    when = str(conversion.get("conversionDateTime") or "")
    if not _DATE_TIME.fullmatch(when):
        return "conversionDateTime must look like yyyy-mm-dd hh:mm:ss+00:00"
    if datetime.fromisoformat(when) > now + MAX_FUTURE:
        return "conversionDateTime is in the future"
    return value_problem(conversion.get("conversionValue"), conversion.get("currencyCode"), required=False,
                         upper=True)


def _errors(container: Any) -> list[dict[str, Any]]:
    """The GoogleAdsError items under ``details[].errors[]``."""
    details = container.get("details") if isinstance(container, dict) else None
    return [e for d in details if isinstance(d, dict) for e in d.get("errors") or [] if isinstance(e, dict)] \
        if isinstance(details, list) else []


def _index(error: Mapping[str, Any]) -> int | None:
    elements = (error.get("location") or {}).get("fieldPathElements") or []
    return next((e["index"] for e in elements if isinstance(e, dict) and e.get("fieldName") == "conversions"
                 and isinstance(e.get("index"), int)), None)


def _code(error: Mapping[str, Any]) -> tuple[str, str]:
    """(family, value) of ``errorCode``, e.g. ("conversionUploadError", "INVALID_CONVERSION_ACTION")."""
    code = error.get("errorCode") or {}
    return next(((str(k), str(v)) for k, v in code.items()), ("", "")) if isinstance(code, dict) else ("", "")


def _describe(error: Mapping[str, Any]) -> str:
    family, value = _code(error)
    message = vendor_text(error.get("message") or "rejected")
    return f"{message} ({family}: {value})" if family else message


def located(container: Any) -> dict[int, str]:
    """{conversion index: message} for the errors that name a conversion."""
    found: dict[int, str] = {}
    for error in _errors(container):
        index = _index(error)
        if index is not None:
            found[index] = "; ".join(filter(None, (found.get(index), _describe(error))))
    return found


def read_error(response: requests.Response) -> VendorError | None:
    """Google's ``{error: {code, message, status, details}}`` on a refused request."""
    body = json_body(response)
    error = body.get("error") if isinstance(body, dict) else None
    if response.status_code < 400 or not isinstance(error, dict):
        return None
    errors = _errors(error)
    family = _code(errors[0])[0] if errors else ""
    message = "; ".join(_describe(e) for e in errors[:3]) or vendor_text(error.get("message"))
    return VendorError(code=family or str(error.get("status") or error.get("code") or ""), message=message,
                       located=located(error))


class Sender(BatchSender):
    """Uploads click conversions to ``dest``'s customer, ≤ 2,000 a request, with partial failure."""

    max_batch = 2000
    vendor = VENDOR

    def __init__(self, dest: DestinationConfig, session: requests.Session | None = None, *,
                 sleep: Callable[[float], None] = time.sleep, clock: Callable[[], datetime] | None = None) -> None:
        client = self.client_for(dest, session, VENDOR, sleep=sleep, read_error=read_error, codes=CODES)
        super().__init__(dest, client, clock=clock)
        self.headers = {"developer-token": dest.credential("developer_token"),
                        "Authorization": f"Bearer {dest.credential('access_token')}"}
        login = customer_id(dest.credentials.get("login_customer_id") or "")
        if login:
            self.headers["login-customer-id"] = login
        self.url = join_url(dest.base_url, f"{dest.api_version}/customers/{customer_id(dest.account_id)}"
                                           f":uploadClickConversions")

    def validate(self, payload: dict[str, Any], now: datetime) -> str | None:
        """Why Google would refuse the conversion now, or None."""
        return validate(payload, now)

    def post(self, events: Sequence[BuiltEvent]) -> list[EventResult]:
        """POST one batch with partial failure; failures are mapped back to their events."""
        body = {"conversions": [event.payload for event in events], "partialFailure": True,
                "validateOnly": self.dest.validate_only}
        response = self.client.request("POST", self.url, headers=self.headers, json=body)
        reply = json_body(response)
        reply = reply if isinstance(reply, dict) else {}
        partial = reply.get("partialFailureError") or {}
        failures = {i: m for i, m in located(partial).items() if 0 <= i < len(events)}
        unplaced = len(_errors(partial)) - sum(1 for e in _errors(partial) if _index(e) is not None)
        if unplaced:
            log.warning("%s: %d partial-failure errors name no conversion", VENDOR, unplaced)
        summary = {"validate_only": True} if self.dest.validate_only else {}
        return partial_results(events, failures, DUPLICATES, summary, f"{VENDOR} rejected the conversion")


def check(dest: DestinationConfig, session: requests.Session | None = None) -> str:
    """List the customers the destination's credentials reach (``lifesync connections check``).

    ``GET /{version}/customers:listAccessibleCustomers`` needs the developer token and the OAuth
    token and nothing else (https://developers.google.com/google-ads/api/rest/reference/rest/v16/customers/
    listAccessibleCustomers; v26 reference: https://developers.google.com/google-ads/api/reference/rpc/v26/
    CustomerService/ListAccessibleCustomers). It answers ``{"resourceNames": ["customers/123", ...]}``: the
    customers reached directly, so a client customer reached through a manager shows as that manager.
    """
    probe = Sender(dest, session)
    headers = {k: v for k, v in probe.headers.items() if k != "login-customer-id"}
    reply = json_body(probe.client.request("GET", join_url(dest.base_url, f"{dest.api_version}/customers:"
                                                                          "listAccessibleCustomers"), headers=headers))
    names = reply.get("resourceNames") if isinstance(reply, dict) else None
    reached = [str(n).rpartition("/")[2] for n in names] if isinstance(names, list) else []
    wanted = customer_id(dest.credentials.get("login_customer_id") or "") or customer_id(dest.account_id)
    seen = "reached directly" if wanted in reached else "not among them (a manager's login_customer_id may be needed)"
    return f"{len(reached)} accessible customer(s); customer {wanted} {seen}"


def delivery_summary(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The click id the conversion carried and its hashed user identifier kinds (what the delivery report reads)."""
    click = next((k for k in TOUCHES.click_ids if payload.get(k)), None)
    keys = sorted({k for ident in payload.get("userIdentifiers") or [] for k in ident if k.startswith("hashed")})
    return {"click_id": click, "keys": keys}


AdjustmentSender = adjustment_sender(Sender, customer_id=customer_id, errors=_errors,
                                     describe=_describe)  # uploadConversionAdjustments

NETWORK = Network(
    name=NAME, vendor=VENDOR, settings_platform=SETTINGS_PLATFORM,
    required_settings=("developer_token", "access_token", "customer_id"), base_url="https://googleads.googleapis.com",
    api_version=ADS_API_DEFAULT, event_names=EVENT_NAMES, user_data=USER_DATA, touches=TOUCHES, build=build,
    sender=Sender,
    configure=configure, check=check, max_event_age=lambda _dest: CLICK_WINDOW_DAYS, delivery_summary=delivery_summary,
    event_label=lambda payload: str(payload.get("conversionAction", "")).rsplit("/", 1)[-1],
    versions=ADS_API,
    adjust=Adjusts(build=partial(ads_adjustment, action=conversion_action), sender=AdjustmentSender,
                   max_age_days=ADJUSTABLE_DAYS),
)
