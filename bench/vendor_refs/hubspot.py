"""HubSpot requests against HubSpot's own SDK, ``hubspot-api-client``.

A request body is read into the SDK model of its endpoint (``PublicObjectSearchRequest``,
``BatchInputSimplePublicObjectBatchInput``, …) strictly: every key must be an attribute of the
model at that depth (the SDK's own deserialiser drops unknown keys silently, so they are
looked for first), values must have the model's types, and the SDK's client-side validation
(required fields, enums) is on. A GET is replayed through the SDK's own method for the
endpoint (``get_page``, ``get_by_name``) with the recorded parameters: the SDK must accept
them and send the same query.

The SDK (12.x) knows the legacy ``/crm/v3``/``/crm/v4`` paths; HubSpot's date-versioned paths
(``/crm/objects/2026-09/…``) take the same bodies, so they are checked as that operation and
the output says the path is dated.

One known defect of the SDK is not held against a request: its ``PublicObjectSearchRequest``
types ``sorts`` as a list of strings (as the generated API reference does,
https://developers.hubspot.com/docs/api-reference/2026-03/crm/objects/custom-objects/search/search-custom-objects),
while HubSpot's search guide documents ``{"propertyName", "direction"}`` objects
(https://developers.hubspot.com/docs/api-reference/2026-03/crm/search-the-crm), the only form
that carries a direction, and the SDK's own tracker acknowledges the typing as wrong
(https://github.com/HubSpot/hubspot-api-python/issues/236, open; the Node SDK's
https://github.com/HubSpot/hubspot-api-nodejs/issues/9). A sort object is checked for exactly
those two keys and a direction of ``ASCENDING``/``DESCENDING``, then handed to the SDK as its
property name, and the output notes it for every such request.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qsl

import hubspot.crm.associations.v4 as associations_v4
import hubspot.crm.objects as objects
from hubspot import HubSpot

from bench.vendor_refs import ACCEPTED, REFUSED, UNCHECKED, Verdict, json_body, template, version_of

VENDOR = "HubSpot"
_OBJ = r"/crm/(?:v3/objects|objects/(?P<version>[^/]+))/(?P<type>[^/]+)"
# (method, path pattern, SDK package whose models apply, model of the body, endpoint label)
BODIES = [
    ("POST", _OBJ + r"/search", objects, "PublicObjectSearchRequest", "search"),
    ("POST", _OBJ + r"/batch/read", objects, "BatchReadInputSimplePublicObjectId", "batch/read"),
    ("POST", _OBJ + r"/batch/create", objects, "BatchInputSimplePublicObjectBatchInputForCreate", "batch/create"),
    ("POST", _OBJ + r"/batch/update", objects, "BatchInputSimplePublicObjectBatchInput", "batch/update"),
    ("POST", _OBJ + r"/batch/upsert", objects, "BatchInputSimplePublicObjectBatchInputUpsert", "batch/upsert"),
    ("POST", _OBJ + r"/batch/archive", objects, "BatchInputSimplePublicObjectId", "batch/archive"),
    ("POST", _OBJ, objects, "SimplePublicObjectInputForCreate", "create"),
    ("PATCH", _OBJ + r"/(?P<id>[^/]+)", objects, "SimplePublicObjectInput", "update"),
    ("POST", r"/crm/(?:v4/associations|associations/(?P<version>[^/]+))/(?P<from>[^/]+)/(?P<to>[^/]+)/batch/read",
     associations_v4, "BatchInputPublicFetchAssociationsBatchRequest", "associations batch/read"),
]
# query name -> (SDK keyword, type) for the GETs lifesync makes
QUERY = {"limit": ("limit", int), "after": ("after", str), "properties": ("properties", list),
         "propertiesWithHistory": ("properties_with_history", list), "associations": ("associations", list),
         "archived": ("archived", bool), "idProperty": ("id_property", str)}
LISTS = {name for name, (_, kind) in QUERY.items() if kind is list}
PRIMITIVES = {"str": str, "int": int, "float": (int, float), "bool": bool, "object": object}


def _model_problems(package: Any, data: Any, type_name: str, where: str) -> list[str]:
    """Keys the SDK model has no attribute for and values of another type, at every depth."""
    inner = re.fullmatch(r"list\[(.+)\]", type_name)
    if inner:
        if not isinstance(data, list):
            return [f"{where}: the SDK wants a list ({type_name})"]
        return [p for i, item in enumerate(data) for p in _model_problems(package, item, inner[1], f"{where}[{i}]")]
    mapping = re.fullmatch(r"dict[\[(]str, (.+)[\])]", type_name)
    if mapping:
        if not isinstance(data, dict):
            return [f"{where}: the SDK wants an object ({type_name})"]
        return [p for k, v in data.items() for p in _model_problems(package, v, mapping[1], f"{where}.{k}")]
    if type_name in PRIMITIVES:
        wanted = PRIMITIVES[type_name]
        if data is None or (isinstance(data, bool) and type_name in ("int", "float")) or not isinstance(data, wanted):
            return [f"{where}: the SDK types it {type_name}, got {type(data).__name__}"]
        return []
    klass = getattr(package.models, type_name, None)
    if klass is None:  # datetime, date and the like: left to the SDK's deserialiser
        return []
    if not isinstance(data, dict):
        return [f"{where}: the SDK wants a {type_name} object"]
    by_key = {key: attr for attr, key in klass.attribute_map.items()}
    out = [f"{where}.{key}: not an attribute of {type_name}" for key in data if key not in by_key]
    for key, value in data.items():
        if key in by_key and value is not None:
            out += _model_problems(package, value, klass.openapi_types[by_key[key]], f"{where}.{key}")
    return out


class _Raw:
    """What the SDK's ``ApiClient.deserialize`` reads: an object with ``data``."""

    def __init__(self, data: bytes) -> None:
        self.data = data


