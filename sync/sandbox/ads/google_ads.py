"""A local emulator of Google Ads ``customers/{cid}:uploadClickConversions`` (REST), in memory.

Versions: the path's ``vNN`` is checked first, against ``sync.attribution.networks.google.versions.ADS_API``
on the sandbox clock's day: a version past its sunset, or one that does not exist (or is not
released yet), is answered as Google answers a method it cannot route — gRPC UNIMPLEMENTED,
HTTP 501, "GRPC target method can't be resolved." (the error client libraries surface for a
sunset version: https://github.com/googleads/google-ads-python/issues/897, and
https://github.com/Opteo/google-ads-api/issues/394). Fields added in a later version than the one
asked for are unknown names to the JSON parser (``google_ads_parse.FIELDS_SINCE``).

The same app serves the Data Manager API (``/v1/events:ingest``, ``/v1/requestStatus:retrieve``;
``google_data_manager``) for the same account, conversion actions and token, and its Customer Match
(user lists, ``/v1/audienceMembers:ingest`` / ``:remove``; ``google_audiences``).

Request-level answers (HTTP error, nothing recorded): ``developer-token`` missing (400
DEVELOPER_TOKEN_PARAMETER_MISSING) or wrong (401 DEVELOPER_TOKEN_INVALID); bearer token
missing or wrong (401 UNAUTHENTICATED, OAUTH_TOKEN_INVALID); a customer id with dashes (400
INVALID_CUSTOMER_ID) or not ours, directly or through ``login-customer-id`` (403
USER_PERMISSION_DENIED); rate limit (429 RESOURCE_EXHAUSTED, RESOURCE_TEMPORARILY_EXHAUSTED
with a ``retryDelay``); a body the proto JSON parser refuses (unknown field, bad enum value,
two members of a oneof: 400 with ``google.rpc.BadRequest``); ``partialFailure`` not true
(PARTIAL_FAILURE_MODE_REQUIRED); no conversions or more than 2,000
(TOO_MANY_CONVERSIONS_IN_REQUEST). Field names are accepted in lowerCamel or snake_case, as
Google's JSON parser does.

Per-conversion errors go to ``partialFailureError`` (code 3, a GoogleAdsFailure per error
with its ``conversions[i]`` location) while valid conversions are recorded; ``results`` has
one entry per conversion (``{}`` for a failed one) and is left out under ``validateOnly``,
which records nothing. Duplicates: an order id already used for the action
(ORDER_ID_ALREADY_IN_USE) or twice in one request (DUPLICATE_ORDER_ID); the same action +
click id + conversion instant uploaded before (CLICK_CONVERSION_ALREADY_EXISTS) or twice in
one request (DUPLICATE_CLICK_CONVERSION_IN_REQUEST). Those are refused, as Google does, and
kept in ``duplicate_events`` (not in ``rejected_events``).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, ClassVar

from flask import Flask, Response, g, request
from werkzeug.datastructures import Headers

from sync.attribution.networks.google.versions import ADS_API
from sync.http.versions import CURRENT, ENDING
from sync.sandbox.ads import google_audiences, google_data_manager
from sync.sandbox.ads.common import AdSandbox, gate_requests, is_sha256_hex, json_response, looks_hashed, request_json
from sync.sandbox.ads.google_adjustments import AdjustmentLedger, upload_adjustments
from sync.sandbox.ads.google_adjustments import parse as parse_adjustments
from sync.sandbox.ads.google_ads_parse import (
    VERSION,
    GoogleError,
    ads_error,
    failure,
    location,
    parse_body,
    parse_error,
)
from sync.sandbox.faults import Fault, Faults

__all__ = ["GoogleAdsSandbox", "GoogleError", "create_app"]

MAX_CONVERSIONS = 2000
MAX_IDENTIFIERS = 5
CLICK_IDS = ("gclid", "gbraid", "wbraid")
CLICK_ID = re.compile(r"[A-Za-z0-9_\-.]{1,512}")
ACTION = re.compile(r"customers/(\d+)/conversionActions/(\d+)")
DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}")
CURRENCY = re.compile(r"[A-Z]{3}")


class GoogleAdsSandbox(AdSandbox):
    """An in-memory Google Ads account receiving offline click conversions (thread-safe)."""

    DEVELOPER_TOKEN = "sandbox-dev-token"  # noqa: S105 - the sandbox's published fake credentials
    ACCESS_TOKEN = "sandbox-google-oauth"  # noqa: S105
    CUSTOMER_ID = "1234567890"
    MANAGER_ID = "9876543210"  # a manager account allowed as login-customer-id
    CONVERSION_ACTIONS: ClassVar[dict[str, str]] = {"purchase": "111", "lead": "222", "booking": "333",
                                                    "add_to_cart": "444", "qualified_lead": "555"}

    def __init__(self, *, rate_limit: int | None = None, faults: Faults | None = None,
                 clock: Callable[[], float] = time.time):
        super().__init__(rate_limit=rate_limit, faults=faults, clock=clock, dedup_window=None)
        self.jobs = 0
        self.request_statuses: dict[str, list[dict[str, Any]]] = {}  # Data Manager: request id -> per destination
        self.adjustment_ledger = AdjustmentLedger()  # uploadConversionAdjustments (google_adjustments)
        # Data Manager: the conversion recorded per (transaction, action, transactionId), and the restatements of them
        self.transactions: dict[tuple[str, str, str], dict[str, Any]] = {}
        self.restatements: list[dict[str, Any]] = []
        self.user_lists: dict[str, dict[str, Any]] = {}  # Data Manager Customer Match lists (google_audiences)

    def check_version(self, version: str) -> None:
        """Refuse a Google Ads API version that is sunset or unknown on the sandbox clock's day, as Google does."""
        day = datetime.fromtimestamp(self.clock(), UTC).date()
        if not VERSION.fullmatch(version) or ADS_API.check(version, day).state not in (CURRENT, ENDING):
            raise GoogleError(501, "GRPC target method can't be resolved.")

    def conversion_action(self, kind: str) -> str:
        """The resource name of a conversion action by kind (KeyError for an unknown kind)."""
        return f"customers/{self.CUSTOMER_ID}/conversionActions/{self.CONVERSION_ACTIONS[kind]}"

    def authorize(self, customer_id: str, headers: Any) -> None:
        """Check the developer token, bearer token, customer id and login-customer-id headers."""
        token = headers.get("developer-token")
        if not token:
            raise GoogleError(400, "Request contains an invalid argument.", [ads_error(
                "requestError", "DEVELOPER_TOKEN_PARAMETER_MISSING", "The developer-token header is required.")])
        if token != self.DEVELOPER_TOKEN:
            raise GoogleError(401, "Request is missing required authentication credential.", [ads_error(
                "authenticationError", "DEVELOPER_TOKEN_INVALID", "The developer token is not valid.")])
        scheme, _, bearer = headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or bearer.strip() != self.ACCESS_TOKEN:
            raise GoogleError(401, "Request had invalid authentication credentials. Expected OAuth 2 access token, "
                                   "login cookie or other valid authentication credential.", [ads_error(
                                       "authenticationError", "OAUTH_TOKEN_INVALID",
                                       "Oauth token in the header is not valid.")])
        if not customer_id.isdigit():
            raise GoogleError(400, "Request contains an invalid argument.", [ads_error(
                "requestError", "INVALID_CUSTOMER_ID", f"Customer ID {customer_id!r} is invalid: digits only, "
                                                       "no dashes.")])
        login = headers.get("login-customer-id")
        if login is not None and not login.isdigit():
            raise GoogleError(400, "Request contains an invalid argument.", [ads_error(
                "headerError", "INVALID_LOGIN_CUSTOMER_ID", "The login customer ID could not be validated.")])
        if customer_id != self.CUSTOMER_ID or login not in (None, self.CUSTOMER_ID, self.MANAGER_ID):
            raise GoogleError(403, "The caller does not have permission", [ads_error(
                "authorizationError", "USER_PERMISSION_DENIED",
                "User doesn't have permission to access customer. Note: If you're accessing a client customer, "
                "the manager's customer id must be set in the 'login-customer-id' header.")])

    def throttled(self, retry_after: float | None = None) -> GoogleError:
        """The 429 RESOURCE_EXHAUSTED answer with its retry delay."""
        delay = max(1, round(retry_after if retry_after is not None else self.rate.retry_after()))
        error = ads_error("quotaError", "RESOURCE_TEMPORARILY_EXHAUSTED",
                          f"Too many requests. Retry in {delay} seconds.")
        error["details"] = {"quotaErrorDetails": {"rateScope": "ACCOUNT", "rateName": "Requests per minute",
                                                  "retryDelay": f"{delay}s"}}
        return GoogleError(429, "Resource has been exhausted (e.g. check quota).", [error])

    def conversion_error(self, conversion: dict[str, Any], index: int) -> dict[str, Any] | None:
        """The first GoogleAdsError of one conversion (None when valid; duplicates are checked apart)."""
        clicks = [name for name in CLICK_IDS if conversion.get(name)]
        if not clicks and not conversion.get("userIdentifiers"):
            return ads_error("fieldError", "REQUIRED", "One of gclid, gbraid, wbraid or user_identifiers is "
                                                       "required.", index, "gclid")
        if "gbraid" in clicks and "wbraid" in clicks:
            return ads_error("conversionUploadError", "GBRAID_WBRAID_BOTH_SET",
                             "Can't use both gbraid and wbraid parameters. Use only 1 and try again.", index, "wbraid")
        if len(clicks) > 1:
            return ads_error("fieldError", "VALUE_MUST_BE_UNSET", "The field cannot be set: send only one click id.",
                             index, clicks[1])
        for name in clicks:
            value = conversion[name]
            if not isinstance(value, str) or not CLICK_ID.fullmatch(value) or looks_hashed(value):
                return ads_error("conversionUploadError", f"UNPARSEABLE_{name.upper()}",
                                 f"The imported {name} could not be decoded.", index, name)
        action = conversion.get("conversionAction")
        if not action:
            return ads_error("fieldError", "REQUIRED", "The required field was not present.", index,
                             "conversion_action")
        match = ACTION.fullmatch(action) if isinstance(action, str) else None
        if match is None:
            return ads_error("requestError", "RESOURCE_NAME_MALFORMED", "Resource name provided is malformed.",
                             index, "conversion_action")
        if match.group(1) != self.CUSTOMER_ID or match.group(2) not in self.CONVERSION_ACTIONS.values():
            return ads_error("conversionUploadError", "NO_CONVERSION_ACTION_FOUND",
                             "The conversion action specified in the upload request cannot be found.", index,
                             "conversion_action")
        return self._details_error(conversion, index)

    @staticmethod
    def _details_error(conversion: dict[str, Any], index: int) -> dict[str, Any] | None:
        when = conversion.get("conversionDateTime")
        if not when:
            return ads_error("fieldError", "REQUIRED", "The required field was not present.", index,
                             "conversion_date_time")
        if not isinstance(when, str) or not DATE_TIME.fullmatch(when):
            return ads_error("dateError", "INVALID_STRING_DATE_TIME_SECONDS_WITH_OFFSET",
                             "The string date time's format should be yyyy-mm-dd hh:mm:ss+|-hh:mm.", index,
                             "conversion_date_time")
        if _instant(when) is None:
            return ads_error("dateError", "INVALID_FIELD_VALUES_IN_DATE_TIME",
                             "Given field values do not correspond to a valid date time.", index,
                             "conversion_date_time")
        currency = conversion.get("currencyCode")
        if currency is not None and not (isinstance(currency, str) and CURRENCY.fullmatch(currency)):
            return ads_error("currencyCodeError", "UNSUPPORTED", "The currency code is not supported.", index,
                             "currency_code")
        order = conversion.get("orderId")
        if order is not None and (not isinstance(order, str) or "@" in order):
            return ads_error("conversionUploadError", "ORDER_ID_CONTAINS_PII",
                             "Can't import events with order IDs containing personally-identifiable information.",
                             index, "order_id")
        identifiers = conversion.get("userIdentifiers", [])
        if len(identifiers) > MAX_IDENTIFIERS:
            return ads_error("collectionSizeError", "TOO_MANY", f"Too many user identifiers: at most "
                                                               f"{MAX_IDENTIFIERS}.", index, "user_identifiers")
        for identifier in identifiers:
            if any(name in identifier for name in ("mobileId", "thirdPartyUserId", "addressInfo")):
                return ads_error("conversionUploadError", "UNSUPPORTED_USER_IDENTIFIER",
                                 "The provided user identifiers are not supported. Use only hashed email or phone "
                                 "number and try again.", index, "user_identifiers")
            value = identifier.get("hashedEmail", identifier.get("hashedPhoneNumber"))
            if not is_sha256_hex(value):
                return ads_error("conversionUploadError", "INVALID_USER_IDENTIFIER",
                                 "Make sure you hash user provided data using SHA-256 and ensure you are normalizing "
                                 "according to the guidelines.", index, "user_identifiers")
        return None

    def upload(self, body: dict[str, Any], request_index: int, version: str = "v18") -> dict[str, Any]:
        """Validate every conversion, record the valid ones (unless validateOnly); returns Google's response."""
        conversions, validate_only = body["conversions"], body.get("validateOnly", False)
        if body.get("partialFailure") is not True:
            raise GoogleError(400, "Request contains an invalid argument.", [ads_error(
                "partialFailureError", "PARTIAL_FAILURE_MODE_REQUIRED",
                "The partial failure field was false in the request. This method requires this field be set to "
                "true.")])
        if not conversions:
            raise GoogleError(400, "Request contains an invalid argument.", [ads_error(
                "fieldError", "REQUIRED_NONEMPTY_LIST", "The required repeated field was empty.", None,
                "conversions")])
        if len(conversions) > MAX_CONVERSIONS:
            raise GoogleError(400, "Request contains an invalid argument.", [ads_error(
                "conversionUploadError", "TOO_MANY_CONVERSIONS_IN_REQUEST",
                f"Upload fewer than {MAX_CONVERSIONS + 1} events in a single request.", None, "conversions")])
        now, errors, results, seen, keep = self.clock(), [], [], set(), []
        for index, conversion in enumerate(conversions):
            error = self.conversion_error(conversion, index)
            keys = _dedup_keys(conversion) if error is None else []
            if error is None:
                error = self._duplicate_error(keys, seen, index, now)
                if error is not None and not validate_only:
                    self.duplicate_events.append({"request": request_index, **conversion,
                                                  "error": next(iter(error["errorCode"].values()))})
            elif not validate_only:
                self.rejected_events += 1
            if error is not None:
                errors.append(error)
                results.append({})
                continue
            seen.update(keys)
            keep.append((conversion, keys))
            results.append(_result(conversion))
        if not validate_only:
            for conversion, keys in keep:
                for key in keys:
                    self.ledger.add(key, now)
                self.deliver(conversion, None, request_index)
        self.jobs += 1
        response: dict[str, Any] = {}
        if errors:
            response["partialFailureError"] = {
                "code": 3, "message": ", ".join(f"{e['message']}, at {location(e)}" for e in errors),
                "details": [failure(version, errors, _request_id(request_index))]}
        if not validate_only:
            response["results"] = results
        response["jobId"] = str(body.get("jobId", self.jobs))
        return response

    def _duplicate_error(self, keys: list[tuple[Any, ...]], seen: set[tuple[Any, ...]], index: int,
                         now: float) -> dict[str, Any] | None:
        for key in keys:
            order = key[0] == "order"
            if key in seen:
                return ads_error("conversionUploadError", "DUPLICATE_ORDER_ID" if order
                                 else "DUPLICATE_CLICK_CONVERSION_IN_REQUEST",
                                 "Imported events include multiple conversions with the same order ID." if order
                                 else "Multiple events have the same click and conversion_date_time.", index,
                                 "order_id" if order else "conversion_date_time")
            if self.ledger.contains(key, now):
                return ads_error("conversionUploadError", "ORDER_ID_ALREADY_IN_USE" if order
                                 else "CLICK_CONVERSION_ALREADY_EXISTS",
                                 "The imported event includes an order ID that was previously recorded." if order
                                 else "The imported event has the same click and conversion_date_time as an "
                                      "existing conversion.", index, "order_id" if order else "conversion_date_time")
        return None


