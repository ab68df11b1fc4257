"""Google requests against Google's own protos: the Data Manager API and the Google Ads API.

Both APIs are gRPC services with a REST mapping in which the request message is the JSON body
(``body: "*"``) and path variables fill the remaining fields. So each recorded body, with the
path's fields added, must parse into the method's request message with
``google.protobuf.json_format.ParseDict(..., ignore_unknown_fields=False)``: unknown fields,
wrong types, unknown enum names and two members of one oneof are refused with protobuf's own
message. Proto3 has no required fields, so what the services check beyond the message shape
(required destinations, identifier formats, limits) is not reproduced here.

* Data Manager (``google-ads-datamanager``): ``POST /v1/events:ingest`` → ``IngestEventsRequest``,
  ``audienceMembers:ingest``/``:remove``, ``requestStatus:retrieve`` (GET, query parameters)
  — https://developers.google.com/data-manager/api/reference/rest
* Google Ads (``google-ads``): ``POST /vNN/customers/{customerId}:uploadClickConversions`` →
  ``UploadClickConversionsRequest`` of that version, and the other methods in ``ADS_METHODS``.
  A version the installed ``google-ads`` does not ship (it carries the versions Google still
  serves) is refused as such; the body is then parsed at the newest shipped version, and the
  reason says whether it would parse there.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from typing import Any
from urllib.parse import parse_qsl

from google.protobuf import json_format

from bench.vendor_refs import ACCEPTED, REFUSED, UNCHECKED, Verdict, json_body, template, version_of

VENDOR = "Google"
DATA_MANAGER = re.compile(r"/v1/(?P<method>events:ingest|audienceMembers:ingest|audienceMembers:remove|"
                          r"requestStatus:retrieve)")
DM_MESSAGES = {"events:ingest": "IngestEventsRequest", "audienceMembers:ingest": "IngestAudienceMembersRequest",
               "audienceMembers:remove": "RemoveAudienceMembersRequest",
               "requestStatus:retrieve": "RetrieveRequestStatusRequest"}
ADS = re.compile(r"/(?P<version>v\d+)/customers(?:/(?P<customer>\d+))?:(?P<method>\w+)")
# Ads API method -> (services.types module, request message)
ADS_METHODS = {"uploadClickConversions": ("conversion_upload_service", "UploadClickConversionsRequest"),
               "uploadCallConversions": ("conversion_upload_service", "UploadCallConversionsRequest"),
               "listAccessibleCustomers": ("customer_service", "ListAccessibleCustomersRequest")}


def parse_problems(message_class: Any, data: Any) -> list[str]:
    """Why ``data`` does not parse into ``message_class`` (a proto-plus class) — empty when it does."""
    raw = message_class.pb()()
    try:
        json_format.ParseDict(data, raw, ignore_unknown_fields=False)
    except (json_format.ParseError, TypeError, ValueError) as error:
        return [str(error).splitlines()[0][:300]]
    return []


def ads_versions() -> list[str]:
    """The Google Ads API versions the installed ``google-ads`` ships, oldest first."""
    import google.ads.googleads as root

    found = [m.name for m in pkgutil.iter_modules(root.__path__) if re.fullmatch(r"v\d+", m.name)]
    return sorted(found, key=lambda v: int(v[1:]))


def ads_message(version: str, method: str) -> Any:
    """The request message class of an Ads API method at ``version``."""
    module, name = ADS_METHODS[method]
    return getattr(importlib.import_module(f"google.ads.googleads.{version}.services.types.{module}"), name)


def _items(body: Any) -> int:
    if not isinstance(body, dict):
        return 0
    for key in ("events", "conversions", "audienceMembers"):
        if isinstance(body.get(key), list):
            return len(body[key])
    return 0


def check_data_manager(request: Any, method: str) -> Verdict:
    """A Data Manager API request against google-ads-datamanager's request message."""
    from google.ads import datamanager_v1

    name = DM_MESSAGES[method]
    endpoint = f"{request.method} /v1/{method}"
    reference = f"{version_of('google-ads-datamanager')} {name}"
    if request.method == "GET":
        body: Any = {k: v for k, v in parse_qsl(request.query, keep_blank_values=True)}
    else:
        try:
            body = json_body(request.body)
        except ValueError as error:
            return Verdict(VENDOR, endpoint, REFUSED, reference, (str(error),))
    problems = parse_problems(getattr(datamanager_v1, name), body)
    return Verdict(VENDOR, endpoint, REFUSED if problems else ACCEPTED, reference, tuple(problems), (),
                   _items(body))


def check_ads(request: Any, version: str, customer: str | None, method: str) -> Verdict:
    """A Google Ads API REST request against google-ads' request message of its version."""
    endpoint = f"{request.method} /{{version}}/customers{'/{customerId}' if customer else ''}:{method}"
    package = version_of("google-ads")
    if method not in ADS_METHODS:
        return Verdict(VENDOR, endpoint, UNCHECKED, package, (f"no checker for {method}",))
    try:
        body = json_body(request.body) if request.body else {}
    except ValueError as error:
        return Verdict(VENDOR, endpoint, REFUSED, package, (str(error),))
    if not isinstance(body, dict):
        return Verdict(VENDOR, endpoint, REFUSED, package, ("body: not a JSON object",))
    data = {**body, "customerId": customer} if customer else body
    shipped = ads_versions()
    name = ADS_METHODS[method][1]
    if version in shipped:
        problems = parse_problems(ads_message(version, method), data)
        return Verdict(VENDOR, endpoint, REFUSED if problems else ACCEPTED, f"{package} {version} {name}",
                       tuple(problems), (), _items(body))
    newest = shipped[-1]
    there = parse_problems(ads_message(newest, method), data)
    verdict_there = f"it does not parse at {newest} either: {there[0]}" if there else f"it parses at {newest}"
    return Verdict(VENDOR, endpoint, REFUSED, f"{package} {name}",
                   (f"{version}: not a version {package} ships ({', '.join(shipped)}); {verdict_there}",), (),
                   _items(body))


def check(request: Any) -> Verdict:
    """Google's protos on one recorded request (Data Manager or Ads API, told by the path)."""
    found = DATA_MANAGER.fullmatch(request.path)
    if found:
        return check_data_manager(request, found["method"])
    found = ADS.fullmatch(request.path)
    if found:
        return check_ads(request, found["version"], found["customer"], found["method"])
    return Verdict(VENDOR, f"{request.method} {template(request.path)}", UNCHECKED, "Google",
                   ("neither a Data Manager nor a Google Ads API method this checker knows",))
