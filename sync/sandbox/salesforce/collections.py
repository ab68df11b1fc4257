"""sObject Collections for the Salesforce sandbox: create, update by Id, upsert by external id, delete by Id.

One request is one API call and carries at most 200 records (more → 400 ``EXCEEDED_ID_LIMIT``,
the whole request refused). Records are processed in order and answered in order, each with
its own ``success`` and ``errors`` (``statusCode``, ``message``, ``fields``); a failed record
has no ``id``. With ``allOrNone`` one failure rolls every record back: the others then fail
with ``ALL_OR_NONE_OPERATION_ROLLED_BACK``. All records of a request share one modstamp.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sync.sandbox.salesforce.query import record_url
from sync.sandbox.salesforce.records import ApiError, RecordStore
from sync.sandbox.salesforce.schema import LOWER_FIELDS, OBJECT_NAMES, normalize_id, object_of

MAX_RECORDS = 200
ROLLED_BACK = {"statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK", "fields": [],
               "message": "Record rolled back because not all records were valid and the request was using "
                          "AllOrNone header"}


def _records(body: Any) -> tuple[list[dict[str, Any]], bool]:
    if not isinstance(body, dict) or not isinstance(body.get("records"), list):
        raise ApiError(400, "JSON_PARSER_ERROR", "The request body needs a 'records' list")
    records = body["records"]
    if len(records) > MAX_RECORDS:
        raise ApiError(400, "EXCEEDED_ID_LIMIT", "record limit reached. cannot submit more than 200 records into "
                       "this call")
    for record in records:
        attributes = record.get("attributes") if isinstance(record, dict) else None
        if not isinstance(attributes, dict) or not isinstance(attributes.get("type"), str):
            raise ApiError(400, "INVALID_TYPE", "Each record needs an attributes map with its sObject type")
        if attributes["type"].lower() not in OBJECT_NAMES:
            raise ApiError(400, "INVALID_TYPE", f"sObject type '{attributes['type']}' is not supported.")
    return records, bool(body.get("allOrNone", False))


def _run(store: RecordStore, records: list[dict[str, Any]], all_or_none: bool,
         apply: Callable[[dict[str, Any]], dict[str, Any]]) -> list[dict[str, Any]]:
    mark = store.begin()
    results = []
    for record in records:
        try:
            results.append({**apply(record), "success": True, "errors": []})
        except ApiError as exc:
            results.append({"success": False, "errors": [exc.result_error()]})
    if all_or_none and not all(r["success"] for r in results):
        store.rollback(mark)
        return [r if not r["success"] else {"success": False, "errors": [dict(ROLLED_BACK)]} for r in results]
    store.commit()
    return results


def _sobject(record: dict[str, Any]) -> str:
    return OBJECT_NAMES[record["attributes"]["type"].lower()]


def create(store: RecordStore, body: Any, *, client: str | None, at: datetime) -> list[dict[str, Any]]:
    """``POST /composite/sobjects``: create each record (an ``Id`` is refused)."""
    records, all_or_none = _records(body)

    def apply(record: dict[str, Any]) -> dict[str, Any]:
        if any(k.lower() == "id" for k in record):
            raise ApiError(400, "INVALID_FIELD", "cannot specify Id in an insert call", ["Id"])
        return {"id": store.create(_sobject(record), record, client=client, at=at)}

    return _run(store, records, all_or_none, apply)


def update(store: RecordStore, body: Any, *, client: str | None, at: datetime) -> list[dict[str, Any]]:
    """``PATCH /composite/sobjects``: update each record by its ``Id``."""
    records, all_or_none = _records(body)

    def apply(record: dict[str, Any]) -> dict[str, Any]:
        sobject = _sobject(record)
        raw_id = next((v for k, v in record.items() if k.lower() == "id"), None)
        if not raw_id:
            raise ApiError(400, "MISSING_ARGUMENT", "Id not specified in an update call", ["Id"])
        record_id = normalize_id(str(raw_id))
        if record_id is None or object_of(record_id) != sobject:
            raise ApiError(400, "MALFORMED_ID", f"{sobject} ID: id value of incorrect type: {raw_id}", ["Id"])
        fields = {k: v for k, v in record.items() if k.lower() != "id"}
        try:
            return {"id": store.update(sobject, record_id, fields, client=client, at=at)}
        except ApiError as exc:
            if exc.status == 404:  # a collection reports a missing record in the record's result
                code = "ENTITY_IS_DELETED" if exc.code == "ENTITY_IS_DELETED" else "INVALID_CROSS_REFERENCE_KEY"
                message = "entity is deleted" if code == "ENTITY_IS_DELETED" else "invalid cross reference id"
                raise ApiError(400, code, message) from None
            raise

    return _run(store, records, all_or_none, apply)


def upsert(store: RecordStore, sobject_name: str, field_name: str, body: Any, *, client: str | None, at: datetime,
           version: str) -> list[dict[str, Any]]:
    """``PATCH /composite/sobjects/{Obj}/{ExtField}``: upsert records of one type by an external id."""
    sobject = OBJECT_NAMES.get(sobject_name.lower())
    if sobject is None:
        raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")
    field = LOWER_FIELDS[sobject].get(field_name.lower())
    if field is None or not field.external_id:
        raise ApiError(400, "INVALID_FIELD", f"Field name provided, {field_name} is not an External ID or indexed "
                       f"field for {sobject}", [field_name])
    records, all_or_none = _records(body)
    if any(_sobject(r) != sobject for r in records):
        raise ApiError(400, "INVALID_TYPE", f"All records must be of the type in the URL ({sobject})")
    keys = [next((v for k, v in r.items() if k.lower() == field.name.lower()), None) for r in records]
    repeated = {k for k, n in Counter(str(k) for k in keys if k not in (None, "")).items() if n > 1}
    by_position = {id(record): key for record, key in zip(records, keys)}

    def apply(record: dict[str, Any]) -> dict[str, Any]:
        key = by_position[id(record)]
        if key in (None, ""):
            raise ApiError(400, "MISSING_ARGUMENT", f"{field.name} not specified", [field.name])
        if str(key) in repeated:
            raise ApiError(400, "DUPLICATE_VALUE", f"Duplicate external id specified: {key}", [field.name])
        try:
            record_id, created = store.upsert(sobject, field.name, str(key), record, client=client, at=at,
                                              url=lambda o, i: record_url(version, o, i))
        except ApiError as exc:
            if exc.status == 300:
                raise ApiError(400, "DUPLICATE_EXTERNAL_ID", exc.message) from None
            raise
        return {"id": record_id, "created": created}

    results = _run(store, records, all_or_none, apply)
    # Salesforce lists an upsert result's keys as id, success, errors, created
    return [{"id": r["id"], "success": True, "errors": [], "created": r["created"]} if r["success"] else r
            for r in results]


def delete(store: RecordStore, ids: str, *, all_or_none: bool, client: str | None,
           at: datetime) -> list[dict[str, Any]]:
    """``DELETE /composite/sobjects?ids=…``: delete up to 200 records of any type by id, one result per id.

    A result is ``{id, success, errors}``; an id that is not id-shaped is ``MALFORMED_ID``, one of no
    live record ``ENTITY_IS_DELETED`` (already deleted) or ``INVALID_CROSS_REFERENCE_KEY``.
    """
    wanted = [i.strip() for i in ids.split(",") if i.strip()]
    if not wanted:
        raise ApiError(400, "MISSING_ARGUMENT", "ids parameter is required")
    if len(wanted) > MAX_RECORDS:
        raise ApiError(400, "EXCEEDED_ID_LIMIT", "record limit reached. cannot submit more than 200 records into "
                       "this call")
    mark = store.begin()
    results = []
    for raw in wanted:
        record_id = normalize_id(raw)
        sobject = object_of(record_id) if record_id else None
        try:
            if record_id is None or sobject is None:
                raise ApiError(400, "MALFORMED_ID", f"malformed id {raw}")
            if store.row(sobject, record_id) is None:
                deleted = store.row(sobject, record_id, deleted=True) is not None
                raise ApiError(400, "ENTITY_IS_DELETED" if deleted else "INVALID_CROSS_REFERENCE_KEY",
                               "entity is deleted" if deleted else "invalid cross reference id")
            store.delete(sobject, record_id, client=client, at=at)
            results.append({"id": record_id, "success": True, "errors": []})
        except ApiError as exc:
            results.append({"id": record_id, "success": False, "errors": [exc.result_error()]})
    if all_or_none and not all(r["success"] for r in results):
        store.rollback(mark)
        return [r if not r["success"] else {**r, "success": False, "errors": [dict(ROLLED_BACK)]} for r in results]
    store.commit()
    return results
