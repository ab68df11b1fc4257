"""An unmerge gives each contact back its stage in every brand (``contact_stages``, histories)."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import select
from support.lifecycle_fixtures import make_config, patch

from sync.access.roles import Principal
from sync.config.brands import Brand, Brands
from sync.ingest.pipeline import ingest_patches
from sync.outbox.effects import Effects
from sync.quality import merging, unmerging
from sync.reconcile.patch import IdentityRef
from sync.reports.export import contacts_json, find_contact
from sync.store import model

CONFIG = make_config()
EFFECTS = Effects(brands=Brands((Brand("default", "Glow"), Brand("lumen", "Lumen", ("hubspot:lumen",)))))
OPERATOR = Principal(name="reviewer", role="operator", via="api")


def _stages(store, *contact_ids):
    with store.transaction() as s:
        rows = s.execute(select(model.ContactStage.contact_id, model.ContactStage.brand, model.ContactStage.stage)
                         .where(model.ContactStage.contact_id.in_(contact_ids)))
        histories = s.execute(select(model.StageTransition.contact_id, model.StageTransition.brand,
                                     model.StageTransition.to_stage).where(
            model.StageTransition.contact_id.in_(contact_ids)))
        return sorted(rows), sorted(histories)


def test_unmerge_restores_each_contacts_stage_in_every_brand(store):
    glow = patch("hubspot", "a1", ["hubspot:a1", "email:a@x.com"], minutes=1, stage="Hot Lead")
    lumen = replace(patch("hubspot", "b1", ["hubspot:b1", "email:b@x.com"], minutes=2, stage="New Lead"),
                    brand="lumen")
    result = ingest_patches(store, CONFIG, [(glow, None), (lumen, None)], effects=EFFECTS)
    assert result.dead_lettered == 0
    with store.transaction() as s:
        a, b = find_contact(s, IdentityRef("hubspot", "a1")), find_contact(s, IdentityRef("hubspot", "b1"))
        before = contacts_json(s, [a, b])
    stages_before = _stages(store, a, b)
    assert ("lumen", "New Lead") in {(brand, stage) for _, brand, stage in stages_before[0]}

    merge_id = merging.merge_contacts(store, CONFIG, OPERATOR, a, b, EFFECTS)["merge_id"]
    merged = _stages(store, a, b)
    assert {cid for cid, _, _ in merged[1]} == {min(a, b)}  # one contact holds both brands' histories

    unmerging.unmerge(store, CONFIG, OPERATOR, merge_id, EFFECTS)
    with store.transaction() as s:
        assert contacts_json(s, [a, b]) == before
    assert _stages(store, a, b) == stages_before


def test_unmerge_tells_a_brands_own_workspace_the_stage_the_unmerged_contact_has_there(store):
    from sync.outbox.targets import BrandConnection

    glow = patch("hubspot", "a1", ["hubspot:a1", "email:a@x.com"], minutes=1, stage="Hot Lead")
    lumen = replace(patch("hubspot", "b1", ["hubspot:b1", "email:b@x.com"], minutes=2, stage="New Lead"),
                    brand="lumen")
    ingest_patches(store, CONFIG, [(glow, None), (lumen, None)], effects=EFFECTS)
    with store.transaction() as s:
        a, b = find_contact(s, IdentityRef("hubspot", "a1")), find_contact(s, IdentityRef("hubspot", "b1"))
    merge_id = merging.merge_contacts(store, CONFIG, OPERATOR, a, b, EFFECTS)["merge_id"]
    pushing = replace(EFFECTS, brand_push=(BrandConnection("respondio", "lumen", "lumen"),))
    unmerging.unmerge(store, CONFIG, OPERATOR, merge_id, pushing)
    with store.transaction() as s:
        queued = sorted((o.destination, o.contact_id, o.payload["identifier"], o.payload["stage"])
                        for o in s.scalars(select(model.Outbox).where(model.Outbox.kind == "stage")))
    # b comes back with its stage at Lumen, told to Lumen's workspace; a has no stage there, so nothing for a
    assert queued == [("respondio/lumen", b, "email:b@x.com", "New Lead")]
