"""The Salesforce sandbox's HTTP face: Flask routes at Salesforce's own paths (without the mount prefix).

Every request first asks the fault knobs; every ``/services/data/vXX.X/…`` request then needs a
live session and counts one API call (key ``"METHOD /services/data/vXX.X/…{param}"`` in
``sandbox.calls``) against the rolling daily limit, and every answer there carries
``Sforce-Limit-Info``. Errors leave through one handler in Salesforce's array shape.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from flask import Flask, Response, g, jsonify, request
from flask.json.provider import DefaultJSONProvider

from sync.sandbox.faults import Fault
from sync.sandbox.salesforce import collections
from sync.sandbox.salesforce.auth import OAuthError
from sync.sandbox.salesforce.query import batch_size, record_url
from sync.sandbox.salesforce.records import ApiError
from sync.sandbox.salesforce.schema import (
    API_VERSIONS,
    FIELDS,
    LOWER_FIELDS,
    OBJECT_NAMES,
    describe,
    format_value,
    parse_datetime,
)
from sync.sandbox.salesforce.schema import format_datetime as fmt

if TYPE_CHECKING:
    from sync.sandbox.salesforce.sandbox import SalesforceSandbox

VERSION = re.compile(r"^v\d+\.\d$")
DATA = "/services/data/<version>"
RELEASES = {"58.0": "Summer '23", "59.0": "Winter '24", "60.0": "Spring '24", "61.0": "Summer '24",
            "62.0": "Winter '25"}
UPDATED_DAYS, DELETED_DAYS = 30, 15


def _fault_response(fault: Fault, oauth: bool) -> Response:
    if oauth:
        response = jsonify({"error": "unknown_error", "error_description": "retry your request"})
    else:
        code = ("UNKNOWN_EXCEPTION" if fault.status == 500 else "SERVER_UNAVAILABLE" if fault.status > 500
                else "REQUEST_LIMIT_EXCEEDED" if fault.status in (403, 429)
                else "INVALID_SESSION_ID" if fault.status == 401 else "NOT_FOUND" if fault.status == 404
                else "INVALID_INPUT")
        response = jsonify([{"message": f"Sandbox: {fault.reason}", "errorCode": code}])
    response.status_code = fault.status
    if fault.retry_after is not None:
        response.headers["Retry-After"] = f"{fault.retry_after:g}"
    return response


def _template() -> str:
    rule = request.url_rule.rule if request.url_rule is not None else request.path
    rule = rule.replace("<version>", "vXX.X")
    return re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule)


def _bearer(header: str | None) -> str | None:
    scheme, _, token = (header or "").partition(" ")
    return token.strip() if scheme.lower() in ("bearer", "oauth") and token.strip() else None


def _client() -> str | None:
    """The ``client=`` option of ``Sforce-Call-Options`` (lifesync names itself there for echo checks)."""
    match = re.search(r"(?:^|,)\s*client\s*=\s*([^,\s]+)", request.headers.get("Sforce-Call-Options", ""))
    return match.group(1) if match else None


def _json_body() -> Any:
    raw = request.get_data(cache=True)
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise ApiError(400, "JSON_PARSER_ERROR", f"Unexpected character in the JSON body: {exc}") from None


def _object_body() -> dict[str, Any]:
    body = _json_body()
    if not isinstance(body, dict):
        raise ApiError(400, "JSON_PARSER_ERROR", "The request body must be a JSON object of field values")
    return body


def _object(name: str) -> str:
    sobject = OBJECT_NAMES.get(name.lower())
    if sobject is None:
        raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")
    return sobject


def _record_body(sobject: str, row: dict[str, Any], version: str, names: list[str] | None) -> dict[str, Any]:
    out: dict[str, Any] = {"attributes": {"type": sobject, "url": record_url(version, sobject, row["Id"])}}
    for name in names if names is not None else list(FIELDS[sobject]):
        out[name] = format_value(row.get(name))
    return out


def _field_list(sobject: str) -> list[str] | None:
    raw = request.args.get("fields")
    if raw is None:
        return None
    names = []
    for part in filter(None, (p.strip() for p in raw.split(","))):
        field = LOWER_FIELDS[sobject].get(part.lower())
        if field is None:
            raise ApiError(400, "INVALID_FIELD", f"No such column '{part}' on entity '{sobject}'. If you are "
                           "attempting to use a custom field, be sure to append the '__c' after the custom "
                           "field name.", [part])
        names.append(field.name)
    return names


class OrderedJSON(DefaultJSONProvider):
    """Flask's JSON with keys in the order they were built: Salesforce's own order ("attributes" first)."""

    sort_keys = False


def create_app(sandbox: SalesforceSandbox) -> Flask:
    """The Flask app serving ``sandbox``: Salesforce's paths, without the ``/salesforce`` mount prefix."""
    app = Flask("sync.sandbox.salesforce.sandbox")
    app.json = OrderedJSON(app)
    app.url_map.strict_slashes = False

    def base_url() -> str:
        return sandbox.base_url or request.url_root.rstrip("/")

    @app.errorhandler(ApiError)
    def api_error(exc: ApiError) -> Response:
        response = jsonify(exc.body())
        response.status_code = exc.status
        response.headers.update(exc.headers)
        return response

    @app.errorhandler(OAuthError)
    def oauth_error(exc: OAuthError) -> Response:
        response = jsonify(exc.body())
        response.status_code = exc.status
        return response

    @app.errorhandler(404)
    def not_found(_exc: Exception) -> Response:
        return api_error(ApiError(404, "NOT_FOUND", "The requested resource does not exist"))

    @app.errorhandler(405)
    def not_allowed(_exc: Exception) -> Response:
        return api_error(ApiError(405, "METHOD_NOT_ALLOWED", f"HTTP Method '{request.method}' not allowed"))

    @app.before_request
    def gate() -> Response | None:
        fault = sandbox.faults.before(request.path)
        if fault is not None:
            return _fault_response(fault, request.path.startswith("/services/oauth2"))
        parts = request.path.strip("/").split("/")
        if parts[:2] != ["services", "data"] or len(parts) < 3:
            return None
        g.data_api = True
        if not VERSION.match(parts[2]):
            raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")
        with sandbox.lock:
            valid = sandbox.sessions.valid(_bearer(request.headers.get("Authorization")))
        if not valid:
            raise ApiError(401, "INVALID_SESSION_ID", "Session expired or invalid")
        if request.url_rule is not None:
            sandbox.count_call(f"{request.method} {_template()}")
        return None

    @app.after_request
    def limit_header(response: Response) -> Response:
        if g.get("data_api"):
            response.headers["Sforce-Limit-Info"] = sandbox.limit_info()
        return response

    @app.post("/services/oauth2/token")
    def token() -> Response:
        with sandbox.lock:
            return jsonify(sandbox.sessions.grant(request.form, base_url()))

    @app.get("/services/data")
    def versions() -> Response:
        return jsonify([{"label": RELEASES[v], "url": f"/services/data/v{v}", "version": v} for v in API_VERSIONS])

    @app.get(DATA)
    def resources(version: str) -> Response:
        names = ("sobjects", "query", "queryAll", "limits", "composite", "jobs")
        return jsonify({name: f"/services/data/{version}/{name}" for name in names})

    @app.get(f"{DATA}/limits")
    def limits(version: str) -> Response:
        used = sandbox.api_usage()
        return jsonify({"DailyApiRequests": {"Max": sandbox.daily_limit,
                                             "Remaining": max(0, sandbox.daily_limit - used)},
                        "DailyBulkV2QueryJobs": {"Max": 10000, "Remaining": 10000 - len(sandbox.bulk.jobs)}})

    @app.get(f"{DATA}/query")
    @app.get(f"{DATA}/queryAll")
    def query(version: str) -> Response:
        batch = batch_size(request.headers.get("Sforce-Query-Options"), sandbox.query_batch_size)
        with sandbox.lock:
            return jsonify(sandbox.queries.run(request.args.get("q", ""), version=version, batch=batch,
                                               include_deleted=request.path.rstrip("/").endswith("queryAll")))

    @app.get(f"{DATA}/query/<token>")
    @app.get(f"{DATA}/queryAll/<token>")
    def query_more(version: str, token: str) -> Response:
        with sandbox.lock:
            return jsonify(sandbox.queries.more(token, version))

    @app.get(f"{DATA}/sobjects/<sobject>/describe")
    def describe_object(version: str, sobject: str) -> Response:
        return jsonify(describe(_object(sobject)))

    @app.post(f"{DATA}/sobjects/<sobject>")
    def create_record(version: str, sobject: str) -> tuple[Response, int]:
        name, body = _object(sobject), _object_body()
        if any(k.lower() == "id" for k in body):
            raise ApiError(400, "INVALID_FIELD", "cannot specify Id in an insert call", ["Id"])
        with sandbox.lock:
            record_id = sandbox.store.create(name, body, client=_client())
        return jsonify({"id": record_id, "success": True, "errors": []}), 201

    @app.route(f"{DATA}/sobjects/<sobject>/<record_id>", methods=["GET", "PATCH", "DELETE"])
    def record(version: str, sobject: str, record_id: str) -> Response | tuple[str, int]:
        name = _object(sobject)
        with sandbox.lock:
            if request.method == "GET":
                names = _field_list(name)
                return jsonify(_record_body(name, sandbox.store.require(name, record_id), version, names))
            if request.method == "PATCH":
                sandbox.store.update(name, record_id, _object_body(), client=_client())
            else:
                sandbox.store.delete(name, record_id, client=_client())
        return "", 204

    @app.route(f"{DATA}/sobjects/<sobject>/<field>/<path:value>", methods=["GET", "PATCH"])
    def by_external_id(version: str, sobject: str, field: str, value: str) -> tuple[Response, int]:
        name = _object(sobject)
        with sandbox.lock:
            if request.method == "GET":
                return _get_by_external_id(name, field, value, version), 200
            record_id, created = sandbox.store.upsert(name, field, value, _object_body(), client=_client(),
                                                      url=lambda o, i: record_url(version, o, i))
        return jsonify({"id": record_id, "success": True, "errors": [], "created": created}), 201 if created else 200

    def _get_by_external_id(name: str, field: str, value: str, version: str) -> Response:
        spec = LOWER_FIELDS[name].get(field.lower())
        if spec is None or not spec.external_id:
            raise ApiError(404, "NOT_FOUND", f"Provided external ID field does not exist or is not accessible: "
                           f"{field}")
        matches = sandbox.store.match_external(name, spec.name, value)
        if not matches:
            raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")
        if len(matches) > 1:
            raise ApiError(300, "MULTIPLE_CHOICES", "several records match",
                           body=[record_url(version, name, m) for m in matches])
        return jsonify(_record_body(name, sandbox.store.require(name, matches[0]), version, _field_list(name)))

    @app.get(f"{DATA}/sobjects/<sobject>/updated/")
    def updated(version: str, sobject: str) -> Response:
        name = _object(sobject)
        with sandbox.lock:
            start, latest = _window(UPDATED_DAYS)
            return jsonify({"ids": sandbox.store.updated_ids(name, start, latest), "latestDateCovered": fmt(latest)})

    @app.get(f"{DATA}/sobjects/<sobject>/deleted/")
    def deleted(version: str, sobject: str) -> Response:
        name = _object(sobject)
        with sandbox.lock:
            start, latest = _window(DELETED_DAYS)
            rows = [{"id": i, "deletedDate": fmt(at)} for i, at in sandbox.store.deleted_log[name]
                    if start <= at < latest]
            return jsonify({"deletedRecords": rows, "earliestDateAvailable": fmt(sandbox.window_start(DELETED_DAYS)),
                            "latestDateCovered": fmt(latest)})

    def _window(days: int) -> tuple[datetime, datetime]:
        """The start and latestDateCovered of a replication call (seconds ignored, as Salesforce does)."""
        try:
            start = parse_datetime(request.args["start"]).replace(second=0, microsecond=0)
            end = parse_datetime(request.args["end"]).replace(second=0, microsecond=0)
        except (KeyError, ValueError):
            raise ApiError(400, "INVALID_REPLICATION_DATE", "start and end must be ISO 8601 date-times, e.g. "
                           "2026-11-27T10:00:00+00:00") from None
        if start >= end:
            raise ApiError(400, "INVALID_REPLICATION_DATE", "startDate must chronologically precede endDate")
        if start < sandbox.window_start(days) or end - start > timedelta(days=days):
            raise ApiError(400, "INVALID_REPLICATION_DATE", f"startDate cannot be more than {days} days ago")
        return start, min(end, sandbox.now().replace(second=0))

    @app.route(f"{DATA}/composite/sobjects", methods=["POST", "PATCH", "DELETE"])
    def collection(version: str) -> Response:
        if request.method == "DELETE":
            all_or_none = request.args.get("allOrNone", "false").lower() == "true"
            with sandbox.lock:
                return jsonify(collections.delete(sandbox.store, request.args.get("ids", ""), all_or_none=all_or_none,
                                                  client=_client(), at=sandbox.now()))
        body = _json_body()
        with sandbox.lock:
            at = sandbox.now()
            if request.method == "POST":
                return jsonify(collections.create(sandbox.store, body, client=_client(), at=at))
            return jsonify(collections.update(sandbox.store, body, client=_client(), at=at))

    @app.patch(f"{DATA}/composite/sobjects/<sobject>/<field>")
    def collection_upsert(version: str, sobject: str, field: str) -> Response:
        body = _json_body()
        with sandbox.lock:
            return jsonify(collections.upsert(sandbox.store, sobject, field, body, client=_client(),
                                              at=sandbox.now(), version=version))

    @app.get(f"{DATA}/jobs/query")
    def bulk_list(version: str) -> Response:
        with sandbox.lock:
            jobs = [job.info() for job in sandbox.bulk.jobs.values()]
        return jsonify({"done": True, "records": jobs, "nextRecordsUrl": None})

    @app.post(f"{DATA}/jobs/query")
    def bulk_create(version: str) -> Response:
        body = _json_body()
        with sandbox.lock:
            return jsonify(sandbox.bulk.create(body, version))

    @app.route(f"{DATA}/jobs/query/<job_id>", methods=["GET", "PATCH", "DELETE"])
    def bulk_job(version: str, job_id: str) -> Response | tuple[str, int]:
        with sandbox.lock:
            if request.method == "GET":
                return jsonify(sandbox.bulk.poll(job_id))
            if request.method == "PATCH":
                body = _json_body()
                if not isinstance(body, dict) or body.get("state") != "Aborted":
                    raise ApiError(400, "INVALIDJOB", "Only {\"state\": \"Aborted\"} can be set on a query job")
                return jsonify(sandbox.bulk.abort(job_id))
            sandbox.bulk.delete(job_id)
        return "", 204

    @app.get(f"{DATA}/jobs/query/<job_id>/results")
    def bulk_results(version: str, job_id: str) -> Response:
        with sandbox.lock:
            text, headers = sandbox.bulk.results(job_id, version, locator=request.args.get("locator"),
                                                 max_records=request.args.get("maxRecords"))
        return Response(text, status=200, headers=headers, content_type="text/csv")

    return app
