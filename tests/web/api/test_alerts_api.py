"""/api/alerts: the incidents the alert rules opened, open ones on request."""

from __future__ import annotations

from alerts.test_incidents import LAG, waiting_event
from web.api.conftest import BOOTSTRAP, bearer

from sync.alerts.incidents import evaluate
from sync.ingest import inbox

ADMIN = bearer(BOOTSTRAP)


def test_incidents_open_then_resolved(api, store):
    event_id = waiting_event(store, minutes=10)
    evaluate(store, [LAG])
    [open_one] = api.get("/api/alerts", query_string={"open": "true"}, headers=ADMIN).json["items"]
    assert open_one["rule"] == "inbox-lag" and open_one["resolved_at"] is None
    inbox.quarantine(store, event_id, RuntimeError("x"))
    evaluate(store, [LAG])
    assert api.get("/api/alerts", query_string={"open": "true"}, headers=ADMIN).json["items"] == []
    [closed] = api.get("/api/alerts", headers=ADMIN).json["items"]
    assert closed["id"] == open_one["id"] and closed["resolved_at"] is not None
    assert api.get("/api/alerts", query_string={"limit": 0}, headers=ADMIN).status_code == 422
