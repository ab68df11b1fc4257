"""TikTok Events API 2.0: CRM (or web/app/offline) events for one event source.

``build`` makes one event ``{event, event_time, event_id, limited_data_use, user, properties,
lead}``:

* ``user``: email[], phone[] (E.164 with ``+``), external_id[] hashed; first_name, last_name,
  zip_code hashed; city, state, country plain normalised text — all through ``hashing``
  (TikTok's rules, already-hashed values pass through); ``ttclid`` / ``ttp`` from the
  attributed touch, plain.
* ``properties``: value, currency (upper case), order_id; a purchase needs value and currency.
* ``lead`` (``crm`` events only), sent only when the contact holds a TikTok lead id a source
  gave us (identity ``tiktok_lead``, e.g. a mapping reading a TikTok Lead Generation export or
  a CRM property holding it): ``lead_id`` is TikTok's own id of the lead, never one of ours,
  and ``lead_event_source`` names the CRM the conversion came from as TikTok spells it
  (``HubSpot``, ``Salesforce``), omitted for any other source. No shipped mapping provides
  ``tiktok_lead`` yet, so CRM events match on e-mail and phone, which TikTok accepts in place
  of a lead id (``validate``).
* ``limited_data_use``: true when the privacy policy says ``restricted`` (``sync.attribution.policy``).

Age: an event older than ``MAX_EVENT_AGE_DAYS`` for the destination's ``event_source`` (28
days for every source: see the table for the rule and its sources) is refused locally, and
the dispatcher counts it ``expired`` (too old) instead of sending it, as for Meta and Google.

``Sender`` POSTs ``{base}/open_api/{version}/event/track/`` with the ``Access-Token`` header,
≤ 1,000 events a request. TikTok answers HTTP 200 with a body ``code``: 0 ok; 20001 partial
success; 40002 the batch was refused for an event's content (bisected); 40001 no permission
for the event source; 40100 rate limited; 40104/40105 the token was refused; 5xxxx temporary.

Partial success (20001): the per-event failures are read from ``data`` — a list under
``failed_events``, ``partial_failure`` or ``errors`` whose items name the event by ``index``
(an int or a list of ints) or ``event_id`` and explain it in ``message``/``msg``/``reason``.
TikTok documents no stable shape, so a 20001 naming no event leaves every event ``sent``
(TikTok accepted the request) with TikTok's message kept in the result's ``response``, and a
warning is logged.

``NETWORK`` declares it to the registry: settings ``LIFESYNC_TIKTOK_EVENTS_*`` (access_token and
source_id required; event_source, test_event_code), the event age window per event_source,
city/state/country in clear and the rest hashed, phones E.164 with ``+``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

import requests

from sync.attribution.delivery import BatchSender, VendorError, json_body, vendor_text
from sync.attribution.destination import (
    BuiltEvent,
    DestinationConfig,
    EventResult,
    NormalizeCache,
    currency_code,
    event_name,
    event_time_problem,
    now_utc,
    require_purchase_value,
    utc,
    value_problem,
)
from sync.attribution.facts import ContactFacts, ConversionFacts, TouchpointFacts
from sync.attribution.hashing import UserDataRules
from sync.attribution.network import Network, Setting
from sync.attribution.touch import TouchRules, attributed
from sync.errors import AuthError, RateLimited, TransientError, ValidationError
from sync.http import Action, Rule, join_url, version_table

log = logging.getLogger(__name__)

NAME = "tiktok"
VENDOR = "TikTok Events API"
# TikTok takes custom names for CRM stages (mapped to standard events in its events manager)
EVENT_NAMES: dict[str, str] = {
    "lead": "Lead", "qualified_lead": "QualifiedLead", "booking": "Schedule",
    "add_to_cart": "AddToCart", "initiate_checkout": "InitiateCheckout", "purchase": "Purchase",
}
USER_DATA = UserDataRules(NAME, plain_fields=frozenset({"city", "state", "country"}))
TOUCHES = TouchRules(("ttclid",))
EVENT_SOURCES = frozenset({"web", "app", "offline", "crm"})
# How old an event TikTok can still use, in days, per event_source. TikTok publishes no refusal of an old
# event_time by /event/track/ (Meta does, at 7 days); what it publishes is its attribution window, and an event
# outside every window is matched to no ad and reported nowhere, so sending it only spends quota:
# - web, app: click-through attribution windows of 1 to 28 days, view-through up to 7 (TikTok Attribution
#   Manager, https://www.tiktok.com/business/en/blog/flexible-attribution-windows-campaign-measurement); a
#   shorter window set in Ads Manager is the advertiser's choice, the 28 days are TikTok's limit;
# - offline, crm: "Events must have occurred within the previous 28 days ... Events beyond these attribution
#   windows are not matched to ads or displayed in reporting" (Amperity's TikTok Events API destinations,
#   https://docs.amperity.com/operator/events_tiktok_ads.html, .../datagrid/events_tiktok_ads.html); TikTok's
#   CRM signal postback guides document no other window and ask for weekly uploads
#   (https://ads.tiktok.com/help/article/how-to-postback-signals-through-csv).
MAX_EVENT_AGE_DAYS: dict[str, int] = {"web": 28, "app": 28, "offline": 28, "crm": 28}
LEAD_IDENTITY = "tiktok_lead"  # the identity kind holding TikTok's own lead id, when a source gave us one
# lead_event_source is "the name of your CRM system, such as HubSpot or Salesforce" (TikTok's field description,
# as its partner Segment ships it: segmentio/action-destinations, tiktok-conversions/reportWebEvent/fields/
# crm_fields.ts); conversions from any other source (shop, messaging, lifesync's own stage rules) name no CRM.
CRM_NAMES: dict[str, str] = {"hubspot": "HubSpot", "salesforce": "Salesforce"}
OK_CODES = frozenset({0, 20001})
PARTIAL = 20001
# 40002 (invalid parameters) refuses the batch for one event's content: bisect. 40001 is "no permission for
# the event source" (TikTok's messaging error list, the sandbox): the same for every event, so not bisected.
BISECT_CODES = frozenset({"40002"})
_FAILURE_LISTS = ("failed_events", "partial_failure", "errors")
_SINGLE_FIELDS = (("first_name", "first_name"), ("last_name", "last_name"), ("city", "city"),
                  ("state", "state"), ("country", "country"), ("zip_code", "zip"))

CODES: dict[str, Rule] = {
    "40001": Rule(Action.FAIL, AuthError, "the access token has no permission for this event source id"),
    "40002": Rule(Action.FAIL, ValidationError, "a parameter was rejected"),
    "40100": Rule(Action.RATE_LIMITED, RateLimited, "rate limit reached"),
    "40104": Rule(Action.FAIL, AuthError, "the access token is missing; set the destination's access_token"),
    "40105": Rule(Action.FAIL, AuthError, "the access token was refused; issue a new one"),
    **{code: Rule(Action.RETRY, TransientError, "a temporary error") for code in ("50000", "50002", "40700")},
}


def _user(contact: ContactFacts, touch: TouchpointFacts | None, dest: DestinationConfig,
          cache: NormalizeCache) -> dict[str, Any]:
    region = cache.region(USER_DATA, contact, dest)
    user: dict[str, Any] = {}
    for key, field_, values in (("email", "email", contact.emails), ("phone", "phone", contact.phones),
                                ("external_id", "external_id", (contact.external_id,))):
        hashes = list(dict.fromkeys(h for v in values if (h := (cache.phone(USER_DATA, v, region) if field_ == "phone"
                                                                 else cache.wire(USER_DATA, field_, v, region)))))
        if hashes:
            user[key] = hashes
    raw = {"first_name": contact.first_name, "last_name": contact.last_name, "city": contact.city,
           "state": contact.state, "country": contact.country, "zip": contact.zip}
    for key, field_ in _SINGLE_FIELDS:
        value = cache.wire(USER_DATA, field_, raw[field_], region)
        if value:
            user[key] = value
    if touch is not None:
        for name in ("ttclid", "ttp"):
            value = (touch.click_ids.get(name) or "").strip()
            if value:
                user[name] = value
    return user


def _lead(conversion: ConversionFacts, contact: ContactFacts) -> dict[str, str] | None:
    """``{lead_id, lead_event_source?}`` when the contact holds a TikTok lead id, else None (no lead object).

    TikTok's partner integration sends the object only with a lead id (Segment, tiktok-conversions/
    reportWebEvent/utils.ts): a lead event source alone names no lead.
    """
    lead_id = (contact.identity(LEAD_IDENTITY) or "").strip()
    if not lead_id:
        return None
    lead = {"lead_id": lead_id}
    crm = CRM_NAMES.get(conversion.source.strip().lower())
    if crm:
        lead["lead_event_source"] = crm
    return lead


def max_event_age_days(dest: DestinationConfig) -> int | None:
    """How old an event ``dest``'s event_source still takes, in days (None for a source TikTok does not have)."""
    return MAX_EVENT_AGE_DAYS.get(dest.event_source)


