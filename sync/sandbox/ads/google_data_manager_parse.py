"""How the Data Manager API reads a REST body and words its errors (for the Data Manager sandbox).

``parse`` reads a JSON body against the API's messages the way Google's proto JSON parser
does: field names in lowerCamel or snake_case; an unknown name, a wrong type, an unknown enum
value or two members of a oneof refuse the request with 400 INVALID_ARGUMENT and a
``google.rpc.BadRequest`` naming the field. Fields of the messages lifesync does not send
(device info, cart data, custom variables, …) are accepted unread (``ANY``).

``DataManagerError`` is the ``google.rpc.Status`` envelope Google answers with
(https://developers.google.com/data-manager/api/devguides/concepts/understand-errors): the
canonical code and message, then the ``ErrorInfo`` (``reason`` an ``ErrorReason`` such as
TOO_MANY_EVENTS, domain ``datamanager.googleapis.com``), the ``BadRequest`` field violations
(``events[3].ad_identifiers.gclid``) and the ``RequestInfo`` with the request id.
"""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = ["DataManagerError", "Violation", "parse"]

DOMAIN = "datamanager.googleapis.com"
STATUS = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
          429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE"}
S, B, D, ANY = "string", "bool", "double", "any"
SCHEMA: dict[str, dict[str, Any]] = {  # google.ads.datamanager.v1, as far as events:ingest reads it
    "IngestEventsRequest": {"destinations": ("repeated", "Destination"), "events": ("repeated", "Event"),
                            "consent": "Consent", "validateOnly": B, "encoding": ("enum", "Encoding"),
                            "encryptionInfo": ANY},
    "Destination": {"reference": S, "loginAccount": "ProductAccount", "linkedAccount": "ProductAccount",
                    "operatingAccount": "ProductAccount", "productDestinationId": S},
    "ProductAccount": {"product": ("enum", "Product"), "accountId": S, "accountType": ("enum", "AccountType")},
    "Event": {"destinationReferences": ("repeated", S), "transactionId": S, "eventTimestamp": S,
              "lastUpdatedTimestamp": S, "userData": "UserData", "consent": "Consent",
              "adIdentifiers": "AdIdentifiers", "currency": S, "conversionValue": D, "conversionCount": D,
              "eventSource": ("enum", "EventSource"), "eventDeviceInfo": ANY, "cartData": ANY,
              "customVariables": ANY, "experimentalFields": ANY, "userProperties": ANY, "eventName": S,
              "clientId": S, "userId": S, "additionalEventParameters": ANY, "thirdPartyUserData": ANY,
              "eventLocation": ANY, "appInstanceId": S},
    "AdIdentifiers": {"sessionAttributes": S, "gclid": S, "gbraid": S, "wbraid": S, "landingPageDeviceInfo": ANY,
                      "mobileDeviceId": S, "dclid": S, "impressionId": S, "matchId": S, "encryptedUserIds": ANY,
                      "ppid": S, "visitorPpid": S},
    "UserData": {"userIdentifiers": ("repeated", "UserIdentifier")},
    "UserIdentifier": {"emailAddress": S, "phoneNumber": S, "address": "AddressInfo"},
    "AddressInfo": {"givenName": S, "familyName": S, "regionCode": S, "postalCode": S, "addressLine": S, "city": S,
                    "administrativeArea": S},
    "Consent": {"adUserData": ("enum", "ConsentStatus"), "adPersonalization": ("enum", "ConsentStatus")},
    # Customer Match (sync.sandbox.ads.google_audiences): audienceMembers:ingest / :remove and userLists
    "IngestAudienceMembersRequest": {"destinations": ("repeated", "Destination"),
                                     "audienceMembers": ("repeated", "AudienceMember"), "consent": "Consent",
                                     "validateOnly": B, "encoding": ("enum", "Encoding"), "encryptionInfo": ANY,
                                     "termsOfService": "TermsOfService"},
    "RemoveAudienceMembersRequest": {"destinations": ("repeated", "Destination"),
                                     "audienceMembers": ("repeated", "AudienceMember"), "validateOnly": B,
                                     "encoding": ("enum", "Encoding"), "encryptionInfo": ANY},
    "AudienceMember": {"destinationReferences": ("repeated", S), "userData": "UserData", "pairData": ANY,
                       "mobileData": ANY, "userIdData": ANY, "ppidData": ANY, "compositeData": ANY,
                       "googleUserIdData": ANY, "partnerProvidedIdData": ANY, "consent": "Consent"},
    "TermsOfService": {"customerMatchTermsOfServiceStatus": ("enum", "TermsOfServiceStatus")},
    "UserList": {"name": S, "displayName": S, "description": S, "membershipStatus": ANY, "integrationCode": S,
                 "membershipDuration": S, "accountAccessStatus": ANY, "targetNetworkInfo": ANY,
                 "ingestedUserListInfo": "IngestedUserListInfo"},
    "IngestedUserListInfo": {"uploadKeyTypes": ("repeated", ("enum", "UploadKeyType")),
                             "contactIdInfo": "ContactIdInfo", "mobileIdInfo": ANY, "userIdInfo": ANY,
                             "pairIdInfo": ANY, "pseudonymousIdInfo": ANY, "partnerAudienceInfo": ANY},
    "ContactIdInfo": {"dataSourceType": ("enum", "DataSourceType"), "matchRatePercentage": ANY},
}
AUDIENCE_DATA = ("userData", "pairData", "mobileData", "userIdData", "ppidData", "compositeData", "googleUserIdData",
                 "partnerProvidedIdData")