def body_problems(package: Any, body: Any, model: str) -> list[str]:
    """Why the SDK's ``model`` refuses ``body`` (empty when it takes it whole)."""
    problems = _model_problems(package, body, model, "body")
    if problems:
        return problems
    config = package.Configuration()
    config.client_side_validation = True
    client = package.ApiClient(configuration=config)
    try:
        parsed = client.deserialize(_Raw(json.dumps(body).encode()), model)
    except (ValueError, TypeError) as error:  # required field missing, enum value unknown
        return [f"body: {error}"]
    again = client.sanitize_for_serialization(parsed)
    return [] if again == body else [f"body: the SDK's {model} serialises it differently"]


def _items(body: Any) -> int:
    return len(body["inputs"]) if isinstance(body, dict) and isinstance(body.get("inputs"), list) else 0


class _Sent(Exception):
    def __init__(self, method: str, url: str, query: list[tuple[str, Any]]) -> None:
        super().__init__(method)
        self.method, self.url, self.query = method, url, query


def _as_lists(pairs: list[tuple[str, Any]]) -> dict[str, list[str]]:
    """Query pairs as name -> values, comma lists split (HubSpot reads ``a,b`` and repeated names alike)."""
    out: dict[str, list[str]] = {}
    for name, value in pairs:
        text = str(value).lower() if isinstance(value, bool) else str(value)
        out.setdefault(name, []).extend(text.split(",") if name in LISTS else [text])
    return out


def replay_get(api: Any, call: str, args: tuple[str, ...], query: str) -> list[str]:
    """Replay a GET through ``api.call(*args, **query)``; why the SDK refuses it or sends another query."""
    kwargs: dict[str, Any] = {}
    problems = []
    recorded = parse_qsl(query, keep_blank_values=True)
    for name, value in recorded:
        if name not in QUERY:
            problems.append(f"query {name}: no such parameter in the SDK's {call}")
            continue
        keyword, kind = QUERY[name]
        if kind is list:
            kwargs.setdefault(keyword, []).extend(value.split(","))
        elif kind is int:
            kwargs[keyword] = int(value) if value.isdigit() else value
        elif kind is bool:
            kwargs[keyword] = {"true": True, "false": False}.get(value, value)
        else:
            kwargs[keyword] = value
    if problems:
        return problems

    def capture(method: str, url: str, query_params: Any = None, **_: Any) -> Any:
        raise _Sent(method, url, list(query_params or []))

    api.api_client.request = capture
    try:
        getattr(api, call)(*args, **kwargs)
    except _Sent as sent:
        if _as_lists(sent.query) != _as_lists(recorded):
            return [f"query: the SDK's {call} sends {sorted(_as_lists(sent.query))}"]
        return []
    except (TypeError, ValueError) as error:
        return [f"the SDK's {call} refuses the parameters: {error}"]
    return [f"the SDK's {call} sent nothing"]


