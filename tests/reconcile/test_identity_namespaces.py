"""Record ids of a brand's connection are their own namespace (``per_connection`` kinds as ``<connection>:<id>``):
a person in two brands' HubSpot portals is one contact holding one id of each, while the default connection's ids
stay bare, as before brands."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from support.brands import BRANDS, brand_config_dir
from support.lifecycle_fixtures import make_config

from sync.config import load_config
from sync.config.brands import DEFAULT_BRAND, Brand, Brands
from sync.config.types import IdentityKind
from sync.connectors.events import InboundEvent
from sync.errors import ConfigError
from sync.ingest.inbox import process_events, store_events
from sync.ingest.pipeline import ingest
from sync.outbox.targets import stage_outbox_rows
from sync.reconcile.brands import record_namespace
from sync.reconcile.identity import (
    clean,
    exclusive_clash,
    in_namespace,
    merge_blocker,
    namespaced,
    patch_refs,
)
from sync.reconcile.patch import IdentityRef, Patch
from sync.reports.contact_search import ContactFilter, search
from sync.reports.export import find_contact
from sync.store import model

KINDS = (IdentityKind("hubspot", exclusive=True, priority=3, per_connection=True),
         IdentityKind("whatsapp_user", exclusive=True, scoped=True, priority=5),
         IdentityKind("email", priority=10))


@pytest.fixture
def config():
    return make_config(identity_kinds=KINDS)


def ref(text: str) -> IdentityRef:
    return IdentityRef.parse(text)


def test_a_brands_connection_namespaces_only_per_connection_kinds_after_junk_is_dropped(config):
    refs = clean([ref("hubspot:901"), ref("email:Ana@Example.com"), ref("hubspot:null")], config)
    assert namespaced(refs, "lumen", config) == [ref("hubspot:lumen:901"), ref("email:ana@example.com")]
    assert namespaced(refs, None, config) == refs  # the default brand's connections: bare, as before
    patch = Patch("hubspot", "contacts", "901", identities=(ref("hubspot:901"),), connection="lumen")
    assert patch_refs(patch, config) == [ref("hubspot:lumen:901")] and patch.echo_system == "hubspot/lumen"
    assert Patch("hubspot", "contacts", "901").echo_system == "hubspot"


def test_exclusivity_holds_within_a_namespace(config):
    assert exclusive_clash([ref("hubspot:901")], [ref("hubspot:lumen:902")], config) is None
    assert exclusive_clash([ref("hubspot:901")], [ref("hubspot:902")], config) == "hubspot"  # as before
    assert exclusive_clash([ref("hubspot:lumen:901")], [ref("hubspot:lumen:902")], config) == "hubspot"
    assert exclusive_clash([ref("hubspot:lumen:901")], [ref("hubspot:aura:901")], config) is None
    assert exclusive_clash([ref("whatsapp_user:1:a")], [ref("whatsapp_user:1:b")], config) == "whatsapp_user"
    both = [ref("hubspot:901"), ref("email:ana@example.com")]
    assert merge_blocker(both, [ref("hubspot:lumen:901"), ref("email:ana@example.com")], "email", config) is None
    # a kind that is not per_connection keeps one namespace: the two portals' ids clash, as they did
    plain = make_config()
    assert exclusive_clash([ref("hubspot:901")], [ref("hubspot:lumen:902")], plain) == "hubspot"


def test_a_connections_own_id_is_read_back_without_its_namespace():
    assert in_namespace("lumen:901", "lumen") == "901"
    assert in_namespace("901", None) == "901"
    assert in_namespace("lumen:901", None) is None  # the default connection is never told another portal's id
    assert in_namespace("901", "lumen") is None and in_namespace("aura:901", "lumen") is None
    assert in_namespace("lumen:", "lumen") is None


def test_the_namespace_of_a_brands_records():
    brands = Brands((Brand(DEFAULT_BRAND, "Glow"), Brand("lumen", "Lumen", ("hubspot:lumen-eu", "whatsapp:a")),
                     Brand("aura", "Aura", ("whatsapp:b", "whatsapp:c", "hubspot:x", "hubspot:y"))))
    assert brands.namespace("hubspot", DEFAULT_BRAND, "default") is None
    assert brands.namespace("hubspot", DEFAULT_BRAND, "eu") is None  # unlisted: the default brand's, bare ids
    assert brands.namespace("hubspot", "lumen", "lumen-eu") == "lumen-eu"
    assert brands.namespace("hubspot", "lumen") == "lumen-eu"  # a file or a letter: the brand's one connection
    assert brands.namespace("salesforce", "lumen") == "lumen"  # none: the brand's key
    assert Brands((Brand(DEFAULT_BRAND, "Glow"), Brand("lumen", "Lumen", ("hubspot:default",)))).namespace(
        "hubspot", "lumen") is None  # the default connection's ids are bare, whichever brand owns it
    with pytest.raises(ValueError, match="brand 'aura' owns several hubspot connections"):
        brands.namespace("hubspot", "aura")
    lifecycle = make_config(identity_kinds=KINDS)
    with pytest.raises(ValueError, match=r"\(x, y\)"):
        record_namespace(brands, lifecycle, "hubspot", "aura", ["hubspot", "email"])
    assert record_namespace(brands, lifecycle, "whatsapp", "aura", ["whatsapp_user"]) is None  # nothing to scope


def test_the_respondio_stage_write_back_addresses_each_workspace_by_its_own_id():
    ids = [ref("respondio:77"), ref("respondio:lumen:12"), ref("email:ana@example.com")]
    [default] = stage_outbox_rows(1, "Customer", 2, "shop", ids, ["respondio"])
    [lumen] = stage_outbox_rows(1, "Hot Lead", 2, "shop", ids, ["respondio"], "lumen")
    [other] = stage_outbox_rows(1, "Hot Lead", 2, "shop", ids, ["respondio"], "aura")
    assert (default["destination"], default["payload"]["identifier"]) == ("respondio", "id:77")
    assert (lumen["destination"], lumen["payload"]["identifier"]) == ("respondio/lumen", "id:12")
    assert other["payload"]["identifier"] == "email:ana@example.com"  # not another workspace's id


def _contact(at: str, hubspot_id: str, stage: str) -> dict:
    return {"id": hubspot_id, "createdAt": at, "updatedAt": at, "archived": False,
            "properties": {"email": "ana@example.com", "firstname": "Ana", "lifecyclestage": stage}}


def test_the_same_person_in_both_portals_is_one_contact_with_a_stage_per_brand(store, tmp_path):
    config = load_config(brand_config_dir(tmp_path))
    at = (model.utcnow() - timedelta(minutes=30)).isoformat()
    ingest("hubspot", "contacts", [_contact(at, "901", "customer")], store=store, config=config)
    # Lumen's portal numbers its records alike: its 901 is Ana too, 902 someone else entirely
    ingest("hubspot", "contacts", [_contact(at, "901", "salesqualifiedlead")], store=store, config=config,
           brand="lumen")
    with store.transaction() as s:
        ids = sorted(s.execute(select(model.Identity.contact_id, model.Identity.value, model.Identity.source)
                               .where(model.Identity.kind == "hubspot")).all())
        [ana] = {cid for cid, _, _ in ids}
        assert [(v, src) for _, v, src in ids] == [("901", "hubspot"), ("lumen:901", "hubspot")]
        assert s.scalar(select(model.Contact.stage).where(model.Contact.id == ana)) == "Customer"
        assert s.scalar(select(model.ContactStage.stage).where(model.ContactStage.contact_id == ana,
                                                               model.ContactStage.brand == "lumen")) == "Hot Lead"
        # looked up as before for the default portal; a brand's portal's id with its connection
        assert find_contact(s, ref("hubspot:901")) == ana == find_contact(s, ref("hubspot:lumen:901"))
        assert [c["id"] for c in search(s, config.lifecycle, ContactFilter(identity="hubspot:lumen:901"), 5)] == [ana]
        assert search(s, config.lifecycle, ContactFilter(identity="hubspot:lumen:902"), 5) == []


def test_a_file_of_a_brand_with_two_portals_is_refused_saying_why(store, tmp_path):
    config = load_config(brand_config_dir(tmp_path, BRANDS.replace("hubspot:lumen]", "hubspot:lumen, hubspot:spa]")))
    at = (model.utcnow() - timedelta(minutes=30)).isoformat()
    with pytest.raises(ConfigError, match=r"brands.lumen.connections: .*several hubspot connections \(lumen, spa\)"):
        ingest("hubspot", "contacts", [_contact(at, "901", "customer")], store=store, config=config, brand="lumen")
    ingest("shop", "order", [{"id": "o1", "status": "paid", "total": 1, "currency": "EUR", "updated_at": at,
                              "created_at": at, "customer": {"email": "ana@example.com"}}],
           store=store, config=config, brand="lumen")  # no ids of a connection: nothing to choose
    with store.transaction() as s:
        assert s.scalars(select(model.Identity.kind)).all() == ["email"]


def test_a_webhook_of_a_brands_workspace_is_namespaced_by_its_connection(store, tmp_path):
    brands = BRANDS.replace("hubspot:lumen]", "hubspot:lumen, respondio:lumen-ws]")
    config = load_config(brand_config_dir(tmp_path, brands))
    at = (model.utcnow() - timedelta(minutes=5)).isoformat()
    body = {"id": 12, "email": "ana@example.com", "firstName": "Ana", "created_at": at}
    process_events(store, config, store_events(store, [InboundEvent("respondio", "contact", "e1", body),
                                                       InboundEvent("respondio", "contact", "e2", body, "lumen-ws")]))
    with store.transaction() as s:
        found = sorted(s.execute(select(model.Identity.contact_id, model.Identity.value)
                                 .where(model.Identity.kind == "respondio")).all())
    assert [v for _, v in found] == ["12", "lumen-ws:12"] and len({c for c, _ in found}) == 1