def build(conversion: ConversionFacts, contact: ContactFacts, touchpoints: Sequence[TouchpointFacts],
          dest: DestinationConfig, *, now: datetime | None = None, cache: NormalizeCache | None = None) -> BuiltEvent:
    """The Events API 2.0 event for ``conversion``; ValidationError saying why when it cannot be sent."""
    cache = cache if cache is not None else NormalizeCache()
    require_purchase_value(conversion)
    touch = attributed(touchpoints, TOUCHES, before=conversion.occurred_at)
    event: dict[str, Any] = {
        "event": event_name(dest, conversion.kind, EVENT_NAMES),
        "event_time": int(utc(conversion.occurred_at).timestamp()),
        "event_id": conversion.event_id,
        "limited_data_use": contact.restricted,
        "user": _user(contact, touch, dest, cache),
    }
    properties = {"value": conversion.value, "currency": currency_code(conversion.currency, upper=True),
                  "order_id": conversion.order_id}
    properties = {k: v for k, v in properties.items() if v is not None}
    if properties:
        event["properties"] = properties
    lead = _lead(conversion, contact) if dest.event_source == "crm" else None
    if lead:
        event["lead"] = lead
    problem = validate(event, now_utc(now), dest)
    if problem:
        raise ValidationError(f"TikTok event {conversion.event_id}: {problem}")
    return BuiltEvent(conversion.event_id, event)


