"""A contact of two brands is one person with a stage per brand: never a merge of the brands' funnels."""

from __future__ import annotations

from dataclasses import replace
from itertools import permutations

from support.lifecycle_fixtures import make_config, patch

from sync.config.brands import Brand, Brands
from sync.config.conversions import ConversionRules, StageRule
from sync.config.types import LostStageDef, StageDef
from sync.reconcile.patch import ActivityData
from sync.reconcile.workspace import Workspace

RULES = ConversionRules(on_stage=(StageRule("New Lead", "lead"), StageRule("Hot Lead", "qualified_lead")))
SPA = make_config(stages=(StageDef("Enquiry", "acquisition"), StageDef("Client", "retention")),
                  lost_stages=(LostStageDef("Gone Quiet"),), transitions=(), default_stage="Enquiry")
SPA_RULES = ConversionRules(on_stage=(StageRule("Enquiry", "lead"),))
BRANDS = Brands((Brand("default", "Glow"), Brand("lumen", "Lumen", ("hubspot:lumen",)),
                 Brand("spa", "Spa", ("shop:spa",), lifecycle=SPA, conversions=SPA_RULES)))


def _ws(config) -> Workspace:
    return Workspace(config, conversion_rules=RULES, brands=BRANDS)


def _records():
    glow = patch("hubspot", "1", ["email:ana@example.com", "hubspot:1"], minutes=1, stage="Hot Lead")
    lumen = replace(patch("hubspot", "1", ["email:ana@example.com"], minutes=2, stage="New Lead"), brand="lumen")
    spa = replace(patch("shop", "o9", ["email:ana@example.com"], minutes=3), brand="spa")
    return [glow, lumen, spa]


def test_one_person_gets_a_stage_in_each_brand_from_that_brands_records_and_lifecycle(config):
    ws = _ws(config)
    for p in _records():
        ws.apply(p)
    [ana] = ws.contacts()
    assert (ana.stage, ana.lost_stage) == ("Hot Lead", None)  # the default brand's: only Glow's record counts
    assert {b: (s.stage, [t.to_stage for t in s.transitions]) for b, s in ana.brand_stages.items()} == {
        "lumen": ("New Lead", ["New Lead"]), "spa": ("Enquiry", ["Enquiry"])}  # Spa's own default stage
    assert [t.to_stage for t in ana.transitions] == ["Hot Lead"]
    rows = {(r["brand"], r["kind"]) for r in ws.conversions}
    assert rows == {("default", "qualified_lead"), ("lumen", "lead"), ("spa", "lead")}
    assert len({r["event_id"] for r in ws.conversions}) == 3  # the same fact in two brands: two events


def test_the_stage_in_each_brand_does_not_depend_on_the_order_records_arrive(config):
    seen = set()
    for order in permutations(_records()):
        ws = _ws(config)
        for p in order:
            ws.apply(p)
        [ana] = ws.contacts()
        seen.add((ana.stage, ana.brand_positions(), tuple(sorted(r["event_id"] for r in ws.conversions))))
    assert len(seen) == 1


def test_an_inbound_message_moves_only_its_own_brands_stage(config):
    ws = _ws(config)
    cold = patch("hubspot", "1", ["email:ana@example.com"], minutes=1, stage="Cold Lead")
    ws.apply(cold)
    ws.apply(replace(cold, brand="lumen"))
    wrote = replace(patch("whatsapp", "m1", ["email:ana@example.com"], minutes=5), brand="lumen",
                    activities=(ActivityData("whatsapp", "inbound", cold.source_time.replace(minute=5)),))
    ws.apply(wrote)
    [ana] = ws.contacts()
    assert ana.lost_stage == "Cold Lead"  # Glow: still cold
    assert (ana.brand_stages["lumen"].stage, ana.brand_stages["lumen"].lost_stage) == ("New Lead", None)  # reactivated


def test_a_stage_another_brands_lifecycle_lacks_is_refused_for_that_brand_only(config):
    ws = _ws(config)
    ws.apply(patch("hubspot", "1", ["email:ana@example.com"], stage="Hot Lead"))
    out = ws.apply(replace(patch("shop", "2", ["email:ana@example.com"], stage="Hot Lead"), brand="spa"))
    [ana] = ws.contacts()
    assert out.refused == 1  # screened against Spa's lifecycle: the record lands, its stage becomes an issue
    [(_, landed)] = [x for x in ws.landed if x[1].brand == "spa"]
    [refusal] = landed.refusals
    assert (refusal.kind, refusal.value) == ("unknown_stage", "Hot Lead") and "Enquiry, Client" in refusal.reason
    assert ana.stage == "Hot Lead" and ana.brand_stages["spa"].stage == "Enquiry"  # Spa's own default stage
