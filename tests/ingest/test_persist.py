"""Reconciliation through the database: load → apply → flush keeps the pure rules' guarantees."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from conftest import wipe
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event, func, select
from support.lifecycle_fixtures import T0, make_config, patch

from sync.ingest.pipeline import ingest_patches
from sync.reconcile.patch import ActivityData, ConversionData, IdentityRef, TouchpointData
from sync.reconcile.workspace import Echo, echo_digest
from sync.reports.export import contacts_json, export_all, find_contact
from sync.store import model

CONFIG = make_config()


def export(store) -> list[dict]:
    with store.transaction() as s:
        docs = list(export_all(s))
    for d in docs:
        d.pop("id")
    return sorted(docs, key=lambda d: d["identities"])


def ingest(store, patches, batch: int = 100):
    results = []
    for start in range(0, len(patches), batch):
        results.append(ingest_patches(store, CONFIG, [(p, None) for p in patches[start:start + batch]]))
    return results


def test_round_trip_of_every_kind_of_row(store):
    p = patch("whatsapp", "wamid.1", ["whatsapp:34600111222", "phone:+34600111222"], stage="New Lead",
              first_name="Ana")
    p = replace(p, touchpoints=(TouchpointData("whatsapp", T0, "meta", ad_id="ad-1",
                                               click_ids=(("ctwa_clid", "ARAk"),)),),
                activities=(ActivityData("whatsapp", "inbound", T0, "wamid.1"),),
                conversions=(ConversionData("lead", T0),))
    [r] = ingest(store, [p])
    assert (r.created, r.dead_lettered) == (1, 0)
    with store.transaction() as s:
        cid = find_contact(s, IdentityRef("phone", "+34600111222"))
        [doc] = contacts_json(s, [cid])
    assert doc["stage"] == "New Lead" and doc["fields"]["first_name"] == {"value": "Ana", "source": "whatsapp"}
    assert doc["touchpoints"][0]["click_ids"] == {"ctwa_clid": "ARAk"}
    assert doc["conversions"][0]["kind"] == "lead" and len(doc["conversions"][0]["event_id"]) == 40
    assert doc["stage_history"] == [{"from": None, "to": "New Lead", "at": T0.isoformat(), "source": "whatsapp",
                                     "reason": "forward: whatsapp contacts wamid.1"}]
    # the same record again changes nothing and adds no rows
    [again] = ingest(store, [p])
    assert (again.created, again.updated, again.unchanged) == (0, 0, 1)
    with store.transaction() as s:
        counts = [s.scalar(select(func.count()).select_from(t)) for t in
                  (model.Activity, model.Touchpoint, model.ConversionEvent, model.StageSignal, model.Identity)]
    assert counts == [1, 1, 1, 2, 2]


def test_merge_across_batches_moves_everything_to_the_older_contact(store):
    a = replace(patch("hubspot", "1", ["hubspot:1", "email:a@x.com"], stage="Hot Lead", city="Madrid"),
                touchpoints=(TouchpointData("ads", T0, "meta", ad_id="ad-9"),))
    b = patch("salesforce", "003B", ["salesforce:003B", "phone:+14155550100"], minutes=3, stage="Payment",
              city="Sevilla")
    ingest(store, [a])
    ingest(store, [b])
    [r] = ingest(store, [patch("respondio", "9", ["email:a@x.com", "phone:+14155550100"], minutes=5)])
    assert r.merged == 1
    docs = export(store)
    assert len(docs) == 1
    [doc] = docs
    assert doc["stage"] == "Payment" and doc["fields"]["city"]["value"] == "Sevilla"
    assert len(doc["touchpoints"]) == 1
    assert [h["to"] for h in doc["stage_history"]] == ["Hot Lead", "Payment"]
    with store.transaction() as s:
        assert s.scalar(select(func.count()).select_from(model.Contact)) == 1
        assert s.scalar(select(model.MergeLog.via)) == "phone"
        live = select(model.Contact.id)
        for child in (model.FieldValue, model.StageSignal, model.StageTransition, model.Identity):
            orphans = select(func.count()).select_from(child).where(child.contact_id.not_in(live))
            assert s.scalar(orphans) == 0, child.__tablename__


def test_a_batch_uses_a_fixed_number_of_statements(store):
    def statements(n):
        ps = [patch("hubspot", str(i), [f"hubspot:{i}", f"email:p{i}@x.com", f"phone:+1415555{i:04d}"],
                    minutes=i % 7, stage="New Lead", city="c", first_name="f") for i in range(1, n + 1)]
        wipe(store)
        ingest(store, ps[: n // 2], batch=n)  # half exist already
        seen = []
        listener = lambda *args: seen.append(args[2])  # noqa: E731
        event.listen(store.engine, "before_cursor_execute", listener)
        try:
            ingest(store, [replace(p, source_time=p.source_time + timedelta(hours=1), fields=(("city", "d"),))
                           for p in ps], batch=n)
        finally:
            event.remove(store.engine, "before_cursor_execute", listener)
        return len(seen)

    assert statements(200) == statements(1000)  # both above sync.store.sql.COPY_THRESHOLD rows per table


def test_echo_record_survives_a_round_trip(store):
    ingest(store, [patch("hubspot", "1", ["hubspot:1", "email:p@x.com"], minutes=1, city="A")])
    with store.transaction() as s:
        cid = find_contact(s, IdentityRef("hubspot", "1"))
        s.add(model.EchoRecord(system="salesforce", contact_id=cid, field="city", digest=echo_digest("A"),
                               origin_source="hubspot", origin_time=T0 + timedelta(minutes=1)))
    ingest(store, [patch("hubspot", "1", ["hubspot:1"], minutes=2, city="B")])
    ingest(store, [patch("salesforce", "003", ["salesforce:003", "email:p@x.com"], minutes=3, city="A")])
    [doc] = export(store)
    assert doc["fields"]["city"] == {"value": "B", "source": "hubspot"}
    assert Echo(echo_digest("A"), "hubspot", T0) != Echo(echo_digest("B"), "hubspot", T0)


SOURCES = ["hubspot", "salesforce", "respondio"]
STAGES = ["New Lead", "Hot Lead", "Payment", "Customer", "Cold Lead"]


@st.composite
def scenarios(draw):
    out = []
    for n in range(draw(st.integers(1, 14))):
        k = draw(st.integers(1, 4))
        pool = [f"email:p{k}@x.com", f"phone:+1415555{k:04d}", f"hubspot:{k}", f"salesforce:003{k}"]
        ids = draw(st.lists(st.sampled_from(pool), min_size=1, max_size=3, unique=True))
        fields = draw(st.dictionaries(st.sampled_from(["city", "first_name", "score"]),
                                      st.one_of(st.none(), st.sampled_from(["a", "b"]), st.integers(0, 3)),
                                      max_size=2))
        out.append(patch(draw(st.sampled_from(SOURCES)), f"r{n}", ids, minutes=draw(st.integers(0, 4)),
                         stage=draw(st.one_of(st.none(), st.sampled_from(STAGES))), **fields))
    return out


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ps=scenarios(), data=st.data())
def test_database_state_is_independent_of_order_and_batching(migrated_store, ps, data):
    shuffled = data.draw(st.permutations(ps))
    batch = data.draw(st.integers(1, 5))
    wipe(migrated_store)
    ingest(migrated_store, ps, batch=len(ps))
    expected = export(migrated_store)
    wipe(migrated_store)
    ingest(migrated_store, shuffled, batch=batch)
    assert export(migrated_store) == expected


def test_mapping_on_a_worker_process_gives_the_same_state(store):
    from sync.config import load_config
    from sync.demo.business import generate_business
    from sync.ingest.pipeline import PROCESS_AFTER_BATCHES
    from sync.ingest.pipeline import ingest as ingest_records

    config = load_config(None)
    records = generate_business(seed=5, people_count=200).hubspot_contacts[:90]
    batch = 10
    assert len(records) > batch * (PROCESS_AFTER_BATCHES + 2)  # the worker maps several batches
    bad = dict(records[-1], id=None)  # a dead letter from the worker keeps its record
    # identities the worker cleans (junk phone, padded upper-case email) as ingest would
    messy = dict(records[-2], id="77700001", properties={
        **records[-2]["properties"], "hs_object_id": "77700001", "phone": "000-000-0000",
        "mobilephone": "", "email": "  Mixed.Case@Example.COM "})
    records = [*records[:-2], messy, records[-1]]
    results = []
    for in_process in (True, False):
        wipe(store)
        r = ingest_records("hubspot", "contacts", [*records, bad], store=store, config=config, batch_size=batch,
                           map_in_process=in_process)
        with store.transaction() as s:
            letters = [(d.stage, d.payload) for d in s.scalars(select(model.DeadLetter))]
        results.append((r.as_dict(), export(store), letters))
    assert results[0] == results[1]
    assert results[0][0]["dead_lettered"] == 1 and results[0][2] == [("mapping", bad)]
    merged = next(c for c in results[1][1] if "hubspot:77700001" in c["identities"])
    assert "email:mixed.case@example.com" in merged["identities"]
    assert not any(i.startswith("phone:") for i in merged["identities"])  # all zeros: junk


def test_a_value_only_change_keeps_when_the_contact_entered_its_stage(store):
    """stage_changed_at (what the stale-lead rule measures from) moves only with the stage."""
    ingest(store, [patch("hubspot", "h1", ["email:ana@example.com"], stage="Hot Lead", first_name="Ana")])

    def row():
        with store.transaction() as s:
            return s.execute(select(model.Contact.stage, model.Contact.stage_changed_at,
                                    model.Contact.attributes)).one()

    entered = row().stage_changed_at
    assert entered == T0
    ingest(store, [patch("hubspot", "h1", ["email:ana@example.com"], minutes=30, stage="Hot Lead",
                         first_name="Ana", city="Lima")])  # same stage reported again, a new value
    ingest(store, [patch("respondio", "r1", ["email:ana@example.com"], minutes=60, city="Cusco")])
    after = row()
    assert after.attributes["city"]["value"] == "Cusco" and after.stage == "Hot Lead"
    assert after.stage_changed_at == entered
    ingest(store, [patch("hubspot", "h1", ["email:ana@example.com"], minutes=90, stage="Customer")])
    assert row().stage == "Customer" and row().stage_changed_at == T0 + timedelta(minutes=90)
