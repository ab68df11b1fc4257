"""The Meta sandbox's Custom Audiences: create one on the ad account, add and remove users in sessions.

Routes (Marketing API, https://developers.facebook.com/docs/marketing-api/reference/custom-audience
and …/custom-audience/users):

* ``POST /{v}/act_{id}/customaudiences`` — ``name``, ``subtype`` (``CUSTOM``; any other subtype is not
  served here), ``customer_file_source`` (one of ``CUSTOMER_FILE_SOURCES``; required for a customer
  list), ``description`` → ``{"id"}``. The ad account must be the sandbox's and must have accepted the
  Custom Audience terms (``AudienceBook.tos_accepted``; Meta's ``tos_accepted`` field).
* ``POST`` / ``DELETE /{v}/{audience_id}/users`` — ``payload {schema, is_raw, data}`` and
  ``session {session_id, batch_seq, last_batch_flag, estimated_num_total}`` → ``{audience_id,
  session_id, num_received, num_invalid_entries, invalid_entry_samples}``.

Enforced, in order: the version (2635 / 2500, as every Meta sandbox path), the token (104 / 190) and
``appsecret_proof`` — only the Marketing API token (``ads_management``) manages audiences; the
Conversions API token is refused with code 200 — the object (100/33 for an unknown ad account or
audience), an audience flagged for integrity restrictions (``operation_status`` 471: code 100,
subcode 1713230 "Audience Upload Blocked", Meta's words), the custom-audience rate limit (code
80003, subcode 2446079, ``X-Business-Use-Case-Usage``), then the payload, refused whole with code
100 when: ``schema`` is neither a single-key schema nor a list of known multi-key keys without
repeats; a multi-key schema without ``is_raw: true``; ``data`` empty, over 10,000 rows, or a row not
a list of ``len(schema)`` strings (``DATA_PROCESSING_OPTIONS``: ``[]`` or ``["LDU"]``, kept on the stored row
when not empty). Values: every key but EXTERN_ID, MADID and APPUID must be ``""``
or a SHA-256 digest (64 lowercase hex); a row with another value, or with nothing, is counted in
``num_invalid_entries`` (its bad values in ``invalid_entry_samples``) and not stored — Meta takes
the rest of the request.

Sessions (per audience and ``session_id``): ``session_id`` a positive integer, ``batch_seq`` the
number of batches the session already had plus one (1 for its first), ``last_batch_flag`` a
boolean; a batch for a session that was closed by ``last_batch_flag`` is refused. A request
refused for any reason does not count as one of its session's batches. Add and remove are
separate sessions even with one id. The subcodes of the session and payload refusals are the
sandbox's own (``SESSION``, ``PAYLOAD``): Meta publishes its words, not these numbers.

Members: the sandbox keeps each audience's rows (schema key → value, blanks dropped); a delete
removes the equal row. ``AudienceBook.audiences[id]["rows"]`` is what tests read.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from flask import Flask, Response, g, request

from sync.sandbox.ads.common import is_sha256_hex, json_response
from sync.sandbox.ads.graph import MetaError, params_of, trace
from sync.sandbox.ads.meta_reads import no_object

if TYPE_CHECKING:
    from sync.sandbox.ads.meta import MetaSandbox

MAX_ROWS = 10_000
SINGLE_KEY = frozenset({"EMAIL_SHA256", "PHONE_SHA256", "MOBILE_ADVERTISER_ID", "UID"})
MULTI_KEYS = frozenset({"EXTERN_ID", "EMAIL", "PHONE", "GEN", "DOBY", "DOBM", "DOBD", "LN", "FN", "FI", "CT", "ST",
                        "ZIP", "MADID", "COUNTRY", "APPUID", "LOOKALIKE_VALUE", "DATA_PROCESSING_OPTIONS"})
LDU = "DATA_PROCESSING_OPTIONS"
UNHASHED = frozenset({"EXTERN_ID", "MADID", "APPUID", "LOOKALIKE_VALUE", "DATA_PROCESSING_OPTIONS", "UID",
                      "MOBILE_ADVERTISER_ID"})
CUSTOMER_FILE_SOURCES = frozenset({"USER_PROVIDED_ONLY", "PARTNER_PROVIDED_ONLY", "BOTH_USER_AND_PARTNER_PROVIDED"})
BLOCKED, THROTTLED, SESSION, PAYLOAD, TERMS = 1713230, 2446079, 2804050, 2804051, 2804052


def _payload_error(message: str, subcode: int = PAYLOAD) -> MetaError:
    return MetaError(100, "Invalid parameter", subcode=subcode, title="Invalid Custom Audience Upload",
                     user_msg=message)


@dataclass
class AudienceBook:
    """The ad account's custom audiences and their upload sessions."""

    tos_accepted: bool = True
    audiences: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> {name, ..., rows, blocked}
    sessions: dict[tuple[str, str, int], dict[str, Any]] = field(default_factory=dict)  # (audience, method, id)
    next_id: int = 23_850_000_000_000_001

    held: dict[str, set[tuple[tuple[str, Any], ...]]] = field(default_factory=dict)  # id -> its rows, hashable

    def create(self, fields: dict[str, Any]) -> str:
        audience_id = str(self.next_id)
        self.next_id += 1
        self.audiences[audience_id] = {**fields, "id": audience_id, "rows": [], "blocked": False}
        return audience_id

    def apply(self, audience_id: str, method: str, rows: list[dict[str, Any]]) -> None:
        """Add (POST) the rows not held yet, or remove (DELETE) the held ones; in time linear in the request.

        ``held`` mirrors ``audiences[id]["rows"]`` as a set, so an upload into a large audience
        does not scan it per row; it is rebuilt when the number of rows changed without it (a test).
        """
        stored = self.audiences[audience_id]["rows"]
        held = self.held.get(audience_id)
        if held is None or len(held) != len(stored):
            held = self.held[audience_id] = {_row_key(row) for row in stored}
        if method == "POST":
            for row in rows:
                if _row_key(row) not in held:
                    held.add(_row_key(row))
                    stored.append(row)
            return
        gone = {_row_key(row) for row in rows} & held
        if gone:
            held -= gone
            stored[:] = [row for row in stored if _row_key(row) not in gone]


