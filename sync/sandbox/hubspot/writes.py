"""Write endpoints of the HubSpot sandbox: batch create / update / upsert / archive and their single forms.

HubSpot's rules, as the sandbox applies them:

- at most 100 inputs (400 VALIDATION_ERROR); an id twice in one update/upsert is a 400;
- every input is checked before anything is written. An input that fails validation
  (non-string value, unknown property or option, bad e-mail, read-only property, and from
  version 2026-09 a broken validation rule of the portal: ``rules``) or conflicts (an e-mail
  another contact has) refuses the **whole** batch with a 400/409 —
  unless the input carries an ``objectWriteTraceId``: then it alone fails and the answer is
  207 Multi-Status with the trace id in the error's ``context`` (HubSpot's multi-status mode);
- ids that do not exist (update, upsert by ``hs_object_id``) are 207 ``OBJECT_NOT_FOUND``
  errors naming them in ``context.ids``; the other inputs are written;
- results come back in no particular order; upsert results say ``new``;
- a write that changes a value moves the record's modification time and is logged in
  ``sandbox.writes``; ``lifecyclestage`` never moves backward unless cleared first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sync.sandbox.hubspot.errors import (
    ApiError,
    batch_error,
    error_body,
    invalid_properties,
    not_found_message,
    property_errors,
    property_values_message,
    validation_error,
)
from sync.sandbox.hubspot.reads import batch_inputs, find
from sync.sandbox.hubspot.records import ASSOCIATION_TYPES, Record, iso, render
from sync.sandbox.hubspot.rules import violations
from sync.sandbox.hubspot.schema import ALWAYS, SINGULAR, check_value, lifecycle_value

if TYPE_CHECKING:
    from sync.sandbox.hubspot.sandbox import HubSpotSandbox

OPERATIONS = ("create", "update", "upsert")
_NEW = -1  # e-mail claimed by a record this batch creates


@dataclass
class _Plan:
    """What one input will do, decided before anything is written."""

    item: dict[str, Any]
    trace: str | None
    record: Record | None  # None: create
    properties: dict[str, str] = field(default_factory=dict)
    links: list[tuple[str, int]] = field(default_factory=list)  # (to type, to id) for new records
    error: dict[str, Any] | None = None  # 207 entry
    fatal: ApiError | None = None  # refuses the whole batch when the input has no trace id


def _conflict(kind: str, existing: int, trace: str | None) -> tuple[dict[str, Any], ApiError]:
    message = f"{SINGULAR[kind].title()} already exists. Existing ID: {existing}"
    context = {"existingId": [str(existing)]} | ({"objectWriteTraceId": [trace]} if trace else {})
    return batch_error("CONFLICT", message, context), ApiError(409, error_body(message, "CONFLICT"))


def _links(sandbox: HubSpotSandbox, kind: str, item: dict[str, Any]) -> list[tuple[str, int]]:
    """Associations asked for on a create input, checked (400 when a type or target is unknown)."""
    links = []
    for spec in item.get("associations") or []:
        to_id = str((spec.get("to") or {}).get("id", ""))
        for kind_spec in spec.get("types") or []:
            type_id = kind_spec.get("associationTypeId")
            to_type = next((b for (a, b), (tid, _) in ASSOCIATION_TYPES.items() if a == kind and tid == type_id), None)
            if to_type is None:
                raise validation_error(f"Invalid association type id {type_id} from {kind}.")
            if not to_id.isdigit() or sandbox.tables[to_type].get(int(to_id)) is None:
                raise validation_error(f"Association target {to_type} {to_id} does not exist.")
            links.append((to_type, int(to_id)))
    return links


def _plan(sandbox: HubSpotSandbox, kind: str, operation: str, item: dict[str, Any],
          claimed: dict[str, int | None], rules: bool) -> _Plan:
    trace = item.get("objectWriteTraceId")
    trace = str(trace) if trace is not None else None
    properties = item.get("properties", {})
    if not isinstance(properties, dict):
        raise validation_error("Every input needs 'properties' as a JSON object of property name to string value.")
    plan = _Plan(item, trace, None)
    table = sandbox.tables[kind]
    if operation in ("update", "upsert"):
        raw_id = str(item.get("id", ""))
        id_property = item.get("idProperty")
        plan.record = find(sandbox, kind, raw_id, id_property)
        if plan.record is None and not (operation == "upsert" and id_property == "email"):
            context = {"ids": [raw_id]} | ({"objectWriteTraceId": [trace]} if trace else {})
            plan.error = batch_error("OBJECT_NOT_FOUND", not_found_message(SINGULAR[kind]), context)
            return plan
        if plan.record is None:  # upsert by e-mail of a new contact: the id is its e-mail
            properties = {"email": raw_id, **properties}
    else:
        plan.links = _links(sandbox, kind, item)
    invalid = [result for name, value in properties.items()
               if (result := check_value(sandbox.schema[kind].get(name), name, value)) is not None]
    if rules and not invalid:
        stored = plan.record.props if plan.record is not None else None
        invalid = violations(sandbox.validation_rules.get(kind, []), stored, properties)
    if invalid:
        context = {"objectWriteTraceId": [trace]} if trace else {}
        plan.error = batch_error("VALIDATION_ERROR", property_values_message(invalid), context,
                                 errors=property_errors(invalid))
        plan.fatal = invalid_properties(invalid)
        return plan
    email = properties.get("email")
    if kind == "contacts" and email:
        holder = table.by_email(email)
        owner = claimed.get(email.lower(), holder.id if holder else None)
        if owner == _NEW:  # two inputs of this batch want the same e-mail
            message = f"Duplicate email {email} in batch input: each contact needs its own e-mail."
            plan.error = batch_error("VALIDATION_ERROR", message, {"objectWriteTraceId": [trace]} if trace else {})
            plan.fatal = validation_error(message)
            return plan
        if owner is not None and (plan.record is None or owner != plan.record.id):
            plan.error, plan.fatal = _conflict(kind, owner, trace)
            return plan
        claimed[email.lower()] = plan.record.id if plan.record else _NEW
    plan.properties = properties
    return plan


def _apply(sandbox: HubSpotSandbox, kind: str, plan: _Plan, now: int) -> tuple[Record, bool, list[str]]:
    """Write one planned input: (record, created, names of properties whose value changed)."""
    table = sandbox.tables[kind]
    record, created = plan.record, plan.record is None
    if record is None:
        record = Record(sandbox.new_id(), {k: v for k, v in plan.properties.items() if v != ""}, now, now)
        table.insert(record)
        for to_type, to_id in plan.links:
            sandbox.associations.add(kind, record.id, to_type, to_id)
        return record, True, sorted(record.props)
    old_email, changed = record.props.get("email"), []
    for name, value in plan.properties.items():
        if name == "lifecyclestage":
            value = lifecycle_value(record.props.get(name), value, sandbox.backward_lifecycle)
        if (record.props.get(name) or "") != value:
            changed.append(name)
            if value == "":
                del record.props[name]
            else:
                record.props[name] = value
    if changed:  # an unchanged write does not touch lastmodifieddate
        record.updated_ms = now
        table.changed(record, old_email)
    return record, created, changed


def batch_write(sandbox: HubSpotSandbox, kind: str, operation: str, body: Any,
                rules: bool = False) -> tuple[int, dict[str, Any]]:
    """``POST …/batch/{create|update|upsert}``: 200/201, 207, or the whole batch's error.

    ``rules``: the portal's validation rules apply (API version 2026-09 and later).
    """
    now = sandbox.now_ms()
    inputs = batch_inputs(body)
    if operation != "create":
        seen: set[str] = set()
        duplicates = [str(i.get("id")) for i in inputs if str(i.get("id")) in seen or seen.add(str(i.get("id")))]
        if duplicates:
            raise validation_error(f"Duplicate IDs found in batch input: {sorted(set(duplicates))}. "
                                   "IDs must be unique")
    claimed: dict[str, int | None] = {}
    plans = [_plan(sandbox, kind, operation, item, claimed, rules) for item in inputs]
    for plan in plans:
        if plan.fatal is not None and plan.trace is None:
            raise plan.fatal  # without a trace id HubSpot refuses the whole batch: nothing is written
    results, errors = [], []
    for plan in plans:
        if plan.error is not None:
            errors.append(plan.error)
            continue
        record, created, changed = _apply(sandbox, kind, plan, now)
        wanted = list(dict.fromkeys([*plan.properties, *ALWAYS[kind]]))
        result = render(record, kind, wanted, sandbox.schema[kind])
        if operation == "upsert":
            result["new"] = created
        if plan.trace is not None:
            result["objectWriteTraceId"] = plan.trace
        results.append(result)
        sandbox.writes.append({"object": kind, "id": str(record.id), "operation": operation,
                               "properties": dict(plan.item.get("properties") or {}), "changed": changed,
                               "source": "API", "at": iso(now)})
    sandbox.random.shuffle(results)
    out: dict[str, Any] = {"status": "COMPLETE", "results": results, "startedAt": iso(now),
                           "completedAt": iso(sandbox.now_ms())}
    if errors:
        out.update(numErrors=len(errors), errors=errors)
        return 207, out
    return (201 if operation == "create" else 200), out


def batch_archive(sandbox: HubSpotSandbox, kind: str, body: Any) -> None:
    """``POST /crm/v3/objects/{type}/batch/archive``: archives the ids that exist (HubSpot answers 204 anyway)."""
    now = sandbox.now_ms()
    table = sandbox.tables[kind]
    for item in batch_inputs(body):
        raw_id = str(item.get("id", ""))
        record = table.get(int(raw_id)) if raw_id.isdigit() else None
        if record is not None:
            table.archive(record, now)
            sandbox.writes.append({"object": kind, "id": raw_id, "operation": "archive", "properties": {},
                                   "changed": [], "source": "API", "at": iso(now)})


def single_write(sandbox: HubSpotSandbox, kind: str, operation: str, body: Any, record_id: str | None = None,
                 id_property: str | None = None, rules: bool = False) -> tuple[int, dict[str, Any]]:
    """``POST /crm/v3/objects/{type}`` and ``PATCH /crm/v3/objects/{type}/{id}``, answered as HubSpot does."""
    if not isinstance(body, dict):
        raise validation_error("The request body must be a JSON object with 'properties'.")
    item = {k: v for k, v in body.items() if k != "objectWriteTraceId"}
    if record_id is not None:
        item.update(id=record_id, idProperty=id_property)
    status, out = batch_write(sandbox, kind, operation, {"inputs": [item]}, rules)
    if status == 207:
        error = out["errors"][0]
        if error["category"] == "OBJECT_NOT_FOUND":
            raise ApiError(404, error_body("Object not found.  objectId are usually numeric.", "OBJECT_NOT_FOUND",
                                           context={"id": [str(record_id)]}))
        raise ApiError(400, error_body(error["message"], error["category"]))
    return (201 if operation == "create" else 200), out["results"][0]
