"""Meta Conversions API requests against Meta's own SDK, ``facebook_business`` (``adobjects/serverside``).

Each event of a ``POST /{version}/{dataset}/events`` body is rebuilt with the SDK's ``Event``,
``UserData`` and ``CustomData`` from what lifesync sent (hashed values pass through the SDK's
normaliser unchanged: it hashes only what is not a SHA-256 digest already), and the SDK's
``EventRequest`` (with the request's ``test_event_code``, ``partner_agent``, …) must then send
the same events: same keys, same hashes (lists compared as sets: the SDK de-duplicates through a
set and wraps single values in lists). A key the SDK has no parameter for refuses the request,
except the business-messaging ``user_data`` fields Meta documents and the SDK does not model
yet (``DOCUMENTED_BEYOND_SDK``): those are left out of the comparison and named in the notes.
Nothing but ``/events`` is checked here (a GET of a dataset or an ad has no body to check).
"""

from __future__ import annotations

import hashlib
import inspect
import json
import re
from typing import Any

from facebook_business.adobjects.serverside.action_source import ActionSource
from facebook_business.adobjects.serverside.content import Content
from facebook_business.adobjects.serverside.custom_data import CustomData
from facebook_business.adobjects.serverside.event import Event
from facebook_business.adobjects.serverside.event_request import EventRequest
from facebook_business.adobjects.serverside.gender import Gender
from facebook_business.adobjects.serverside.messaging_channel import MessagingChannel
from facebook_business.adobjects.serverside.user_data import UserData

from bench.vendor_refs import ACCEPTED, REFUSED, UNCHECKED, Verdict, json_body, template, version_of

VENDOR = "Meta"
EVENTS = re.compile(r"/v\d+\.\d+/[^/]+/events")
# user_data fields of the Conversions API for business messaging that UserData (26.0.x) has no field for:
# https://developers.facebook.com/docs/marketing-api/conversions-api/business-messaging
DOCUMENTED_BEYOND_SDK = {"whatsapp_business_account_id", "page_scoped_user_id", "ig_account_id", "ig_sid"}
# CAPI user_data key -> UserData keyword, for the fields the SDK takes as lists
LISTED = {"em": "emails", "ph": "phones", "db": "dates_of_birth", "ln": "last_names", "fn": "first_names",
          "ct": "cities", "st": "states", "zp": "zip_codes", "country": "country_codes", "external_id": "external_ids"}
SINGLE = {"client_ip_address", "client_user_agent", "fbc", "fbp", "subscription_id", "fb_login_id", "lead_id",
          "f5first", "f5last", "fi", "dobd", "dobm", "doby", "madid", "anon_id", "ctwa_clid", "page_id"}
EVENT_KEYS = set(inspect.signature(Event.__init__).parameters) - {"self"}
REQUEST_KEYS = set(EventRequest.param_types) - {"events"} | {"data", "access_token"}
NOT_REBUILT = {"app_data", "original_event_data", "attribution_data"}  # compared as sent, not rebuilt


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _user_data(user: dict[str, Any], where: str, problems: list[str]) -> UserData:
    kwargs: dict[str, Any] = {}
    for key, value in user.items():
        if key in LISTED:
            kwargs[LISTED[key]] = value if isinstance(value, list) else [value]
        elif key in SINGLE:
            kwargs[key] = value
        elif key == "ge":
            genders = [g for g in Gender for v in (value if isinstance(value, list) else [value])
                       if _sha(g.value) == v or g.value == v]
            if not genders:
                problems.append(f"{where}.user_data.ge: not the hash of a Gender the SDK knows")
            kwargs["genders"] = genders
        elif key not in DOCUMENTED_BEYOND_SDK:
            problems.append(f"{where}.user_data.{key}: UserData has no such field")
    return UserData(**kwargs)


def _custom_data(custom: dict[str, Any], where: str, problems: list[str]) -> CustomData:
    known = set(inspect.signature(CustomData.__init__).parameters) - {"self", "custom_properties"}
    kwargs = {k: v for k, v in custom.items() if k in known}
    if isinstance(kwargs.get("contents"), list):
        fields = set(inspect.signature(Content.__init__).parameters) - {"self"}
        contents = []
        for i, item in enumerate(kwargs["contents"]):
            extra = set(item) - fields if isinstance(item, dict) else {"(not an object)"}
            problems += [f"{where}.custom_data.contents[{i}].{k}: Content has no such field" for k in sorted(extra)]
            contents.append(Content(**{k: v for k, v in item.items() if k in fields}) if not extra else Content())
        kwargs["contents"] = contents
    custom_properties = {k: v for k, v in custom.items() if k not in known}  # CAPI takes any custom key
    return CustomData(**kwargs, custom_properties=custom_properties or None)