def check(request: Any) -> Verdict:
    """HubSpot's SDK on one recorded request."""
    path, method = request.path, request.method
    reference = version_of("hubspot-api-client")
    for verb, pattern, package, model, label in BODIES:
        found = re.fullmatch(pattern, path)
        if verb != method or not found:
            continue
        dated = found.groupdict().get("version")
        endpoint = f"{method} {_shape(label, dated)}"
        notes = (f"dated path {dated}: the SDK knows the legacy one, same body",) if dated else ()
        try:
            body = json_body(request.body)
        except ValueError as error:
            return Verdict(VENDOR, endpoint, REFUSED, f"{reference} {model}", (str(error),))
        sort_problems: list[str] = []
        if model == "PublicObjectSearchRequest":
            body, sort_problems, sort_notes = _sort_objects(body)
            notes += sort_notes
        problems = sort_problems + body_problems(package, body, model)
        return Verdict(VENDOR, endpoint, REFUSED if problems else ACCEPTED, f"{reference} {model}",
                       tuple(problems), notes, _items(body))
    return _check_get(request, reference)


SORT_KEYS = frozenset({"propertyName", "direction"})
SORT_DIRECTIONS = ("ASCENDING", "DESCENDING")
SORT_NOTE = ("sorts as {propertyName, direction} objects: HubSpot's search guide's form; the SDK types them str "
             "(hubspot-api-python#236), so each was checked by shape and given to the SDK as its property name")


def _sort_objects(body: Any) -> tuple[Any, list[str], tuple[str, ...]]:
    """``body`` with documented sort objects turned into the SDK's strings, the problems of malformed ones, a note."""
    sorts = body.get("sorts") if isinstance(body, dict) else None
    if not isinstance(sorts, list) or not any(isinstance(item, dict) for item in sorts):
        return body, [], ()
    problems, names = [], []
    for index, item in enumerate(sorts):
        if not isinstance(item, dict):
            names.append(item)
            continue
        if (set(item) != SORT_KEYS or item.get("direction") not in SORT_DIRECTIONS
                or not isinstance(item.get("propertyName"), str)):
            problems.append(f"body.sorts[{index}]: a sort object has exactly propertyName (a string) and direction "
                            f"({' or '.join(SORT_DIRECTIONS)}), got {item!r}")
        names.append(str(item.get("propertyName", "")))
    return {**body, "sorts": names}, problems, (SORT_NOTE,)


def _shape(label: str, dated: str | None) -> str:
    if label.startswith("associations"):
        base = "/crm/associations/{version}/{from}/{to}" if dated else "/crm/v4/associations/{from}/{to}"
        return f"{base}/{label.split(' ', 1)[1]}"
    base = "/crm/objects/{version}/{type}" if dated else "/crm/v3/objects/{type}"
    return {"create": base, "update": base + "/{id}"}.get(label, f"{base}/{label}")


def _check_get(request: Any, reference: str) -> Verdict:
    api = HubSpot(access_token="recorded", client_side_validation=True)  # never sent: replay_get captures
    listing = re.fullmatch(_OBJ, request.path)
    prop = re.fullmatch(r"/crm/(?:v3/properties|properties/(?P<version>[^/]+))/(?P<type>[^/]+)/(?P<name>[^/]+)",
                        request.path)
    if request.method == "GET" and listing:
        dated = listing["version"]
        endpoint = f"GET {'/crm/objects/{version}/{type}' if dated else '/crm/v3/objects/{type}'}"
        problems = replay_get(api.crm.objects.basic_api, "get_page", (listing["type"],), request.query)
        model = "objects.basic_api.get_page"
    elif request.method == "GET" and prop:
        dated = prop["version"]
        endpoint = f"GET {'/crm/properties/{version}/{type}/{name}' if dated else '/crm/v3/properties/{type}/{name}'}"
        problems = replay_get(api.crm.properties.core_api, "get_by_name", (prop["type"], prop["name"]), request.query)
        model = "properties.core_api.get_by_name"
    else:
        return Verdict(VENDOR, f"{request.method} {template(request.path)}", UNCHECKED, reference,
                       ("no checker for this endpoint yet",))
    notes = (f"dated path {dated}: the SDK knows the legacy one, same parameters",) if dated else ()
    return Verdict(VENDOR, endpoint, REFUSED if problems else ACCEPTED, f"{reference} {model}",
                   tuple(problems), notes, 0)

