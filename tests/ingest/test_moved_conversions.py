"""Stage conversions converge with the stage history, whatever order the records came in, until delivered."""

from __future__ import annotations

from conftest import wipe
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from support.lifecycle_fixtures import T0, make_config, patch

from sync.config import load_config
from sync.ingest.moved_conversions import KEPT_RULE
from sync.ingest.pipeline import ingest_patches
from sync.outbox.effects import Effects
from sync.store import model

CONFIG = make_config(default_stage="New Lead")
RULES = load_config(None).conversions  # the bundled conversions.yaml: New Lead → lead, Hot Lead → qualified_lead
EFFECTS = Effects(conversion_rules=RULES, conversion_destinations=frozenset({"meta", "tiktok", "google"}))


def ingest(store, patches, batch: int) -> None:
    for start in range(0, len(patches), batch):
        ingest_patches(store, CONFIG, [(p, None) for p in patches[start:start + batch]], effects=EFFECTS)


def conversions(store) -> list[tuple]:
    """The conversions that count (not retracted): (kind, occurred_at, event_id, source, record_id)."""
    ce = model.ConversionEvent
    with store.transaction() as s:
        return sorted(tuple(r) for r in s.execute(select(ce.kind, ce.occurred_at, ce.event_id, ce.source, ce.record_id)
                                                   .where(ce.retracted_at.is_(None))))


def queued(store) -> list[tuple]:
    """(destination, event id, idempotency key) of every pending conversion outbox row of a counting conversion."""
    counting = {c[2] for c in conversions(store)}
    with store.transaction() as s:
        rows = s.execute(select(model.Outbox.destination, model.Outbox.payload, model.Outbox.idempotency_key)
                         .where(model.Outbox.kind == "conversion", model.Outbox.status == "pending"))
        return sorted((d, p["event_id"], k) for d, p, k in rows if p["event_id"] in counting)


def history(store) -> list[tuple]:
    st_ = model.StageTransition
    with store.transaction() as s:
        by_contact: dict[int, list[tuple]] = {}
        for cid, stage, at, source in s.execute(select(st_.contact_id, st_.to_stage, st_.at, st_.source)
                                                .order_by(st_.contact_id, st_.seq)):
            by_contact.setdefault(cid, []).append((stage, at, source))
        return sorted(by_contact.values())  # contact ids depend on the order: the histories do not


@st.composite
def people(draw):
    """A HubSpot contact and a Salesforce lead per person (same e-mail), lifecycle stages at differing times."""
    out = []
    stages = st.one_of(st.none(), st.sampled_from(["New Lead", "Hot Lead", "Payment"]))
    for k in range(draw(st.integers(1, 3))):
        email = f"email:p{k}@x.com"
        out.append(patch("hubspot", f"h{k}", [f"hubspot:{k}", email], minutes=draw(st.integers(0, 30)),
                         stage=draw(stages)))
        out.append(patch("salesforce", f"00Q{k}", [f"salesforce:00Q{k}", email], minutes=draw(st.integers(0, 30)),
                         stage=draw(stages)))
    return out


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ps=people(), data=st.data())
def test_any_order_of_the_same_records_gives_the_same_conversions(migrated_store, ps, data):
    shuffled = data.draw(st.permutations(ps))
    batch = data.draw(st.integers(1, len(ps)))
    wipe(migrated_store)
    ingest(migrated_store, ps, batch=len(ps))  # all at once: the workspace sees the converged history
    expected = conversions(migrated_store), queued(migrated_store), history(migrated_store)
    assert expected[0], "every person enters a stage with a rule"
    wipe(migrated_store)
    ingest(migrated_store, shuffled, batch=batch)  # one by one, or a few at a time, nothing dispatched between
    assert (conversions(migrated_store), queued(migrated_store), history(migrated_store)) == expected


