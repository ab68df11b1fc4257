"""How Google Ads reads a REST request body and words its errors (for the Google Ads sandbox).

``parse_body`` reads an ``uploadClickConversions`` body the way Google's proto JSON parser
does: field names in lowerCamel or snake_case, an unknown name, a bad enum value, a wrong type
or two members of a oneof refuse the whole request with 400 INVALID_ARGUMENT and a
``google.rpc.BadRequest`` detail. ``GoogleError`` is a request-level error envelope;
``ads_error`` / ``failure`` build the GoogleAdsError / GoogleAdsFailure objects that request
errors and ``partialFailureError`` carry.
"""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = ["GoogleError", "ads_error", "failure", "location", "parse_body", "parse_error"]

VERSION = re.compile(r"v\d+")
STATUS = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
          429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 501: "UNIMPLEMENTED", 503: "UNAVAILABLE",
          504: "DEADLINE_EXCEEDED"}
REQUEST_FIELDS = frozenset({"customerId", "conversions", "partialFailure", "validateOnly", "debugEnabled", "jobId"})
CONVERSION_FIELDS = frozenset({"gclid", "gbraid", "wbraid", "conversionAction", "conversionDateTime",
                               "conversionValue", "currencyCode", "orderId", "externalAttributionData",
                               "customVariables", "cartData", "userIdentifiers", "conversionEnvironment",
                               "consent", "userIpAddress", "customerType", "sessionAttributesEncoded",
                               "sessionAttributesKeyValuePairs"})
# ClickConversion fields by the version that added them: customer_type and the session attributes came with v19
# (https://developers.google.com/google-ads/api/diff-tool/v19/versus-v18/diffs/services/conversion_upload_service).
FIELDS_SINCE = {"customerType": 19, "sessionAttributesEncoded": 19, "sessionAttributesKeyValuePairs": 19}
IDENTIFIER_FIELDS = frozenset({"userIdentifierSource", "hashedEmail", "hashedPhoneNumber", "mobileId",
                               "thirdPartyUserId", "addressInfo"})
IDENTIFIER_ONEOF = ("hashedEmail", "hashedPhoneNumber", "mobileId", "thirdPartyUserId", "addressInfo")
ENUMS = {  # (message, field) -> (enum type, accepted names)
    ("consent", "adUserData"): ("ConsentStatusEnum.ConsentStatus", {"GRANTED", "DENIED", "UNSPECIFIED"}),
    ("consent", "adPersonalization"): ("ConsentStatusEnum.ConsentStatus", {"GRANTED", "DENIED", "UNSPECIFIED"}),
    ("userIdentifier", "userIdentifierSource"): ("UserIdentifierSourceEnum.UserIdentifierSource",
                                                 {"UNSPECIFIED", "FIRST_PARTY", "THIRD_PARTY"}),
    ("conversion", "conversionEnvironment"): ("ConversionEnvironmentEnum.ConversionEnvironment",
                                              {"UNSPECIFIED", "APP", "WEB"}),
}
_SNAKE = re.compile(r"_([a-z0-9])")


class GoogleError(Exception):
    """A request-level error: HTTP status, message, and the GoogleAdsFailure errors (or BadRequest details)."""

    def __init__(self, status: int, message: str, errors: list[dict[str, Any]] | None = None,
                 bad_request: list[dict[str, str]] | None = None):
        super().__init__(message)
        self.status, self.message, self.errors, self.bad_request = status, message, errors or [], bad_request

    def body(self, version: str, request_id: str) -> dict[str, Any]:
        """Google's ``{"error": {code, message, status, details}}`` envelope."""
        error: dict[str, Any] = {"code": self.status, "message": self.message,
                                 "status": STATUS.get(self.status, "UNKNOWN")}
        if self.bad_request is not None:
            error["details"] = [{"@type": "type.googleapis.com/google.rpc.BadRequest",
                                 "fieldViolations": self.bad_request}]
        elif self.errors:
            error["details"] = [failure(version, self.errors, request_id)]
        return {"error": error}


def failure(version: str, errors: list[dict[str, Any]], request_id: str) -> dict[str, Any]:
    """One GoogleAdsFailure detail."""
    return {"@type": f"type.googleapis.com/google.ads.googleads.{version}.errors.GoogleAdsFailure",
            "errors": errors, "requestId": request_id}


def ads_error(category: str, code: str, message: str, index: int | None = None,
              field: str | None = None) -> dict[str, Any]:
    """One GoogleAdsError, located at ``conversions[index].field`` when given."""
    error: dict[str, Any] = {"errorCode": {category: code}, "message": message}
    path = ([{"fieldName": "conversions", "index": index}] if index is not None else []) + (
        [{"fieldName": field}] if field else [])
    if path:
        error["location"] = {"fieldPathElements": path}
    return error


