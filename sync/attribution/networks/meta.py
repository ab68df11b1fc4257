"""Meta Conversions API: events for a dataset/pixel, including business messaging.

``build`` turns a conversion into one CAPI event:

* ``user_data``: em, ph (lists), fn, ln, ct, st, zp, country, db, ge, external_id, normalised
  and SHA-256 hashed by ``hashing`` (already-hashed values pass through); ids Meta wants in
  clear (``fbc``, ``fbp``, ``ctwa_clid``, ``page_id``, ...) are sent plain.
* **Business messaging**, when the attributed touch is a click-to-message ad (WhatsApp,
  Messenger, Instagram with a ``ctwa_clid`` or a Meta ad referral): ``action_source:
  business_messaging``, ``messaging_channel``, and per channel the account id plus the
  user's id — WhatsApp ``whatsapp_business_account_id`` (touch ``extra.waba_id``, else the
  destination's ``extra.waba_id``) + ``ctwa_clid``; Messenger ``page_id`` +
  ``page_scoped_user_id`` (contact identity ``messenger``); Instagram ``ig_account_id`` +
  ``ig_sid`` (identity ``instagram``). A missing account id is refused (set it in
  ``dest.extra``); a user id that was never captured sends an ordinary CRM event. The ⚠
  channel values and field names can be changed in ``dest.extra`` (``<channel>_channel``,
  ``<channel>_account_field``, ``<channel>_user_field``).
  Event names come from the channel's map (``MESSAGING_EVENT_NAMES`` under
  ``dest.messaging_event_names``); a booking is sent as ``LeadSubmitted`` by default because
  Meta refuses ``Schedule`` for business messaging. Web-only fields (fbc, fbp) are dropped.
* Otherwise ``action_source`` is ``dest.action_source`` (``system_generated``: a CRM event)
  with ``fbc`` = ``fb.1.{touch time ms}.{fbclid}`` built from a captured fbclid.
* ``custom_data``: value, currency (3 letters, lowercase), order_id; a purchase needs both.
* Fields Meta added between v21.0 and v27.0 that CRM and business-messaging events have no data
  for, so they are not sent: ``custom_data.net_revenue``, ``referrer_url`` (a browser's),
  ``original_event_data.order_id``/``event_id`` and ``attribution_data`` (for partners that
  attribute themselves) — facebook-python-business-sdk 22.0-25.0 (``adobjects/serverside``).
* Limited Data Use when the privacy policy says ``restricted`` (``sync.attribution.policy``; by
  default for the US states Meta lists): ``data_processing_options ["LDU"]`` with
  ``data_processing_options_country`` / ``_state`` 0, which asks Meta to geolocate the person
  (https://developers.facebook.com/docs/marketing-apis/data-processing-options). ``strip`` sends no
  user data but the click ids (and a messaging ad's ids).

``Sender`` POSTs ``{base}/{version}/{dataset}/events`` with ``access_token`` (+
``appsecret_proof``) as fields of the JSON body, not in the URL (URLs are logged: urllib3 at
DEBUG, proxies), ≤ 1,000 events a request. Graph reads a POST's parameters from its body —
Meta's own PHP SDK sends them there for every method but GET (facebookarchive/php-graph-sdk,
``FacebookRequest::execute``: only a GET appends the parameters, access_token and
appsecret_proof included, to the URL), the events edge's reference shows its parameters in the
body (https://developers.facebook.com/docs/marketing-api/reference/ads-pixel/events/), and a
JSON body is read like a form one. The ``check`` read is a GET and keeps them in the query, where
the one redaction point (``sync.http.redact``) blanks them in any log line. Meta refuses the whole batch
for one bad event (code 100): the batch is bisected (``sync.attribution.delivery``).

``NETWORK`` declares it to the registry: settings ``LIFESYNC_META_*`` (access_token and
dataset_id required; app_secret, waba_id, page_id, ig_account_id, test_event_code), events
older than ``max_event_age_days`` (7) expire, user data all hashed, phones without ``+``, and
``VERSIONS``: the Conversions API is a Marketing API endpoint, so its versions end on the
Marketing API's dates (shorter-lived than the Graph API's); the default is v26.0.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
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
from sync.errors import AuthError, PermanentError, RateLimited, TransientError, ValidationError
from sync.http import Action, Rule, join_url, version_table

NAME = "meta"
VENDOR = "Meta Conversions API"
# Meta takes custom names for CRM stages (mapped to standard events in its events manager)
EVENT_NAMES: dict[str, str] = {
    "lead": "Lead", "qualified_lead": "QualifiedLead", "booking": "Schedule",
    "add_to_cart": "AddToCart", "initiate_checkout": "InitiateCheckout", "purchase": "Purchase",
}
USER_DATA = UserDataRules(NAME, phone_plus=False)  # every field hashed (external_id hashing is recommended)
MESSAGING_CHANNELS = frozenset({"whatsapp", "messenger", "instagram"})
ACTION_SOURCES = frozenset({"email", "website", "app", "phone_call", "chat", "physical_store", "system_generated",
                            "business_messaging", "other"})
MESSAGING_EVENT_NAMES: dict[str, str] = {  # ⚠ names Meta accepts for business messaging
    "lead": "LeadSubmitted", "qualified_lead": "QualifiedLead", "booking": "LeadSubmitted",
    "add_to_cart": "AddToCart", "initiate_checkout": "InitiateCheckout", "purchase": "Purchase",
}
# (user_data key, hashing field) for the single-valued fields
_SINGLE_FIELDS = (("fn", "first_name"), ("ln", "last_name"), ("ct", "city"), ("st", "state"), ("zp", "zip"),
                  ("country", "country"), ("db", "date_of_birth"), ("ge", "gender"))
_MATCH_KEYS = ("em", "ph", "fbc", "fbp", "ctwa_clid", "page_scoped_user_id", "ig_sid")

# Meta's error codes (body ``error.code``/``error_subcode``) as rows of the HTTP table.
CODES: dict[str, Rule] = {
    "100": Rule(Action.FAIL, ValidationError, "an event was rejected"),
    "100/33": Rule(Action.FAIL, PermanentError, "the dataset does not exist or the token cannot use it"),
    "190": Rule(Action.AUTH, AuthError, "the access token is invalid or expired; issue a new one"),
    "10": Rule(Action.FAIL, AuthError, "the token lacks a permission this request needs"),
    "200": Rule(Action.FAIL, AuthError, "the token lacks a permission this request needs"),
    # throttling: app, user, page, ad account, and the Business Use Case codes 80000-80014 (80003 custom audiences,
    # 80004 ads management; https://developers.facebook.com/docs/marketing-api/overview/rate-limiting)
    **{code: Rule(Action.RATE_LIMITED, RateLimited, "rate limit reached")
       for code in ("4", "17", "32", "613", *(str(n) for n in range(80000, 80015)))},
    **{code: Rule(Action.RETRY, TransientError, "a temporary error") for code in ("1", "2", "341", "368", "5000")},
    # a version past its end: "(#2635) You are calling a deprecated version of the Ads API. Please update to the
    # latest version: vNN.0." (https://developers.facebook.com/blog/post/2024/04/16/upcoming-change-in-marketing-api-version-deprecation)
    "2635": Rule(Action.FAIL, PermanentError, "this API version has ended; set LIFESYNC_META_API_VERSION to a current "
                                              "one (`lifesync config check` lists them)"),
    # a version that does not exist: "Unknown path components" (https://github.com/arsduo/koala/issues/611)
    "2500": Rule(Action.FAIL, PermanentError, "Meta knows no such path; is LIFESYNC_META_API_VERSION a real version?"),
}

# The Conversions API is a Marketing API endpoint: "Marketing API endpoints, including the Conversions API, don't
# support auto-upgrade behavior and will throw an exception" for a deprecated version
# (https://developers.facebook.com/blog/post/2021/09/14/introducing-facebook-graph-api-v12-marketing-api-v12/), so its
# versions end on the Marketing API's dates, not on the Graph API's later ones (Graph v21.0 runs until 2027-01-21,
# https://developers.facebook.com/docs/graph-api/changelog/versions/). Since 2024 Meta may instead upgrade a call to
# an ended version whose endpoint did not change; lifesync does not count on it. Checked 2026-12-06.
VERSIONS = version_table("Meta Marketing API (Conversions API)",
                         "https://developers.facebook.com/docs/marketing-api/marketing-api-changelog/versions", [
    ("v27.0", "2026-11-04", None), ("v26.0", "2026-07-29", None), ("v25.0", "2026-02-18", "2027-02-23"),
    ("v24.0", "2025-10-08", "2026-11-10"), ("v23.0", "2025-05-29", "2026-06-09"), ("v22.0", "2025-01-21", "2026-02-19"),
    ("v21.0", "2024-10-02", "2025-09-09"), ("v20.0", "2024-05-21", "2025-05-06"), ("v19.0", "2024-01-23", "2025-02-04"),
    ("v18.0", "2023-09-12", "2024-08-13"), ("v17.0", "2023-05-23", "2024-05-14"), ("v16.0", "2023-02-02", "2024-02-06"),
    ("v15.0", "2022-09-15", "2023-09-20"), ("v14.0", "2022-05-25", "2023-09-20"), ("v13.0", "2022-02-08", "2023-01-25"),
    ("v12.0", "2021-09-14", "2022-08-09"), ("v11.0", "2021-06-08", "2022-02-23"), ("v10.0", "2021-02-23", "2021-10-04"),
    ("v9.0", "2020-11-10", "2021-08-25"), ("v8.0", "2020-08-04", "2021-05-04"), ("v7.0", "2020-05-05", "2021-03-03"),
    ("v6.0", "2020-02-03", "2021-02-08"), ("v5.0", "2019-10-29", "2020-09-28"), ("v4.0", "2019-07-29", "2020-03-31"),
    ("v3.3", "2019-04-30", "2020-01-13"), ("v3.2", "2018-10-23", "2019-08-13"), ("v3.1", "2018-07-26", "2019-05-14"),
    ("v3.0", "2018-05-01", "2019-02-01"), ("v2.12", "2018-01-30", "2018-08-07"), ("v2.11", "2017-11-07", "2018-08-07"),
    ("v2.10", "2017-07-18", "2018-05-08"), ("v2.9", "2017-04-18", "2017-11-06"), ("v2.8", "2016-10-05", "2017-07-26"),
    ("v2.7", "2016-07-13", "2017-04-25"), ("v2.6", "2016-04-12", "2016-10-05"), ("v2.5", "2015-10-07", "2016-07-13"),
    ("v2.4", "2015-07-08", "2016-04-11"),
])


@dataclass(frozen=True)
class Channel:
    """How one messaging channel is identified in ``user_data`` (⚠ names overridable in ``dest.extra``)."""

    name: str
    account_field: str
    account_key: str  # where the account id is found in the touch's / destination's extra
    user_field: str
    identity: str | None  # contact identity kind holding the user's id; None: the ctwa_clid is the user's id

    def setting(self, dest: DestinationConfig, what: str, default: str) -> str:
        """``dest.extra['<channel>_<what>']`` or the default."""
        return dest.extra.get(f"{self.name}_{what}") or default


CHANNELS = {
    "whatsapp": Channel("whatsapp", "whatsapp_business_account_id", "waba_id", "ctwa_clid", None),
    "messenger": Channel("messenger", "page_id", "page_id", "page_scoped_user_id", "messenger"),
    "instagram": Channel("instagram", "ig_account_id", "ig_account_id", "ig_sid", "instagram"),
}


def is_message_ad(touch: TouchpointFacts) -> bool:
    """True for a click-to-message ad touch: a messaging channel with a ctwa_clid or a Meta ad referral."""
    if (touch.channel or "").lower() not in MESSAGING_CHANNELS:
        return False
    return bool(touch.click_ids.get("ctwa_clid")) or (touch.network == NAME and bool(touch.ad_id))


TOUCHES = TouchRules(("ctwa_clid", "fbc", "fbclid"), also=is_message_ad)  # click ids in order of preference


def _user_data(contact: ContactFacts, dest: DestinationConfig, cache: NormalizeCache) -> dict[str, Any]:
    region = cache.region(USER_DATA, contact, dest)
    user: dict[str, Any] = {}
    for key, field_, values in (("em", "email", contact.emails), ("ph", "phone", contact.phones)):
        hashes = list(dict.fromkeys(h for v in values if (h := (cache.phone(USER_DATA, v, region) if field_ == "phone"
                                                                 else cache.wire(USER_DATA, field_, v, region)))))
        if hashes:
            user[key] = hashes
    raw = {"first_name": contact.first_name, "last_name": contact.last_name, "city": contact.city,
           "state": contact.state, "zip": contact.zip, "country": contact.country,
           "date_of_birth": contact.date_of_birth, "gender": contact.gender}
    for key, field_ in _SINGLE_FIELDS:
        value = cache.wire(USER_DATA, field_, raw[field_], region)
        if value:
            user[key] = value
    external = cache.wire(USER_DATA, "external_id", contact.external_id, region)
    if external:
        user["external_id"] = [external]
    return user


def _messaging(touch: TouchpointFacts, contact: ContactFacts, dest: DestinationConfig,
               event_id: str) -> tuple[str, dict[str, str]] | None:
    """``messaging_channel`` and the channel's user_data ids; None when the user's id was never captured.

    A missing account id is a configuration gap the operator can fix: ValidationError naming
    the setting. A missing user id (no ctwa_clid, PSID or IGSID) cannot be recovered, so the
    event goes out as an ordinary CRM event instead of being lost.
    """
    channel = CHANNELS[(touch.channel or "").lower()]
    account_field = channel.setting(dest, "account_field", channel.account_field)
    user_field = channel.setting(dest, "user_field", channel.user_field)
    ctwa_clid = (touch.click_ids.get("ctwa_clid") or "").strip()
    user_id = contact.identity(channel.identity) if channel.identity else ctwa_clid
    if not user_id:
        return None
    scoped = ""
    if channel.identity and ":" in user_id:  # lifesync keeps page-scoped ids as "<page or IG account>:<id>"
        scoped, _, user_id = user_id.partition(":")
    account = str(scoped or touch.extra.get(channel.account_key) or dest.extra.get(channel.account_key) or "").strip()
    if not account:
        raise ValidationError(f"Meta event {event_id}: a {channel.name} business-messaging event needs "
                              f"{account_field}; set extra[{channel.account_key!r}] on destination {dest.name!r}")
    ids = {account_field: account, user_field: user_id}
    if ctwa_clid:
        ids["ctwa_clid"] = ctwa_clid
    return channel.setting(dest, "channel", channel.name), ids


def _web_ids(touch: TouchpointFacts | None, conversion: ConversionFacts) -> dict[str, str]:
    """``fbc`` (the cookie, else built from an fbclid) and ``fbp``, plain as Meta asks."""
    if touch is None:
        return {}
    ids: dict[str, str] = {}
    fbc, fbclid = (touch.click_ids.get("fbc") or "").strip(), (touch.click_ids.get("fbclid") or "").strip()
    if fbc:
        ids["fbc"] = fbc
    elif fbclid:
        clicked = utc(touch.occurred_at or conversion.occurred_at)
        ids["fbc"] = f"fb.1.{int(clicked.timestamp() * 1000)}.{fbclid}"
    fbp = (touch.click_ids.get("fbp") or "").strip()
    if fbp:
        ids["fbp"] = fbp
    return ids


def build(conversion: ConversionFacts, contact: ContactFacts, touchpoints: Sequence[TouchpointFacts],
          dest: DestinationConfig, *, now: datetime | None = None, cache: NormalizeCache | None = None) -> BuiltEvent:
    """The CAPI event for ``conversion``; ValidationError saying why when it cannot be sent."""
    cache = cache if cache is not None else NormalizeCache()
    require_purchase_value(conversion)
    touch = attributed(touchpoints, TOUCHES, before=conversion.occurred_at)
    user = _user_data(contact, dest, cache)
    event: dict[str, Any] = {"event_time": int(utc(conversion.occurred_at).timestamp()),
                             "event_id": conversion.event_id}
    messaging = _messaging(touch, contact, dest, conversion.event_id) if touch and is_message_ad(touch) else None
    if touch is not None and messaging is not None:
        channel, ids = messaging
        names = dest.messaging_event_names.get((touch.channel or "").lower(), {})
        event = {"event_name": event_name(dest, conversion.kind, MESSAGING_EVENT_NAMES, configured=names), **event,
                 "action_source": "business_messaging", "messaging_channel": channel}
        user.update(ids)
    else:
        event = {"event_name": event_name(dest, conversion.kind, EVENT_NAMES), **event,
                 "action_source": dest.action_source}
        user.update(_web_ids(touch, conversion))
    event["user_data"] = user
    custom = {"value": conversion.value, "currency": currency_code(conversion.currency, upper=False),
              "order_id": conversion.order_id}
    custom = {k: v for k, v in custom.items() if v is not None}
    if custom:
        event["custom_data"] = custom
    if contact.restricted:  # privacy policy ``restricted``: Limited Data Use, Meta geolocating the person
        event.update(data_processing_options=["LDU"], data_processing_options_country=0,
                     data_processing_options_state=0)
    problem = validate(event, now_utc(now), dest)
    if problem:
        raise ValidationError(f"Meta event {conversion.event_id}: {problem}")
    return BuiltEvent(conversion.event_id, event)


def validate(event: Mapping[str, Any], now: datetime, dest: DestinationConfig) -> str | None:
    """Why Meta would refuse ``event`` (which field, what was expected), or None."""
    if not event.get("event_name"):
        return "event_name is missing"
    if not event.get("event_id"):
        return "event_id is missing (needed for de-duplication)"
    problem = event_time_problem(event.get("event_time"), now, dest.max_event_age_days)
    if problem:
        return problem
    source = event.get("action_source")
    if source not in ACTION_SOURCES:
        return f"action_source {source!r} is not one of {sorted(ACTION_SOURCES)}"
    if source == "website":
        return "action_source website needs client_user_agent and event_source_url, which CRM events lack"
    user = event.get("user_data") or {}
    if not any(user.get(key) for key in _MATCH_KEYS):
        return ("user_data has nothing Meta can match: needs an e-mail, a phone, a Meta click id (fbclid/fbc) "
                "or a click-to-message ad referral")
    if source == "business_messaging" and not event.get("messaging_channel"):
        return "a business_messaging event needs messaging_channel"
    custom = event.get("custom_data") or {}
    return value_problem(custom.get("value"), custom.get("currency"),
                         required=event.get("event_name") == "Purchase", upper=False)


def regain_seconds(headers: Mapping[str, str]) -> float | None:
    """Seconds until access returns per ``X-Business-Use-Case-Usage`` (``estimated_time_to_regain_access``, minutes)."""
    try:
        usage = json.loads(headers.get("X-Business-Use-Case-Usage") or "{}")
        minutes = max((float(entry.get("estimated_time_to_regain_access") or 0)
                       for entries in usage.values() for entry in entries), default=0.0)
    except (ValueError, TypeError, AttributeError):
        return None
    return minutes * 60 if minutes > 0 else None


def read_error(response: requests.Response) -> VendorError | None:
    """Meta's ``{error: {code, error_subcode, message, is_transient, error_user_msg}}``, if present."""
    body = json_body(response)
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict) or error.get("code") is None:
        return None
    message = " - ".join(str(m) for m in (error.get("message"), error.get("error_user_msg")) if m)
    return VendorError(code=str(error["code"]), subcode=str(error.get("error_subcode") or ""),
                       message=vendor_text(message), transient=error.get("is_transient") is True,
                       retry_after=regain_seconds(response.headers))


