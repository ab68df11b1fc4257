"""Read endpoints of the HubSpot sandbox: list, get, search, batch read, properties, v4 association reads.

Each function takes the sandbox (its lock held by the caller) and the request's parts, and
returns ``(status, body)`` or raises ``ApiError`` with HubSpot's error answer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from sync.sandbox.hubspot.errors import ApiError, batch_error, error_body, not_found_message, validation_error
from sync.sandbox.hubspot.records import ASSOCIATION_TYPES, Record, iso, render, wanted_properties
from sync.sandbox.hubspot.schema import SINGULAR
from sync.sandbox.hubspot.search import parse_search, run_search

if TYPE_CHECKING:
    from sync.sandbox.hubspot.sandbox import HubSpotSandbox

LIST_MAX_LIMIT, LIST_DEFAULT_LIMIT = 100, 10
BATCH_MAX, HISTORY_BATCH_MAX, ASSOCIATION_BATCH_MAX = 100, 50, 1000
TYPE_ALIASES = {"contact": "contacts", "deal": "deals", "company": "companies", "0-1": "contacts", "0-3": "deals",
                "0-2": "companies"}


def object_type(sandbox: HubSpotSandbox, raw: str) -> str:
    """The object type named in a path (plural, singular or ``0-1``-style id), or HubSpot's 400."""
    name = TYPE_ALIASES.get(raw.lower(), raw.lower())
    if name not in sandbox.tables:
        raise validation_error(f"Unable to infer object type from: {raw}")
    return name


def split_names(values: list[str]) -> list[str] | None:
    """Comma-separated (and repeated) query values as one list; None when absent."""
    names = [name.strip() for value in values for name in value.split(",") if name.strip()]
    return names or None


def batch_inputs(body: Any, maximum: int = BATCH_MAX, history: bool = False) -> list[dict[str, Any]]:
    """The ``inputs`` of a batch body, refused with HubSpot's 400 when missing or over the limit."""
    inputs = body.get("inputs") if isinstance(body, dict) else None
    if not isinstance(inputs, list) or not all(isinstance(i, dict) for i in inputs):
        raise validation_error("The request body needs an 'inputs' list of objects.")
    if history and len(inputs) > HISTORY_BATCH_MAX:
        raise validation_error(f"The maximum number of inputs supported in a batch request for property histories is "
                               f"{HISTORY_BATCH_MAX}. Please reduce the number of items and try again")
    if len(inputs) > maximum:
        raise validation_error(f"The maximum number of inputs supported in a batch is {maximum}. "
                               "Please reduce the number of items and try again")
    return inputs


def _int_arg(value: str | None, name: str, default: int) -> int:
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise validation_error(f"Invalid value for '{name}': {value!r} is not an integer.") from None


def _with_associations(sandbox: HubSpotSandbox, record: Record, kind: str, body: dict[str, Any],
                       to_types: list[str] | None) -> dict[str, Any]:
    for to_type in to_types or ():
        to_type = TYPE_ALIASES.get(to_type, to_type)
        label = ASSOCIATION_TYPES.get((kind, to_type), (0, f"{kind[:-1]}_to_{to_type[:-1]}"))[1]
        targets = [i for i in sandbox.associations.of(kind, record.id, to_type)
                   if to_type in sandbox.tables and sandbox.tables[to_type].get(i) is not None]
        if targets:  # HubSpot leaves the key out when there is nothing to show
            body.setdefault("associations", {})[to_type] = {"results": [{"id": str(i), "type": label}
                                                                        for i in targets]}
    return body


def list_objects(sandbox: HubSpotSandbox, kind: str, args: dict[str, list[str]], link: str) -> dict[str, Any]:
    """``GET /crm/v3/objects/{type}``: one page in id order, ``paging.next`` when more follow.

    ``after`` is the id the next page starts at; ``link`` repeats this request's parameters with it.
    """
    first = {name: values[0] if values else None for name, values in args.items()}
    limit = _int_arg(first.get("limit"), "limit", LIST_DEFAULT_LIMIT)
    if not 1 <= limit <= LIST_MAX_LIMIT:
        raise validation_error(f"limit must be between 1 and {LIST_MAX_LIMIT}, got {limit}.")
    after = _int_arg(first.get("after"), "after", 0)
    archived = (first.get("archived") or "false").lower() == "true"
    table = sandbox.tables[kind]
    wanted = wanted_properties(kind, split_names(args.get("properties", [])))
    to_types = split_names(args.get("associations", []))
    records, following = table.page(after, limit, archived=archived)
    body: dict[str, Any] = {"results": [_with_associations(sandbox, r, kind, render(r, kind, wanted, table.schema),
                                                           to_types) for r in records]}
    if following is not None:
        query = [(name, value) for name, values in args.items() if name != "after" for value in values]
        query.append(("after", str(following)))
        body["paging"] = {"next": {"after": str(following), "link": f"{link}?{urlencode(query)}"}}
    return body


def find(sandbox: HubSpotSandbox, kind: str, record_id: str, id_property: str | None,
         *, archived: bool = False) -> Record | None:
    """The record addressed by an id (or by ``idProperty``'s value)."""
    table = sandbox.tables[kind]
    if id_property and id_property != "hs_object_id":
        if id_property != "email" or kind != "contacts":
            raise validation_error(f"{id_property} is not a unique identifier property of {kind}; "
                                   "use hs_object_id or email (contacts).")
        record = table.by_email(record_id)
        return None if archived else record
    return table.get(int(record_id), archived=archived) if str(record_id).isdigit() else None


