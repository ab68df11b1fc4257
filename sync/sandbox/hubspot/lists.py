"""HubSpot lists (segments) in the sandbox: create, find by name, and MANUAL/SNAPSHOT list memberships.

Paths: the legacy ``/crm/v3/lists`` and the dated ``/crm/lists/{version}`` for ``LIST_VERSIONS``
(2026-03; 2026-09 lists are documented only as ``2026-09-beta``). Rules
(https://developers.hubspot.com/docs/api-reference/2026-03/crm/lists/…):

* create ``POST /crm/lists/{v}`` ``{name, objectTypeId, processingType}`` → ``{list: {listId, …}}``;
  names are unique per portal (400 otherwise); ``processingType`` MANUAL, SNAPSHOT or DYNAMIC (DYNAMIC
  needs a ``filterBranch``); only contacts (``0-1``) exist in the sandbox;
* ``GET /crm/lists/{v}/object-type-id/{objectTypeId}/name/{name}`` and ``GET /crm/lists/{v}/{listId}``;
* ``PUT /crm/lists/{v}/{listId}/memberships/add`` and ``…/remove``: a JSON array of record-id strings,
  at most ``sandbox.list_membership_max`` (HubSpot publishes no figure: UNCONFIRMED, a knob);
  only on MANUAL/SNAPSHOT lists (400 on DYNAMIC); ids of records that do not exist are answered in
  ``recordIdsMissing``, ids already members (add) or not members (remove) are ignored; the answer is
  ``{recordIdsMissing, recordIdsRemoved, recordsIdsAdded}`` (HubSpot's own spelling).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from flask import Flask, Response, request

from sync.sandbox.hubspot.errors import ApiError, error_body, validation_error
from sync.sandbox.hubspot.records import iso

if TYPE_CHECKING:
    from sync.sandbox.hubspot.sandbox import HubSpotSandbox

LIST_VERSIONS = ("2026-03", "2026-09-beta")
CONTACTS = "0-1"
PROCESSING_TYPES = ("MANUAL", "SNAPSHOT", "DYNAMIC")
MAX_MEMBERSHIP_IDS = 10_000  # per add/remove call (UNCONFIRMED: HubSpot documents no limit)


@dataclass
class HubSpotList:
    """One list of the portal."""

    list_id: int
    name: str
    object_type_id: str
    processing_type: str
    created_ms: int
    members: set[int] = field(default_factory=set)

    def render(self) -> dict[str, Any]:
        return {"listId": str(self.list_id), "listVersion": 1, "name": self.name, "objectTypeId": self.object_type_id,
                "processingType": self.processing_type, "processingStatus": "COMPLETE",
                "createdAt": iso(self.created_ms), "updatedAt": iso(self.created_ms), "size": len(self.members)}


def _json(status: int, body: Any) -> Response:
    return Response(json.dumps(body, separators=(",", ":")), status=status, mimetype="application/json")


def _not_found(what: str) -> ApiError:
    return ApiError(404, error_body(f"{what} not found", "OBJECT_NOT_FOUND"))


def _version(version: str | None) -> None:
    if version is not None and version not in LIST_VERSIONS:
        raise ApiError(404, error_body("Resource not found", "OBJECT_NOT_FOUND"))


def _record_ids(sandbox: HubSpotSandbox) -> list[str]:
    try:
        body = json.loads(request.get_data(cache=True) or b"null")
    except ValueError as exc:
        raise validation_error(f"Invalid input JSON: {exc}") from None
    if not isinstance(body, list) or not all(isinstance(v, str | int) for v in body):
        raise validation_error("The request body must be an array of record ids")
    if len(body) > sandbox.list_membership_max:
        raise validation_error(f"Too many record ids: {len(body)} (at most {sandbox.list_membership_max} per request)")
    return [str(v) for v in body]


def _list(sandbox: HubSpotSandbox, list_id: str) -> HubSpotList:
    found = sandbox.lists.get(int(list_id)) if list_id.isdigit() else None
    if found is None:
        raise _not_found(f"List {list_id}")
    return found


def register(app: Flask, sandbox: HubSpotSandbox) -> None:
    """Add the lists routes to the HubSpot sandbox's app."""

    @app.post("/crm/v3/lists")
    @app.post("/crm/v3/lists/")  # the path hubspot-api-client posts to
    @app.post("/crm/lists/<version>")
    def create_list(version: str | None = None) -> Response:
        _version(version)
        try:
            body = json.loads(request.get_data(cache=True) or b"{}")
        except ValueError as exc:
            raise validation_error(f"Invalid input JSON: {exc}") from None
        if not isinstance(body, dict):
            raise validation_error("The request body must be an object")
        name, object_type, processing = body.get("name"), body.get("objectTypeId"), body.get("processingType")
        if not isinstance(name, str) or not name.strip():
            raise validation_error("name is required")
        if object_type != CONTACTS:
            raise validation_error(f"objectTypeId {object_type!r} is not supported (contacts are 0-1)")
        if processing not in PROCESSING_TYPES:
            raise validation_error(f"processingType must be one of {', '.join(PROCESSING_TYPES)}")
        if processing == "DYNAMIC" and not body.get("filterBranch"):
            raise validation_error("A DYNAMIC list needs a filterBranch")
        with sandbox.lock:
            if any(lst.name.lower() == name.lower() for lst in sandbox.lists.values()):
                raise validation_error(f"A list named {name!r} already exists")
            created = HubSpotList(sandbox.new_id(), name, object_type, processing, sandbox.now_ms())
            sandbox.lists[created.list_id] = created
            return _json(200, {"list": created.render()})

    @app.get("/crm/v3/lists/object-type-id/<object_type>/name/<name>")
    @app.get("/crm/lists/<version>/object-type-id/<object_type>/name/<name>")
    def list_by_name(object_type: str, name: str, version: str | None = None) -> Response:
        _version(version)
        with sandbox.lock:
            found = next((lst for lst in sandbox.lists.values()
                          if lst.object_type_id == object_type and lst.name.lower() == name.lower()), None)
            if found is None:
                raise _not_found(f"List {name}")
            return _json(200, {"list": found.render()})

    @app.get("/crm/v3/lists/<list_id>")
    @app.get("/crm/lists/<version>/<list_id>")
    def get_list(list_id: str, version: str | None = None) -> Response:
        _version(version)
        with sandbox.lock:
            return _json(200, {"list": _list(sandbox, list_id).render()})

    @app.put("/crm/v3/lists/<list_id>/memberships/<operation>")
    @app.put("/crm/lists/<version>/<list_id>/memberships/<operation>")
    def memberships(list_id: str, operation: str, version: str | None = None) -> Response:
        _version(version)
        if operation not in ("add", "remove"):
            raise _not_found(f"Operation {operation}")
        ids = _record_ids(sandbox)
        with sandbox.lock:
            target = _list(sandbox, list_id)
            if target.processing_type == "DYNAMIC":
                raise validation_error(f"List {list_id} is DYNAMIC: memberships can only change on MANUAL or "
                                       f"SNAPSHOT lists")
            table = sandbox.table("contacts")
            missing, added, removed = [], [], []
            for raw in dict.fromkeys(ids):
                record = table.get(int(raw)) if raw.isdigit() else None
                if record is None:
                    missing.append(raw)
                elif operation == "add" and record.id not in target.members:
                    target.members.add(record.id)
                    added.append(raw)
                elif operation == "remove" and record.id in target.members:
                    target.members.discard(record.id)
                    removed.append(raw)
            return _json(200, {"recordIdsMissing": missing, "recordIdsRemoved": removed, "recordsIdsAdded": added})