def sdk_event(event: dict[str, Any], where: str, problems: list[str]) -> Event:
    """The SDK's ``Event`` for one sent event; problems get what the SDK cannot take."""
    kwargs: dict[str, Any] = {}
    for key, value in event.items():
        if key not in EVENT_KEYS:
            problems.append(f"{where}.{key}: Event has no such parameter")
        elif key == "user_data" and isinstance(value, dict):
            kwargs[key] = _user_data(value, where, problems)
        elif key == "custom_data" and isinstance(value, dict):
            kwargs[key] = _custom_data(value, where, problems)
        elif key == "action_source":
            kwargs[key] = _enum(ActionSource, value, f"{where}.action_source", problems)
        elif key == "messaging_channel":
            kwargs[key] = _enum(MessagingChannel, value, f"{where}.messaging_channel", problems)
        elif key not in NOT_REBUILT:
            kwargs[key] = value
    return Event(**kwargs)


def _enum(kind: Any, value: Any, where: str, problems: list[str]) -> Any:
    try:
        return kind(value)
    except ValueError:
        problems.append(f"{where}: {value!r} is not one of the SDK's {kind.__name__} values")
        return None


def comparable(event: dict[str, Any]) -> dict[str, Any]:
    """An event as compared: user_data lists as sorted lists, single values wrapped, beyond-SDK fields out."""
    out = {k: v for k, v in event.items() if k not in NOT_REBUILT and v is not None}
    user = out.get("user_data")
    if isinstance(user, dict):
        out["user_data"] = {k: sorted(v) if isinstance(v, list) else v if k in SINGLE else [v]
                            for k, v in user.items() if k not in DOCUMENTED_BEYOND_SDK}
    return out


def event_problems(event: Any, where: str) -> list[str]:
    """Why the SDK does not send ``event`` as lifesync did (empty when it does)."""
    if not isinstance(event, dict):
        return [f"{where}: not an object"]
    problems: list[str] = []
    try:
        built = sdk_event(event, where, problems)
        sent = built.normalize()
    except (TypeError, ValueError) as error:
        return [*problems, f"{where}: the SDK refuses it: {error}"]
    if problems:
        return problems
    mine, theirs = comparable(event), comparable(sent)
    differ = [f"{where}.{key}" for key in sorted(set(mine) | set(theirs))
              if key != "user_data" and mine.get(key) != theirs.get(key)]
    differ += [f"{where}.user_data.{key}" for key in _user_diff(mine, theirs)]
    return [f"{field}: the SDK sends another value" for field in differ]


def _user_diff(mine: dict[str, Any], theirs: dict[str, Any]) -> list[str]:
    a, b = mine.get("user_data") or {}, theirs.get("user_data") or {}
    return [k for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]


def request_problems(body: Any) -> tuple[list[str], list[str]]:
    """(why the SDK's EventRequest does not send ``body``, notes) for one /events body."""
    if not isinstance(body, dict) or not isinstance(body.get("data"), list):
        return ["body: no data list of events"], []
    problems = [f"body.{key}: EventRequest has no such parameter" for key in sorted(set(body) - REQUEST_KEYS)]
    for i, event in enumerate(body["data"]):
        problems += event_problems(event, f"data[{i}]")
    beyond = sorted({k for e in body["data"] if isinstance(e, dict) and isinstance(e.get("user_data"), dict)
                     for k in e["user_data"] if k in DOCUMENTED_BEYOND_SDK})
    notes = [f"user_data.{k}: documented by Meta, no UserData field in the SDK: not compared" for k in beyond]
    if not problems:
        events = [sdk_event(e, "", []) for e in body["data"]]
        params = {k: body[k] for k in REQUEST_KEYS - {"data", "access_token"} if k in body}
        sent = EventRequest(pixel_id="recorded", events=events, **params).get_params()
        if [comparable(json.loads(e)) for e in sent["data"]] != [comparable(e) for e in body["data"]]:
            problems.append("body: the SDK's EventRequest sends other events")
        if {k: v for k, v in sent.items() if k != "data"} != params:
            problems.append("body: the SDK's EventRequest sends other request parameters")
    return problems, notes


def check(request: Any) -> Verdict:
    """Meta's SDK on one recorded request."""
    reference = version_of("facebook_business")
    if request.method != "POST" or not EVENTS.fullmatch(request.path):
        return Verdict(VENDOR, f"{request.method} {template(request.path)}", UNCHECKED, reference,
                       ("only Conversions API /events bodies are checked",))
    endpoint = "POST /{version}/{dataset}/events"
    try:
        body = json_body(request.body)
    except ValueError as error:
        return Verdict(VENDOR, endpoint, REFUSED, reference, (str(error),))
    problems, notes = request_problems(body)
    items = len(body["data"]) if isinstance(body, dict) and isinstance(body.get("data"), list) else 0
    return Verdict(VENDOR, endpoint, REFUSED if problems else ACCEPTED, f"{reference} EventRequest/Event",
                   tuple(problems), tuple(notes), items)
