"""Salesforce requests against ``simple-salesforce``, the reference Python client.

Salesforce publishes no schema of REST bodies that a Python library carries, and
simple-salesforce has none either. What it does have is a typed method per REST resource it
knows (``query``/``queryAll``, ``query_more``, ``describe``, ``limits``, sObject ``create``,
``update``, ``upsert``, ``get``, ``updated``, ``deleted``). So the oracle here is
*expressibility*: a recorded request is accepted when simple-salesforce's own method for that
resource, given the recorded arguments at the recorded API version, sends the same request
(method, path, query, JSON body; a trailing slash aside, which Salesforce ignores).

Not checked, said as such (``unchecked``): the sObject Collections resources
(``composite/sobjects``) and the OAuth refresh-token grant, which simple-salesforce can only
send through its untyped ``restful()``/``session`` (any path, any body), so "it can send
this" would prove nothing. Nor does anything here parse SOQL: simple-salesforce passes
the ``q`` text through as given.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import requests
from simple_salesforce import Salesforce

from bench.vendor_refs import ACCEPTED, REFUSED, UNCHECKED, Verdict, json_body, template, version_of

VENDOR = "Salesforce"
_DATA = r"/services/data/v(?P<version>\d+\.\d)"
INSTANCE = "sandbox.invalid"  # never reached: the session below answers every call itself
NOT_EXPRESSIBLE = {
    "composite/sobjects": "sObject Collections: simple-salesforce has no method for them (only untyped restful())",
    "oauth2/token": "OAuth refresh-token grant: simple-salesforce logs in by password, JWT or client "
                    "credentials, never with a refresh token",
}


def _answer() -> requests.Response:
    response = requests.Response()
    response.status_code, response._content = 200, b'{"done": true, "records": [], "totalSize": 0}'
    response.headers["Content-Type"] = "application/json"
    return response


class _Session(requests.Session):
    """A ``requests.Session`` that keeps what simple-salesforce sends and answers 200 without sending."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[tuple[str, str, dict[str, Any], Any]] = []

    def request(self, method: str, url: str, params: Any = None, json: Any = None, data: Any = None,
                **_: Any) -> Any:
        self.sent.append((method.upper(), url, dict(params or {}), json if json is not None else data))
        return _answer()


def _call(version: str, path: str, query: dict[str, str], body: Any, method: str
          ) -> tuple[str, Any] | tuple[None, str]:
    """The simple-salesforce call for a request below ``/services/data/vNN.N/``: (label, thunk) or (None, why)."""
    session = _Session()
    sf = Salesforce(instance_url=f"https://{INSTANCE}", session_id="recorded", version=version, session=session)
    q = query.get("q")
    found = re.fullmatch(r"(query|queryAll)/?", path)
    if method == "GET" and found and set(query) == {"q"}:
        return "query", lambda: (sf.query(q, include_deleted=found[1] == "queryAll"), session)
    found = re.fullmatch(r"(query|queryAll)/([^/]+)", path)
    if method == "GET" and found and not query:
        return "query_more", lambda: (sf.query_more(found[2], include_deleted=found[1] == "queryAll"), session)
    if method == "GET" and path.rstrip("/") == "limits" and not query:
        return "limits", lambda: (sf.limits(), session)
    found = re.fullmatch(r"sobjects/(\w+)/describe/?", path)
    if method == "GET" and found and not query:
        return "describe", lambda: (getattr(sf, found[1]).describe(), session)
    found = re.fullmatch(r"sobjects/(\w+)/?", path)
    if method == "POST" and found and not query:
        return "create", lambda: (getattr(sf, found[1]).create(body), session)
    found = re.fullmatch(r"sobjects/(\w+)/(\w+)/(.+)", path)
    if method == "PATCH" and found and not query:
        return "upsert", lambda: (getattr(sf, found[1]).upsert(f"{found[2]}/{found[3]}", body), session)
    found = re.fullmatch(r"sobjects/(\w+)/(\w{15}|\w{18})", path)
    if method == "PATCH" and found and not query:
        return "update", lambda: (getattr(sf, found[1]).update(found[2], body), session)
    if method == "GET" and found and set(query) <= {"fields"}:
        return "get", lambda: (getattr(sf, found[1]).get(found[2]), session)
    return None, "simple-salesforce has no method that sends this request"


def replay(request: Any) -> tuple[str, list[str]]:
    """The simple-salesforce method for ``request`` and why its request differs (empty when the same)."""
    found = re.match(_DATA + r"/(?P<rest>.*)", request.path)
    if not found:
        return "", ["not a /services/data/vNN.N/ request"]
    query = dict(parse_qsl(request.query, keep_blank_values=True))
    body = json_body(request.body) if request.body else None
    label, thunk = _call(found["version"], found["rest"], query, body, request.method)
    if label is None:
        return "", [thunk]
    _, session = thunk()
    if len(session.sent) != 1:
        return label, [f"simple-salesforce's {label} sent {len(session.sent)} requests"]
    method, url, params, sent_body = session.sent[0]
    parts = urlsplit(url)
    problems = []
    if method != request.method:
        problems.append(f"simple-salesforce's {label} sends {method}")
    if parts.path.rstrip("/") != request.path.rstrip("/"):
        problems.append(f"simple-salesforce's {label} sends the path {parts.path}")
    if {**dict(parse_qsl(parts.query)), **{k: str(v) for k, v in params.items()}} != query:
        problems.append(f"simple-salesforce's {label} sends another query")
    if isinstance(sent_body, str | bytes):
        sent_body = json_body(sent_body.encode() if isinstance(sent_body, str) else sent_body)
    if sent_body != body:
        problems.append(f"simple-salesforce's {label} sends another body")
    return label, problems


def endpoint_of(request: Any) -> str:
    """The request's method and path with ids, names and the version as placeholders."""
    path = re.sub(_DATA, "/services/data/v{version}", request.path)
    path = re.sub(r"/(query|queryAll)/[^/]+$", r"/\1/{locator}", path)
    path = re.sub(r"/composite/sobjects/\w+/\w+$", "/composite/sobjects/{sobject}/{external_id_field}", path)
    path = re.sub(r"(?<!composite)/sobjects/\w+", "/sobjects/{sobject}", path)
    return f"{request.method} {template(path)}"


def check(request: Any) -> Verdict:
    """simple-salesforce on one recorded request."""
    endpoint = endpoint_of(request)
    reference = version_of("simple-salesforce")
    for fragment, why in NOT_EXPRESSIBLE.items():
        if fragment in request.path:
            return Verdict(VENDOR, endpoint, UNCHECKED, f"no vendor reference ({reference})", (why,),
                           items=_records(request))
    try:
        label, problems = replay(request)
    except ValueError as error:
        label, problems = "", [str(error)]
    notes = ("the q text is passed through as given: no SOQL parser checks it",) if label == "query" else ()
    return Verdict(VENDOR, endpoint, REFUSED if problems else ACCEPTED, f"{reference} {label}".strip(),
                   tuple(problems), notes)


def _records(request: Any) -> int:
    try:
        body = json_body(request.body)
    except ValueError:
        return 0
    return len(body.get("records", [])) if isinstance(body, dict) else 0
