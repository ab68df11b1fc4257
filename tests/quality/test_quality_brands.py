"""Data quality and brands: an issue carries its record's brand, and the quality report narrows every section by it."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from support.brands import brand_config_dir
from support.report_data import at, issue

from sync.config import load_config
from sync.ingest.pipeline import ingest
from sync.outbox.effects import Effects
from sync.quality import duplicates
from sync.quality.report import quality
from sync.store import model


def rows(report, name):
    return [list(r) for r in report.section(name).rows]


@pytest.fixture
def config(tmp_path):
    return load_config(brand_config_dir(tmp_path))


def test_an_issue_carries_the_brand_of_its_records_connection_and_each_brands_record_is_its_own(store, config):
    record = {"id": "hs-1", "updatedAt": "2026-03-01T10:00:00Z", "archived": False,
              "properties": {"email": "not-an-email", "firstname": "Ana"}}
    for brand in ("default", "lumen"):
        ingest("hubspot", "contacts", [record], store=store, config=config, effects=Effects.rules_only(config),
               brand=brand)
    fixed = {**record, "updatedAt": "2026-03-02T10:00:00Z", "properties": {"email": "ana@example.com"}}
    ingest("hubspot", "contacts", [fixed], store=store, config=config, effects=Effects.rules_only(config),
           brand="lumen")  # Lumen's record is fixed; the default brand's one is not
    with store.transaction() as s:
        found = {(q.brand, q.kind, q.resolved_at is None) for q in s.scalars(select(model.QualityIssue))}
    assert found == {("default", "invalid_email", True), ("lumen", "invalid_email", False)}
    default, lumen = (quality(store, config, brand=b).section("contact_points").total for b in ("default", "lumen"))
    assert (default, lumen) == (1, 0)


@pytest.fixture
def two_brands(store):
    """Contacts of Glow (the default brand), of Lumen and of both, their issues and suspected pairs."""
    with store.transaction() as s:
        glow_bare = model.Contact(stage=None, created_at=at(0))  # dealt with Glow only, no stage there
        glow = model.Contact(stage="New Lead", created_at=at(0))
        lumen_bare = model.Contact(stage=None, created_at=at(0))  # dealt with Lumen only, no stage there
        both = model.Contact(stage="New Lead", created_at=at(0))
        s.add_all([glow_bare, glow, lumen_bare, both])
        s.flush()
        s.add_all([model.ContactStage(contact_id=lumen_bare.id, brand="lumen", stage=None),
                   model.ContactStage(contact_id=both.id, brand="lumen", stage="Hot Lead"),
                   model.Identity(contact_id=glow_bare.id, kind="hubspot", value="h1", source="hubspot"),
                   model.Identity(contact_id=glow.id, kind="salesforce", value="s1", source="salesforce"),
                   model.Identity(contact_id=lumen_bare.id, kind="whatsapp", value="w1", source="whatsapp"),
                   model.Identity(contact_id=both.id, kind="whatsapp", value="w2", source="whatsapp")])
        issue(s, "hubspot", "h1", "email", "invalid_email", 0, contact_id=glow_bare.id)
        issue(s, "whatsapp", "w1", "phone", "invalid_phone", 0, contact_id=lumen_bare.id)
        s.execute(model.QualityIssue.__table__.update().where(model.QualityIssue.record_id == "w1")
                  .values(brand="lumen"))
        s.add_all([model.DuplicatePair(contact_a=glow_bare.id, contact_b=glow.id, evidence=[{"kind": "email"}],
                                       found_at=at(1)),
                   model.DuplicatePair(contact_a=lumen_bare.id, contact_b=both.id, evidence=[{"kind": "phone"}],
                                       found_at=at(1)),
                   model.DuplicatePair(contact_a=glow.id, contact_b=both.id, evidence=[{"kind": "name_city"}],
                                       found_at=at(1))])
    return store


def test_every_section_narrows_to_the_brand_asked_for(two_brands, config):
    glow, lumen, every = (quality(two_brands, config, brand=b) for b in ("default", "lumen", None))
    assert rows(glow, "contact_points") == [["hubspot", 1, 1, 1, 0, 1], ["salesforce", 1, 0, 1, 0, 1],
                                            ["whatsapp", 1, 0, 1, 0, 1]]  # Glow, Glow, and the one of both
    assert rows(lumen, "contact_points") == [["whatsapp", 2, 0, 2, 1, 2]]
    assert [r[:3] for r in rows(glow, "refused_values")] == [["hubspot_contacts", "email", "invalid_email"]]
    assert [r[:3] for r in rows(lumen, "refused_values")] == [["whatsapp_contacts", "phone", "invalid_phone"]]
    assert rows(glow, "without_stage") == [["hubspot", 1]]  # no stage in Glow
    assert rows(lumen, "without_stage") == [["whatsapp", 1]]  # no stage in Lumen, though staged in Glow: no
    assert every.section("without_stage").total == 2
    assert rows(glow, "suspected_duplicates") == [["email", 1], ["name_city", 1]]  # both contacts dealt with Glow
    assert rows(lumen, "suspected_duplicates") == [["phone", 1]]
    assert every.section("suspected_duplicates").total == 3
    assert [s.total for s in glow.sections] == [1, 1, 1, 2, 1] and [s.total for s in lumen.sections] == [1, 1, 1, 1, 1]


def test_the_queue_and_its_actions_keep_to_the_brands_asked_for(two_brands):
    from sync.access.roles import Principal
    from sync.errors import NotFound

    lumen = ("lumen",)
    visible = duplicates.pairs(two_brands, brands=lumen)
    assert [p["evidence"] for p in visible] == [[{"kind": "phone"}]]
    assert len(duplicates.pairs(two_brands, brands=("default", "lumen"))) == 3
    other = next(p["id"] for p in duplicates.pairs(two_brands) if p["evidence"] == [{"kind": "email"}])
    who = Principal("lumen-op", "operator", brands=lumen)
    for act in (lambda: duplicates.pair_detail(two_brands, other, lumen),
                lambda: duplicates.dismiss(two_brands, who, other, lumen)):
        with pytest.raises(NotFound, match=f"no suspected duplicate pair {other}"):
            act()
    assert duplicates.dismiss(two_brands, who, visible[0]["id"], lumen)["status"] == "dismissed"
    assert duplicates.pairs(two_brands, "open", brands=None)[0]["id"] == other  # untouched


def test_unknown_brand_is_refused_by_name(two_brands, config):
    with pytest.raises(ValueError, match="unknown brand 'nowhere'; configured brands: default, lumen"):
        quality(two_brands, config, brand="nowhere")