def _bisect_when(error: VendorError) -> bool:
    """Code 100 is about an event's content (too old, bad field, ...), except 33: the dataset itself."""
    return error.code == "100" and error.subcode != "33"


class Sender(BatchSender):
    """Sends CAPI events to ``dest``'s dataset, ≤ 1,000 a request, bisecting a refused batch."""

    max_batch = 1000
    vendor = VENDOR

    def __init__(self, dest: DestinationConfig, session: requests.Session | None = None, *,
                 sleep: Callable[[float], None] = time.sleep, clock: Callable[[], datetime] | None = None) -> None:
        client = self.client_for(dest, session, VENDOR, sleep=sleep, read_error=read_error, codes=CODES,
                                 bisect_when=_bisect_when)
        super().__init__(dest, client, clock=clock)
        token = dest.credential("access_token")
        self.auth = {"access_token": token}  # body fields of a POST, query of the GET check
        secret = (dest.credentials.get("app_secret") or "").strip()
        if secret:
            self.auth["appsecret_proof"] = appsecret_proof(secret, token)
        self.url = join_url(dest.base_url, f"{dest.api_version}/{dest.account_id}/events")

    def validate(self, payload: dict[str, Any], now: datetime) -> str | None:
        """Why Meta would refuse the event now, or None."""
        return validate(payload, now, self.dest)

    def post(self, events: Sequence[BuiltEvent]) -> list[EventResult]:
        """POST one batch; Meta takes or refuses it whole."""
        body: dict[str, Any] = {**self.auth, "data": [event.payload for event in events]}
        if self.dest.test_event_code:
            body["test_event_code"] = self.dest.test_event_code
        if self.dest.partner_agent:
            body["partner_agent"] = self.dest.partner_agent
        response = self.client.request("POST", self.url, json=body)
        reply = json_body(response)
        reply = reply if isinstance(reply, dict) else {}
        summary = {k: reply[k] for k in ("events_received", "fbtrace_id", "messages") if reply.get(k) is not None}
        return [EventResult(event.key, "sent", response=summary) for event in events]