ONEOFS = {"UserIdentifier": ("identifier", ("emailAddress", "phoneNumber", "address")),
          "AudienceMember": ("data", AUDIENCE_DATA)}
ENUMS = {
    "Encoding": ("ENCODING_UNSPECIFIED", "HEX", "BASE64"),
    "Product": ("PRODUCT_UNSPECIFIED", "GOOGLE_ADS", "DISPLAY_VIDEO_PARTNER", "DISPLAY_VIDEO_ADVERTISER",
                "DATA_PARTNER"),
    "AccountType": ("ACCOUNT_TYPE_UNSPECIFIED", "GOOGLE_ADS", "DISPLAY_VIDEO_PARTNER", "DISPLAY_VIDEO_ADVERTISER",
                    "DATA_PARTNER", "GOOGLE_ANALYTICS_PROPERTY", "GOOGLE_AD_MANAGER_AUDIENCE_LINK",
                    "FLOODLIGHT_CONFIG", "GOOGLE_AD_MANAGER"),
    "EventSource": ("EVENT_SOURCE_UNSPECIFIED", "WEB", "APP", "IN_STORE", "PHONE", "OTHER", "MESSAGE"),
    "ConsentStatus": ("CONSENT_STATUS_UNSPECIFIED", "CONSENT_GRANTED", "CONSENT_DENIED"),
    "TermsOfServiceStatus": ("TERMS_OF_SERVICE_STATUS_UNSPECIFIED", "ACCEPTED", "REJECTED"),
    "UploadKeyType": ("UPLOAD_KEY_TYPE_UNSPECIFIED", "CONTACT_ID", "MOBILE_ID", "USER_ID", "PAIR_ID",
                      "PSEUDONYMOUS_ID"),
    "DataSourceType": ("DATA_SOURCE_TYPE_UNSPECIFIED", "DATA_SOURCE_TYPE_FIRST_PARTY",
                       "DATA_SOURCE_TYPE_THIRD_PARTY_CREDIT_BUREAU", "DATA_SOURCE_TYPE_THIRD_PARTY_VOTER_FILE",
                       "DATA_SOURCE_TYPE_THIRD_PARTY_PARTNER_DATA"),
}
_SNAKE = re.compile(r"_([a-z0-9])")

Violation = tuple[str, str, str]  # (field path, description, ErrorReason)


