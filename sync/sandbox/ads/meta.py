"""A local emulator of Meta's Conversions API (``POST /{vNN.0}/{dataset_id}/events``), in memory.

What it enforces (shared/reference/ads.md, Meta's docs), in order: the access token (query,
form, JSON field or ``Authorization: Bearer``; missing → code 104, wrong → 190), the dataset id
(unknown → 100/33), ``appsecret_proof`` (checked when given, required when configured), the
rate limit (code 17 / subcode 2446079 with ``X-Business-Use-Case-Usage``), then the batch:
``data`` of 1..1,000 events, each valid, or **the whole batch is refused** (HTTP 400, code 100,
nothing recorded). Event rules: ``event_name``, integer ``event_time`` no older than 7 days
(62 for ``physical_store``) and at most a minute ahead, a known ``action_source`` (website
needs ``client_user_agent`` + ``event_source_url``), ``user_data`` with digests (64 lowercase
hex) in hashed fields and raw values in never-hash fields, ``fbc`` shaped
``fb.<n>.<13-digit ms>.<fbclid>``, business messaging with its channel, ids and event names,
``Purchase`` with ``value`` + ``currency``.

Versions: the path's ``vNN.N`` is checked before the token, against the table lifesync's Meta
network declares (``sync.attribution.networks.meta.VERSIONS``, the Marketing API's dates), on
the sandbox clock's day: a version past its end gets Meta's code 2635 ("You are calling a
deprecated version of the Ads API"), one that does not exist (or is not released yet that day)
code 2500 ("Unknown path components"), both HTTP 400, nothing recorded.

Subcodes: 33, 2804003 (too old) and 2804066 (business messaging event name) are Meta's; the
others below are the sandbox's own choice (Meta's are not all published) — senders should act
on ``code`` (100: fix the data), not on the subcode.

Reads — the dataset node, the Marketing API's ad nodes (``ads``: an ``AdCatalogue`` read with
``MARKETING_TOKEN``), ``me/adaccounts`` and Graph batch requests — are ``sync.sandbox.ads.meta_reads``;
the Graph error envelope and request parameters are ``sync.sandbox.ads.graph``; Custom Audiences
(create, add and remove users in sessions) are ``sync.sandbox.ads.meta_audiences``.

Dedup: (event_name, event_id) within 48 h, separately per test code, first one wins; a
duplicate is answered like any event (Meta counts it received) and kept in ``duplicate_events``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from flask import Flask, Response, g

from sync.attribution.networks.meta import VERSIONS
from sync.http.versions import ENDED, UNKNOWN
from sync.sandbox.ads.common import (
    CURRENCY,
    AdSandbox,
    as_list,
    gate_requests,
    is_number,
    is_sha256_hex,
    json_response,
    looks_hashed,
)
from sync.sandbox.ads.graph import MetaError, params_of, trace
from sync.sandbox.ads.meta_audiences import AudienceBook, register_audiences
from sync.sandbox.ads.meta_reads import AdCatalogue, no_object, register_reads
from sync.sandbox.faults import Fault, Faults

__all__ = ["MetaError", "MetaSandbox", "create_app"]

MAX_EVENTS = 1000
DAY = 86_400
MAX_AGE = {"physical_store": 62 * DAY}  # ⚠ third-party reading; 7 days for every other source
DEFAULT_MAX_AGE = 7 * DAY
FUTURE_SLACK = 60
DEDUP_WINDOW = 48 * 3600
ACTION_SOURCES = frozenset({"email", "website", "app", "phone_call", "chat", "physical_store", "system_generated",
                            "business_messaging", "other"})
HASHED_FIELDS = frozenset({"em", "ph", "fn", "ln", "db", "ge", "ct", "st", "zp", "country", "external_id",
                           "f5first", "f5last", "fi", "dobd", "dobm", "doby"})
RAW_FIELDS = frozenset({"client_ip_address", "client_user_agent", "fbc", "fbp", "subscription_id", "fb_login_id",
                        "lead_id", "anon_id", "madid", "page_id", "page_scoped_user_id", "ctwa_clid",
                        "ig_account_id", "ig_sid", "whatsapp_business_account_id"})
MESSAGING_IDS = {"whatsapp": ("whatsapp_business_account_id", "ctwa_clid"),
                 "messenger": ("page_id", "page_scoped_user_id"),  # ⚠ third-party templates
                 "instagram": ("ig_account_id", "ig_sid")}  # ⚠ third-party templates
MESSAGING_EVENTS = frozenset({"LeadSubmitted", "Purchase", "AddToCart", "InitiateCheckout", "ViewContent",
                              "QualifiedLead", "OrderCreated", "OrderShipped", "OrderDelivered", "OrderCanceled",
                              "OrderReturned", "CartAbandoned", "RatingProvided", "ReviewProvided"})
FBC = re.compile(r"fb\.\d\.\d{13}\.\S+")
VERSION = re.compile(r"v\d+\.\d+")
# Subcodes (see the module docstring: only 33, 2804003 and 2804066 are Meta's own).
MISSING, INVALID, NOT_HASHED, HASHED_RAW, TOO_OLD, IN_FUTURE = 2804001, 2804007, 2804016, 2804017, 2804003, 2804004
NEEDS_VALUE, TOO_MANY, MESSAGING_NAME, NO_OBJECT, THROTTLED = 2804019, 2804048, 2804066, 33, 2446079


def _bad(subcode: int, title: str, user_msg: str) -> MetaError:
    return MetaError(100, "Invalid parameter", subcode=subcode, title=title, user_msg=user_msg)


class MetaSandbox(AdSandbox):
    """An in-memory Meta dataset receiving Conversions API events (thread-safe)."""

    ACCESS_TOKEN = "sandbox-meta-token"  # noqa: S105 - the sandbox's published fake credential
    DATASET_ID = "1234567890"
    APP_SECRET = "sandbox-meta-app-secret"  # noqa: S105
    MARKETING_TOKEN = "sandbox-meta-marketing-token"  # noqa: S105 - a system user's token with ads_read
    AD_ACCOUNT_ID, AD_ACCOUNT_NAME = "act_1029384756", "lifesync sandbox ad account"
    WABA_ID = "102290129340398"
    PAGE_ID = "106070095612345"

    def __init__(self, *, rate_limit: int | None = None, require_appsecret_proof: bool = False,
                 faults: Faults | None = None, clock: Callable[[], float] = time.time,
                 rate_limit_status: int = 400):
        super().__init__(rate_limit=rate_limit, faults=faults, clock=clock, dedup_window=DEDUP_WINDOW)
        self.require_appsecret_proof = require_appsecret_proof
        self.rate_limit_status = rate_limit_status  # ⚠ Graph answers throttles with 400; 429 is configurable
        self.messaging_event_names: dict[str, frozenset[str]] = dict.fromkeys(MESSAGING_IDS, MESSAGING_EVENTS)
        self.ads = AdCatalogue()  # what the Marketing API token reads (sync.sandbox.ads.meta_reads)
        self.audience_book = AudienceBook()  # custom audiences of AD_ACCOUNT_ID (sync.sandbox.ads.meta_audiences)

    def appsecret_proof(self, token: str) -> str:
        """HMAC-SHA256 of the token keyed with the app secret, hex (what a caller must send)."""
        return hmac.new(self.APP_SECRET.encode(), token.encode(), hashlib.sha256).hexdigest()

    def usage_header(self, regain_seconds: float = 0.0) -> dict[str, str]:
        """The ``X-Business-Use-Case-Usage`` header (empty when no rate limit is configured)."""
        if self.rate.limit is None and not regain_seconds:
            return {}
        percent = 100 if regain_seconds else self.rate.usage_percent()
        usage = {self.DATASET_ID: [{"type": "ads_management", "call_count": percent, "total_cputime": percent,
                                    "total_time": percent,
                                    "estimated_time_to_regain_access": math.ceil(regain_seconds / 60)}]}
        return {"X-Business-Use-Case-Usage": json.dumps(usage, separators=(",", ":"))}

    # ---- validation ------------------------------------------------------------------------------------------

    def check_event(self, event: Any, index: int, now: float) -> None:
        """Raise the MetaError that makes Meta refuse the batch containing this event, if any."""
        where = f"data[{index}]"
        if not isinstance(event, dict):
            raise _bad(INVALID, "Invalid Event", f"{where} must be an object")
        name = event.get("event_name")
        if not isinstance(name, str) or not name.strip():
            raise _bad(MISSING, "Missing Event Name", f"{where}: event_name is required")
        self._check_time(event.get("event_time"), event.get("action_source"), where, now)
        source = event.get("action_source")
        if source not in ACTION_SOURCES:
            raise _bad(INVALID if source is not None else MISSING, "Invalid Action Source",
                       f"{where}: action_source must be one of {sorted(ACTION_SOURCES)}, not {source!r}")
        event_id = event.get("event_id")
        if event_id is not None and not isinstance(event_id, str | int):
            raise _bad(INVALID, "Invalid Event ID", f"{where}: event_id must be a string")
        user = event.get("user_data")
        if not isinstance(user, dict) or not user:
            raise _bad(MISSING, "Missing User Data", f"{where}: user_data with at least one customer parameter "
                                                     "is required")
        self._check_user_data(user, where)
        if source == "website":
            if not user.get("client_user_agent"):
                raise _bad(MISSING, "Missing User Agent", f"{where}: website events need user_data.client_user_agent")
            if not event.get("event_source_url"):
                raise _bad(MISSING, "Missing Event Source URL", f"{where}: website events need event_source_url")
        if source == "business_messaging":
            self._check_messaging(event, name, user, where)
        self._check_custom_data(event.get("custom_data"), name, where)
        self._check_ldu(event, where)

    def _check_time(self, event_time: Any, source: Any, where: str, now: float) -> None:
        if event_time is None:
            raise _bad(MISSING, "Missing Event Time", f"{where}: event_time is required")
        if not isinstance(event_time, int) or isinstance(event_time, bool):
            raise _bad(INVALID, "Invalid Event Time", f"{where}: event_time must be an integer Unix time in seconds")
        max_age = MAX_AGE.get(source, DEFAULT_MAX_AGE) if isinstance(source, str) else DEFAULT_MAX_AGE
        if event_time < now - max_age:
            raise _bad(TOO_OLD, "Event Timestamp Too Old",
                       f"{where}: event_time is more than {max_age // DAY} days ago; send events sooner")
        if event_time > now + FUTURE_SLACK:
            raise _bad(IN_FUTURE, "Event Timestamp In The Future",
                       f"{where}: event_time is in the future (Unix seconds, not milliseconds?)")

    def _check_user_data(self, user: dict[str, Any], where: str) -> None:
        for field, value in user.items():
            if field in HASHED_FIELDS:
                for item in as_list(value):
                    if not is_sha256_hex(item):
                        raise _bad(NOT_HASHED, "Unhashed User Data",
                                   f"{where}: user_data.{field} must be SHA-256 hashed (64 lowercase hex digits)")
            elif field in RAW_FIELDS:
                for item in as_list(value):
                    if not isinstance(item, str | int) or isinstance(item, bool) or looks_hashed(item):
                        raise _bad(HASHED_RAW, "Hashed Value Not Allowed",
                                   f"{where}: user_data.{field} must be sent as is, never hashed")
        fbc = user.get("fbc")
        if fbc is not None and not (isinstance(fbc, str) and FBC.fullmatch(fbc)):
            raise _bad(INVALID, "Invalid fbc", f"{where}: user_data.fbc must be fb.1.<creation time in ms>.<fbclid>")

    def _check_messaging(self, event: dict[str, Any], name: str, user: dict[str, Any], where: str) -> None:
        channel = event.get("messaging_channel")
        if channel not in MESSAGING_IDS:
            raise _bad(MISSING if channel is None else INVALID, "Invalid Messaging Channel",
                       f"{where}: business_messaging events need messaging_channel in {sorted(MESSAGING_IDS)}")
        for field in MESSAGING_IDS[channel]:
            if not user.get(field):
                raise _bad(MISSING, "Missing Messaging Identifier",
                           f"{where}: {channel} business messaging events need user_data.{field}")
        if name not in self.messaging_event_names[channel]:
            raise _bad(MESSAGING_NAME, "Unsupported Event Name",
                       f"{where}: {name!r} is not accepted for business messaging on {channel}; use one of "
                       f"{sorted(self.messaging_event_names[channel])}")

    def _check_custom_data(self, custom: Any, name: str, where: str) -> None:
        if custom is None:
            custom = {}
        if not isinstance(custom, dict):
            raise _bad(INVALID, "Invalid Custom Data", f"{where}: custom_data must be an object")
        currency = custom.get("currency")
        if currency is not None and not (isinstance(currency, str) and CURRENCY.fullmatch(currency)):
            raise _bad(INVALID, "Invalid Currency", f"{where}: custom_data.currency must be a 3-letter ISO code")
        for key in ("value", "net_revenue"):  # net_revenue: a float since 2025 (facebook-python-business-sdk 22.0)
            if custom.get(key) is not None and not is_number(custom[key]):
                raise _bad(INVALID, "Invalid Value", f"{where}: custom_data.{key} must be a number")
        value = custom.get("value")
        if name == "Purchase" and (value is None or currency is None):
            raise _bad(NEEDS_VALUE, "Missing Purchase Value",
                       f"{where}: Purchase events need custom_data.value and custom_data.currency")

    def _check_ldu(self, event: dict[str, Any], where: str) -> None:
        options = event.get("data_processing_options")
        if options is None:
            return
        if not isinstance(options, list) or any(option != "LDU" for option in options):
            raise _bad(INVALID, "Invalid Data Processing Options",
                       f"{where}: data_processing_options must be [] or [\"LDU\"]")
        for key in ("data_processing_options_country", "data_processing_options_state"):
            value = event.get(key)
            if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
                raise _bad(INVALID, "Invalid Data Processing Options", f"{where}: {key} must be an integer")
        if options and (event.get("data_processing_options_country", 0) not in (0, 1)
                        or event.get("data_processing_options_state", 0) not in (0, 1000)):
            raise _bad(INVALID, "Invalid Data Processing Options",
                       f"{where}: LDU country must be 0 or 1 and state 0 or 1000")

    # ---- the request -----------------------------------------------------------------------------------------

    def check_version(self, version: str, rest: str) -> None:
        """Refuse a Graph API version Meta would refuse on the sandbox clock's day (``rest``: the path after it).

        Past its end, Meta answers code 2635 naming its newest version, as quoted in
        https://developers.facebook.com/blog/post/2024/04/16/upcoming-change-in-marketing-api-version-deprecation
        and bodies recorded in facebook-java-business-sdk#136 and facebook-nodejs-business-sdk#178; a version
        that does not exist gets "Unknown path components" (code 2500, https://github.com/arsduo/koala/issues/611).
        """
        day = datetime.fromtimestamp(self.clock(), UTC).date()
        state = VERSIONS.check(version, day).state if VERSION.fullmatch(version) else UNKNOWN
        if state == UNKNOWN:
            raise MetaError(2500, f"Unknown path components: /{rest}")
        if state == ENDED:
            newest = VERSIONS.available(day)[0].name
            raise MetaError(2635, f"(#2635) You are calling a deprecated version of the Ads API. Please update to the "
                                  f"latest version: {newest}.")

    def check_token(self, params: dict[str, Any]) -> str:
        """The request's token, one the sandbox issued (104 when missing, 190 when unknown), appsecret_proof checked."""
        token = params.get("access_token")
        if not token:
            raise MetaError(104, "An access token is required to request this resource.")
        if token not in (self.ACCESS_TOKEN, self.MARKETING_TOKEN):
            raise MetaError(190, "Invalid OAuth access token - Cannot parse access token",
                            headers={"WWW-Authenticate": 'OAuth "Facebook Platform" "invalid_token"'})
        proof = params.get("appsecret_proof")
        if proof is None and self.require_appsecret_proof:
            raise MetaError(100, "API calls from the server require an appsecret_proof argument",
                            kind="GraphMethodException")
        if proof is not None and not hmac.compare_digest(str(proof), self.appsecret_proof(token)):
            raise MetaError(100, "Invalid appsecret_proof provided in the API argument", kind="GraphMethodException")
        return str(token)

    def authorize(self, params: dict[str, Any], dataset_id: str, method: str = "post") -> str:
        """Check token, dataset and appsecret_proof; returns the token (``method`` as Meta names it in code 100).

        Only the Conversions API token sees the dataset; the Marketing API token reads ads, not it.
        """
        token = self.check_token(params)
        if dataset_id != self.DATASET_ID or token != self.ACCESS_TOKEN:
            raise no_object(dataset_id, method)
        return token

    def throttled(self, retry_after: float | None = None) -> MetaError:
        """The rate-limit error (code 17), with the usage header saying when access returns."""
        wait = retry_after if retry_after is not None else self.rate.retry_after()
        return MetaError(17, "User request limit reached", subcode=THROTTLED, status=self.rate_limit_status,
                         transient=True, title="Too Many Calls",
                         user_msg="There have been too many calls for this dataset. Wait a bit and try again.",
                         headers=self.usage_header(max(wait, 1.0)))

    def receive(self, params: dict[str, Any], request_index: int) -> dict[str, Any]:
        """Validate a batch (all or nothing) and record it; returns Meta's success body."""
        data = params.get("data")
        if isinstance(data, str):  # form and query parameters carry the array JSON-encoded
            try:
                data = json.loads(data)
            except ValueError:
                data = None
        if not isinstance(data, list) or not data:
            raise _bad(MISSING, "Missing Data", "data must be a non-empty array of events")
        test_code = params.get("test_event_code")
        if test_code is not None and (not isinstance(test_code, str) or not test_code):
            raise _bad(INVALID, "Invalid Test Event Code", "test_event_code must be a non-empty string")
        if len(data) > MAX_EVENTS:
            raise _bad(TOO_MANY, "Too Many Events", f"data has {len(data)} events; send at most {MAX_EVENTS}")
        now = self.clock()
        for index, event in enumerate(data):
            self.check_event(event, index, now)
        for event in data:
            event_id = event.get("event_id")
            key = (test_code, event["event_name"], str(event_id)) if event_id is not None else None
            self.deliver(event, key, request_index, test_event_code=test_code)
        return {"events_received": len(data), "messages": []}


def _fault_error(sandbox: MetaSandbox, fault: Fault) -> MetaError:
    if fault.status == 429:
        return sandbox.throttled(fault.retry_after or 60.0)
    if fault.status >= 500:
        return MetaError(2, "An unexpected error has occurred. Please retry your request later.",
                         status=fault.status, transient=True)
    if fault.status == 401:
        return MetaError(190, "Invalid OAuth access token - Cannot parse access token", status=401)
    if fault.status == 403:
        return MetaError(10, "Application does not have permission for this action", status=403)
    return MetaError(1, f"An unknown error occurred ({fault.reason})", status=fault.status, transient=True)


def create_app(sandbox: MetaSandbox) -> Flask:
    """A Flask app serving the sandbox on the Graph API's paths (no ``/meta`` prefix: the server mounts it)."""
    app = Flask("lifesync-meta-sandbox")

    gate_requests(app, sandbox, lambda fault: _fault_error(sandbox, fault))

    @app.errorhandler(MetaError)
    def meta_error(error: MetaError) -> Response:
        return json_response(error.status, error.body(trace(g.get("request_index", 0))), error.headers)

    @app.post("/<version>/<dataset_id>/events")
    def events(version: str, dataset_id: str) -> Response:
        params: dict[str, Any] = {}
        with sandbox.lock:
            try:
                params = params_of()
                sandbox.check_version(version, f"{dataset_id}/events")
                sandbox.authorize(params, dataset_id)
                if not sandbox.rate.admit():
                    raise sandbox.throttled()
                body = sandbox.receive(params, g.request_index)
            except MetaError:
                data = params.get("data")
                sandbox.reject(len(data) if isinstance(data, list) else 0)
                raise
            headers = sandbox.usage_header()
        return json_response(200, {**body, "fbtrace_id": trace(g.request_index)}, headers)

    register_audiences(app, sandbox)
    register_reads(app, sandbox)

    return app