def appsecret_proof(app_secret: str, access_token: str) -> str:
    """HMAC-SHA256 of the access token keyed by the app secret, hex (Graph API ``appsecret_proof``)."""
    return hmac.new(app_secret.encode(), access_token.encode(), hashlib.sha256).hexdigest()


def configure(setting: Setting, required: Mapping[str, str], name: str) -> dict[str, Any]:
    """A Meta destination's token (+ app secret), dataset, test code and messaging account fallbacks."""
    secret = setting("app_secret")
    extra = {k: v for k in ("waba_id", "page_id", "ig_account_id") if (v := setting(k))}
    return {"credentials": {"access_token": required["access_token"], **({"app_secret": secret} if secret else {})},
            "account_id": required["dataset_id"], "test_event_code": setting("test_event_code"), "extra": extra}


def check(dest: DestinationConfig, session: requests.Session | None = None) -> str:
    """Read the dataset's id and name with the destination's token (``lifesync connections check``).

    ``GET /{version}/{dataset_id}?fields=id,name`` is the Ads Pixel (dataset) node's read
    (https://developers.facebook.com/docs/marketing-api/reference/ads-pixel/): a wrong token is
    refused with code 190, a dataset the token cannot see with code 100 (subcode 33).
    """
    probe = Sender(dest, session)
    reply = json_body(probe.client.request("GET", join_url(dest.base_url, f"{dest.api_version}/{dest.account_id}"),
                                           params={**probe.auth, "fields": "id,name"}))
    reply = reply if isinstance(reply, dict) else {}
    return f"dataset {reply.get('id', dest.account_id)}" + (f" {reply['name']!r}" if reply.get("name") else "")


