"""The TikTok sandbox's segment (streaming) API: ``/segment/audience/`` and ``/segment/mapping/``.

TikTok opens these only to allow-listed apps (docs/vendors/audiences-and-consent.md §3): with
``TikTokSandbox.segment_allow_listed`` False every call is refused with 40001, as TikTok refuses an
app without the permission. Otherwise, in order: the ``Access-Token`` header (40104 missing, 40105
anything but ``MARKETING_TOKEN``), the advertiser (40001 for any but ``ADVERTISER_ID``), the rate
limit (40100), then the body, refused whole with 40002 (nothing recorded) when:

* audience: ``action`` is not ``create``, or ``custom_audience_name`` is empty or longer than 70
  characters (TikTok cuts longer names; the sandbox refuses them so a caller that does not cut shows);
* mapping: ``action`` not ``add`` / ``delete``; ``id_schema`` not a non-empty list of distinct known
  ID types (``ID_TYPES``); ``batch_data`` empty or over ``MAX_ROWS`` rows (⚠ TikTok publishes no
  maximum; 1,000 is what its partners send); a row that is not one cell per ``id_schema`` column; a
  cell neither ``{}`` nor ``{id, audience_ids}`` with ``id`` a SHA-256 digest (64 lowercase hex;
  ``*_MD5`` types 32) and ``audience_ids`` a non-empty list of this advertiser's audiences; a row of
  only ``{}``. The message names the first bad place, e.g. ``batch_data[3][0].id``.

Answers are TikTok's ``{code, message, request_id, data}`` on HTTP 200. Members: each audience keeps
its (ID type, hash) pairs (``TikTokSandbox.segment_audiences[id]["members"]``); ``add`` inserts,
``delete`` removes.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from flask import Flask, Response, g, request

from sync.sandbox.ads.common import is_sha256_hex, request_json
from sync.sandbox.ads.tiktok_answers import (
    BAD_TOKEN,
    INVALID,
    NO_PERMISSION,
    NO_TOKEN,
    OK,
    THROTTLED,
    TikTokError,
    answer,
)

if TYPE_CHECKING:
    from sync.sandbox.ads.tiktok import TikTokSandbox

AUDIENCE_PATH = "/open_api/v1.3/segment/audience/"
MAPPING_PATH = "/open_api/v1.3/segment/mapping/"
MAX_ROWS = 1000
MAX_NAME = 70
ID_TYPES = frozenset({"EMAIL_SHA256", "PHONE_SHA256", "IDFA_SHA256", "GAID_SHA256", "AAID_SHA256", "IDFA_MD5",
                      "GAID_MD5", "AAID_MD5"})
_MD5 = re.compile(r"[0-9a-f]{32}")
FIRST_AUDIENCE = 7_100_000_000_000_000_001


def _id_ok(kind: str, value: Any) -> bool:
    return bool(_MD5.fullmatch(value)) if kind.endswith("_MD5") and isinstance(value, str) else is_sha256_hex(value)


def _row_problem(row: Any, index: int, schema: list[str], audiences: dict[str, Any]) -> str | None:
    if not isinstance(row, list) or len(row) != len(schema):
        return f"batch_data[{index}] must hold one cell per id_schema column ({len(schema)})"
    if all(cell == {} for cell in row):
        return f"batch_data[{index}] has no id"
    for column, cell in enumerate(row):
        where = f"batch_data[{index}][{column}]"
        if cell == {}:
            continue
        if not isinstance(cell, dict) or set(cell) != {"id", "audience_ids"}:
            return f"{where} must be {{}} or {{id, audience_ids}}"
        if not _id_ok(schema[column], cell["id"]):
            return f"{where}.id must be a {schema[column]} digest in lowercase hex"
        ids = cell["audience_ids"]
        if not isinstance(ids, list) or not ids or any(str(a) not in audiences for a in ids):
            return f"{where}.audience_ids must list audiences of the advertiser"
    return None


def mapping(sandbox: TikTokSandbox, body: dict[str, Any]) -> dict[str, Any]:
    """Validate a mapping request (all or nothing), then apply it."""
    action, schema, data = body.get("action"), body.get("id_schema"), body.get("batch_data")
    if action not in ("add", "delete"):
        raise TikTokError(INVALID, f"action: must be add or delete, not {action!r}.")
    if not isinstance(schema, list) or not schema or len(set(schema)) != len(schema) \
            or any(kind not in ID_TYPES for kind in schema):
        raise TikTokError(INVALID, f"id_schema: a non-empty list of distinct ID types among {sorted(ID_TYPES)}.")
    if not isinstance(data, list) or not data or len(data) > MAX_ROWS:
        raise TikTokError(INVALID, f"batch_data: Length must be between 1 and {MAX_ROWS}.")
    for index, row in enumerate(data):
        problem = _row_problem(row, index, schema, sandbox.segment_audiences)
        if problem:
            raise TikTokError(INVALID, f"{problem}.")
    for row in data:
        for kind, cell in zip(schema, row, strict=True):
            for audience in cell.get("audience_ids", []):
                members = sandbox.segment_audiences[str(audience)]["members"]
                (members.add if action == "add" else members.discard)((kind, cell["id"]))
    return {}


def create(sandbox: TikTokSandbox, body: dict[str, Any]) -> dict[str, Any]:
    """A new segment audience of the advertiser."""
    name = body.get("custom_audience_name")
    if body.get("action") != "create":
        raise TikTokError(INVALID, f"action: the sandbox creates audiences only, not {body.get('action')!r}.")
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME:
        raise TikTokError(INVALID, f"custom_audience_name: Length must be between 1 and {MAX_NAME}.")
    audience_id = str(FIRST_AUDIENCE + len(sandbox.segment_audiences))
    sandbox.segment_audiences[audience_id] = {"name": name, "members": set()}
    return {"audience_id": audience_id}


def register(app: Flask, sandbox: TikTokSandbox) -> None:
    """Serve the segment API's two routes on the TikTok sandbox app."""

    def serve(work: Any, advertisers: Any) -> Response:
        try:
            body, malformed = request_json(), False
        except ValueError:
            body, malformed = None, True
        with sandbox.lock:
            try:
                if not sandbox.segment_allow_listed:
                    raise TikTokError(NO_PERMISSION, "No permission to operate the segment API: the app is not "
                                                     "allow-listed for it.")
                token = request.headers.get("Access-Token")
                if not token:
                    raise TikTokError(NO_TOKEN, "Access token is null, please verify your access token.")
                if token != sandbox.MARKETING_TOKEN:
                    raise TikTokError(BAD_TOKEN, "Access token is incorrect or has been revoked.")
                if malformed or not isinstance(body, dict):
                    raise TikTokError(INVALID, "Invalid request body: a JSON object is required.")
                ids = advertisers(body)
                if not ids or any(str(a) != sandbox.ADVERTISER_ID for a in ids):
                    raise TikTokError(NO_PERMISSION, f"No permission to operate advertiser {ids}.")
                if not sandbox.rate.admit():
                    raise TikTokError(THROTTLED, "Too many requests. Please retry in some time.")
                data = work(body)
            except TikTokError:
                rows = body.get("batch_data") if isinstance(body, dict) else None
                sandbox.reject(len(rows) if isinstance(rows, list) else 0)
                raise
        return answer(OK, "OK", g.request_index, data)

    @app.post(AUDIENCE_PATH)
    def segment_audience() -> Response:
        return serve(lambda body: create(sandbox, body), lambda body: [body.get("advertiser_id")])

    @app.post(MAPPING_PATH)
    def segment_mapping() -> Response:
        return serve(lambda body: mapping(sandbox, body),
                     lambda body: body.get("advertiser_ids") if isinstance(body.get("advertiser_ids"), list) else [])