def test_an_undelivered_conversion_takes_the_converged_time_and_id(store):
    hubspot = patch("hubspot", "h1", ["hubspot:1", "email:a@x.com"], minutes=20, stage="New Lead")
    salesforce = patch("salesforce", "00Q1", ["salesforce:00Q1", "email:a@x.com"], minutes=5, stage="New Lead")
    ingest(store, [salesforce, hubspot], batch=2)
    expected = conversions(store), queued(store)
    wipe(store)
    ingest(store, [hubspot], batch=1)
    [(_, first_at, first_id, first_source, _)] = conversions(store)
    assert (first_at, first_source) == (T0.replace(minute=20), "hubspot")
    ingest(store, [salesforce], batch=1)
    [(kind, at, event_id, source, record_id)] = conversions(store)
    assert (kind, at, source, record_id) == ("lead", T0.replace(minute=5), "salesforce", "salesforce contacts 00Q1")
    assert event_id != first_id
    assert (conversions(store), queued(store)) == expected
    assert [d for d, _, _ in queued(store)] == ["meta", "tiktok"]  # the outbox rows followed, none added


def _deliver(store, event_id: str, destination: str = "meta") -> None:
    with store.transaction() as s:
        [row] = [o for o in s.scalars(select(model.Outbox).where(model.Outbox.destination == destination))
                 if o.payload["event_id"] == event_id]
        row.status = "sent"
        s.add(model.Delivery(outbox_id=row.id, destination=destination, status="sent", attempts=1,
                             sent_at=model.utcnow()))


def test_a_delivered_conversion_keeps_its_id_and_time_when_its_entry_moves_earlier(store):
    ingest(store, [patch("hubspot", "h1", ["hubspot:1", "email:a@x.com"], minutes=20, stage="New Lead")], batch=1)
    [before] = conversions(store)
    _deliver(store, before[2])
    ingest(store, [patch("salesforce", "00Q1", ["salesforce:00Q1", "email:a@x.com"], minutes=5,
                         stage="New Lead")], batch=1)
    assert conversions(store) == [before]  # the same event id, time, source: nothing new, nothing changed
    assert history(store) == [[("New Lead", T0.replace(minute=5), "salesforce")]]  # the history is the converged one
    with store.transaction() as s:
        [note] = s.scalars(select(model.ConflictLog).where(model.ConflictLog.rule == KEPT_RULE))
        statuses = sorted(s.execute(select(model.Outbox.destination, model.Outbox.status)))
    assert (note.field, note.winner_source, note.source) == ("conversion:lead", "hubspot", "salesforce")
    assert note.candidates[0]["event_id"] == before[2]
    assert note.candidates[1]["at"] == T0.replace(minute=5).isoformat()
    assert statuses == [("meta", "sent"), ("tiktok", "pending")]  # tiktok still sends the delivered fact
    # the same records again: no second note, nothing changes
    ingest(store, [patch("salesforce", "00Q1", ["salesforce:00Q1", "email:a@x.com"], minutes=5,
                         stage="New Lead")], batch=1)
    with store.transaction() as s:
        assert len(list(s.scalars(select(model.ConflictLog).where(model.ConflictLog.rule == KEPT_RULE)))) == 1
    assert conversions(store) == [before]


def test_a_skipped_stage_retracts_an_undelivered_conversion_and_keeps_a_delivered_one(store):
    hubspot = [patch("hubspot", f"h{k}", [f"hubspot:{k}", f"email:{k}@x.com"], minutes=20, stage="New Lead")
               for k in (1, 2)]
    ingest(store, hubspot, batch=2)
    leads = {c[4]: c for c in conversions(store)}
    _deliver(store, leads["hubspot contacts h2"][2])
    ingest(store, [patch("salesforce", f"00Q{k}", [f"salesforce:00Q{k}", f"email:{k}@x.com"], minutes=5,
                         stage="Hot Lead") for k in (1, 2)], batch=2)  # New Lead at 20 is now a step back
    assert {(c[0], c[4]) for c in conversions(store)} == {
        ("qualified_lead", "salesforce contacts 00Q1"), ("qualified_lead", "salesforce contacts 00Q2"),
        ("lead", "hubspot contacts h2")}  # h1's lead was never a fact in the converged history: retracted
    with store.transaction() as s:
        [note] = s.scalars(select(model.ConflictLog).where(model.ConflictLog.rule == KEPT_RULE))
    assert note.candidates[0]["event_id"] == leads["hubspot contacts h2"][2] and note.candidates[1]["event_id"] is None