def _row_key(row: dict[str, Any]) -> tuple[tuple[str, Any], ...]:
    return tuple(sorted((key, tuple(value) if isinstance(value, list) else value) for key, value in row.items()))


def _decoded(value: Any) -> Any:
    """A parameter that a form or query carries JSON-encoded."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _check_session(book: AudienceBook, key: tuple[str, str], session: Any) -> tuple[str, str, int] | None:
    """The session's key when the batch fits it (MetaError when not); None without a session."""
    if session is None:
        return None
    if not isinstance(session, dict):
        raise _payload_error("session must be an object {session_id, batch_seq, last_batch_flag}", SESSION)
    session_id, seq, last = session.get("session_id"), session.get("batch_seq"), session.get("last_batch_flag")
    if not isinstance(session_id, int) or isinstance(session_id, bool) or not 0 < session_id < 2**63:
        raise _payload_error("session.session_id must be a positive 64-bit integer", SESSION)
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 1:
        raise _payload_error("session.batch_seq must be an integer starting at 1", SESSION)
    if not isinstance(last, bool):
        raise _payload_error("session.last_batch_flag must be true or false", SESSION)
    total = session.get("estimated_num_total")
    if total is not None and (not isinstance(total, int) or isinstance(total, bool) or total < 0):
        raise _payload_error("session.estimated_num_total must be a non-negative integer", SESSION)
    state = book.sessions.get((*key, session_id), {"batches": 0, "closed": False})
    if state["closed"]:
        raise _payload_error(f"session {session_id} was closed by its last batch", SESSION)
    if seq != state["batches"] + 1:
        raise _payload_error(f"session {session_id} expects batch_seq {state['batches'] + 1}, not {seq}", SESSION)
    return (*key, session_id)


def _rows(payload: Any) -> tuple[list[str], list[list[Any]]]:
    """(schema as a list, data as rows), or MetaError for a shape Meta refuses."""
    payload = _decoded(payload)
    if not isinstance(payload, dict):
        raise _payload_error("payload is required: {schema, data}")
    schema, data = payload.get("schema"), payload.get("data")
    if isinstance(schema, str):
        if schema not in SINGLE_KEY:
            raise _payload_error(f"schema {schema!r} is not one of {sorted(SINGLE_KEY)} or a list of multi-key keys")
        columns, rows = [schema], [[item] for item in data] if isinstance(data, list) else None
    elif isinstance(schema, list) and schema:
        unknown = [key for key in schema if key not in MULTI_KEYS]
        if unknown or len(set(schema)) != len(schema):
            raise _payload_error(f"schema keys must be distinct, among {sorted(MULTI_KEYS)}")
        if payload.get("is_raw") is not True:
            raise _payload_error("a multi-key schema needs is_raw: true")
        columns, rows = list(schema), data if isinstance(data, list) else None
    else:
        raise _payload_error("schema is required")
    if not rows:
        raise _payload_error("data must be a non-empty array")
    if len(rows) > MAX_ROWS:
        raise _payload_error(f"data has {len(rows)} rows; send at most {MAX_ROWS} in one request")
    for index, row in enumerate(rows):
        if not isinstance(row, list) or len(row) != len(columns) or not all(
                _options_ok(v) if key == LDU else isinstance(v, str) for key, v in zip(columns, row, strict=True)):
            raise _payload_error(f"data[{index}] must be a list of {len(columns)} strings, one per schema key "
                                 f"({LDU}: [] or [\"LDU\"])")
    return columns, rows


