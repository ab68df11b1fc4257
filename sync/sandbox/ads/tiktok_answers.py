"""How the TikTok sandbox answers: the Business API's codes, its whole-request refusal, its response envelope.

Shared by the Events API (``sync.sandbox.ads.tiktok``) and the segment API
(``sync.sandbox.ads.tiktok_audiences``): TikTok answers HTTP 200 with ``{code, message,
request_id, data}`` whatever happened (only injected 5xx faults change the status).
"""

from __future__ import annotations

from typing import Any

from flask import Response

from sync.sandbox.ads.common import json_response

OK, PARTIAL, NO_PERMISSION, INVALID, THROTTLED, NO_TOKEN, BAD_TOKEN, SYSTEM = (
    0, 20001, 40001, 40002, 40100, 40104, 40105, 50000)


class TikTokError(Exception):
    """A whole-request refusal: TikTok's code and message (answered with HTTP ``status``, normally 200)."""

    def __init__(self, code: int, message: str, *, status: int = 200, data: dict[str, Any] | None = None):
        super().__init__(message)
        self.code, self.message, self.status, self.data = code, message, status, data


def answer(code: int, message: str, index: int, data: dict[str, Any] | None = None, status: int = 200) -> Response:
    """TikTok's envelope for request ``index``."""
    body: dict[str, Any] = {"code": code, "message": message, "request_id": f"2025sandbox{index:010d}"}
    if data is not None:
        body["data"] = data
    return json_response(status, body)