def validate(event: Mapping[str, Any], now: datetime, dest: DestinationConfig) -> str | None:
    """Why TikTok would refuse ``event`` (which field, what was expected), or None."""
    if dest.event_source not in EVENT_SOURCES:
        return f"event_source {dest.event_source!r} is not one of {sorted(EVENT_SOURCES)}"
    if not event.get("event"):
        return "event (the event name) is missing"
    if not event.get("event_id"):
        return "event_id is missing (needed for de-duplication)"
    problem = event_time_problem(event.get("event_time"), now, max_event_age_days(dest))
    if problem:
        return problem
    user = event.get("user") or {}
    if dest.event_source == "crm":
        # a CRM event matches on TikTok's lead id or on the person: "At minimum, one of the following is required:
        # lead_id, Email, Phone" (https://ads.tiktok.com/help/article/how-to-postback-signals-through-csv); the
        # lead id is recommended, not required ("prioritize data with lead_ID for higher matching rate",
        # https://ads.tiktok.com/help/article/about-signal-postback-for-lead-quality-optimization)
        if not ((event.get("lead") or {}).get("lead_id") or user.get("email") or user.get("phone")):
            return "a crm event has nothing TikTok can match: needs lead.lead_id, an e-mail or a phone"
    elif not any(user.get(key) for key in ("email", "phone", "ttclid")):
        return "user has nothing TikTok can match: needs an e-mail, a phone or a ttclid"
    properties = event.get("properties") or {}
    return value_problem(properties.get("value"), properties.get("currency"),
                         required=event.get("event") in ("Purchase", "CompletePayment"), upper=True)


def read_error(response: requests.Response) -> VendorError | None:
    """TikTok's body ``{code, message}`` when the code is not a success."""
    body = json_body(response)
    if not isinstance(body, dict) or "code" not in body:
        return None
    code = body.get("code")
    if code in OK_CODES:
        return None
    return VendorError(code=str(code), message=vendor_text(body.get("message")))


def partial_failures(body: Mapping[str, Any], events: Sequence[BuiltEvent]) -> dict[int, str]:
    """{index in the batch: TikTok's message} for the events a 20001 answer names."""
    data = body.get("data") if isinstance(body.get("data"), dict) else {}
    by_id = {event.key: index for index, event in enumerate(events)}
    failed: dict[int, str] = {}
    for name in _FAILURE_LISTS:
        items = data.get(name)
        for item in items if isinstance(items, list) else []:
            if not isinstance(item, dict):
                continue
            message = vendor_text(item.get("message") or item.get("msg") or item.get("reason") or "rejected")
            raw = item.get("index")
            indexes = raw if isinstance(raw, list) else [raw]
            found = [i for i in indexes if isinstance(i, int) and 0 <= i < len(events)]
            if not found and str(item.get("event_id")) in by_id:
                found = [by_id[str(item["event_id"])]]
            failed.update(dict.fromkeys(found, message))
    return failed


