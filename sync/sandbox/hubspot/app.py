"""The HubSpot sandbox's Flask app: HubSpot's paths, answered from a ``HubSpotSandbox``.

Every API request first asks the shared fault knobs (``faults.before``) whether to fail, then
is counted in ``sandbox.calls`` (by method and path template), then authenticated (except the
OAuth token endpoint) and rate-limited (CRM searches also by the search limit, per token);
errors are answered in HubSpot's JSON shapes.

Each CRM endpoint is served on its legacy path (``/crm/v3/objects/…``, ``/crm/v4/associations/…``,
working until their end dates: v4 2027-03-30, every v1–v4 path 2027-09) and on its date-based
path (``/crm/objects/{version}/…``, ``/crm/properties/{version}/…``, ``/crm/associations/{version}/…``)
for the dated versions that exist (``DATED_VERSIONS``); any other version is HubSpot's 404.
From 2026-09 writes obey the portal's validation rules (``sandbox.validation_rules``).
The GDPR delete is served on its legacy path only (``/crm/v3/objects/contacts/gdpr-delete``): no dated
equivalent is documented (docs/vendors/audiences-and-consent.md §4).
Sources: https://developers.hubspot.com/docs/api-reference/latest/overview,
https://developers.hubspot.com/changelog/crm-api-write-validation-enforcement.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from flask import Flask, Response, g, request
from werkzeug.exceptions import HTTPException

from sync.sandbox.faults import Fault
from sync.sandbox.hubspot import lists, preferences, reads, writes
from sync.sandbox.hubspot.errors import ApiError, error_body, rate_limited, validation_error

if TYPE_CHECKING:
    from sync.sandbox.hubspot.sandbox import HubSpotSandbox

TOKEN_PATH = "/oauth/v1/token"  # noqa: S105 - a path, not a secret
# Dated versions HubSpot has released (2026-03-30 and 2026-09-08) -> whether writes obey the portal's
# validation rules (from 2026-09 on). A new version every March and September: add it here when it ships.
DATED_VERSIONS = {"2026-03": False, "2026-09": True}
LEGACY = "legacy"
_CONCRETE = ("version", "object_type", "from_type", "to_type", "operation")  # kept in call keys; ids become {id}
_RULE_PART = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    response = Response(json.dumps(body, separators=(",", ":")), status=status, mimetype="application/json")
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _body() -> Any:
    raw = request.get_data(cache=True)
    if not raw.strip():
        return {}
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise validation_error(f"Invalid input JSON: {exc}") from None


def _fault_response(fault: Fault) -> Response:
    if fault.status == 429:
        error = rate_limited("TEN_SECONDLY_ROLLING", {}, fault.retry_after)
        return _json(429, error.body, error.headers)
    category = "INTERNAL_ERROR" if fault.status >= 500 else None
    return _json(fault.status, error_body(f"Sandbox {fault.reason} ({fault.status}).", category))


def _call_key() -> str:
    rule, args = request.url_rule, request.view_args or {}
    assert rule is not None

    def part(match: re.Match[str]) -> str:
        name = match.group(1)
        return str(args.get(name, "")) if name in _CONCRETE else "{" + ("id" if name == "record_id" else name) + "}"

    return f"{request.method} {_RULE_PART.sub(part, rule.rule)}"


def create_app(sandbox: HubSpotSandbox) -> Flask:
    """A Flask app serving the sandbox on HubSpot's paths (no ``/hubspot`` prefix: the server mounts it)."""
    app = Flask("lifesync-hubspot-sandbox")

    @app.before_request
    def gate() -> Response | None:
        g.rate_headers = {}
        if request.url_rule is None:
            return None  # unknown route: the 404 handler answers
        fault = sandbox.faults.before(request.path)  # sleeps for latency outside the state lock
        with sandbox.lock:
            sandbox.calls[_call_key()] += 1
        if fault is not None:
            return _fault_response(fault)
        if request.path == TOKEN_PATH:
            return None
        with sandbox.lock:
            caller = sandbox.access.authenticate(request.headers.get("Authorization"))
            if request.method == "POST" and request.path.endswith("/search"):
                sandbox.access.admit_search(request.headers.get("Authorization", ""))  # before: a 429 is not counted
            g.rate_headers = sandbox.access.admit(caller)
        return None

    @app.after_request
    def add_rate_headers(response: Response) -> Response:
        for name, value in getattr(g, "rate_headers", {}).items():
            response.headers.setdefault(name, value)
        return response

    @app.errorhandler(ApiError)
    def api_error(error: ApiError) -> Response:
        return _json(error.status, error.body, error.headers)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response:
        message = "Resource not found" if error.code == 404 else (error.description or error.name)
        return _json(error.code or 500, error_body(message, "OBJECT_NOT_FOUND" if error.code == 404 else None))

    def args() -> dict[str, list[str]]:
        return {key: request.args.getlist(key) for key in request.args}

    @app.post(TOKEN_PATH)
    def token() -> Response:
        with sandbox.lock:
            return _json(200, sandbox.access.refresh(request.form.to_dict()))

    def version_of(version: str | None) -> str:
        """The API version a request asked for ("legacy" for the numeric paths), or HubSpot's 404."""
        if version is None:
            return LEGACY
        if version not in DATED_VERSIONS:
            raise ApiError(404, error_body("Resource not found", "OBJECT_NOT_FOUND"))
        return version

    def validating(version: str | None) -> bool:
        return version_of(version) != LEGACY and DATED_VERSIONS[version_of(version)]

    @app.get("/crm/v3/objects/<object_type>")
    @app.get("/crm/objects/<version>/<object_type>")
    def list_objects(object_type: str, version: str | None = None) -> Response:
        version_of(version)
        with sandbox.lock:
            kind = reads.object_type(sandbox, object_type)
            return _json(200, reads.list_objects(sandbox, kind, args(), request.base_url))

    @app.post("/crm/v3/objects/<object_type>")
    @app.post("/crm/objects/<version>/<object_type>")
    def create_object(object_type: str, version: str | None = None) -> Response:
        rules = validating(version)
        body = _body()
        with sandbox.lock:
            kind = reads.object_type(sandbox, object_type)
            return _json(*writes.single_write(sandbox, kind, "create", body, rules=rules))

    @app.route("/crm/v3/objects/<object_type>/<record_id>", methods=["GET", "PATCH", "DELETE"])
    @app.route("/crm/objects/<version>/<object_type>/<record_id>", methods=["GET", "PATCH", "DELETE"])
    def one_object(object_type: str, record_id: str, version: str | None = None) -> Response:
        rules = validating(version)
        body = _body() if request.method == "PATCH" else None
        with sandbox.lock:
            kind = reads.object_type(sandbox, object_type)
            if request.method == "GET":
                return _json(200, reads.get_object(sandbox, kind, record_id, args()))
            if request.method == "PATCH":
                return _json(*writes.single_write(sandbox, kind, "update", body, record_id,
                                                  request.args.get("idProperty"), rules=rules))
            writes.batch_archive(sandbox, kind, {"inputs": [{"id": record_id}]})
            return Response(status=204)

    @app.post("/crm/v3/objects/contacts/gdpr-delete")
    def gdpr_delete() -> Response:
        """HubSpot's GDPR delete (legacy reference only): ``{objectId}`` or ``{objectId: email, idProperty: email}``.

        The contact is removed for good (not archived); an unknown e-mail is blocklisted (it cannot
        be created again), an unknown id is a 404. 204 on success (the status is unconfirmed; the
        client accepts any 2xx).
        """
        body = _body()
        if not isinstance(body, dict) or not isinstance(body.get("objectId"), str) or not body["objectId"].strip():
            raise validation_error("Invalid input JSON: objectId is required and must be a string")
        id_property = body.get("idProperty")
        if id_property not in (None, "email", "hs_object_id"):
            raise validation_error(f"Invalid idProperty {id_property!r}: expected email or hs_object_id")
        with sandbox.lock:
            table = sandbox.table("contacts")
            object_id = body["objectId"].strip()
            if id_property == "email":
                record = table.by_email(object_id)
                if record is None:
                    sandbox.gdpr_blocklist.add(object_id.lower())
                    return Response(status=204)
            else:
                record = table.rows.get(int(object_id)) if object_id.isdigit() else None
                if record is None:
                    raise ApiError(404, error_body("resource not found", "OBJECT_NOT_FOUND"))
            sandbox.gdpr_blocklist.add((record.props.get("email") or "").lower())
            table.purge(record)
        return Response(status=204)

    @app.post("/crm/v3/objects/<object_type>/search")
    @app.post("/crm/objects/<version>/<object_type>/search")
    def search(object_type: str, version: str | None = None) -> Response:
        version_of(version)
        body = _body()
        with sandbox.lock:
            return _json(200, reads.search(sandbox, reads.object_type(sandbox, object_type), body))

    @app.post("/crm/v3/objects/<object_type>/batch/<operation>")
    @app.post("/crm/objects/<version>/<object_type>/batch/<operation>")
    def batch(object_type: str, operation: str, version: str | None = None) -> Response:
        rules = validating(version)
        body = _body()
        with sandbox.lock:
            kind = reads.object_type(sandbox, object_type)
            if operation == "read":
                archived = request.args.get("archived", "false").lower() == "true"
                return _json(*reads.batch_read(sandbox, kind, body, archived))
            if operation == "archive":
                writes.batch_archive(sandbox, kind, body)
                return Response(status=204)
            if operation not in writes.OPERATIONS:
                raise ApiError(404, error_body(f"Unknown batch operation {operation}", "OBJECT_NOT_FOUND"))
            return _json(*writes.batch_write(sandbox, kind, operation, body, rules=rules))

    @app.get("/crm/v3/properties/<object_type>")
    @app.get("/crm/v3/properties/<object_type>/<name>")
    @app.get("/crm/properties/<version>/<object_type>")
    @app.get("/crm/properties/<version>/<object_type>/<name>")
    def properties(object_type: str, name: str | None = None, version: str | None = None) -> Response:
        version_of(version)
        with sandbox.lock:
            return _json(200, reads.get_property(sandbox, reads.object_type(sandbox, object_type), name))

    @app.post("/crm/v4/associations/<from_type>/<to_type>/batch/read")
    @app.post("/crm/associations/<version>/<from_type>/<to_type>/batch/read")
    def association_read(from_type: str, to_type: str, version: str | None = None) -> Response:
        version_of(version)
        body = _body()
        with sandbox.lock:
            return _json(*reads.association_batch_read(sandbox, from_type, to_type, body))

    @app.get("/account-info/v3/details")
    @app.get("/account-info/<version>/details")
    def account_details(version: str = "v3") -> Response:
        """The portal's account details (``lifesync connections check``), behind the same bearer-token gate.

        https://developers.hubspot.com/docs/api-reference/latest/account/account-information/get-account-details:
        ``GET /account-info/2026-03/details`` (legacy ``/account-info/v3/details``); 2026-03 is its newest version.
        """
        if version not in ("v3", "2026-03"):
            raise ApiError(404, error_body("Resource not found", "OBJECT_NOT_FOUND"))
        return _json(200, {"portalId": sandbox.access.credentials.hub_id, "accountType": "SANDBOX",
                           "timeZone": "US/Eastern", "companyCurrency": "USD", "additionalCurrencies": [],
                           "utcOffset": "-05:00", "utcOffsetMilliseconds": -18000000, "uiDomain": "app.hubspot.com",
                           "dataHostingLocation": "na1"})

    lists.register(app, sandbox)
    preferences.register(app, sandbox)
    return app
