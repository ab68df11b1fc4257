"""The duplicate review queue: what a scan finds, what it never brings back, and merging on purpose."""

from __future__ import annotations

from sqlalchemy import select
from support.duplicates import hubspot_twins as twins_of
from support.lifecycle_fixtures import make_config, patch

from sync.access.roles import Principal
from sync.errors import Conflict, NotFound
from sync.ingest.pipeline import ingest_patches
from sync.quality import duplicates, merging
from sync.reconcile.patch import IdentityRef
from sync.reports.export import contacts_json, find_contact
from sync.store import model

CONFIG = make_config()
OPERATOR = Principal(name="reviewer", role="operator", via="api")


def ingest(store, *patches):
    result = ingest_patches(store, CONFIG, [(p, None) for p in patches])
    assert result.dead_lettered == 0


def contact(store, ref: str) -> int:
    with store.transaction() as s:
        return find_contact(s, IdentityRef.parse(ref))


def hubspot_twins(store, n: int) -> list[tuple[int, int]]:
    return twins_of(store, CONFIG, n)


def test_same_email_pairs_the_identity_rules_blocked_are_in_the_queue_with_their_evidence(store):
    twins = hubspot_twins(store, 3)
    assert all(a != b for a, b in twins)  # separate contacts: the rules refused to merge them
    assert duplicates.scan(store) == {"found": 3, "opened": 3, "closed": 0}
    queue = duplicates.pairs(store)
    assert [(p["contact_a"], p["contact_b"]) for p in queue] == sorted(twins)
    kinds = [[e["kind"] for e in p["evidence"]] for p in queue]
    assert kinds == [["blocked", "blocked", "email", "phone"]] * 3  # refused on e-mail and on phone
    assert {e["reason"] for e in queue[0]["evidence"] if e["kind"] == "blocked"} == {"both hold a different hubspot id"}
    assert "example.com" not in repr([p["evidence"] for p in queue]).lower()  # kinds, never the values
    detail = duplicates.pair_detail(store, queue[0]["id"])
    email = next(f for f in detail["fields"] if f["field"] == "email")
    assert email["a"]["value"] != email["b"]["value"] and email["same"] is False  # shown as each holds it
    assert [c["id"] for c in detail["contacts"]] == [queue[0]["contact_a"], queue[0]["contact_b"]]
    with store.transaction() as s:
        assert {k: v for k, v in duplicates.summary(s).items() if k != "scanned_at"} == {
            "open": 3, "dismissed": 0, "by_kind": {"blocked": 3, "email": 3, "phone": 3}}
    again = duplicates.scan(store)
    assert again == {"found": 3, "opened": 0, "closed": 0} and duplicates.pairs(store) == queue
    assert len(duplicates.pairs(store, limit=2)) == 2 and duplicates.pairs(store, after=queue[1]["id"]) == queue[2:]


def test_a_shared_phone_or_a_name_in_one_city_is_suspected_and_a_crowd_is_not(store):
    ingest(store, patch("hubspot", "h1", ["hubspot:h1", "phone:+34600111222"], first_name="Ana", last_name="Ruiz",
                        city="Sevilla"),
           patch("salesforce", "s1", ["salesforce:s1", "email:ana@x.com"], first_name="ana", last_name="RUIZ",
                 city=" sevilla", phone="+34 600 111 222"))
    crowd = [patch("whatsapp", f"w{k}", [f"whatsapp:w{k}"], first_name="Jo", last_name="Lee", city="Lima")
             for k in range(duplicates.MAX_GROUP + 1)]
    ingest(store, *crowd)
    with store.transaction() as s:
        found = duplicates.detect(s)
    h1, s1 = contact(store, "hubspot:h1"), contact(store, "salesforce:s1")
    assert found == {(min(h1, s1), max(h1, s1)): [{"kind": "name_city"}, {"kind": "phone"}]}


def test_a_dismissed_pair_never_comes_back_until_restored(store):
    [(a, _), _] = hubspot_twins(store, 2)
    duplicates.scan(store)
    pair = next(p for p in duplicates.pairs(store) if p["contact_a"] == a)
    done = duplicates.dismiss(store, OPERATOR, pair["id"])
    assert (done["status"], done["dismissed_by"]) == ("dismissed", "reviewer")
    for _ in range(2):
        duplicates.scan(store)
        assert pair["id"] not in [p["id"] for p in duplicates.pairs(store)]
        assert [p["id"] for p in duplicates.pairs(store, "dismissed")] == [pair["id"]]
    try:
        duplicates.dismiss(store, OPERATOR, pair["id"])
        raise AssertionError("dismissing twice must be refused")
    except Conflict as exc:
        assert "already dismissed" in exc.message
    duplicates.restore(store, OPERATOR, pair["id"])
    assert pair["id"] in [p["id"] for p in duplicates.pairs(store)]
    with store.transaction() as s:
        entries = list(s.scalars(select(model.AuditEntry).order_by(model.AuditEntry.id)))
        audited = [(e.action, e.target_id, e.actor) for e in entries]
        summaries = " ".join(e.summary for e in entries)
    target = str(pair["id"])
    assert audited == [("duplicates.dismiss", target, "reviewer"), ("duplicates.restore", target, "reviewer")]
    assert "example.com" not in summaries.lower()


def test_merging_on_purpose_previews_the_real_outcome_then_merges_through_the_same_path(store):
    [(a, b)] = hubspot_twins(store, 1)
    duplicates.scan(store)
    [pair] = duplicates.pairs(store)
    with store.transaction() as s:
        before = contacts_json(s, [a, b])
    shown = merging.preview(store, CONFIG, pair["id"])
    with store.transaction() as s:
        assert contacts_json(s, [a, b]) == before  # the preview wrote nothing
    assert (shown["kept"], shown["merged"]) == (a, b)
    assert shown["overrides"] == "both hold a different hubspot id"
    name = next(f for f in shown["fields"] if f["field"] == "first_name")
    assert name["winner"] == {"value": "Q0", "source": "hubspot"} and name["rule"] == "prefer" and name["from"] == "b"
    done = merging.merge(store, CONFIG, OPERATOR, pair["id"])
    assert {k: done[k] for k in ("kept", "merged", "fields", "stage_after")} == {
        k: shown[k] for k in ("kept", "merged", "fields", "stage_after")}
    with store.transaction() as s:
        [doc] = contacts_json(s, [a, b])
        log = s.get(model.MergeLog, done["merge_id"])
        assert (log.kept_contact_id, log.merged_contact_id, log.via, log.actor) == (a, b, "review", "reviewer")
        assert log.snapshot["gone"]["identities"] and s.get(model.Contact, b) is None
        entry = s.scalars(select(model.AuditEntry).where(model.AuditEntry.action == "duplicates.merge")).one()
    assert doc["id"] == a and {"hubspot:h0", "hubspot:d0"} <= set(doc["identities"])
    assert doc["fields"]["first_name"] == name["winner"] and entry.after["merge_id"] == done["merge_id"]
    assert duplicates.pairs(store) == []
    try:
        duplicates.pair_detail(store, pair["id"])
        raise AssertionError("a merged pair leaves the queue")
    except NotFound:
        pass
