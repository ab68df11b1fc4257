"""The respond.io sandbox's Flask app: respond.io API v2 paths, answered from a ``RespondioSandbox``.

Each request asks the shared fault knobs first, is counted (by method and path template),
authenticated, then rate-limited per API method; errors are respond.io's ``{code, message}``.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from flask import Flask, Response, g, request
from werkzeug.exceptions import HTTPException

if TYPE_CHECKING:
    from sync.sandbox.respondio.sandbox import Contact, RespondioSandbox

MAX_TAGS = 10
MAX_TAG_LENGTH = 255
_IDENTIFIER = re.compile(r"^(id):(\d+)$|^(email):([^\s@/]+@[^\s@/]+\.[^\s@/]+)$|^(phone):(\+\d{7,15})$")


class ApiError(Exception):
    """An error answer in respond.io's shape."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.message, self.headers = status, message, dict(headers or {})


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    response = Response(json.dumps(body), status=status, mimetype="application/json")
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _body() -> Any:
    try:
        return json.loads(request.get_data(cache=True) or b"null")
    except ValueError:
        raise ApiError(400, "Validation error.") from None


def _contact(sandbox: RespondioSandbox, identifier: str) -> Contact:
    match = _IDENTIFIER.match(identifier)
    if not match:
        raise ApiError(400, "Validation error.")
    kind, value = next((match.group(i), match.group(i + 1)) for i in (1, 3, 5) if match.group(i))
    found = sandbox.find(kind, value)
    if found is None:
        raise ApiError(404, "Contact not found.")
    return found


def _tags(body: Any) -> list[str]:
    if (not isinstance(body, list) or not 1 <= len(body) <= MAX_TAGS or len(set(map(str, body))) != len(body)
            or not all(isinstance(t, str) and 0 < len(t) <= MAX_TAG_LENGTH for t in body)):
        raise ApiError(400, "Validation error.")
    return list(body)


def create_app(sandbox: RespondioSandbox) -> Flask:
    """A Flask app serving the sandbox on respond.io's paths (the server mounts it under ``/respondio``)."""
    app = Flask("lifesync-respondio-sandbox")

    @app.before_request
    def gate() -> Response | None:
        g.rate_headers = {}
        if request.url_rule is None:
            return None
        key = f"{request.method} {request.url_rule.rule}"
        fault = sandbox.faults.before(request.path)
        with sandbox.lock:
            sandbox.calls[key] += 1
            if fault is not None:
                headers = {"Retry-After": str(int(fault.retry_after))} if fault.retry_after else {}
                return _json(fault.status, {"code": fault.status, "message": "Sandbox fault."}, headers)
            if request.headers.get("Authorization") != f"Bearer {sandbox.TOKEN}":
                return _json(401, {"code": 401, "message": "UN_AUTHORIZED"})
            admitted, g.rate_headers = sandbox.admit(key)
        if not admitted:
            return _json(429, {"code": 429, "message": "Too Many Requests"}, g.rate_headers)
        return None

    @app.after_request
    def add_rate_headers(response: Response) -> Response:
        for name, value in getattr(g, "rate_headers", {}).items():
            response.headers.setdefault(name, value)
        return response

    @app.errorhandler(ApiError)
    def api_error(error: ApiError) -> Response:
        return _json(error.status, {"code": error.status, "message": error.message}, error.headers)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response:
        return _json(error.code or 500, {"code": error.code, "message": error.name})

    @app.get("/contact/<identifier>")
    def get_contact(identifier: str) -> Response:
        with sandbox.lock:
            c = _contact(sandbox, identifier)
            return _json(200, {"id": c.id, "email": c.email, "phone": c.phone, "firstName": c.first_name,
                               "tags": list(c.tags),
                               "custom_fields": [{"name": k, "value": v} for k, v in c.custom_fields.items()]})

    @app.post("/contact/<identifier>/tag")
    def add_tags(identifier: str) -> Response:
        tags = _tags(_body())
        with sandbox.lock:
            c = _contact(sandbox, identifier)
            c.tags.extend(t for t in tags if t not in c.tags)
            return _json(200, {"contactId": c.id})

    @app.delete("/contact/<identifier>/tag")
    def remove_tags(identifier: str) -> Response:
        tags = _tags(_body())
        with sandbox.lock:
            c = _contact(sandbox, identifier)
            c.tags = [t for t in c.tags if t not in tags]
            return _json(200, {"contactId": c.id})

    @app.put("/contact/<identifier>")
    def update_contact(identifier: str) -> Response:
        body = _body()
        fields = body.get("custom_fields") if isinstance(body, dict) else None
        if fields is not None and (not isinstance(fields, list) or not all(
                isinstance(f, dict) and f.get("name") in sandbox.custom_field_names for f in fields)):
            raise ApiError(400, "Validation error.")
        with sandbox.lock:
            c = _contact(sandbox, identifier)
            for f in fields or []:
                if f.get("value") in (None, ""):
                    c.custom_fields.pop(f["name"], None)
                else:
                    c.custom_fields[f["name"]] = f["value"]
            return _json(200, {"contactId": c.id})

    return app
