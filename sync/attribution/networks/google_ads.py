"""Google Ads offline click conversions (``customers/{id}:uploadClickConversions``).

``build`` makes one ``ClickConversion`` (REST JSON, camelCase):

* the click id of the last Google touch at or before the conversion — ``gclid``, else
  ``gbraid``, else ``wbraid`` (one only, as Google requires);
* ``conversionAction`` ``customers/{cid}/conversionActions/{id}`` from
  ``dest.conversion_actions[kind]`` (an id or a full resource name);
* ``conversionDateTime`` ``yyyy-mm-dd hh:mm:ss+00:00`` (UTC), ``conversionValue``,
  ``currencyCode``; ``orderId`` is the order id, else the conversion's ``event_id`` (Google
  de-duplicates on it, so a re-upload cannot double count);
* ``consent {adUserData, adPersonalization}``: GRANTED/DENIED from the contact's consent,
  each left out when unknown;
* ``userIdentifiers`` (≤ 5: e-mails, then phones) hashed by ``hashing`` (Gmail dots removed,
  E.164 with ``+``) — left out when the contact denied ``ad_user_data``.

No click id and no user identifier → ValidationError.

``Sender`` POSTs ≤ 2,000 conversions with ``partialFailure: true`` (and ``validateOnly`` for
a dry run; those results are ``sent`` with ``response.validate_only``). Per-conversion errors
come back in ``partialFailureError.details[].errors[]`` located by
``fieldPathElements[{fieldName: conversions, index}]``: those events fail with Google's
message, the rest are sent. ``CLICK_CONVERSION_ALREADY_EXISTS``, ``ORDER_ID_ALREADY_IN_USE``
and the in-request duplicates count as sent (Google already holds the conversion: an earlier
upload got through). A refused request naming conversions the same way fails those and
resends the rest once.

``NETWORK`` declares it to the registry: settings ``LIFESYNC_GOOGLE_ADS_*`` (developer_token,
access_token and customer_id required; login_customer_id, conversion_actions as
``kind=id,...`` pairs, validate_only), conversions older than the 90-day click window expire,
city/state/country/zip in clear, Gmail dots dropped, phones E.164 with ``+``. Its event names
are only labels: the conversion action says what a conversion is.
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
from sync.attribution.hashing import UserDataRules
from sync.attribution.network import Adjusts, Network, Setting
from sync.attribution.networks import google_adjustments
from sync.attribution.touch import TouchRules, attributed, click_id
from sync.config.conversions import CANONICAL_KINDS
from sync.errors import AuthError, RateLimited, SettingsError, TransientError, ValidationError
from sync.http import Action, Rule, join_url, version_table

log = logging.getLogger(__name__)

NAME = "google"
VENDOR = "Google Ads API"
EVENT_NAMES: dict[str, str] = {kind: kind for kind in CANONICAL_KINDS}  # labels: conversion actions say the rest
USER_DATA = UserDataRules(NAME, plain_fields=frozenset({"city", "state", "country", "zip"}), drop_gmail_dots=True)
TOUCHES = TouchRules(("gclid", "gbraid", "wbraid"))  # in order of preference; one only is sent
CLICK_WINDOW_DAYS = 90  # Google Ads refuses click conversions older than the longest click-through window
MAX_IDENTIFIERS = 5
# Google already holds this conversion (an earlier upload, or its twin in the same request): delivered.
DUPLICATES = ("CLICK_CONVERSION_ALREADY_EXISTS", "ORDER_ID_ALREADY_IN_USE", "DUPLICATE_ORDER_ID",
              "DUPLICATE_CLICK_CONVERSION_IN_REQUEST")
_ACTION = re.compile(r"customers/\d+/conversionActions/\d+")
_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}")
_DIGITS = re.compile(r"\D")

# Google's error codes (``details[].errors[].errorCode``: {family: code}) as rows of the HTTP table.
CODES: dict[str, Rule] = {
    "quotaError": Rule(Action.RATE_LIMITED, RateLimited, "quota exhausted"),
    "authenticationError": Rule(Action.AUTH, AuthError, "the OAuth token or developer token was refused"),
    "authorizationError": Rule(Action.FAIL, AuthError, "the credentials may not upload to this customer"),
    "internalError": Rule(Action.RETRY, TransientError, "a temporary error"),
}


def customer_id(value: str) -> str:
    """A customer id as Google's paths want it: digits only (``123-456-7890`` → ``1234567890``)."""
    return _DIGITS.sub("", value or "")


def _consent(consent: Mapping[str, Any]) -> dict[str, str]:
    wire = {"adUserData": consent.get("ad_user_data"), "adPersonalization": consent.get("ad_personalization")}
    return {key: "GRANTED" if value else "DENIED" for key, value in wire.items() if isinstance(value, bool)}


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
    if not action:
        raise ValidationError(f"conversion kind {kind!r} has no Google conversion action on destination "
                              f"{dest.name!r}; set conversion_actions[{kind!r}] to the action's id")
    return action if action.startswith("customers/") else \
        f"customers/{customer_id(dest.account_id)}/conversionActions/{action}"


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
    consent = _consent(contact.consent)
    if consent:
        payload["consent"] = consent
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
        summary: dict[str, Any] = {"validate_only": True} if self.dest.validate_only else {}
        results = []
        for index, event in enumerate(events):
            message = failures.get(index)
            if message is None:
                results.append(EventResult(event.key, "sent", response=summary))
            elif any(code in message for code in DUPLICATES):
                results.append(EventResult(event.key, "sent", response={**summary, "duplicate": True}))
            else:
                results.append(EventResult(event.key, "failed", f"{VENDOR} rejected the conversion: {message}",
                                           response=summary))
        return results