def location(error: dict[str, Any]) -> str:
    parts = []
    for element in error.get("location", {}).get("fieldPathElements", []):
        parts.append(element["fieldName"] + (f"[{element['index']}]" if "index" in element else ""))
    return ".".join(parts)


def _camel(name: str) -> str:
    return _SNAKE.sub(lambda match: match.group(1).upper(), name)


def _snake(name: str) -> str:
    return re.sub(r"([A-Z])", lambda match: "_" + match.group(1).lower(), name)


def parse_error(where: str, description: str) -> GoogleError:
    return GoogleError(400, description, bad_request=[{"field": where, "description": description}])


def _fields(raw: Any, allowed: frozenset[str], where: str) -> dict[str, Any]:
    """A JSON object with its keys in lowerCamel; unknown keys refused as Google's parser does."""
    if not isinstance(raw, dict):
        raise parse_error(where, f"Invalid value at '{where}', expected an object.")
    out = {}
    for key, value in raw.items():
        name = _camel(key)
        if name not in allowed:
            at = f" at '{where}'" if where else ""
            raise parse_error(where, f"Invalid JSON payload received. Unknown name \"{key}\"{at}: Cannot find field.")
        out[name] = value
    return out


def _enum(version: str, message: str, field: str, value: Any, where: str) -> None:
    kind, names = ENUMS[(message, field)]
    if value not in names:
        path = f"{where}.{_snake(field)}"
        raise parse_error(path, f"Invalid value at '{path}' (type.googleapis.com/google.ads.googleads.{version}"
                                 f".enums.{kind}), {json.dumps(value)}")


def parse_body(raw: Any, version: str) -> dict[str, Any]:
    """The request as Google's proto JSON parser reads it (camelCase keys); GoogleError when it would refuse it."""
    body = _fields(raw if raw is not None else {}, REQUEST_FIELDS, "")
    conversions = body.get("conversions", [])
    if not isinstance(conversions, list):
        raise parse_error("conversions", "Invalid value at 'conversions', expected a list.")
    for flag in ("partialFailure", "validateOnly", "debugEnabled"):
        if flag in body and not isinstance(body[flag], bool):
            raise parse_error(_snake(flag), f"Invalid value at '{_snake(flag)}' (TYPE_BOOL), {json.dumps(body[flag])}")
    parsed = []
    for index, item in enumerate(conversions):
        where = f"conversions[{index}]"
        number = int(version[1:]) if version[1:].isdigit() else 0
        conversion = _fields(item, frozenset(f for f in CONVERSION_FIELDS if FIELDS_SINCE.get(f, 0) <= number), where)
        if "conversionEnvironment" in conversion:
            _enum(version, "conversion", "conversionEnvironment", conversion["conversionEnvironment"], where)
        if "consent" in conversion:
            consent = _fields(conversion["consent"], frozenset({"adUserData", "adPersonalization"}),
                              f"{where}.consent")
            for field, value in consent.items():
                _enum(version, "consent", field, value, f"{where}.consent")
            conversion["consent"] = consent
        identifiers = conversion.get("userIdentifiers", [])
        if not isinstance(identifiers, list):
            raise parse_error(f"{where}.user_identifiers", f"Invalid value at '{where}.user_identifiers'.")
        conversion_ids = []
        for position, identifier in enumerate(identifiers):
            at = f"{where}.user_identifiers[{position}]"
            fields = _fields(identifier, IDENTIFIER_FIELDS, at)
            if "userIdentifierSource" in fields:
                _enum(version, "userIdentifier", "userIdentifierSource", fields["userIdentifierSource"], at)
            members = [name for name in IDENTIFIER_ONEOF if name in fields]
            if len(members) > 1:
                raise parse_error(at, f"Invalid JSON payload received. Oneof field 'identifier' is already set. "
                                       f"Cannot set '{members[1]}'")
            conversion_ids.append(fields)
        if identifiers:
            conversion["userIdentifiers"] = conversion_ids
        value = conversion.get("conversionValue")
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float | str)
                                  or not _is_float(value)):
            raise parse_error(f"{where}.conversion_value", f"Invalid value at '{where}.conversion_value' "
                                                            f"(TYPE_DOUBLE), {json.dumps(value)}")
        parsed.append(conversion)
    body["conversions"] = parsed
    return body


def _is_float(value: Any) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True
