"""Nothing dropped silently: every value a mapping or the lifecycle refuses is one quality_issues row."""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import replace

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from sync.config import load_config
from sync.ingest.pipeline import ingest
from sync.mappings.engine import apply
from sync.outbox.effects import Effects
from sync.store import model

CONFIG = load_config(None)
HUBSPOT = CONFIG.mappings[("hubspot", "contacts")]
EMAILS = {"ana@example.com": None, "bo@example.org": None, "not-an-email": "invalid_email", "a@b": "invalid_email"}
PHONES = {"+1 650 253 0000": None, "(650) 253-0001": None, "600 111 222": "invalid_phone", "12345678": "invalid_phone"}
STAGES = {"lead": None, "customer": None, "weird": "unmapped_value", "zzz-stage": "unmapped_value"}
FIELD_OF = {"invalid_email": "email", "invalid_phone": "phone", "unmapped_value": "stage"}
_ids = itertools.count()


def hubspot(record_id: str, *, email: str | None = None, phone: str | None = None, stage: str | None = None,
            at: str = "2026-03-01T10:00:00Z") -> dict:
    return {"id": record_id, "updatedAt": at, "archived": False,
            "properties": {"email": email, "phone": phone, "firstname": "Ana", "lifecyclestage": stage}}


def issues(store, record_ids=None) -> list[model.QualityIssue]:
    with store.transaction() as session:
        q = select(model.QualityIssue).order_by(model.QualityIssue.id)
        if record_ids is not None:
            q = q.where(model.QualityIssue.record_id.in_(record_ids))
        found = list(session.scalars(q))
        session.expunge_all()
        return found


def run(store, records, config=CONFIG):
    return ingest("hubspot", "contacts", records, store=store, config=config, batch_size=50,
                  effects=Effects.rules_only(config))


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from([None, *EMAILS]), st.sampled_from([None, *PHONES]),
                          st.sampled_from([None, *STAGES])), min_size=1, max_size=6))
def test_every_dropped_value_appears_exactly_once_in_the_quality_rows(migrated_store, values):
    records = [hubspot(f"hs-{next(_ids)}", email=e, phone=p, stage=s) for e, p, s in values]
    expected = Counter()
    for record, (e, p, s) in zip(records, values, strict=True):
        for pool, value in ((EMAILS, e), (PHONES, p), (STAGES, s)):
            if value is not None and pool[value] is not None:
                expected[(record["id"], FIELD_OF[pool[value]], pool[value])] += 1
    first = run(migrated_store, records)
    again = run(migrated_store, records)  # read again (a re-sync): nothing counts twice
    ids = [r["id"] for r in records]
    rows = issues(migrated_store, ids)
    assert Counter((r.record_id, r.field, r.kind) for r in rows) == expected
    assert all(r.resolved_at is None for r in rows)
    assert first.refused_values == again.refused_values == sum(expected.values())
    assert first.dead_lettered == 0 and first.records == len(records)
    assert all(r.value is None for r in rows if r.kind != "unmapped_value")  # phones and e-mails: never shown
    assert {r.value for r in rows if r.kind == "unmapped_value"} <= set(STAGES)


def test_a_later_valid_value_resolves_the_issue_and_a_relapse_reopens_it(store):
    run(store, [hubspot("h1", phone="600 111 222", email="ana@example.com")])
    (issue,) = issues(store)
    assert (issue.field, issue.kind, issue.mapping, issue.contact_id is not None) == ("phone", "invalid_phone",
                                                                                    "hubspot_contacts", True)
    assert issue.reason == "not a valid phone number for region US" and issue.value is None
    run(store, [hubspot("h1", phone="+1 650 253 0000", email="ana@example.com", at="2026-03-02T10:00:00Z")])
    (fixed,) = issues(store)
    assert fixed.id == issue.id and fixed.resolved_at is not None
    run(store, [hubspot("h1", phone="600 111 222", email="ana@example.com", at="2026-03-03T10:00:00Z")])
    (again,) = issues(store)
    assert again.id == issue.id and again.resolved_at is None and again.created_at == issue.created_at


def test_a_stage_the_lifecycle_lacks_is_refused_and_the_record_lands(store):
    plain = replace(HUBSPOT, stage=replace(HUBSPOT.stage, transforms=()))  # the vendor's value as the stage
    config = replace(CONFIG, mappings={**CONFIG.mappings, ("hubspot", "contacts"): plain})
    result = run(store, [hubspot("h2", email="bo@example.org", stage="Weird")], config)
    assert (result.created, result.dead_lettered, result.refused_values) == (1, 0, 1)
    (issue,) = issues(store)
    assert (issue.field, issue.kind, issue.value) == ("stage", "unknown_stage", "Weird")
    assert "not a stage of the lifecycle" in issue.reason and "New Lead" in issue.reason
    with store.transaction() as session:
        contact = session.scalars(select(model.Contact)).one()
        assert contact.stage == CONFIG.lifecycle.default_stage  # as a record reporting no stage
        assert contact.attributes["email"]["value"] == "bo@example.org"


def test_the_patch_carries_its_refusals_and_the_same_value_twice_is_one():
    patch = apply(HUBSPOT, hubspot("h3", email="nope", phone="600 111 222", stage="weird"))
    assert [(r.field, r.kind) for r in patch.refusals] == [  # in the order read; the identities' copies dropped
        ("stage", "unmapped_value"), ("email", "invalid_email"), ("phone", "invalid_phone")]
    assert patch.stage is None and dict(patch.fields).get("phone") is None
    assert [str(i) for i in patch.identities] == ["hubspot:h3"]
    shown = patch.to_json()["refused_values"]
    assert shown[0] == {"field": "stage", "kind": "unmapped_value", "value": "weird",
                        "reason": "not one of the mapped values (lead, subscriber, salesqualifiedlead, "
                                  "marketingqualifiedlead, opportunity, customer, evangelist, other)"}
    assert shown[1]["value"] is None and "nope" not in str(shown)


def test_a_blank_modified_at_is_refused_and_the_record_is_dated_by_its_arrival():
    from datetime import UTC, datetime

    arrived = datetime(2026, 5, 1, 12, tzinfo=UTC)
    patch = apply(HUBSPOT, hubspot("h4", email="ana@example.com", at=""), arrived)
    assert patch.source_time == arrived
    assert [(r.field, r.kind) for r in patch.refusals] == [("modified_at", "no_modified_at")]
