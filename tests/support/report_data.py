"""Small hand-built data on a real database for the report tests: builders, and the fixtures more than one file uses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from support.lifecycle_fixtures import make_config
from sync.ingest import funnel_counts
from sync.store import model

T0 = datetime(2026, 3, 1, tzinfo=UTC)
CONFIG = make_config()


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
    funnel_counts.record(session, [], [{"contact_id": c.id, **r} for r in rows])  # as the writer does
    return c.id


def conversation(session, contact_id: int, hours: float, seconds: int | None, conv: str = "c1") -> None:
    first_in = at(hours)
    session.add(model.ConversationStat(
        contact_id=contact_id, channel="whatsapp", conversation_id=conv, first_inbound_at=first_in,
        first_outbound_at=None if seconds is None else first_in + timedelta(seconds=seconds),
        first_response_seconds=seconds))


def touch(session, cid, hours, network, campaign, ad, channel):
    session.add(model.Touchpoint(key=f"t{cid}-{hours}", contact_id=cid, channel=channel, network=network,
                                 campaign_id=campaign, ad_id=ad, occurred_at=at(hours), source="test", record_id="r"))


def convert(session, cid, hours, kind, value=None, currency=None):
    session.add(model.ConversionEvent(event_id=f"e{cid}-{hours}-{kind}", contact_id=cid, kind=kind, value=value,
                                      currency=currency, occurred_at=at(hours), source="test", object="o",
                                      record_id="r"))


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


def issue(session, source, record_id, field, kind, hours, *, contact_id=None, value=None, resolved=None):
    """A data-quality issue first seen ``hours`` after T0 (resolved ``resolved`` hours after T0)."""
    session.add(model.QualityIssue(
        key=f"{source}-{record_id}-{field}-{kind}", source=source, object="contacts", mapping=f"{source}_contacts",
        record_id=record_id, contact_id=contact_id, field=field, kind=kind, reason=f"expected a good {field}",
        value=value, created_at=at(hours), last_seen_at=at(hours),
        resolved_at=None if resolved is None else at(resolved)))


@pytest.fixture
def quality_data(store):
    """Two contacts (one without a stage, one without an e-mail), their sources' refused values, two suspected pairs."""
    with store.transaction() as s:
        a = model.Contact(stage=None, created_at=at(0))
        b = model.Contact(stage="New Lead", created_at=at(30))
        elsewhere = model.Contact(stage=None, created_at=at(0))  # staged only in another brand: not "without"
        s.add_all([a, b, elsewhere])
        s.flush()
        s.add(model.ContactStage(contact_id=elsewhere.id, brand="lumen", stage="New Lead"))
        s.add_all([model.Identity(contact_id=a.id, kind="hubspot", value="h1", source="hubspot"),
                   model.Identity(contact_id=a.id, kind="email", value="a@example.com", source="hubspot"),
                   model.Identity(contact_id=b.id, kind="salesforce", value="s1", source="salesforce")])
        issue(s, "hubspot", "h1", "email", "invalid_email", 0, contact_id=a.id)
        issue(s, "hubspot", "h1", "stage", "unmapped_value", 1, contact_id=a.id, value="weird", resolved=2)
        issue(s, "salesforce", "s1", "phone", "invalid_phone", 30, contact_id=b.id)
        # the duplicate review queue: an open pair found on day one, one dismissed on day two
        s.add_all([model.DuplicatePair(contact_a=a.id, contact_b=b.id, found_at=at(1), status="open",
                                       evidence=[{"kind": "blocked", "via": "email", "reason": "both hold a "
                                                  "different hubspot id"}, {"kind": "email"}]),
                   model.DuplicatePair(contact_a=a.id, contact_b=a.id + b.id, found_at=at(30), status="dismissed",
                                       evidence=[{"kind": "name_city"}])])
    return store


RETENTION_T0 = datetime(2026, 1, 1, tzinfo=UTC)


def day(month: int, dom: int, year: int = 2026) -> datetime:
    return datetime(year, month, dom, 12, 0, tzinfo=UTC)


def bought(session, cid: int, when: datetime, value: float, currency: str, *, brand: str = "default",
           retracted: bool = False, restated: float | None = None) -> None:
    """A purchase; ``retracted`` (a cancelled order) or ``restated`` (a partial refund: its value now)."""
    session.add(model.ConversionEvent(
        event_id=f"p{cid}-{when.isoformat()}", contact_id=cid, kind="purchase", value=value, currency=currency,
        occurred_at=when, source="shop", object="order", record_id=f"o{cid}-{when.day}", brand=brand,
        retracted_at=when + timedelta(days=1) if retracted else None,
        adjusted_value=restated, adjusted_currency=currency if restated is not None else None,
        adjusted_at=when + timedelta(days=1) if restated is not None or retracted else None))


@pytest.fixture
def retention_data(store):
    """Six people, two brands, a retracted and a restated purchase (the figures are worked out in test_retention)."""
    with store.transaction() as s:
        ana, ben, cem, dia, eve, fay = (model.Contact(stage="Customer") for _ in range(6))
        s.add_all([ana, ben, cem, dia, eve, fay])
        s.flush()
        tp = [("meta", "C1", "A1", ana, day(1, 2), "default"), ("google", "C2", "A2", ben, day(1, 19), "default"),
              ("meta", "C1", "A1", cem, day(2, 20), "default"),  # after Cem's first purchase: not his first touch
              ("tiktok", "C3", "A3", dia, day(1, 7), "lumen")]
        s.add_all(model.Touchpoint(key=f"t{c.id}", contact_id=c.id, channel="web", network=n, campaign_id=camp,
                                   ad_id=ad, occurred_at=when, source="test", record_id="r", brand=brand)
                  for n, camp, ad, c, when, brand in tp)
        bought(s, ana.id, day(1, 5), 100.0, "EUR")
        bought(s, ana.id, day(2, 10), 50.0, "EUR")
        bought(s, ben.id, day(1, 20), 80.0, "EUR")
        bought(s, ben.id, day(1, 25), 40.0, "EUR", retracted=True)
        bought(s, cem.id, day(2, 3), 60.0, "EUR", retracted=True)  # his first purchase, cancelled
        bought(s, cem.id, day(2, 15), 30.0, "EUR", restated=20.0)
        bought(s, dia.id, day(1, 8), 200.0, "USD", brand="lumen")
        bought(s, dia.id, day(3, 8), 100.0, "USD", brand="lumen")
        bought(s, eve.id, day(1, 12), 70.0, "EUR", retracted=True)  # never a customer
        bought(s, fay.id, day(12, 20, 2025), 10.0, "EUR")  # a customer since before the window
        bought(s, fay.id, day(1, 15), 10.0, "EUR")
        s.add_all([model.Activity(key="a1", contact_id=ana.id, channel="whatsapp", direction="inbound",
                                  occurred_at=day(3, 20), source="whatsapp"),
                   model.Activity(key="a2", contact_id=cem.id, channel="whatsapp", direction="outbound",
                                  occurred_at=day(5, 10), source="whatsapp")])  # after the window's end
    return store