def _pairs(text: str | None, what: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in (text or "").split(","):
        if not part.strip():
            continue
        kind, sep, value = part.partition("=")
        if not sep or not kind.strip() or not value.strip():
            raise SettingsError(f"{what} must be comma-separated kind=value pairs, e.g. purchase=111,lead=222; "
                                f"got {part.strip()!r}")
        out[kind.strip()] = value.strip()
    return out


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


def configure(setting: Setting, required: Mapping[str, str], name: str) -> dict[str, Any]:
    """A Google Ads destination's tokens (+ login customer), customer id, conversion actions and dry-run mode."""
    login = setting("login_customer_id")
    validate_only = (setting("validate_only") or "").lower() == "true"
    actions = _pairs(setting("conversion_actions"), f"LIFESYNC_GOOGLE_ADS_CONVERSION_ACTIONS for destination {name!r}")
    return {"credentials": {"developer_token": required["developer_token"], "access_token": required["access_token"],
                            **({"login_customer_id": login} if login else {})},
            "account_id": required["customer_id"].replace("-", ""), "conversion_actions": actions,
            "validate_only": validate_only}


def delivery_summary(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The click id the conversion carried and its hashed user identifier kinds (what the delivery report reads)."""
    click = next((k for k in TOUCHES.click_ids if payload.get(k)), None)
    keys = sorted({k for ident in payload.get("userIdentifiers") or [] for k in ident if k.startswith("hashed")})
    return {"click_id": click, "keys": keys}


# Google Ads API versions: release dates from the release notes (https://developers.google.com/google-ads/api/docs/release-notes),
# sunsets from Google's reminders ("Starting on this date, all vNN API requests will begin to fail"), and the projected
# months of v23-v26 from https://developers.google.com/ads/blog/posts/2025/09/more-frequent-releases-coming-for. The
# default (v18) stays until the Data Manager transport lands; `lifesync config check` reports it. Checked 2026-12-06.
_SUNSETS = "https://developers.google.com/ads/blog/posts/"
VERSIONS = version_table("Google Ads API", "https://developers.google.com/google-ads/api/docs/sunset-dates", [
    ("v26", "2026-10-14", "2027-11"), ("v25", "2026-07-22", "2027-08"), ("v24", "2026-04-22", "2027-05"),
    ("v23", "2026-01", "2027-02"),
    ("v22", "2025-10", "2026-10-07", _SUNSETS + "2026/09/google-ads-api-v22-sunset-reminder"),
    ("v21", "2025-08", "2026-08-05", _SUNSETS + "2026/06/google-ads-api-v21-sunset-reminder"),
    ("v20", "2025-06-04", "2026-06-10", _SUNSETS + "2026/04/google-ads-api-v20-sunset-reminder"),
    ("v19", "2025-02-26", "2026-02-11", _SUNSETS + "2025/12/google-ads-api-v19-sunset-reminder"),
    ("v18", "2024-10-16", "2025-08-20", _SUNSETS + "2025/07/google-ads-api-v18-sunset-reminder"),
    ("v17", "2024-05", "2025-06-04", _SUNSETS + "2025/04/google-ads-api-v17-sunset-reminder"),
    ("v16", "2024-02-21", "2025-02-05", _SUNSETS + "2025/01/google-ads-api-v16-sunset-reminder"),
    ("v15", "2023-10-18", "2024-09-25", _SUNSETS + "2024/08/google-ads-api-v15-sunset-reminder"),
    ("v14", "2023-06-07", "2024-06-05", _SUNSETS + "2024/04/google-ads-api-v14-sunset-reminder"),
])

AdjustmentSender = google_adjustments.adjustment_sender(Sender, customer_id=customer_id, errors=_errors,
                                                        describe=_describe)  # uploadConversionAdjustments

NETWORK = Network(
    name=NAME, vendor=VENDOR, settings_platform="google_ads",
    required_settings=("developer_token", "access_token", "customer_id"), base_url="https://googleads.googleapis.com",
    api_version="v18", event_names=EVENT_NAMES, user_data=USER_DATA, touches=TOUCHES, build=build, sender=Sender,
    configure=configure, check=check, max_event_age=lambda _dest: CLICK_WINDOW_DAYS, delivery_summary=delivery_summary,
    event_label=lambda payload: str(payload.get("conversionAction", "")).rsplit("/", 1)[-1],
    versions=VERSIONS,
    adjust=Adjusts(build=partial(google_adjustments.ads_adjustment, action=conversion_action), sender=AdjustmentSender,
                   max_age_days=google_adjustments.ADJUSTABLE_DAYS),
)
