"""Contact search and detail as service functions (the API and the CLI call these)."""

from __future__ import annotations

import pytest
from support.lifecycle_fixtures import make_config, patch

from sync.errors import Invalid, NotFound
from sync.ingest.pipeline import ingest_patches
from sync.reconcile.patch import IdentityRef
from sync.reports import contact_search
from sync.reports.contact_detail import contact_detail
from sync.reports.contact_search import ContactFilter, search
from sync.reports.export import find_contact
from sync.store import model

CONFIG = make_config()


def ingest(store, *patches) -> None:
    for p in patches:
        ingest_patches(store, CONFIG, [(p, None)])


def test_detail_follows_merges_transitively(store):
    """C absorbs B, then A: the detail names both merges and the conflicts of the absorbed contacts."""
    ingest(store,
           patch("hubspot", "h1", ["email:c@example.com"], first_name="Cy"),
           patch("salesforce", "s1", ["phone:+34600000001"], minutes=1, first_name="Bea"),
           patch("shop", "o1", ["hubspot:1"], minutes=3, first_name="Al"),
           patch("whatsapp", "w1", ["email:c@example.com", "phone:+34600000001"], minutes=2, first_name="Cy B"),
           patch("shop", "o2", ["hubspot:1", "phone:+34600000001"], minutes=4))
    with store.transaction() as s:
        kept = find_contact(s, IdentityRef("email", "C@Example.com "))
        doc = contact_detail(s, CONFIG, kept)
        assert {find_contact(s, IdentityRef("hubspot", "1"))} == {kept}
    assert len(doc["merges"]) == 2 and {m["via"] for m in doc["merges"]} == {"phone"}
    absorbed = {m["merged_contact_id"] for m in doc["merges"]}
    assert kept not in absorbed and len(absorbed) == 2
    assert {c["contact_id"] for c in doc["conflicts"]} <= {kept, *absorbed}
    first = doc["fields"]["first_name"]
    assert first["rule"] == {"name": "prefer", "sources": ["salesforce"]}  # make_config's rule
    assert first["value"] == "Bea" and first["winner_source"] == "salesforce"
    assert sorted(c["source"] for c in first["candidates"]) == ["hubspot", "salesforce", "shop", "whatsapp"]
    with store.transaction() as s:
        for gone in absorbed:
            with pytest.raises(NotFound):
                contact_detail(s, CONFIG, gone)


def test_a_field_one_source_knows_is_decided_by_that_source(store):
    ingest(store, patch("hubspot", "h1", ["email:solo@example.com"], score=7))
    with store.transaction() as s:
        doc = contact_detail(s, CONFIG, find_contact(s, IdentityRef("email", "solo@example.com")))
    score = doc["fields"]["score"]
    assert score["decided_by"] == "only source" and score["rule"]["name"] == "max"
    assert score["value"] == 7 and [c["wins"] for c in score["candidates"]] == [True]


def test_search_validates_against_the_configuration(store):
    with store.transaction() as s:
        with pytest.raises(Invalid) as bad:
            search(s, CONFIG, ContactFilter(stage="Nope", lost_stage="New Lead", phase="orbit", identity="x"), 10)
        assert set(bad.value.errors) == {"stage", "lost_stage", "phase", "identity"}
        assert "New Lead" in bad.value.errors["stage"]
        with pytest.raises(Invalid):
            search(s, CONFIG, ContactFilter(), 10, before_id=2**63)
        assert search(s, CONFIG, ContactFilter(stage="Payment"), 10) == []


def test_search_normalises_identities_as_resolution_does(store):
    ingest(store, patch("hubspot", "h1", ["email:Mixed.Case@Example.com", "phone:+34600000009"], stage="New Lead"))
    with store.transaction() as s:
        for text in ("email:MIXED.case@example.COM", " Email : mixed.case@example.com "):
            [hit] = search(s, CONFIG, ContactFilter(identity=text), 10)
            assert "email:mixed.case@example.com" in hit["identities"] and hit["phase"] == "acquisition"
        assert search(s, CONFIG, ContactFilter(identity="phone:34600000009"), 10) == []  # no fuzzy matching


def _pages(session, f: ContactFilter, limit: int) -> list[int]:
    ids: list[int] = []
    while True:
        page = [c["id"] for c in search(session, CONFIG, f, limit, before_id=ids[-1] if ids else None)]
        ids += page
        if len(page) < limit:
            return ids


@pytest.mark.parametrize("walk", [1, 3, 1000])
def test_q_pages_are_the_same_whatever_the_walked_window(store, monkeypatch, walk):
    """A q page walks the newest ``WALK × limit`` contacts first and looks below them only when
    they hold too few matches: every window size gives every match once, newest first."""
    names = ["Dana Rossi", "Daniel Ruiz", "Ana Daniels", "Zoe Park", None, "Dan Brown"]
    with store.transaction() as s:
        made = [model.Contact(attributes={} if name is None else {
            "first_name": {"value": name.split()[0], "source": "x"},
            "last_name": {"value": name.split()[1], "source": "x"}}) for name in names * 7]
        s.add_all(made)
        s.flush()
        for k, c in enumerate(made):  # every fifth has an email starting "dan", every seventh a CRM id "Dan…"
            if k % 5 == 0:
                s.add(model.Identity(contact_id=c.id, kind="email", value=f"dan{k}@example.com", source="x"))
            if k % 7 == 3:
                s.add(model.Identity(contact_id=c.id, kind="hubspot", value=f"Dan{k}", source="x"))
        full = {c.id: (names * 7)[k] for k, c in enumerate(made)}
        emails = {c.id for k, c in enumerate(made) if k % 5 == 0}
        crm = {c.id for k, c in enumerate(made) if k % 7 == 3}
    monkeypatch.setattr(contact_search, "WALK", walk)
    named_dan = {i for i, n in full.items() if n and any(part.lower().startswith("dan") for part in n.split())}
    expected = {
        "Dan": named_dan | emails | crm,  # names compare lowercase, emails are stored so; "Dan" as typed finds "Dan3"
        "dan": named_dan | emails | (crm if store.engine.dialect.name == "sqlite" else set()),  # SQLite LIKE: any case
        "daniel": {i for i, n in full.items() if n in ("Daniel Ruiz", "Ana Daniels")},
        "zoe p": {i for i, n in full.items() if n == "Zoe Park"},
        "nobody": set(),
    }
    with store.transaction() as s:
        for text, want in expected.items():
            for limit in (1, 2, 5, 100):
                got = _pages(s, ContactFilter(q=text), limit)
                assert got == sorted(want, reverse=True), (text, limit)
        staged = _pages(s, ContactFilter(q="Dan", has_conversions=False), 4)  # other filters hold too
        assert staged == sorted(expected["Dan"], reverse=True)