def _instant(text: str) -> float | None:
    try:
        return datetime.strptime(text, "%Y-%m-%d %H:%M:%S%z").timestamp()
    except ValueError:
        return None


def _dedup_keys(conversion: dict[str, Any]) -> list[tuple[Any, ...]]:
    action = conversion["conversionAction"]
    keys: list[tuple[Any, ...]] = []
    if conversion.get("orderId"):
        keys.append(("order", action, conversion["orderId"]))
    for name in CLICK_IDS:
        if conversion.get(name):
            keys.append(("click", action, name, conversion[name], _instant(conversion["conversionDateTime"])))
    return keys


def _result(conversion: dict[str, Any]) -> dict[str, Any]:
    result = {name: conversion[name] for name in CLICK_IDS if conversion.get(name)}
    if conversion.get("userIdentifiers"):
        result["userIdentifiers"] = conversion["userIdentifiers"]
    result["conversionAction"] = conversion["conversionAction"]
    result["conversionDateTime"] = conversion["conversionDateTime"]
    return result


def _request_id(index: int) -> str:
    return f"sandboxReq{index:08d}"


def _fault_error(sandbox: GoogleAdsSandbox, fault: Fault) -> Exception:
    if request.path.startswith(google_data_manager.PREFIX):
        return google_data_manager.fault_error(sandbox, fault)
    if fault.status == 429:
        return sandbox.throttled(fault.retry_after if fault.retry_after is not None else 30.0)
    if fault.status == 503:
        return GoogleError(503, "The service is currently unavailable.", [ads_error(
            "internalError", "TRANSIENT_ERROR", "The service is currently unavailable. Retry the request.")])
    if fault.status >= 500:
        return GoogleError(fault.status, "Internal error encountered.", [ads_error(
            "internalError", "INTERNAL_ERROR", "An internal error has occurred. Retry the request.")])
    return GoogleError(fault.status, f"Sandbox {fault.reason} ({fault.status}).")