class Sender(BatchSender):
    """Sends Events API 2.0 events to ``dest``'s event source, ≤ 1,000 a request."""

    max_batch = 1000
    vendor = VENDOR

    def __init__(self, dest: DestinationConfig, session: requests.Session | None = None, *,
                 sleep: Callable[[float], None] = time.sleep, clock: Callable[[], datetime] | None = None) -> None:
        client = self.client_for(dest, session, VENDOR, sleep=sleep, read_error=read_error, codes=CODES,
                                 bisect_when=lambda error: error.code in BISECT_CODES)
        super().__init__(dest, client, clock=clock)
        self.headers = {"Access-Token": dest.credential("access_token")}
        self.url = join_url(dest.base_url, f"open_api/{dest.api_version}/event/track/")

    def validate(self, payload: dict[str, Any], now: datetime) -> str | None:
        """Why TikTok would refuse the event now, or None."""
        return validate(payload, now, self.dest)

    def post(self, events: Sequence[BuiltEvent]) -> list[EventResult]:
        """POST one batch; a partial success fails only the events TikTok names."""
        body: dict[str, Any] = {"event_source": self.dest.event_source, "event_source_id": self.dest.account_id}
        if self.dest.partner_agent:
            body["partner_name"] = self.dest.partner_agent
        if self.dest.test_event_code:
            body["test_event_code"] = self.dest.test_event_code
        body["data"] = [event.payload for event in events]
        response = self.client.request("POST", self.url, headers=self.headers, json=body)
        reply = json_body(response)
        reply = reply if isinstance(reply, dict) else {}
        summary = {k: reply[k] for k in ("code", "message", "request_id") if reply.get(k) is not None}
        failed = partial_failures(reply, events) if reply.get("code") == PARTIAL else {}
        if reply.get("code") == PARTIAL and not failed:
            log.warning("%s: partial success (20001) naming no event in a batch of %d; all counted as sent",
                        VENDOR, len(events))
        return [EventResult(event.key, "failed", f"{VENDOR} rejected the event (code {PARTIAL}): {failed[index]}",
                            response=summary)
                if index in failed else EventResult(event.key, "sent", response=summary)
                for index, event in enumerate(events)]


def configure(setting: Setting, required: Mapping[str, str], name: str) -> dict[str, Any]:
    """A TikTok destination's token, event source id and kind (crm unless set), and test code."""
    return {"credentials": {"access_token": required["access_token"]}, "account_id": required["source_id"],
            "test_event_code": setting("test_event_code"), "event_source": setting("event_source") or "crm"}


def delivery_summary(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The click id the event carried and its hashed user keys (what the delivery report reads)."""
    user = payload.get("user") or {}
    click = "ttclid" if user.get("ttclid") else None
    keys = sorted(k for k in ("email", "phone", "external_id", "first_name", "last_name", "zip_code") if user.get(k))
    return {"click_id": click, "keys": keys}


NETWORK = Network(
    name=NAME, vendor=VENDOR, settings_platform="tiktok_events", required_settings=("access_token", "source_id"),
    base_url="https://business-api.tiktok.com", api_version="v1.3", event_names=EVENT_NAMES, user_data=USER_DATA,
    touches=TOUCHES, build=build, sender=Sender, configure=configure, max_event_age=max_event_age_days,
    delivery_summary=delivery_summary, event_label=lambda payload: str(payload.get("event")),
    # TikTok's versioning and timelines pages (https://business-api.tiktok.com/portal/docs?id=1740578661644289): v1.2
    # ended a year after v1.3 shipped; ⚠ dates as summarised by a third party (api-evangelist/tiktok-ads lifecycle,
    # 2026-08-13) and the 2023-08 v1.3 migration notes of Rivery and Boomi. Checked 2026-12-06.
    versions=version_table("TikTok Business API", "https://business-api.tiktok.com/portal/docs?id=1740029169927169", [
        ("v1.3", "2022-08-15", None), ("v1.2", "2021-03-19", "2023-08-15"), ("v1.1", "2020-08-19", "2021-07-29"),
        ("v1.0", None, "2021-01-20")]),
    # The Events API only receives events: nothing retracts or restates one, and of two events with the same event
    # and event_id TikTok "will record the first event received" (https://ads.tiktok.com/help/article/
    # event-deduplication), so a new value cannot replace the old. Checked 2026-12-06.
    adjust=None, no_adjust=f"not supported by {VENDOR}: it cannot retract or restate an event it received",
)
