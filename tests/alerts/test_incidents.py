"""Alert incidents: opened once while a rule fires, posted once on open and once on resolve, whatever the repeats."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import responses
from click.testing import CliRunner

from sync.alerts.incidents import check, evaluate, list_incidents
from sync.alerts.notify import alert_webhook_url, webhook_notifier
from sync.alerts.runs import record_run
from sync.config.alerts import AlertRule, load_alerts
from sync.connectors.events import InboundEvent
from sync.errors import SettingsError
from sync.ingest import inbox
from sync.settings import Settings
from sync.store import model

HOOK = "https://hooks.example.test/services/T000/B000/secretpart"
LAG = AlertRule("inbox-lag", "inbox_lag", 300)
FAILING = AlertRule("sync-failing", "sync_failing", 3)


def notifier():
    return webhook_notifier(HOOK, sleep=lambda s: None)


def posted() -> list[str]:
    return [json.loads(call.request.body)["text"] for call in responses.calls if call.request.url == HOOK]


def waiting_event(store, minutes: float) -> int:
    event = InboundEvent(source="whatsapp", object="message", event_key=f"wamid.{minutes}",
                         record={"from": "34600111222", "email": "ana@example.com"})
    [event_id] = inbox.store_events(store, [event])
    with store.transaction() as session:
        session.get(model.RawEvent, event_id).received_at = model.utcnow() - timedelta(minutes=minutes)
    return event_id


@responses.activate
def test_one_incident_one_post_on_open_and_one_on_resolve(store):
    responses.post(HOOK, body="ok")
    event_id = waiting_event(store, minutes=10)
    first = evaluate(store, [LAG], notify=notifier())
    assert len(first.opened) == 1 and first.firing[0]["rule"] == "inbox-lag"
    for _ in range(3):  # still firing: no new incident, no new post
        again = evaluate(store, [LAG], notify=notifier())
        assert again.opened == [] and again.resolved == [] and len(again.firing) == 1
    assert len(posted()) == 1
    assert "inbox-lag" in posted()[0] and "waited" in posted()[0]
    inbox.quarantine(store, event_id, RuntimeError("x"))  # no longer received: the lag is gone
    done = evaluate(store, [LAG], notify=notifier())
    assert done.resolved == first.opened
    evaluate(store, [LAG], notify=notifier())
    texts = posted()
    assert len(texts) == 2 and "resolved" in texts[1]
    assert not any("ana@example.com" in t or "34600111222" in t or "secretpart" in t for t in texts)
    [incident] = list_incidents(store)
    assert incident["resolved_at"] is not None and incident["rule"] == "inbox-lag"
    assert list_incidents(store, open_only=True) == []


@responses.activate
def test_a_failed_post_is_retried_on_the_next_evaluation_and_then_never_again(store):
    responses.post(HOOK, status=500)
    waiting_event(store, minutes=10)
    first = evaluate(store, [LAG], notify=notifier())
    assert len(first.opened) == 1 and first.notify_failed == [f"opened {first.opened[0]}"]
    responses.replace(responses.POST, HOOK, body="ok")
    second = evaluate(store, [LAG], notify=notifier())
    assert second.opened == [] and second.notified == [f"opened {first.opened[0]}"]
    third = evaluate(store, [LAG], notify=notifier())
    assert third.notified == []


@responses.activate
def test_a_schedule_failing_runs_in_a_row_is_one_incident_per_schedule(store):
    responses.post(HOOK, body="ok")
    for _ in range(3):
        record_run(store, "sync-hubspot", "sync_hubspot", "failed", "TransientError: upstream answered 503")
    record_run(store, "sync-salesforce", "sync_salesforce", "failed", "AuthError: the credentials were rejected")
    result = evaluate(store, [FAILING], notify=notifier())
    assert [(f["subject"], f["summary"]) for f in result.firing] == [
        ("schedule sync-hubspot", "sync_hubspot failed 3 runs in a row (last: TransientError)")]
    record_run(store, "sync-hubspot", "sync_hubspot", "failed", "TransientError: upstream answered 503")
    assert evaluate(store, [FAILING], notify=notifier()).opened == []  # a fourth failure: the same incident
    record_run(store, "sync-hubspot", "sync_hubspot", "ok")
    assert len(evaluate(store, [FAILING], notify=notifier()).resolved) == 1
    assert len(posted()) == 2


def test_credentials_rejected_and_quota_spent_name_the_schedule(store):
    record_run(store, "sync-salesforce", "sync_salesforce", "failed", "AuthError: the credentials were rejected")
    record_run(store, "sync-hubspot", "sync_hubspot", "quota")
    record_run(store, "dispatch-conversions", "dispatch_conversions", "failed",
               "RateLimited: quota exhausted (HTTP 429)")
    with store.transaction() as session:
        session.add(model.DeadLetter(stage="dispatch", source="meta", object="conversion", record_id="1",
                                     reason="the credentials were rejected", payload={}, status="open"))
    rules = [AlertRule("creds", "credentials_rejected", 1), AlertRule("quota", "quota_spent", 1)]
    firing = {(f["rule"], f["subject"]) for f in evaluate(store, rules).firing}
    assert firing == {("creds", "schedule sync-salesforce"), ("creds", "destination meta"),
                      ("quota", "schedule sync-hubspot"), ("quota", "schedule dispatch-conversions")}


def test_dead_letters_growing_counts_new_open_letters_in_the_window(store):
    rule = AlertRule("dl", "dead_letters_growing", 2, window=3600)
    now = model.utcnow()
    with store.transaction() as session:
        for age, status in ((7200, "open"), (60, "open"), (30, "replayed")):
            session.add(model.DeadLetter(stage="mapping", source="x", object="y", record_id="r", reason="bad",
                                         payload={}, status=status, created_at=now - timedelta(seconds=age)))
    assert evaluate(store, [rule], now=now).firing == []  # one new open letter, the threshold is two
    with store.transaction() as session:
        session.add(model.DeadLetter(stage="job", source="sync", object="f", record_id="r", reason="bad",
                                     payload={}, status="open", created_at=now))
    [fired] = evaluate(store, [rule], now=now).firing
    assert fired["summary"] == "2 new open dead letters in the last 3600 s (job 1, mapping 1)"


def test_a_rule_switched_off_resolves_its_open_incident(store):
    waiting_event(store, minutes=10)
    [opened] = evaluate(store, [LAG]).opened
    off = AlertRule("inbox-lag", "inbox_lag", 300, enabled=False)
    assert evaluate(store, [off]).resolved == [opened]


def test_old_unposted_incidents_are_not_posted_late(store):
    waiting_event(store, minutes=10)
    [opened] = evaluate(store, [LAG]).opened  # no webhook then
    with store.transaction() as session:  # ... three days ago
        session.get(model.AlertIncident, opened).opened_at = model.utcnow() - timedelta(days=3)
    with responses.RequestsMock() as mock:  # a request would fail the test: none registered
        later = evaluate(store, [LAG], notify=notifier())
    assert later.notified == [] and later.notify_failed == [] and len(mock.calls) == 0
    with store.transaction() as session:
        assert session.get(model.AlertIncident, opened).open_notified  # skipped for good, not retried forever


@responses.activate
def test_check_uses_the_bundled_rules_and_the_setting(store, database_url):
    responses.post(HOOK, body="ok")
    waiting_event(store, minutes=10)
    settings = Settings.from_env({"DATABASE_URL": database_url, "LIFESYNC_ALERT_WEBHOOK_URL": HOOK})
    result = check(store, settings)
    assert {f["rule"] for f in result.firing} == {"inbox-lag"}
    assert len(posted()) == 1
    assert {r.kind for r in load_alerts(None)} == {"dead_letters_growing", "inbox_lag", "credentials_rejected",
                                                   "quota_spent", "sync_failing"}


def test_a_malformed_webhook_url_is_a_settings_error_without_its_value():
    with pytest.raises(SettingsError) as exc:
        alert_webhook_url(Settings.from_env({"LIFESYNC_ALERT_WEBHOOK_URL": "hooks.slack.com/secretpart"}))
    assert "LIFESYNC_ALERT_WEBHOOK_URL" in str(exc.value) and "secretpart" not in str(exc.value)
    assert alert_webhook_url(Settings.from_env({})) is None
    assert HOOK in Settings.from_env({"LIFESYNC_ALERT_WEBHOOK_URL": HOOK}).secret_values()  # redacted from logs


def test_the_cli_checks_and_lists(store, database_url, monkeypatch):
    from sync.cli.main import main

    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.delenv("LIFESYNC_ALERT_WEBHOOK_URL", raising=False)
    monkeypatch.delenv("LIFESYNC_CONFIG_DIR", raising=False)
    waiting_event(store, minutes=10)
    out = CliRunner().invoke(main, ["alerts", "check"])
    assert out.exit_code == 0, out.output
    assert "FIRING inbox-lag: the oldest unprocessed webhook event has waited" in out.output
    assert "opened 1, resolved 0, notified 0" in out.output
    listed = CliRunner().invoke(main, ["alerts", "list", "--open", "--json"])
    assert listed.exit_code == 0 and json.loads(listed.output)[0]["rule"] == "inbox-lag"