def delivery_summary(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The click id the event carried and its hashed user keys (what the delivery report reads)."""
    user = payload.get("user_data") or {}
    click = next((k for k in ("ctwa_clid", "fbc") if user.get(k)), None)
    keys = sorted(k for k in ("em", "ph", "fn", "ln", "ct", "st", "zp", "country", "db", "ge", "external_id")
                  if user.get(k))
    return {"click_id": click, "keys": keys}


NETWORK = Network(
    name=NAME, vendor=VENDOR, settings_platform="meta", required_settings=("access_token", "dataset_id"),
    base_url="https://graph.facebook.com", api_version="v26.0", versions=VERSIONS, event_names=EVENT_NAMES,
    user_data=USER_DATA, touches=TOUCHES, build=build, sender=Sender, configure=configure,
    max_event_age=lambda dest: dest.max_event_age_days, delivery_summary=delivery_summary,
    event_label=lambda payload: str(payload.get("event_name")), business_messaging=True, check=check,
    # The Conversions API only receives events: it has no call that retracts or restates one, and an event sent again
    # with the same event_id and event_name within 48 hours is dropped ("we only consider the first one",
    # https://developers.facebook.com/docs/marketing-api/conversions-api/parameters/server-event/), so a new value
    # cannot replace the old. Checked 2026-12-06.
    adjust=None, no_adjust=f"not supported by {VENDOR}: it cannot retract or restate an event it received",
)
