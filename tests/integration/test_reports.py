"""Reports on a real database (SQLite, or PostgreSQL with DATABASE_URL): exact numbers on small hand-built data."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import click
import pytest
from click.testing import CliRunner
from support.lifecycle_fixtures import make_config, patch

from sync.cli.reports import register
from sync.demo.funnel import funnel as demo_funnel
from sync.ingest.pipeline import ingest_patches
from sync.reports import attribution, delivery, funnel, lost, response
from sync.reports.html import write_html
from sync.store import model

T0 = datetime(2026, 3, 1, tzinfo=UTC)
CONFIG = make_config()
HOUR = 3600


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def contact(session, *moves: tuple[str, float]) -> int:
    """A contact with these (to_stage, hours) transitions; stage and lost stage follow them like the engine."""
    stage = lost_stage = previous = None
    rows = []
    for seq, (to, hours) in enumerate(moves):
        rows.append(dict(seq=seq, from_stage=previous, to_stage=to, at=at(hours), source="test", reason="test"))
        if CONFIG.is_lost(to):
            lost_stage = to
        else:
            stage, lost_stage = to, None
        previous = to
    c = model.Contact(stage=stage, lost_stage=lost_stage)
    session.add(c)
    session.flush()
    session.add_all(model.StageTransition(contact_id=c.id, **r) for r in rows)
    return c.id


# ---- funnel --------------------------------------------------------------------------------

@pytest.fixture
def funnel_data(store):
    with store.transaction() as s:
        contact(s, ("New Lead", 0), ("Hot Lead", 2), ("Payment", 5), ("Customer", 10))
        contact(s, ("New Lead", 0), ("Hot Lead", 4))
        contact(s, ("New Lead", 1), ("Cold Lead", 25))
        contact(s, ("New Lead", 2), ("Payment", 3))  # skips Hot Lead
        contact(s, ("New Lead", 3))
        contact(s, ("Hot Lead", 0), ("Unqualified", 6))  # entered straight at Hot Lead
        contact(s)  # no stage yet
    return store


def rows_of(report):
    return {r.stage: (r.entered, r.current, r.moved_on, r.conversion_rate, r.median_seconds, r.timed)
            for r in report.stages}


def test_funnel_all_time(funnel_data):
    report = funnel(funnel_data, CONFIG)
    assert [r.stage for r in report.stages] == ["New Lead", "Hot Lead", "Payment", "Customer"]
    assert rows_of(report) == {
        # NL stays: 2h, 4h, 24h, 1h (one still open) → median 3h
        "New Lead": (5, 1, 3, 0.6, 3 * HOUR, 4),
        "Hot Lead": (3, 1, 1, pytest.approx(1 / 3), 4.5 * HOUR, 2),
        "Payment": (2, 1, 1, 0.5, 5 * HOUR, 1),
        "Customer": (1, 1, 0, 0.0, None, 0),
    }
    assert (report.contacts, report.never_staged, report.lost_now) == (7, 1, 2)


def test_funnel_window_bounds_entries_progress_and_stays(funnel_data):
    report = funnel(funnel_data, CONFIG, start=at(1.5), end=at(5))
    assert rows_of(report) == {
        "New Lead": (2, 1, 1, 0.5, 1 * HOUR, 1),  # entered at 2h and 3h; the first moved on at 3h
        "Hot Lead": (2, 1, 0, 0.0, None, 0),  # moved on at 5h = the (exclusive) end: not yet
        "Payment": (1, 1, 0, 0.0, None, 0),  # the 5h entry is outside
        "Customer": (0, 1, 0, None, None, 0),  # "current" is a snapshot of now
    }
    assert report.as_dict()["start"] == "2026-03-01T01:30:00+00:00"


def test_funnel_reads_what_the_pipeline_writes(store):
    items = [(patch("hubspot", "1", ["email:a@example.com"], minutes=0, stage="New Lead"), None),
             (patch("hubspot", "1", ["email:a@example.com"], minutes=60, stage="Hot Lead"), None),
             (patch("hubspot", "2", ["email:b@example.com"], minutes=0, stage="New Lead"), None),
             (patch("hubspot", "2", ["email:b@example.com"], minutes=30, stage="Cold Lead"), None)]
    for item in items:
        ingest_patches(store, CONFIG, [item])
    rows = rows_of(funnel(store, CONFIG))
    assert rows["New Lead"] == (2, 0, 1, 0.5, 45 * 60, 2)
    assert rows["Hot Lead"] == (1, 1, 0, 0.0, None, 0)
    report = lost(store, CONFIG)
    assert [(r.lost_stage, r.from_stage, r.contacts) for r in report.lost_from] == [("Cold Lead", "New Lead", 1)]


def test_demo_funnel_keeps_its_shape(funnel_data):
    with funnel_data.transaction() as s:
        report = demo_funnel(s, CONFIG)
    assert [(r.stage, r.current, r.entered) for r in report.active][:2] == [("New Lead", 1, 5), ("Hot Lead", 1, 3)]
    assert report.active[0].to_next == 0.6
    assert dict(report.lost) == {"Cold Lead": 1, "Unqualified": 1, "Lost to competitor": 0}
    assert report.never_staged == 1


# ---- lost ----------------------------------------------------------------------------------

@pytest.fixture
def lost_data(store):
    with store.transaction() as s:
        contact(s, ("New Lead", 0), ("Cold Lead", 10))
        contact(s, ("New Lead", 0), ("Hot Lead", 1), ("Cold Lead", 5))
        contact(s, ("Hot Lead", 0), ("Unqualified", 2))
        contact(s, ("Cold Lead", 0))  # entered straight into a lost stage
        contact(s, ("New Lead", 0), ("Cold Lead", 3), ("New Lead", 20), ("Lost to competitor", 30))
        contact(s, ("New Lead", 0))
    return store


def test_lost_all_time(lost_data):
    report = lost(lost_data, CONFIG)
    assert [(r.stage, r.current, r.entered) for r in report.stages] == [
        ("Cold Lead", 3, 4), ("Unqualified", 1, 1), ("Lost to competitor", 1, 1)]
    assert [(r.lost_stage, r.from_stage, r.contacts) for r in report.lost_from] == [
        ("Cold Lead", "New Lead", 2), ("Cold Lead", "Hot Lead", 1), ("Cold Lead", None, 1),
        ("Unqualified", "Hot Lead", 1), ("Lost to competitor", "New Lead", 1)]
    # the contact lost twice from New Lead counts once
    assert [(r.stage, r.contacts) for r in report.dropped_from] == [("New Lead", 2), ("Hot Lead", 2)]
    assert [(r.lost_stage, r.to_stage, r.contacts) for r in report.came_back] == [("Cold Lead", "New Lead", 1)]
    assert (report.lost_contacts, report.came_back_contacts) == (5, 1)


def test_lost_window(lost_data):
    report = lost(lost_data, CONFIG, start=at(4), end=at(25))
    assert [(r.stage, r.current, r.entered) for r in report.stages] == [
        ("Cold Lead", 3, 2), ("Unqualified", 1, 0), ("Lost to competitor", 1, 0)]
    assert [(r.lost_stage, r.from_stage, r.contacts) for r in report.lost_from] == [
        ("Cold Lead", "New Lead", 1), ("Cold Lead", "Hot Lead", 1)]
    assert [(r.lost_stage, r.to_stage) for r in report.came_back] == [("Cold Lead", "New Lead")]
    assert (report.lost_contacts, report.came_back_contacts) == (2, 1)


# ---- response ------------------------------------------------------------------------------

def conversation(session, contact_id: int, hours: float, seconds: int | None, conv: str = "c1") -> None:
    first_in = at(hours)
    session.add(model.ConversationStat(
        contact_id=contact_id, channel="whatsapp", conversation_id=conv, first_inbound_at=first_in,
        first_outbound_at=None if seconds is None else first_in + timedelta(seconds=seconds),
        first_response_seconds=seconds))


@pytest.fixture
def response_data(store):
    with store.transaction() as s:
        for hours, seconds, lost_too in ((0, 120, False), (1, 600, True), (2, 7200, True), (3, 100_000, True),
                                         (4, None, True), (5, None, False), (8, 300, False)):
            cid = contact(s, ("New Lead", hours), *([("Cold Lead", hours + 48)] if lost_too else []))
            conversation(s, cid, hours, seconds)
        late = contact(s, ("New Lead", 6))  # first conversation answered after 25h, a later one at once
        conversation(s, late, 6, 90_000, "c1")
        conversation(s, late, 24 * 7, 60, "c2")
    return store


def test_response_buckets_each_contact_by_its_first_conversation(response_data):
    report = response(response_data, CONFIG)
    assert [(b.label, b.contacts, b.lost, b.lost_share) for b in report.buckets] == [
        ("< 5 min", 1, 0, 0.0), ("5–60 min", 2, 1, 0.5), ("1–24 h", 1, 1, 1.0), ("> 24 h", 2, 1, 0.5),
        ("never answered", 2, 1, 0.5)]
    assert (report.contacts, report.lost, report.lost_share) == (8, 4, 0.5)


def test_response_window_is_on_the_first_conversation(response_data):
    report = response(response_data, CONFIG, start=at(5))
    assert {b.label: b.contacts for b in report.buckets if b.contacts} == {
        "never answered": 1, "> 24 h": 1, "5–60 min": 1}
    # the contact's later conversation (day 7) does not bring it into a later window
    assert response(response_data, CONFIG, start=at(24)).contacts == 0


# ---- attribution ---------------------------------------------------------------------------

def touch(session, cid, hours, network, campaign, ad, channel):
    session.add(model.Touchpoint(key=f"t{cid}-{hours}", contact_id=cid, channel=channel, network=network,
                                 campaign_id=campaign, ad_id=ad, occurred_at=at(hours), source="test", record_id="r"))


def convert(session, cid, hours, kind, value=None, currency=None):
    session.add(model.ConversionEvent(event_id=f"e{cid}-{hours}-{kind}", contact_id=cid, kind=kind, value=value,
                                      currency=currency, occurred_at=at(hours), source="test", object="o",
                                      record_id="r"))


@pytest.fixture
def attribution_data(store):
    with store.transaction() as s:
        p1, p2, p3, p4 = (contact(s, ("New Lead", 0)) for _ in range(4))
        touch(s, p1, 0, "meta", "C1", "A1", "whatsapp")
        touch(s, p1, 5, "google", "C2", "A2", "web")
        touch(s, p1, 20, "tiktok", "C3", "A3", "tiktok")
        convert(s, p1, 1, "lead")  # no value
        convert(s, p1, 10, "purchase", 100.0, "EUR")
        convert(s, p1, 30, "purchase", 50.0, "EUR")
        touch(s, p2, 2, "meta", "C1", None, "messenger")
        convert(s, p2, 2, "purchase", 30.0, "USD")  # a touch at the very same instant counts
        touch(s, p3, 50, "meta", "C4", "A4", "instagram")
        convert(s, p3, 40, "purchase", 20.0, "EUR")  # its only touch came later: unattributed
        convert(s, p4, 3, "booking", 10.0)  # no touchpoint, no currency
    return store


def credit(breakdown, dimension):
    return [(r.key, r.conversions, r.value) for r in breakdown.rows(dimension)]


def test_attribution_first_and_last_touch(attribution_data):
    report = attribution(attribution_data, CONFIG)
    assert (report.conversions, report.value) == (6, {"EUR": 170.0, "USD": 30.0, "XXX": 10.0})
    assert (report.unattributed, report.unattributed_value) == (2, {"EUR": 20.0, "XXX": 10.0})
    first, last = report.first_touch, report.last_touch
    assert credit(first, "campaign") == [("C1", 4, {"EUR": 150.0, "USD": 30.0})]
    assert credit(first, "ad") == [("A1", 3, {"EUR": 150.0}), (None, 1, {"USD": 30.0})]
    assert credit(first, "channel") == [("whatsapp", 3, {"EUR": 150.0}), ("messenger", 1, {"USD": 30.0})]
    assert credit(last, "campaign") == [("C1", 2, {"USD": 30.0}), ("C2", 1, {"EUR": 100.0}), ("C3", 1, {"EUR": 50.0})]
    assert credit(last, "network") == [("meta", 2, {"USD": 30.0}), ("google", 1, {"EUR": 100.0}),
                                       ("tiktok", 1, {"EUR": 50.0})]
    assert report.as_dict()["last_touch"]["campaign"][1] == {"key": "C2", "conversions": 1, "value": {"EUR": 100.0}}


def test_attribution_window(attribution_data):
    report = attribution(attribution_data, CONFIG, start=at(5), end=at(35))
    assert (report.conversions, report.unattributed) == (2, 0)
    assert credit(report.first_touch, "campaign") == [("C1", 2, {"EUR": 150.0})]
    assert credit(report.last_touch, "campaign") == [("C2", 1, {"EUR": 100.0}), ("C3", 1, {"EUR": 50.0})]


# ---- delivery ------------------------------------------------------------------------------

def queued(session, n, destination, delivery_status=None, response=None, *, kind="conversion", created=None):
    item = model.Outbox(idempotency_key=f"k{n}", kind=kind, destination=destination, payload={"event_id": f"e{n}"},
                        created_at=created or at(1))
    session.add(item)
    session.flush()
    if delivery_status:
        session.add(model.Delivery(outbox_id=item.id, destination=destination, status=delivery_status,
                                   response=response or {}))


@pytest.fixture
def delivery_data(store):
    with store.transaction() as s:
        queued(s, 1, "meta", "sent", {"click_id": "ctwa_clid", "keys": ["em", "ph", "external_id"]})
        queued(s, 2, "meta", "sent", {"click_id": None, "keys": ["ph"]})
        queued(s, 3, "meta", "sent", {"click_id": "fbc", "keys": ["em"]})
        queued(s, 4, "meta", "failed")
        queued(s, 5, "meta")  # not picked up yet: no delivery row
        queued(s, 6, "meta", "dead")
        queued(s, 7, "tiktok", "sent", {"click_id": "ttclid", "keys": "em"})  # keys not a list: ignored
        queued(s, 8, "tiktok", "pending")
        queued(s, 9, "google", "sent")
        queued(s, 10, "hubspot", "sent", {"click_id": "gclid", "keys": ["em"]}, kind="push")  # not a conversion
        queued(s, 11, "meta", "sent", {"click_id": "fbc", "keys": ["em"]}, created=at(-48))  # before the window
    return store


def test_delivery_health_per_destination(delivery_data):
    report = delivery(delivery_data, CONFIG, start=at(0))
    got = {d.destination: d for d in report.destinations}
    assert sorted(got) == ["google", "meta", "tiktok"]
    meta = got["meta"]
    assert (meta.events, meta.sent, meta.failed, meta.dead, meta.pending, meta.other) == (6, 3, 1, 1, 1, 0)
    assert (meta.with_click_id, meta.click_id_share, meta.click_ids) == (2, 2 / 3, {"ctwa_clid": 1, "fbc": 1})
    assert meta.keys == {"em": 2, "external_id": 1, "ph": 2}
    assert meta.key_shares == {"em": 2 / 3, "external_id": 1 / 3, "ph": 2 / 3}
    tiktok = got["tiktok"]
    assert (tiktok.events, tiktok.sent, tiktok.pending, tiktok.click_id_share, tiktok.keys) == (2, 1, 1, 1.0, {})
    assert (got["google"].sent, got["google"].click_id_share, got["google"].key_shares) == (1, 0.0, {})
    everything = {d.destination: d.events for d in delivery(delivery_data, CONFIG).destinations}
    assert everything == {"google": 1, "meta": 7, "tiktok": 2}


# ---- HTML ----------------------------------------------------------------------------------

def test_html_is_self_contained_and_escapes_names(attribution_data, tmp_path):
    evil = '<script>alert("x")</script>'
    with attribution_data.transaction() as s:
        p = contact(s, ("New Lead", 0), ("Cold Lead", 3))
        touch(s, p, 0, "meta", evil, "A&B", "whatsapp")
        convert(s, p, 1, "purchase", 5.0, "EUR")
        conversation(s, p, 0, 400)
    out = write_html(tmp_path / "report.html", attribution_data, CONFIG)
    text = out.read_text(encoding="utf-8")
    assert "http://" not in text and "https://" not in text
    assert "<script" not in text and "<link" not in text and "src=" not in text
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in text and "A&amp;B" in text
    assert text.count("<svg") == 4  # funnel, drop-off, response, campaigns
    for heading in ("Lifecycle funnel", "Lost stages", "First response vs drop-off", "Conversions by campaign"):
        assert f"<h2>{heading}</h2>" in text


# ---- CLI -----------------------------------------------------------------------------------

@pytest.fixture
def cli(database_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.delenv("LIFESYNC_CONFIG_DIR", raising=False)
    group = click.Group("lifesync")
    register(group)
    runner = CliRunner()
    return lambda *args: runner.invoke(group, ["report", *args])


def test_cli_funnel_json_and_table(funnel_data, cli):
    res = cli("funnel", "--json", "--from", "2026-03-01", "--to", "2026-03-01")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.output)
    assert doc["end"] == "2026-03-02T00:00:00+00:00"  # --to with a date includes the day
    assert [(r["stage"], r["entered"]) for r in doc["stages"]] == [
        ("New Lead", 5), ("Hot Lead", 3), ("Payment", 2), ("Customer", 1)]
    res = cli("funnel")
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    assert lines[1].split() == ["stage", "phase", "entered", "now", "moved", "on", "rate", "median", "stay"]
    new_lead = next(line for line in lines if line.strip().startswith("New Lead"))
    assert new_lead.split()[2:] == ["acquisition", "5", "1", "3", "60.0%", "3h", "0m"]


def test_cli_every_report_prints(attribution_data, cli):
    for name in ("lost", "response", "attribution", "delivery"):
        res = cli(name)
        assert res.exit_code == 0, (name, res.output)
    assert "first-touch by campaign" in cli("attribution").output


def test_cli_rejects_bad_windows(cli, store):
    res = cli("funnel", "--from", "March")
    assert res.exit_code == 2 and "is not an ISO date" in res.output
    res = cli("lost", "--from", "2026-03-05", "--to", "2026-03-01")
    assert res.exit_code == 2 and "must be before --to" in res.output


def test_cli_html(funnel_data, cli, tmp_path):
    res = cli("html", str(tmp_path / "r.html"), "--from", "2026-03-01")
    assert res.exit_code == 0, res.output
    assert "<svg" in (tmp_path / "r.html").read_text(encoding="utf-8")
