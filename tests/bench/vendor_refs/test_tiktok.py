"""The TikTok checker of bench/vendor_requests.py: TikTok publishes no reference for Events API 2.0."""

from __future__ import annotations

import json

from bench.vendor_refs import UNCHECKED, check
from sync.sandbox.recording import RecordedRequest


def test_every_events_api_request_is_unchecked_with_the_reason():
    body = {"event_source": "crm", "event_source_id": "CRM1", "data": [{"event": "Lead"}, {"event": "Purchase"}]}
    verdict = check(RecordedRequest("tiktok", "POST", "/open_api/v1.3/event/track/", "", "application/json",
                                    json.dumps(body).encode(), 200))
    assert (verdict.vendor, verdict.endpoint, verdict.outcome, verdict.items) == \
        ("TikTok", "POST /open_api/{version}/event/track/", UNCHECKED, 2)
    assert "models Events API 1.0" in verdict.reasons[0]
