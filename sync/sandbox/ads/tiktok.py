"""A local emulator of TikTok's Events API 2.0 (``POST /open_api/v1.3/event/track/``), in memory.

TikTok answers HTTP 200 with ``{code, message, request_id, data}`` whatever happened (only
injected 5xx faults change the status). Codes: 0 ok; 20001 partial success (some events
refused); 40001 no permission for the event source id; 40002 invalid parameters (malformed
JSON, bad ``event_source``, empty or > 1,000 ``data``, or every event refused); 40100 too
many requests; 40104 access token missing; 40105 access token incorrect or revoked; 50000
system error.

``GET /open_api/v1.3/ad/get/`` (the Marketing API's ad read, with ``MARKETING_TOKEN`` for
``ADVERTISER_ID``): ``filtering.ad_ids`` of 1-100 ids, ``fields`` among ad, ad group and campaign
ids and names, the advertiser's ads in TikTok's ``{list, page_info}``; another advertiser is 40001.

The segment (streaming) API for custom audiences — ``/segment/audience/`` and ``/segment/mapping/``,
allow-listed apps only — is ``sync.sandbox.ads.tiktok_audiences``.

Per-event rules: ``event`` (name), integer ``event_time`` in seconds (not milliseconds, at
most a minute ahead, and no older than the source's window, ``MAX_AGE``: 28 days for every
source), ``user.email`` / ``phone`` / ``external_id`` / ``first_name`` / ``last_name`` /
``zip_code`` as SHA-256 digests (64 lowercase hex, one or an array), ``ttclid`` / ``ttp`` /
``ip`` / ``user_agent`` never hashed, a ``crm`` event matchable by ``lead.lead_id`` or by
``user.email`` / ``user.phone``, a ``lead`` object only with a non-empty string ``lead_id``
(and ``lead_event_source``, when given, a non-empty string: TikTok publishes no list of CRM
names to check it against), ``properties.value`` + ``currency`` for Purchase /
CompletePayment / PlaceAnOrder.

The age window is TikTok's attribution limit (the sources are cited at ``MAX_AGE``): TikTok
documents no answer of its own for an event past it, so the sandbox refuses such an event like
any other invalid parameter — per event, code 40002, in a partial success — in its own words.
The window is kept here, apart from lifesync's copy in ``sync.attribution.networks.tiktok``, so
that a client-side mistake about it shows up against the sandbox.

A refused event is described in ``data.failed_events`` as ``{index, event_id?, code: 40002,
message}``: TikTok's own partial-failure body is not published, so this shape is the
sandbox's (documented here). Dedup: (event, event_id) within 48 h per event source and test
code; a duplicate is answered as received and kept in ``duplicate_events``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from flask import Flask, Response, g, request

from sync.sandbox.ads import tiktok_audiences
from sync.sandbox.ads.common import (
    CURRENCY,
    AdSandbox,
    as_list,
    gate_requests,
    is_number,
    is_sha256_hex,
    looks_hashed,
    request_json,
)
from sync.sandbox.ads.tiktok_answers import (
    BAD_TOKEN,
    INVALID,
    NO_PERMISSION,
    NO_TOKEN,
    OK,
    PARTIAL,
    SYSTEM,
    THROTTLED,
    TikTokError,
    answer,
)
from sync.sandbox.faults import Fault, Faults

__all__ = ["TikTokError", "TikTokSandbox", "create_app"]

TRACK_PATH = "/open_api/v1.3/event/track/"
AD_GET_PATH = "/open_api/v1.3/ad/get/"
MAX_AD_IDS = 100  # filtering.ad_ids: 1-100 (tiktok/tiktok-business-api-sdk, python_sdk/docs/FilteringAdGet.md)
AD_FIELDS = ("ad_id", "ad_name", "adgroup_id", "adgroup_name", "campaign_id", "campaign_name")
MAX_EVENTS = 1000
DEDUP_WINDOW = 48 * 3600
FUTURE_SLACK = 60
MAX_SECONDS = 10**11  # a larger event_time is milliseconds (year 5138 in seconds)
DAY = 86_400
# Attribution limit per event_source: click-through windows of 1 to 28 days for web and app (TikTok,
# https://www.tiktok.com/business/en/blog/flexible-attribution-windows-campaign-measurement); "Events must have
# occurred within the previous 28 days" for offline and CRM events (https://docs.amperity.com/operator/
# events_tiktok_ads.html). Tests may change it per sandbox (``TikTokSandbox.max_age``).
MAX_AGE = {"web": 28 * DAY, "app": 28 * DAY, "offline": 28 * DAY, "crm": 28 * DAY}
HASHED_FIELDS = ("email", "phone", "external_id", "first_name", "last_name", "zip_code")
RAW_FIELDS = ("ttclid", "ttp", "ip", "user_agent")
VALUE_EVENTS = frozenset({"Purchase", "CompletePayment", "PlaceAnOrder"})


class TikTokSandbox(AdSandbox):
    """An in-memory TikTok advertiser receiving Events API 2.0 events (thread-safe)."""

    ACCESS_TOKEN = "sandbox-tiktok-token"  # noqa: S105 - the sandbox's published fake credential
    EVENT_SOURCE_ID = "CRM0000001"
    PIXEL_CODE = "CSANDBOXPIXEL000001"
    APP_ID = "7000000001"
    MARKETING_TOKEN = "sandbox-tiktok-marketing-token"  # noqa: S105 - an advertiser-authorised Marketing API token
    ADVERTISER_ID = "7000000000000000001"

    def __init__(self, *, rate_limit: int | None = None, faults: Faults | None = None,
                 clock: Callable[[], float] = time.time):
        super().__init__(rate_limit=rate_limit, faults=faults, clock=clock, dedup_window=DEDUP_WINDOW)
        self.max_age = dict(MAX_AGE)  # seconds per event_source
        # which event source ids each event_source may name (TikTok checks the id's kind)
        self.event_sources: dict[str, frozenset[str]] = {
            "crm": frozenset({self.EVENT_SOURCE_ID}), "offline": frozenset({self.EVENT_SOURCE_ID}),
            "web": frozenset({self.PIXEL_CODE}), "app": frozenset({self.APP_ID})}
        self.ads: dict[str, dict[str, str]] = {}  # ad id -> the ad/get row (ad, ad group and campaign names)
        # the segment API (sync.sandbox.ads.tiktok_audiences): open only to allow-listed apps; audiences by id
        self.segment_allow_listed = True
        self.segment_audiences: dict[str, dict[str, Any]] = {}

    def add_ad(self, ad_id: str, ad_name: str, adgroup_id: str, adgroup_name: str, campaign_id: str,
               campaign_name: str) -> None:
        """Add an ad of the advertiser (what ``ad/get`` lists)."""
        self.ads[ad_id] = dict(zip(AD_FIELDS, (ad_id, ad_name, adgroup_id, adgroup_name, campaign_id, campaign_name),
                                   strict=True))

    def ad_get(self, token: str | None, args: dict[str, str]) -> dict[str, Any]:
        """``ad/get``: the advertiser's ads among ``filtering.ad_ids``, with the asked fields (else TikTokError)."""
        if not token:
            raise TikTokError(NO_TOKEN, "Access token is null, please verify your access token.")
        if token != self.MARKETING_TOKEN:
            raise TikTokError(BAD_TOKEN, "Access token is incorrect or has been revoked.")
        if args.get("advertiser_id") != self.ADVERTISER_ID:
            raise TikTokError(NO_PERMISSION, f"No permission to operate advertiser {args.get('advertiser_id')}.")
        try:
            filtering = json.loads(args.get("filtering") or "{}")
            fields = json.loads(args.get("fields") or json.dumps(["ad_id"]))
        except ValueError:
            raise TikTokError(INVALID, "filtering and fields must be JSON.") from None
        ids = filtering.get("ad_ids") if isinstance(filtering, dict) else None
        if ids is not None and not (isinstance(ids, list) and 1 <= len(ids) <= MAX_AD_IDS):
            raise TikTokError(INVALID, f"filtering.ad_ids: Length must be between 1 and {MAX_AD_IDS}.")
        unknown = [f for f in fields if f not in AD_FIELDS] if isinstance(fields, list) else ["fields"]
        if unknown:
            raise TikTokError(INVALID, f"fields: {unknown[0]} is not a valid field.")
        rows = [{f: ad[f] for f in fields} for ad_id, ad in self.ads.items() if ids is None or ad_id in ids]
        return {"list": rows, "page_info": {"page": 1, "page_size": MAX_AD_IDS, "total_number": len(rows),
                                            "total_page": 1}}

    # ---- validation ------------------------------------------------------------------------------------------

    def event_problem(self, event: Any, source: str, now: float) -> str | None:
        """Why TikTok refuses this event, or None when it is valid."""
        if not isinstance(event, dict):
            return "event must be an object"
        name = event.get("event")
        if not isinstance(name, str) or not name.strip():
            return "event: Missing data for required field."
        event_time = event.get("event_time")
        if event_time is None:
            return "event_time: Missing data for required field."
        if not isinstance(event_time, int) or isinstance(event_time, bool) or event_time <= 0:
            return "event_time: must be an integer Unix time in seconds"
        if event_time >= MAX_SECONDS:
            return "event_time: must be in seconds, not milliseconds"
        if event_time > now + FUTURE_SLACK:
            return "event_time: cannot be in the future"
        window = self.max_age.get(source)
        if window is not None and event_time < now - window:
            return (f"event_time: the event is more than {window // DAY} days old, outside the attribution window "
                    f"of {source} events.")
        event_id = event.get("event_id")
        if event_id is not None and (not isinstance(event_id, str) or not event_id):
            return "event_id: must be a non-empty string"
        if "limited_data_use" in event and not isinstance(event["limited_data_use"], bool):
            return "limited_data_use: Not a valid boolean."
        return (self._user_problem(event.get("user"))
                or self._lead_problem(event.get("lead"), event.get("user"), source)
                or self._properties_problem(event.get("properties"), name))

    @staticmethod
    def _user_problem(user: Any) -> str | None:
        if user is None:
            return None
        if not isinstance(user, dict):
            return "user: must be an object"
        for field in HASHED_FIELDS:
            if field in user and not all(is_sha256_hex(item) for item in as_list(user[field])):
                return f"user.{field}: must be SHA-256 hashed (64 lowercase hex digits)"
        for field in RAW_FIELDS:
            value = user.get(field)
            if value is not None and (not isinstance(value, str) or looks_hashed(value)):
                return f"user.{field}: must be sent as is, never hashed"
        return None

    @staticmethod
    def _lead_problem(lead: Any, user: Any, source: str) -> str | None:
        if source != "crm":
            return None
        if lead is not None:
            if not isinstance(lead, dict):
                return "lead: must be an object"
            if not isinstance(lead.get("lead_id"), str) or not lead["lead_id"].strip():
                return "lead.lead_id: Missing data for required field."
            source_name = lead.get("lead_event_source")
            if source_name is not None and (not isinstance(source_name, str) or not source_name.strip()):
                return "lead.lead_event_source: must be a non-empty string (the name of the CRM)."
            return None
        user = user if isinstance(user, dict) else {}
        if not (user.get("email") or user.get("phone")):
            return "lead.lead_id: Missing data for required field (a crm event needs lead.lead_id, email or phone)."
        return None

    @staticmethod
    def _properties_problem(properties: Any, name: str) -> str | None:
        if properties is None:
            properties = {}
        if not isinstance(properties, dict):
            return "properties: must be an object"
        value, currency = properties.get("value"), properties.get("currency")
        if value is not None and not is_number(value):
            return "properties.value: must be a number"
        if currency is not None and not (isinstance(currency, str) and CURRENCY.fullmatch(currency)
                                         and currency.isupper()):
            return "properties.currency: must be a 3-letter uppercase ISO 4217 code"
        if name in VALUE_EVENTS and (value is None or currency is None):
            return f"properties.value and properties.currency are required for {name}"
        return None

    # ---- the request -----------------------------------------------------------------------------------------

    def authorize(self, token: str | None) -> None:
        """Check the ``Access-Token`` header."""
        if not token:
            raise TikTokError(NO_TOKEN, "Access token is null, please verify your access token.")
        if token != self.ACCESS_TOKEN:
            raise TikTokError(BAD_TOKEN, "Access token is incorrect or has been revoked.")

    def track(self, body: Any, request_index: int) -> tuple[int, str, dict[str, Any]]:
        """Validate and record a batch; returns (code, message, data) or raises TikTokError for the whole request."""
        if not isinstance(body, dict):
            raise TikTokError(INVALID, "Invalid request body: a JSON object is required.")
        source = body.get("event_source")
        if source not in self.event_sources:
            raise TikTokError(INVALID, f"event_source: must be one of {sorted(self.event_sources)}.")
        source_id = body.get("event_source_id")
        if not isinstance(source_id, str) or not source_id:
            raise TikTokError(INVALID, "event_source_id: Missing data for required field.")
        if source_id not in self.event_sources[source]:
            raise TikTokError(NO_PERMISSION, f"No permission to operate event source {source_id} ({source}).")
        test_code = body.get("test_event_code")
        if test_code is not None and (not isinstance(test_code, str) or not test_code):
            raise TikTokError(INVALID, "test_event_code: must be a non-empty string.")
        data = body.get("data")
        if not isinstance(data, list) or not data:
            raise TikTokError(INVALID, "data: Missing data for required field (a non-empty array of events).")
        if len(data) > MAX_EVENTS:
            raise TikTokError(INVALID, f"data: Length must be between 1 and {MAX_EVENTS}.")
        now = self.clock()
        failed, valid = [], []
        for index, event in enumerate(data):
            problem = self.event_problem(event, source, now)
            if problem is None:
                valid.append(event)
                continue
            entry: dict[str, Any] = {"index": index, "code": INVALID, "message": problem}
            if isinstance(event, dict) and isinstance(event.get("event_id"), str):
                entry["event_id"] = event["event_id"]
            failed.append(entry)
        if not valid:
            raise TikTokError(INVALID, f"data.{failed[0]['index']}.{failed[0]['message']}",
                              data={"failed_events": failed})
        with self.lock:
            self.rejected_events += len(failed)
            for event in valid:
                key = (source_id, test_code, event["event"], event["event_id"]) if event.get("event_id") else None
                self.deliver(event, key, request_index, event_source=source, event_source_id=source_id,
                             test_event_code=test_code)
        if failed:
            return PARTIAL, f"Partial success: {len(failed)} of {len(data)} events failed.", {"failed_events": failed}
        return OK, "OK", {}