class DataManagerError(Exception):
    """A refused request: HTTP status, message, ErrorInfo reason, and field violations."""

    def __init__(self, status: int, message: str, reason: str, violations: list[Violation] | None = None, *,
                 domain: str = DOMAIN, retry_delay: int | None = None):
        super().__init__(message)
        self.status, self.message, self.reason, self.violations = status, message, reason, violations or []
        self.domain, self.retry_delay = domain, retry_delay

    def body(self, request_id: str) -> dict[str, Any]:
        """Google's ``{"error": {code, message, status, details}}`` envelope."""
        details: list[dict[str, Any]] = [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": self.reason,
                                          "domain": self.domain, "metadata": {"service": DOMAIN}}]
        if self.violations:
            details.append({"@type": "type.googleapis.com/google.rpc.BadRequest", "fieldViolations": [
                {"field": field, "description": description, "reason": reason}
                for field, description, reason in self.violations]})
        if self.retry_delay is not None:
            details.append({"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": f"{self.retry_delay}s"})
        details.append({"@type": "type.googleapis.com/google.rpc.RequestInfo", "requestId": request_id})
        return {"error": {"code": self.status, "message": self.message, "status": STATUS.get(self.status, "UNKNOWN"),
                          "details": details}}


def invalid(violations: list[Violation]) -> DataManagerError:
    """400 INVALID_ARGUMENT for ``violations`` (the first one's reason in the ErrorInfo)."""
    return DataManagerError(400, "Request contains an invalid argument.", violations[0][2], violations)


def _camel(name: str) -> str:
    return _SNAKE.sub(lambda match: match.group(1).upper(), name)


def snake(name: str) -> str:
    """``adIdentifiers`` → ``ad_identifiers`` (field paths in Google's messages are snake_case)."""
    return re.sub(r"([A-Z])", lambda match: "_" + match.group(1).lower(), name)


def _refuse(where: str, description: str) -> DataManagerError:
    return invalid([(where, f"Invalid JSON payload received. {description}", "INVALID_ARGUMENT")])


def _value(kind: Any, value: Any, where: str) -> Any:
    if kind == ANY:
        return value
    if isinstance(kind, tuple) and kind[0] == "repeated":
        if not isinstance(value, list):
            raise _refuse(where, f"Invalid value at '{where}', expected a list.")
        return [_value(kind[1], item, f"{where}[{i}]") for i, item in enumerate(value)]
    if isinstance(kind, tuple):  # an enum: its name, or its number
        names = ENUMS[kind[1]]
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < len(names):
            return names[value]
        if value not in names:
            raise _refuse(where, f"Invalid value at '{where}' (type.googleapis.com/google.ads.datamanager.v1."
                                 f"{kind[1]}), {json.dumps(value)}")
        return value
    if kind == S and not isinstance(value, str):
        raise _refuse(where, f"Invalid value at '{where}' (TYPE_STRING), {json.dumps(value)}")
    if kind == B and not isinstance(value, bool):
        raise _refuse(where, f"Invalid value at '{where}' (TYPE_BOOL), {json.dumps(value)}")
    if kind == D:
        try:
            if isinstance(value, bool) or not isinstance(value, int | float | str):
                raise ValueError
            return float(value)
        except ValueError:
            raise _refuse(where, f"Invalid value at '{where}' (TYPE_DOUBLE), {json.dumps(value)}") from None
    if kind in SCHEMA:
        return parse(value, kind, where)
    return value


def parse(raw: Any, message: str = "IngestEventsRequest", where: str = "") -> dict[str, Any]:
    """``raw`` as ``message`` with lowerCamel keys; DataManagerError where Google's JSON parser would refuse it."""
    if not isinstance(raw, dict):
        raise _refuse(where, f"Invalid value at '{where}', expected an object.")
    fields, out = SCHEMA[message], {}
    for key, value in raw.items():
        name = _camel(key)
        if name not in fields:
            at = f" at '{where}'" if where else ""
            raise _refuse(where, f"Unknown name \"{key}\"{at}: Cannot find field.")
        out[name] = _value(fields[name], value, f"{where}.{snake(name)}" if where else snake(name))
    if message in ONEOFS:
        oneof, members = ONEOFS[message]
        present = [name for name in members if name in out]
        if len(present) > 1:
            raise _refuse(where, f"Oneof field '{oneof}' is already set. Cannot set '{present[1]}'")
    return out
