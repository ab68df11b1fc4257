"""Write-back to Salesforce with sObject Collections: one API call per (at most 200) records.

Items lifesync knows the Salesforce id of are updated with ``PATCH /composite/sobjects``
(``{"allOrNone": false, "records": [{"attributes": {"type": "Lead"}, "Id": ..., ...}]}``); the
others are upserted by the external-id field (``LIFESYNC_SALESFORCE_EXTERNAL_ID_FIELD``, which
holds lifesync's contact id) with ``PATCH /composite/sobjects/{Obj}/{Field}``. With
``allOrNone: false`` every record succeeds or fails on its own and Salesforce answers one
result per record, in request order:

    success                                  → ok, with the record's id (new records too)
    DUPLICATE_EXTERNAL_ID                    → conflict: several records hold that external id
                                               (a single-record upsert answers HTTP 300 instead)
    UNABLE_TO_LOCK_ROW                       → retry: another update held the record
    anything else (CANNOT_UPDATE_CONVERTED_LEAD, FIELD_CUSTOM_VALIDATION_EXCEPTION, ...)
                                             → failed, with Salesforce's code and message (redacted)

A whole-request failure (auth, quota, malformed body) raises the typed ``sync.errors``. A
batch holding both kinds takes two requests; when ``may_send`` says no before the second
(the run's share of the daily API limit is spent), its items come back ``deferred``, unsent.
Writes carry ``Sforce-Call-Options: client=lifesync`` (``SalesforceClient``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Literal

from sync.connectors.crm import PushItem, PushResult
from sync.connectors.salesforce.client import SalesforceClient
from sync.errors import PermanentError
from sync.http import redact

MAX_BATCH = 200
WRITABLE = ("Lead", "Contact")
CONFLICT_CODES = frozenset({"DUPLICATE_EXTERNAL_ID", "MULTIPLE_CHOICES", "300"})
RETRY_CODES = frozenset({"UNABLE_TO_LOCK_ROW", "SERVER_UNAVAILABLE"})
Status = Literal["ok", "failed", "conflict", "retry"]


def _record(obj: str, item: PushItem, key: str, value: str) -> dict[str, Any]:
    """The collection record: type, the key that finds it, then the properties (never another key)."""
    reserved = {"attributes", "id", key.lower()}
    return {"attributes": {"type": obj}, key: value,
            **{k: v for k, v in item.properties.items() if k.lower() not in reserved}}


def _result(item: PushItem, answer: dict[str, Any]) -> PushResult:
    """One item's outcome from its collection result."""
    if answer.get("success"):
        return PushResult(item.key, "ok", vendor_id=answer.get("id") or item.vendor_id)
    errors = [e for e in answer.get("errors") or [] if isinstance(e, dict)]
    codes = {str(e.get("statusCode") or "") for e in errors}
    reason = "; ".join(f"{e.get('statusCode')}: {e.get('message')}" for e in errors) or "no reason given"
    reason = " ".join(redact(reason).split())[:300]
    status: Status
    if codes & CONFLICT_CODES:
        status = "conflict"
    elif codes and codes <= RETRY_CODES:
        status = "retry"
    else:
        status = "failed"
    return PushResult(item.key, status, vendor_id=answer.get("id") or item.vendor_id, error=reason)


def _send(client: SalesforceClient, path: str, obj: str, items: Sequence[PushItem],
          records: list[dict[str, Any]]) -> list[PushResult]:
    response = client.request("PATCH", client.data_path(path), json={"allOrNone": False, "records": records})
    answers = response.json()
    if not isinstance(answers, list) or len(answers) != len(items):
        raise PermanentError(f"Salesforce answered {len(answers) if isinstance(answers, list) else 'no'} results "
                             f"for {len(items)} {obj} records")
    return [_result(item, answer) for item, answer in zip(items, answers, strict=True)]


def push(client: SalesforceClient, obj: str, items: list[PushItem], *, external_id_field: str,
         may_send: Callable[[], str | None] = lambda: None) -> list[PushResult]:
    """Send ``items`` of ``obj`` (Lead or Contact, at most 200); one result per item, in input order.

    ``may_send`` is asked before each request: a reason (rather than None) leaves that
    request's items unsent, as ``deferred`` results carrying the reason.
    """
    if obj not in WRITABLE:
        raise ValueError(f"Salesforce write-back supports {', '.join(WRITABLE)}, not {obj!r}")
    if len(items) > MAX_BATCH:
        raise ValueError(f"at most {MAX_BATCH} records per Salesforce collection request, got {len(items)}")
    results: dict[int, PushResult] = {}
    updates = [i for i in items if i.vendor_id]
    upserts = [i for i in items if not i.vendor_id and i.external_id]
    for item in items:
        if not item.vendor_id and not item.external_id:
            results[id(item)] = PushResult(item.key, "failed", error="neither a Salesforce id nor an external id")
    for group, path, key in ((updates, "composite/sobjects", "Id"),
                             (upserts, f"composite/sobjects/{obj}/{external_id_field}", external_id_field)):
        if not group:
            continue
        if (reason := may_send()) is not None:
            results.update((id(i), PushResult(i.key, "deferred", error=reason)) for i in group)
            continue
        found = _send(client, path, obj, group,
                      [_record(obj, i, key, str(i.vendor_id if key == "Id" else i.external_id)) for i in group])
        results.update((id(i), r) for i, r in zip(group, found, strict=True))
    return [results[id(item)] for item in items]
