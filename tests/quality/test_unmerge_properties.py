"""Unmerge: a merge undone gives both contacts back exactly; changes made since go to the contact they came from."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from itertools import count

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from support.lifecycle_fixtures import T0, make_config, patch

from sync.access.roles import Principal
from sync.crm.plan import CrmTarget
from sync.errors import Conflict, NotFound
from sync.ingest.pipeline import ingest_patches
from sync.outbox.effects import Effects
from sync.quality import merging, unmerging
from sync.reconcile.patch import ConversionData, IdentityRef, Refusal, TouchpointData
from sync.reports.export import contacts_json, find_contact
from sync.store import model

CONFIG = make_config()
OPERATOR = Principal(name="reviewer", role="operator", via="api")
STAGES = (None, "New Lead", "Hot Lead", "Payment", "Customer", "Cold Lead")
PHONE = "phone:+34600000002"
PROPERTY = settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

values = st.fixed_dictionaries({}, optional={"first_name": st.sampled_from(["Ana", "Bea", "Eva"]),
                                             "city": st.sampled_from(["Lima", "Quito"]),
                                             "score": st.integers(0, 9)})
record = st.tuples(st.integers(0, 100), st.sampled_from(STAGES), values, st.booleans(), st.booleans())


def _patch(source: str, rec: str, ids: list[str], drawn: tuple, offset: int = 0):
    minutes, stage, fields, touch, buys = drawn
    p = patch(source, rec, ids, minutes=minutes + offset, stage=stage, **fields)
    at = T0 + timedelta(minutes=minutes + offset)
    refused = (Refusal("phone", "invalid_phone", "a phone number valid for region US"),) if minutes % 3 == 0 else ()
    return replace(p, refusals=refused,
                   touchpoints=(TouchpointData("ads", at, "meta", ad_id=f"ad-{rec}-{offset}"),) if touch else (),
                   conversions=(ConversionData("purchase", at, 10.0 + minutes, "EUR", f"o-{rec}-{offset}"),)
                   if buys else ())


EXAMPLE = count(1)  # each example its own people: no database wipe between examples (a TRUNCATE costs ~1 s)


def people(a1, a2, b1, b2, twins: bool) -> tuple[str, dict[str, list]]:
    """Two people, two records each; ``twins``: B's HubSpot contact carries A's e-mail (a blocked merge)."""
    n = next(EXAMPLE)
    email_a, email_b, phone = f"email:a{n}@x.com", f"email:b{n}@x.com", f"phone:+34600{n:06d}"
    return str(n), {"a": [_patch("hubspot", f"ha{n}", [f"hubspot:ha{n}", email_a], a1),
                          _patch("salesforce", f"sa{n}", [f"salesforce:sa{n}", email_a], a2)],
                    "b": [_patch("hubspot", f"hb{n}", [f"hubspot:hb{n}", email_a if twins else email_b, phone], b1),
                          _patch("whatsapp", f"wb{n}", [f"whatsapp:wb{n}", phone], b2)]}


def ingest(store, patches, effects=None):
    result = ingest_patches(store, CONFIG, [(p, None) for p in patches], effects=effects)
    assert result.dead_lettered == 0


def ids(store, n: str = "") -> tuple[int, int]:
    with store.transaction() as s:
        return find_contact(s, IdentityRef("hubspot", f"ha{n}")), find_contact(s, IdentityRef("hubspot", f"hb{n}"))


def export(store, *contact_ids):
    with store.transaction() as s:
        return contacts_json(s, list(contact_ids))


def merge_and_log(store, a, b) -> int:
    return merging.merge_contacts(store, CONFIG, OPERATOR, a, b)["merge_id"]


@PROPERTY
@given(record, record, record, record, st.booleans(), st.randoms(use_true_random=False))
def test_unmerge_right_after_a_merge_restores_both_exported_contacts_exactly(store, a1, a2, b1, b2, twins, rnd):
    n, found = people(a1, a2, b1, b2, twins)
    batch = found["a"] + found["b"]
    rnd.shuffle(batch)
    ingest(store, batch)
    a, b = ids(store, n)
    assert a != b
    before = export(store, a, b)
    merge_id = merge_and_log(store, a, b)
    assert len(export(store, a, b)) == 1
    done = unmerging.unmerge(store, CONFIG, OPERATOR, merge_id)
    assert (done["kept"], done["restored"]) == (min(a, b), max(a, b))
    assert export(store, a, b) == before


@PROPERTY
@given(record, record, record, record, st.booleans(), st.lists(st.tuples(st.sampled_from(range(4)), record),
                                                                min_size=1, max_size=4))
def test_after_later_changes_each_row_goes_to_the_contact_its_record_came_from(store, a1, a2, b1, b2, twins, later):
    n, found = people(a1, a2, b1, b2, twins)
    ingest(store, found["a"] + found["b"])
    a, b = ids(store, n)
    merge_id = merge_and_log(store, a, b)
    records = found["a"] + found["b"]  # the same records changing later, each after everything before it
    ingest(store, [_patch(records[n].source, records[n].record_id, [str(r) for r in records[n].identities], drawn,
                          offset=200 + 200 * k) for k, (n, drawn) in enumerate(later)])
    unmerging.unmerge(store, CONFIG, OPERATOR, merge_id)
    owner = {(p.source, p.record_id): cid for cid, side in ((a, "a"), (b, "b")) for p in found[side]}
    with store.transaction() as s:
        def of(entity):
            return s.scalars(select(entity).where(entity.contact_id.in_((a, b))))

        rows = [(v.source, v.record_id, v.contact_id) for v in of(model.FieldValue)]
        rows += [(t.source, t.record_id, t.contact_id) for t in of(model.Touchpoint)]
        rows += [(c.source, c.record_id, c.contact_id) for c in of(model.ConversionEvent)]
        rows += [(q.source, q.record_id, q.contact_id) for q in of(model.QualityIssue)]
        rows += [(g.source, g.reason.split(" ", 2)[2], g.contact_id) for g in of(model.StageSignal)
                 if g.source != "lifesync"]
        holders = {f"{i.kind}:{i.value}": i.contact_id for i in of(model.Identity)}
    misplaced = [row for row in rows if owner[row[:2]] != row[2]]
    assert misplaced == []
    b_email = {} if twins else {f"email:b{n}@x.com": b}
    assert holders == {f"hubspot:ha{n}": a, f"salesforce:sa{n}": a, f"email:a{n}@x.com": a, f"hubspot:hb{n}": b,
                       f"whatsapp:wb{n}": b, f"phone:+34600{int(n):06d}": b, **b_email}


def test_unmerge_plans_the_crm_write_back_and_refuses_what_it_cannot_undo(store):
    ingest(store, [patch("hubspot", "ha", ["hubspot:ha", "email:a@x.com"], first_name="Ana"),
                   patch("hubspot", "hb", ["hubspot:hb", "email:b@x.com"], minutes=5, first_name="Bea"),
                   patch("salesforce", "sb", ["salesforce:sb", "email:b@x.com"], minutes=1, first_name="Beatriz")])
    a, b = ids(store)
    merge_id = merge_and_log(store, a, b)
    crm = Effects(crm_targets=(CrmTarget("hubspot", frozenset({"first_name"}), False, ("hubspot",)),))
    done = unmerging.unmerge(store, CONFIG, OPERATOR, merge_id, crm)
    with store.transaction() as s:
        queued = [(o.contact_id, o.payload["values"]) for o in s.scalars(select(model.Outbox).where(
            model.Outbox.kind == "crm"))]
        log = s.get(model.MergeLog, merge_id)
        pair = s.scalars(select(model.DuplicatePair)).one()
        entry = s.scalars(select(model.AuditEntry).where(model.AuditEntry.action == "duplicates.unmerge")).one()
    # B's salesforce first name wins (prefer salesforce) and HubSpot lacks it: queued for B's HubSpot record
    assert queued == [(b, {"first_name": "Beatriz"})] and done["write_backs"] == 1
    assert (log.unmerged_by, pair.status, pair.contact_a, pair.contact_b) == ("reviewer", "dismissed", a, b)
    assert entry.after["contacts"] == [a, b] and "x.com" not in entry.summary
    with pytest.raises(Conflict, match="already undone"):
        unmerging.unmerge(store, CONFIG, OPERATOR, merge_id)
    with pytest.raises(NotFound, match="no merge 999"):
        unmerging.unmerge(store, CONFIG, OPERATOR, 999)
    with store.transaction() as s:  # a merge logged before snapshots were kept
        s.add(model.MergeLog(kept_contact_id=a, merged_contact_id=123456, via="email", source="hubspot", record_id="x"))
    [old] = [m for m in unmerging.merges(store) if m["merged_contact_id"] == 123456]
    assert old["undoable"] is False
    with pytest.raises(Conflict, match="cannot be undone without guessing") as refused:
        unmerging.unmerge(store, CONFIG, OPERATOR, old["id"])
    assert refused.value.status == 409