def get_object(sandbox: HubSpotSandbox, kind: str, record_id: str, args: dict[str, list[str]]) -> dict[str, Any]:
    """``GET /crm/v3/objects/{type}/{id}``."""
    archived = ((args.get("archived") or ["false"])[0]).lower() == "true"
    record = find(sandbox, kind, record_id, (args.get("idProperty") or [None])[0], archived=archived)
    if record is None:
        raise ApiError(404, error_body("Object not found.  objectId are usually numeric.", "OBJECT_NOT_FOUND",
                                       context={"id": [record_id]}))
    table = sandbox.tables[kind]
    wanted = wanted_properties(kind, split_names(args.get("properties", [])))
    return _with_associations(sandbox, record, kind, render(record, kind, wanted, table.schema),
                              split_names(args.get("associations", [])))


def search(sandbox: HubSpotSandbox, kind: str, body: Any) -> dict[str, Any]:
    """``POST /crm/v3/objects/{type}/search``."""
    table = sandbox.tables[kind]
    request = parse_search(table, body)
    total, records, following = run_search(table, request, sandbox.now_ms(), int(sandbox.index_lag * 1000))
    wanted = wanted_properties(kind, request.properties)
    out: dict[str, Any] = {"total": total, "results": [render(r, kind, wanted, table.schema) for r in records]}
    if following is not None:
        out["paging"] = {"next": {"after": str(following)}}
    return out


def batch_read(sandbox: HubSpotSandbox, kind: str, body: Any, archived: bool) -> tuple[int, dict[str, Any]]:
    """``POST /crm/v3/objects/{type}/batch/read``: found records, a 207 naming the ids that were not."""
    started = iso(sandbox.now_ms())
    history = body.get("propertiesWithHistory") if isinstance(body, dict) else None
    inputs = batch_inputs(body, history=bool(history))
    table = sandbox.tables[kind]
    requested = body.get("properties")
    if requested is not None and not (isinstance(requested, list) and all(isinstance(p, str) for p in requested)):
        raise validation_error("'properties' must be a list of property names.")
    wanted = wanted_properties(kind, requested or None)
    results, missing = [], []
    for item in inputs:
        record_id = str(item.get("id", ""))
        record = find(sandbox, kind, record_id, body.get("idProperty"), archived=archived)
        if record is None:
            missing.append(record_id)
            continue
        rendered = render(record, kind, wanted, table.schema)
        if history:
            rendered["propertiesWithHistory"] = {
                name: ([{"value": value, "timestamp": rendered["updatedAt"], "sourceType": "API"}]
                       if (value := rendered["properties"].get(name) or record.props.get(name)) is not None else [])
                for name in history}
        results.append(rendered)
    sandbox.random.shuffle(results)  # HubSpot does not keep input order
    out: dict[str, Any] = {"status": "COMPLETE", "results": results, "startedAt": started,
                           "completedAt": iso(sandbox.now_ms())}
    if not missing:
        return 200, out
    out["numErrors"] = 1
    out["errors"] = [batch_error("OBJECT_NOT_FOUND", not_found_message(SINGULAR[kind]), {"ids": missing})]
    return 207, out


def get_property(sandbox: HubSpotSandbox, kind: str, name: str | None) -> dict[str, Any]:
    """``GET /crm/v3/properties/{type}[/{name}]``."""
    schema = sandbox.schema[kind]
    if name is None:
        return {"results": [p.describe(kind) for p in schema.values()]}
    if name not in schema:
        raise ApiError(404, error_body(f"Unable to find property {name} for object type {kind}", "OBJECT_NOT_FOUND",
                                       subCategory="PropertyError.PROPERTY_NOT_FOUND",
                                       context={"propertyName": [name]}))
    return schema[name].describe(kind)


def association_batch_read(sandbox: HubSpotSandbox, from_raw: str, to_raw: str, body: Any) -> tuple[int, dict]:
    """``POST /crm/v4/associations/{from}/{to}/batch/read``; ids without links become 207 errors."""
    from_type, to_type = object_type(sandbox, from_raw), object_type(sandbox, to_raw)
    started = iso(sandbox.now_ms())
    type_id = ASSOCIATION_TYPES.get((from_type, to_type), (0, ""))[0]
    results, errors = [], []
    for item in batch_inputs(body, ASSOCIATION_BATCH_MAX):
        raw_id = str(item.get("id", ""))
        targets = [i for i in sandbox.associations.of(from_type, int(raw_id), to_type)
                   if sandbox.tables[to_type].get(i) is not None] if raw_id.isdigit() else []
        if targets:
            results.append({"from": {"id": raw_id}, "to": [
                {"toObjectId": i, "associationTypes": [{"category": "HUBSPOT_DEFINED", "typeId": type_id,
                                                        "label": None}]} for i in targets]})
            continue
        singular_from, singular_to = SINGULAR[from_type].lower(), SINGULAR[to_type].lower()
        errors.append(batch_error(
            "OBJECT_NOT_FOUND", f"No {singular_to} is associated with {singular_from} {raw_id}.",
            {"fromObjectId": [raw_id], "fromObjectType": [singular_from], "toObjectType": [singular_to]},
            subCategory="crm.associations.NO_ASSOCIATIONS_FOUND"))
    out: dict[str, Any] = {"status": "COMPLETE", "results": results, "startedAt": started,
                           "completedAt": iso(sandbox.now_ms())}
    if errors:
        out.update(numErrors=len(errors), errors=errors)
    return (207 if errors else 200), out