def create_app(sandbox: GoogleAdsSandbox) -> Flask:
    """A Flask app serving the sandbox on the Google Ads REST paths (no ``/google`` prefix: the server mounts it)."""
    app = Flask("lifesync-google-ads-sandbox")

    @app.before_request
    def api_version() -> None:  # before the gate: a fault's error names the version too
        g.version = (request.view_args or {}).get("version", "v18")

    gate_requests(app, sandbox, lambda fault: _fault_error(sandbox, fault))

    @app.errorhandler(GoogleError)
    def google_error(error: GoogleError) -> Response:
        index = g.get("request_index", 0)
        return json_response(error.status, error.body(g.get("version", "v18"), _request_id(index)),
                             {"request-id": _request_id(index)})

    google_data_manager.register(app, sandbox)
    google_audiences.register(app, sandbox)

    @app.post("/<version>/customers/<target>")
    def upload(version: str, target: str) -> Response:
        customer_id, _, method = target.partition(":")
        methods = {"uploadClickConversions": (parse_body, sandbox.upload, "conversions"),
                   "uploadConversionAdjustments": (parse_adjustments, lambda body, index, version:
                                                   upload_adjustments(sandbox, body, index, version),
                                                   "conversionAdjustments")}
        if not VERSION.fullmatch(version) or method not in methods:
            raise GoogleError(404, f"Method not found: /{version}/customers/{target}")
        sandbox.check_version(version)
        parse, upload, items = methods[method]
        try:
            raw, malformed = request_json(), False
        except ValueError:
            raw, malformed = None, True
        with sandbox.lock:
            try:
                sandbox.authorize(customer_id, request.headers)
                if not sandbox.rate.admit():
                    raise sandbox.throttled()
                if malformed:
                    raise parse_error("", "Invalid JSON payload received. Unexpected token.")
                answer = upload(parse(raw, version), g.request_index, version)
            except GoogleError:
                conversions = raw.get(items) if isinstance(raw, dict) else None
                sandbox.reject(len(conversions) if isinstance(conversions, list) else 0)
                raise
        return json_response(200, answer, {"request-id": _request_id(g.request_index)})

    @app.get("/<version>/customers:listAccessibleCustomers")
    def accessible_customers(version: str) -> Response:
        """``{"resourceNames": [...]}``: the customers the credentials reach directly (the seeded one and its manager).

        https://developers.google.com/google-ads/api/rest/reference/rest/v16/customers/listAccessibleCustomers
        """
        if not VERSION.fullmatch(version):
            raise GoogleError(404, f"Method not found: /{version}/customers:listAccessibleCustomers")
        sandbox.check_version(version)
        with sandbox.lock:
            headers = Headers(request.headers)
            headers.remove("login-customer-id")  # not a header of this call: it names no customer
            sandbox.authorize(sandbox.CUSTOMER_ID, headers)
            if not sandbox.rate.admit():
                raise sandbox.throttled()
        names = [f"customers/{sandbox.CUSTOMER_ID}", f"customers/{sandbox.MANAGER_ID}"]
        return json_response(200, {"resourceNames": names}, {"request-id": _request_id(g.request_index)})

    return app