def _fault_error(fault: Fault) -> TikTokError:
    if fault.status == 429:
        return TikTokError(THROTTLED, "Too many requests. Please retry in some time.")
    if fault.status >= 500:
        return TikTokError(SYSTEM, "System error. Please retry later.", status=fault.status)
    if fault.status in (401, 403):
        return TikTokError(BAD_TOKEN, "Access token is incorrect or has been revoked.")
    return TikTokError(INVALID, f"Sandbox {fault.reason} ({fault.status}).")


def create_app(sandbox: TikTokSandbox) -> Flask:
    """A Flask app serving the sandbox on TikTok's paths (no ``/tiktok`` prefix: the server mounts it)."""
    app = Flask("lifesync-tiktok-sandbox")

    gate_requests(app, sandbox, _fault_error)

    @app.errorhandler(TikTokError)
    def tiktok_error(error: TikTokError) -> Response:
        return answer(error.code, error.message, g.get("request_index", 0), error.data, error.status)

    @app.post(TRACK_PATH)
    def track() -> Response:
        try:
            body, malformed = request_json(), False
        except ValueError:
            body, malformed = None, True
        with sandbox.lock:
            try:
                sandbox.authorize(request.headers.get("Access-Token"))
                if not sandbox.rate.admit():
                    raise TikTokError(THROTTLED, "Too many requests. Please retry in some time.")
                if malformed:
                    raise TikTokError(INVALID, "Invalid request body: malformed JSON.")
                code, message, data = sandbox.track(body, g.request_index)
            except TikTokError:
                events = body.get("data") if isinstance(body, dict) else None
                sandbox.reject(len(events) if isinstance(events, list) else 0)
                raise
        return answer(code, message, g.request_index, data)

    @app.get(AD_GET_PATH)
    def ad_get() -> Response:
        with sandbox.lock:
            if not sandbox.rate.admit():
                raise TikTokError(THROTTLED, "Too many requests. Please retry in some time.")
            data = sandbox.ad_get(request.headers.get("Access-Token"), dict(request.args.items()))
        return answer(OK, "OK", g.request_index, data)

    tiktok_audiences.register(app, sandbox)
    return app
