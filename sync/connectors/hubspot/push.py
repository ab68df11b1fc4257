"""Writing back to HubSpot: batch update by id, batch upsert by e-mail, stages moved back in two steps.

``Pusher.push(obj, items)`` (at most 100 items, HubSpot's batch limit) sends:

- items with a HubSpot id → ``POST /crm/objects/2026-09/{type}/batch/update`` (legacy:
  ``/crm/v3/objects/{type}/batch/update``) ``{inputs: [{id, properties, objectWriteTraceId}]}``;
- contacts without one → ``POST /crm/objects/2026-09/contacts/batch/upsert``
  ``{inputs: [{idProperty: "email", id: <email>, properties, objectWriteTraceId}]}``;
- an item with neither fails at once ("no HubSpot id or e-mail"), as does a ``lifecyclestage``
  that is not one of the portal's options (one bad value would make HubSpot refuse the whole
  batch).

Every property value is sent as text (None → "" which clears it; booleans ``true``/``false``;
dates ISO 8601; lists joined with ``;`` as multi-select values are). Inputs of one request
never share an id or e-mail (HubSpot refuses duplicates): repeats go in a later request.

HubSpot keeps the order of neither results nor errors. A 200 makes every input ``ok``; a 207
is matched per input, first by ``objectWriteTraceId`` (we send the outbox key), else by the
record id / e-mail in a result or in an error's ``context``. Matched errors become ``failed``
(``conflict`` for CONFLICT, ``retry`` for rate limits and server errors) with HubSpot's
message, redacted; results give the record's HubSpot id, so new contacts get one recorded.
An error naming no input leaves the unmatched inputs ``retry`` (sending them again is
harmless), except when one error and one input remain, which then belong together.

An item whose mapping wrote ``unsubscribe_all.EMAIL: true`` (a withdrawal of marketing e-mail
consent, which ``hs_email_optout`` — read-only — cannot carry) has the contact's e-mail addresses
unsubscribed from all HubSpot e-mail once its record is written (an item with nothing else to write
sends no PATCH): ``sync.connectors.hubspot.preferences``. A refusal there fails the item with HubSpot's
reason (a missing scope included); a grant sends nothing (only the contact can subscribe again).

Validation refusals are per record. From API version 2026-09 HubSpot applies the portal's
validation rules (conditionally required properties, the create form's required fields) to
every write and refuses a breaking input with a ``VALIDATION_ERROR``
(https://developers.hubspot.com/changelog/crm-api-write-validation-enforcement): inside a 207
(multi-status, https://developers.hubspot.com/docs/api-reference/latest/error-handling) it is
matched to its input like any error; when the whole request is refused with a 400 instead, the
batch is split in halves and each half sent again until the refused inputs stand alone: each
fails with HubSpot's message (and is dead-lettered), the others are written (at most 2n - 1
requests for n inputs). Only a push of a single item raises the 400 as ``ValidationError``.

A backward ``lifecyclestage`` move (the new stage earlier than ``item.known`` in the
Properties API order) is sent as a clear (``""``) with the item's other properties and,
once that succeeded, the earlier stage alone in a separate, later request: HubSpot ignores
a direct move backwards. Whole-request failures raise the typed ``sync.errors``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sync.connectors.crm import PushItem, PushResult
from sync.connectors.hubspot.client import HubSpotApi
from sync.connectors.hubspot.preferences import WRITE_SCOPE, opt_outs, unsubscribe_all
from sync.connectors.hubspot.pull import iso
from sync.errors import AuthError, PermanentError, RateLimited, SyncError, TransientError, ValidationError
from sync.http import redact

MAX_BATCH = 100
STAGE = "lifecyclestage"
UPSERT_PROPERTY = {"contacts": "email"}  # objects that can be upserted, by which unique property
MAX_ERROR = 300
_RETRY_CATEGORIES = {"RATE_LIMITS", "RATE_LIMIT", "TIMEOUT", "INTERNAL_ERROR", "SERVICE_UNAVAILABLE"}


def as_text(value: Any) -> str:
    """A property value as the text HubSpot stores (None → "", which clears the property)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | tuple | set | frozenset):
        return ";".join(as_text(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True, default=str)
    return str(value)


@dataclass(frozen=True)
class Entry:
    """One input of a batch request: the item, its text properties, and how it is addressed."""

    item: PushItem
    properties: dict[str, str]
    vendor_id: str | None
    email: str | None

    @property
    def match_key(self) -> str:
        """What a result or an error names this input by (id, or the e-mail in lower case)."""
        return self.vendor_id if self.vendor_id else (self.email or "").lower()


def _message(error: dict[str, Any]) -> str:
    category = str(error.get("category") or "ERROR")
    text = " ".join(redact(str(error.get("message") or "")).split())
    return f"{category}: {text}"[:MAX_ERROR] if text else category


def _refusal(error: Exception) -> str:
    """A whole-request refusal's message (HubSpot's, redacted) as one input's error."""
    return " ".join(redact(str(error)).split())[:MAX_ERROR]


def _vendor_reason(error: SyncError) -> str:
    """HubSpot's status, code and message — never the request's URL, which holds the e-mail address."""
    if error.vendor_code == "MISSING_SCOPES" or error.status == 403:
        return (f"the app lacks the scope {WRITE_SCOPE} (legacy apps: subscriptions-status-write); "
                f"HTTP {error.status} {error.vendor_code}".rstrip())
    if error.status is None:
        return f"no answer from HubSpot ({type(error).__name__})"
    text = " ".join(redact(error.vendor_message or "").split())
    return f"HTTP {error.status} {error.vendor_code}: {text}"[:MAX_ERROR]


def _status(error: dict[str, Any]) -> str:
    category = str(error.get("category") or "").upper()
    if category == "CONFLICT":
        return "conflict"
    return "retry" if category in _RETRY_CATEGORIES else "failed"


def _named(error: dict[str, Any]) -> set[str]:
    """Every value an error's ``context`` names (ids, e-mails, trace ids), lower-cased."""
    names: set[str] = set()
    for value in (error.get("context") or {}).values():
        for v in value if isinstance(value, list) else [value]:
            names.add(str(v).strip().lower())
    if error.get("id") is not None:
        names.add(str(error["id"]).strip().lower())
    return names


def _rounds(entries: Sequence[Entry]) -> list[list[Entry]]:
    """Split so that no request holds two inputs with the same id / e-mail (order kept)."""
    rounds: list[list[Entry]] = []
    for entry in entries:
        for batch in rounds:
            if all(e.match_key != entry.match_key for e in batch):
                batch.append(entry)
                break
        else:
            rounds.append([entry])
    return rounds


class Pusher:
    """Sends ``PushItem`` batches of one connection; ``stage_options`` gives lifecyclestage options in order."""

    def __init__(self, api: HubSpotApi, stage_options: Callable[[], list[str]]):
        self.api, self.stage_options = api, stage_options
        self._alone_raises = False

    def push(self, obj: str, items: list[PushItem]) -> list[PushResult]:
        """One result per item, in the items' order (see the module docstring)."""
        if len(items) > MAX_BATCH:
            raise ValueError(f"HubSpot batches hold at most {MAX_BATCH} items, got {len(items)}")
        self._alone_raises = len(items) == 1  # a single item's refusal is the whole request's
        results: dict[int, PushResult] = {}
        first: list[Entry] = []
        later: dict[int, dict[str, str]] = {}  # key -> the earlier stage, sent after the clear
        for item in items:
            properties = {name: as_text(value) for name, value in item.properties.items()}
            email = properties.get(UPSERT_PROPERTY.get(obj, ""), "").strip() or None
            if not item.vendor_id and not (email and obj in UPSERT_PROPERTY):
                why = "no HubSpot id or e-mail" if obj in UPSERT_PROPERTY else "no HubSpot id"
                results[item.key] = PushResult(item.key, "failed", error=why)
                continue
            if obj == "contacts" and properties.get(STAGE):
                problem = self._stage_move(item, properties, later)
                if problem:
                    results[item.key] = PushResult(item.key, "failed", error=problem)
                    continue
            if item.vendor_id and not properties:
                results[item.key] = PushResult(item.key, "ok", item.vendor_id)  # nothing to PATCH (an opt-out alone)
                continue
            first.append(Entry(item, properties, item.vendor_id, email))
        results.update(self._send(obj, first))
        second = [Entry(e.item, later[e.item.key], results[e.item.key].vendor_id or e.vendor_id, e.email)
                  for e in first if e.item.key in later and results[e.item.key].status == "ok"]
        for key, outcome in self._send(obj, second).items():
            results[key] = PushResult(key, outcome.status, outcome.vendor_id or results[key].vendor_id, outcome.error)
        for item in items:  # once the record is written: the opt-outs its properties cannot carry
            if results[item.key].status == "ok":
                results[item.key] = self._opt_out(item, results[item.key])
        return [results[item.key] for item in items]

    def _opt_out(self, item: PushItem, written: PushResult) -> PushResult:
        """Unsubscribe the contact's e-mail addresses as the item asks (``sync.connectors.hubspot.preferences``).

        A refusal (a 403 ``MISSING_SCOPES``, a 4xx) fails the item with HubSpot's reason; a rate limit or a
        server error makes it ``retry`` (the record's properties are sent again: harmless).
        """
        try:
            channels = opt_outs(item.extra)
        except PermanentError as exc:  # the mapping's out_path names no channel HubSpot has
            return PushResult(item.key, "failed", written.vendor_id, str(exc))
        try:
            emails = item.emails or tuple(e for e in [as_text(item.properties.get("email"))] if e.strip())
            if channels and not emails:
                return PushResult(item.key, "failed", written.vendor_id,
                                  "no e-mail address to unsubscribe from HubSpot e-mail")
            for channel in channels:
                unsubscribe_all(self.api, emails, channel)
        except (RateLimited, TransientError) as exc:
            return PushResult(item.key, "retry", written.vendor_id,
                              f"unsubscribing the contact from all HubSpot e-mail: {_vendor_reason(exc)}")
        except (AuthError, PermanentError, ValidationError) as exc:
            return PushResult(item.key, "failed", written.vendor_id,
                              f"HubSpot refused to unsubscribe the contact from all e-mail: {_vendor_reason(exc)}")
        return written


    def _stage_move(self, item: PushItem, properties: dict[str, str], later: dict[int, dict[str, str]]) -> str | None:
        """Split a backward stage move into clear-then-set; the reason when the stage is no option."""
        options = self.stage_options()
        new, old = properties[STAGE], as_text(item.known.get(STAGE))
        if new not in options:
            shown = ", ".join(options) or "none"
            return f"lifecyclestage {new!r} is not an option in this HubSpot portal (options: {shown})"
        if old in options and options.index(new) < options.index(old):
            properties[STAGE] = ""
            later[item.key] = {STAGE: new}
        return None

    def _send(self, obj: str, entries: Iterable[Entry]) -> dict[int, PushResult]:
        entries = list(entries)
        out: dict[int, PushResult] = {}
        for kind, group in (("update", [e for e in entries if e.vendor_id]),
                            ("upsert", [e for e in entries if not e.vendor_id])):
            for batch in _rounds(group):
                out.update(self._request(obj, kind, batch))
        return out

    def _request(self, obj: str, kind: str, batch: list[Entry]) -> dict[int, PushResult]:
        inputs = []
        for e in batch:
            address = {"id": e.vendor_id} if kind == "update" else {"idProperty": UPSERT_PROPERTY[obj], "id": e.email}
            inputs.append({**address, "properties": e.properties, "objectWriteTraceId": str(e.item.key)})
        try:
            _, answer = self.api.post(self.api.paths.batch(obj, kind), {"inputs": inputs})
        except ValidationError as refused:
            return self._isolate(obj, kind, batch, refused)
        return _match(batch, answer, UPSERT_PROPERTY.get(obj, ""))

    def _isolate(self, obj: str, kind: str, batch: list[Entry], refused: ValidationError) -> dict[int, PushResult]:
        """A request HubSpot refused whole (400): halves sent again until each refused input stands alone."""
        if len(batch) == 1:
            if self._alone_raises:
                raise refused
            entry = batch[0]
            return {entry.item.key: PushResult(entry.item.key, "failed", entry.vendor_id, _refusal(refused))}
        middle = len(batch) // 2
        return {**self._request(obj, kind, batch[:middle]), **self._request(obj, kind, batch[middle:])}


def _match(batch: list[Entry], answer: dict[str, Any], upsert_property: str) -> dict[int, PushResult]:
    """Per-input results of a 200 / 207 answer (see the module docstring)."""
    by_trace = {str(e.item.key): e for e in batch}
    by_key = {e.match_key: e for e in batch}
    out: dict[int, PushResult] = {}
    for result in answer.get("results") or []:
        entry = (by_trace.get(str(result.get("objectWriteTraceId")))
                 or by_key.get(str(result.get("id")))
                 or by_key.get(str((result.get("properties") or {}).get(upsert_property) or "").strip().lower()))
        if entry is not None and result.get("id") is not None:
            out[entry.item.key] = PushResult(entry.item.key, "ok", str(result["id"]))
    stray: list[dict[str, Any]] = []
    for error in answer.get("errors") or []:
        named = _named(error)
        hit = [e for e in batch if str(e.item.key) in named or e.match_key in named]
        for entry in hit:
            out[entry.item.key] = PushResult(entry.item.key, _status(error), entry.vendor_id, _message(error))
        if not hit:
            stray.append(error)
    rest = [e for e in batch if e.item.key not in out]
    if stray and len(stray) == 1 and len(rest) == 1:
        entry = rest[0]
        out[entry.item.key] = PushResult(entry.item.key, _status(stray[0]), entry.vendor_id, _message(stray[0]))
    elif stray:
        note = f"HubSpot reported errors naming no input ({'; '.join(_message(e) for e in stray)})"[:MAX_ERROR]
        out.update({e.item.key: PushResult(e.item.key, "retry", e.vendor_id, note) for e in rest})
    else:
        out.update({e.item.key: PushResult(e.item.key, "ok", e.vendor_id) for e in rest})
    return out