def _options_ok(value: Any) -> bool:
    """A row's Limited Data Use: ``[]`` or ``["LDU"]`` (Meta's data-processing-options page)."""
    return isinstance(value, list) and value in ([], ["LDU"])


def receive(sandbox: MetaSandbox, method: str, audience_id: str, params: dict[str, Any]) -> dict[str, Any]:
    """Validate one ``/users`` request, then apply its valid rows; Meta's answer."""
    book = sandbox.audience_book
    audience = book.audiences.get(audience_id)
    if audience is None:
        raise no_object(audience_id, method.lower())
    if audience["blocked"]:
        raise MetaError(100, "Invalid parameter", subcode=BLOCKED, title="Audience Upload Blocked",
                        user_msg="Before updating user memberships, you must resolve integrity restrictions on this "
                                 "Data File Custom Audience. Go to Audience Manager to appeal the restrictions or "
                                 "create a new audience with updated data")
    if not sandbox.rate.admit():
        raise MetaError(80003, "There have been too many calls for this custom audience. Wait a bit and try again.",
                        subcode=THROTTLED, status=sandbox.rate_limit_status, transient=True,
                        headers=sandbox.usage_header(max(sandbox.rate.retry_after(), 1.0)))
    columns, rows = _rows(params.get("payload"))
    session_key = _check_session(book, (audience_id, method), _decoded(params.get("session")))
    invalid: dict[str, str] = {}
    kept = []
    for row in rows:
        bad = [v for key, v in zip(columns, row, strict=True) if v and key not in UNHASHED and not is_sha256_hex(v)]
        for value in bad[:1]:
            invalid.setdefault(value, "not a SHA-256 digest (64 lowercase hex digits)")
        if bad or not any(v for key, v in zip(columns, row, strict=True) if key != LDU):
            continue
        kept.append({key: value for key, value in zip(columns, row, strict=True) if value})
    book.apply(audience_id, method, kept)
    session = _decoded(params.get("session"))
    if session_key is not None:
        state = book.sessions.setdefault(session_key, {"batches": 0, "closed": False})
        state["batches"] += 1
        state["closed"] = session["last_batch_flag"]
    answer: dict[str, Any] = {"audience_id": audience_id, "num_received": len(rows),
                              "num_invalid_entries": len(rows) - len(kept),
                              "invalid_entry_samples": dict(list(invalid.items())[:10])}
    if session_key is not None:
        answer["session_id"] = session["session_id"]
    return answer


def create(sandbox: MetaSandbox, account: str, params: dict[str, Any]) -> dict[str, Any]:
    """A customer-list custom audience on the sandbox's ad account."""
    if account != sandbox.AD_ACCOUNT_ID:
        raise no_object(account, "post")
    if not sandbox.audience_book.tos_accepted:
        raise MetaError(200, "Permissions error", subcode=TERMS, title="Custom Audience Terms Not Accepted",
                        user_msg="You must accept the Custom Audience terms for this ad account before creating "
                                 "a custom audience from a customer list")
    name, subtype, source = params.get("name"), params.get("subtype"), params.get("customer_file_source")
    if not isinstance(name, str) or not name.strip():
        raise _payload_error("name is required")
    if subtype != "CUSTOM":
        raise _payload_error(f"subtype must be CUSTOM for a customer list, not {subtype!r}")
    if source not in CUSTOMER_FILE_SOURCES:
        raise _payload_error(f"customer_file_source must be one of {sorted(CUSTOMER_FILE_SOURCES)}")
    fields = {"name": name, "subtype": subtype, "customer_file_source": source,
              "description": str(params.get("description") or "")}
    return {"id": sandbox.audience_book.create(fields)}


def register_audiences(app: Flask, sandbox: MetaSandbox) -> None:
    """``POST /{v}/act_{id}/customaudiences`` and ``POST``/``DELETE /{v}/{audience_id}/users``."""

    def guarded(version: str, rest: str, work: Any) -> Response:
        with sandbox.lock:
            try:
                params = params_of()
                sandbox.check_version(version, rest)
                if sandbox.check_token(params) != sandbox.MARKETING_TOKEN:
                    raise MetaError(200, "(#200) Requires ads_management permission to manage the object")
                body = work(params)
            except MetaError:
                sandbox.reject(0)
                raise
            headers = sandbox.usage_header()
        return json_response(200, {**body, "fbtrace_id": trace(g.request_index)}, headers)

    @app.post("/<version>/<account>/customaudiences")
    def custom_audiences(version: str, account: str) -> Response:
        return guarded(version, f"{account}/customaudiences", lambda params: create(sandbox, account, params))

    @app.route("/<version>/<audience_id>/users", methods=["POST", "DELETE"])
    def users(version: str, audience_id: str) -> Response:
        return guarded(version, f"{audience_id}/users",
                       lambda params: receive(sandbox, request.method, audience_id, params))
