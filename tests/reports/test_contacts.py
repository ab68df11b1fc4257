"""Contact search and detail as service functions (the API and the CLI call these)."""

from __future__ import annotations

import pytest
from support.lifecycle_fixtures import make_config, patch

from sync.errors import Invalid, NotFound
from sync.ingest.pipeline import ingest_patches
from sync.reconcile.patch import IdentityRef
from sync.reports.contact_detail import contact_detail
from sync.reports.contact_search import ContactFilter, search
from sync.reports.export import find_contact

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
