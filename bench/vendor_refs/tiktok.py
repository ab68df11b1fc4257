"""TikTok Events API requests: TikTok publishes no reference for the API lifesync calls.

lifesync sends Events API 2.0 (``POST /open_api/v1.3/event/track/``, body ``{event_source,
event_source_id, data: [...]}``). TikTok's own Python SDK, ``tiktok-business-api-sdk-official``
(TikTok Pte. Ltd., https://github.com/tiktok/tiktok-business-api-sdk, 1.1.3 of 2026-02), models
only Events API 1.0 (``/pixel/track/``, ``/pixel/batch/``: ``PixelTrackBody``, ``PixelContext``…),
whose body has another shape (``pixel_code``, ``context.user``, no ``event_source``), and TikTok
publishes no OpenAPI schema of 2.0. So every request is ``unchecked`` with that reason: checking
2.0 bodies against the 1.0 models would refuse what TikTok accepts.
"""

from __future__ import annotations

import json
from typing import Any

from bench.vendor_refs import UNCHECKED, Verdict, template

VENDOR = "TikTok"
REASON = ("no vendor reference: TikTok's SDK (tiktok-business-api-sdk-official 1.1.3) models Events API 1.0 "
          "(/pixel/track/, /pixel/batch/) only, and TikTok publishes no schema of Events API 2.0 (/event/track/)")


def check(request: Any) -> Verdict:
    """Always unchecked: see the module docstring."""
    try:
        body = json.loads(request.body or b"null")
    except ValueError:
        body = None
    items = len(body["data"]) if isinstance(body, dict) and isinstance(body.get("data"), list) else 0
    path = template(request.path).replace("/v1.3/", "/{version}/")
    return Verdict(VENDOR, f"{request.method} {path}", UNCHECKED, "none", (REASON,), items=items)
