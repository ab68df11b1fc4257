"""Retention: exactly what is past each window is redacted; open letters, unprocessed events and the rest stay."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from sync.access.roles import Principal
from sync.cli.main import main
from sync.errors import SettingsError
from sync.privacy import retention
from sync.privacy.retention import REDACTED_PAYLOAD, purge
from sync.reports.delivery import kept
from sync.settings import Settings
from sync.store import model

NOW = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)
SETTINGS = Settings.from_env({"LIFESYNC_RETAIN_RAW_EVENTS_DAYS": "30", "LIFESYNC_RETAIN_DEAD_LETTERS_DAYS": "90",
                              "LIFESYNC_RETAIN_DELIVERY_RESPONSES_DAYS": "90"})
ADMIN = Principal(name="cli:ops", role="admin", via="cli")
INSIDE, PAST = timedelta(minutes=1), -timedelta(minutes=1)  # a minute inside / past the window's edge
BODY = b'{"email": "ana@example.com"}'
PAYLOAD = {"email": "ana@example.com"}
RESPONSE = {"click_id": "fbc", "keys": ["em"], "duplicate": False, "echo": {"email": "ana@example.com"}}


def _event(s, key, status, processed_days_ago=None, edge=PAST):
    processed = NOW - timedelta(days=processed_days_ago) + edge if processed_days_ago is not None else None
    s.add(model.RawEvent(source="generic", object="order", event_key=key, body=BODY, status=status,
                         received_at=NOW - timedelta(days=400), processed_at=processed))


def _letter(s, record, status, days, edge):
    s.add(model.DeadLetter(stage="mapping", source="generic", object="order", record_id=record, reason="bad",
                           payload=PAYLOAD, status=status, created_at=NOW - timedelta(days=days) + edge))


def _delivery(s, n, status, days, edge):
    item = model.Outbox(idempotency_key=f"k{n}", kind="conversion", destination="meta", payload={"event_id": n})
    s.add(item)
    s.flush()
    s.add(model.Delivery(outbox_id=item.id, destination="meta", status=status, response=RESPONSE,
                         last_error="refused ana@example.com", updated_at=NOW - timedelta(days=days) + edge))


@pytest.fixture
def seeded(store):
    with store.transaction() as s:
        _event(s, "past", "processed", 30, PAST)
        _event(s, "inside", "processed", 30, INSIDE)
        _event(s, "waiting", "received")
        _event(s, "dead", "dead", 400)
        for status in ("open", "replayed", "dismissed"):
            _letter(s, f"{status}-past", status, 90, PAST)
            _letter(s, f"{status}-inside", status, 90, INSIDE)
        for status in ("sent", "dead", "pending", "failed"):
            _delivery(s, f"{status}-past", status, 90, PAST)
            _delivery(s, f"{status}-inside", status, 90, INSIDE)
    return store


def _state(store):
    with store.transaction() as s:
        return {"events": {r.event_key: (r.body, r.status, r.processed_at) for r in s.scalars(select(model.RawEvent))},
                "letters": {r.record_id: (r.payload, r.status, r.reason) for r in s.scalars(select(model.DeadLetter))},
                "deliveries": {o.idempotency_key: (d.response, d.last_error, d.status, d.attempts)
                               for d, o in s.execute(select(model.Delivery, model.Outbox)
                                                     .join(model.Outbox, model.Outbox.id == model.Delivery.outbox_id))},
                "audit": s.scalar(select(func.count()).select_from(model.AuditEntry))}


def test_exactly_what_is_past_each_window_is_redacted(seeded):
    with seeded.transaction() as s:
        report = kept(s)
    before = _state(seeded)
    assert purge(seeded, SETTINGS, now=NOW)["redacted"] == {"raw_events": 1, "dead_letters": 2, "deliveries": 2}
    after = _state(seeded)
    assert after["events"]["past"] == (b"", "processed", before["events"]["past"][2])
    assert after["letters"]["replayed-past"] == (REDACTED_PAYLOAD, "replayed", "bad")
    assert after["letters"]["dismissed-past"] == (REDACTED_PAYLOAD, "dismissed", "bad")
    summary = {"click_id": "fbc", "keys": ["em"], "duplicate": False, "redacted": True}
    assert after["deliveries"]["ksent-past"] == (summary, None, "sent", 0)
    assert after["deliveries"]["kdead-past"] == (summary, None, "dead", 0)
    changed = {("events", "past"), ("letters", "replayed-past"), ("letters", "dismissed-past"),
               ("deliveries", "ksent-past"), ("deliveries", "kdead-past")}
    for part in ("events", "letters", "deliveries"):
        for key, row in before[part].items():
            if (part, key) not in changed:  # inside the window, open letters, unprocessed / dead events, in flight
                assert after[part][key] == row, (part, key)
    assert after["audit"] == before["audit"]  # the scheduled job: no one asked
    with seeded.transaction() as s:  # the delivery report's counts (kept by triggers) are what they were
        assert kept(s) == report


def test_dry_run_changes_nothing_and_a_second_run_finds_nothing(seeded, monkeypatch):
    monkeypatch.setattr(retention, "BATCH", 1)  # every page boundary crossed
    before = _state(seeded)
    dry = purge(seeded, SETTINGS, dry_run=True, actor=ADMIN, now=NOW)
    assert dry["dry_run"] and dry["redacted"] == {"raw_events": 1, "dead_letters": 2, "deliveries": 2}
    assert _state(seeded) == before
    assert purge(seeded, SETTINGS, actor=ADMIN, now=NOW)["redacted"] == dry["redacted"]
    once = _state(seeded)
    assert purge(seeded, SETTINGS, actor=ADMIN, now=NOW)["redacted"] == {"raw_events": 0, "dead_letters": 0,
                                                                         "deliveries": 0}
    again = _state(seeded)
    assert {k: v for k, v in again.items() if k != "audit"} == {k: v for k, v in once.items() if k != "audit"}
    with seeded.transaction() as s:
        [entry, _] = s.scalars(select(model.AuditEntry).where(model.AuditEntry.action == "privacy.purge")
                               .order_by(model.AuditEntry.id))
        assert (entry.actor, entry.after["redacted"]) == ("cli:ops", dry["redacted"])
        assert "ana@example.com" not in json.dumps(entry.after)


def test_zero_days_keeps_a_kind_for_ever(seeded):
    keep = Settings.from_env({"LIFESYNC_RETAIN_RAW_EVENTS_DAYS": "0", "LIFESYNC_RETAIN_DEAD_LETTERS_DAYS": "0",
                              "LIFESYNC_RETAIN_DELIVERY_RESPONSES_DAYS": "90"})
    assert purge(seeded, keep, now=NOW)["redacted"] == {"raw_events": 0, "dead_letters": 0, "deliveries": 2}


def test_a_bad_setting_names_its_variable(store):
    bad = Settings.from_env({"LIFESYNC_RETAIN_DEAD_LETTERS_DAYS": "ninety"})
    with pytest.raises(SettingsError, match="LIFESYNC_RETAIN_DEAD_LETTERS_DAYS must be an integer, got 'ninety'"):
        purge(store, bad)


def test_cli_purge_prints_counts_per_kind_and_dry_run_changes_nothing(seeded, database_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.delenv("LIFESYNC_CONFIG_DIR", raising=False)
    with seeded.transaction() as s:  # the CLI's clock is now: the past event a year back, the inside one a day
        for key, days in (("past", 365), ("inside", 1)):
            s.query(model.RawEvent).filter(model.RawEvent.event_key == key).update(
                {"processed_at": datetime.now(UTC) - timedelta(days=days)})
    dry = CliRunner().invoke(main, ["privacy", "purge", "--dry-run"], catch_exceptions=False)
    assert dry.exit_code == 0, dry.output
    assert json.loads(dry.output)["redacted"]["raw_events"] == 1
    assert _state(seeded)["events"]["past"][0] == BODY
    done = CliRunner().invoke(main, ["privacy", "purge"], catch_exceptions=False)
    assert json.loads(done.output)["redacted"]["raw_events"] == 1 and not json.loads(done.output)["dry_run"]
    assert _state(seeded)["events"]["past"][0] == b""
    with seeded.transaction() as s:
        assert s.scalar(select(func.count()).select_from(model.AuditEntry)
                        .where(model.AuditEntry.action == "privacy.purge")) == 1
