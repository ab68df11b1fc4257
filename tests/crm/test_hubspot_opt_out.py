"""A withdrawal of marketing e-mail made elsewhere reaches HubSpot (unsubscribe-all), against the HubSpot sandbox.

hs_email_optout cannot be written, so the HubSpot write-back unsubscribes the contact's e-mail from all e-mail
(config/mappings/hubspot_contacts.yaml: ``out_path: unsubscribe_all.EMAIL``); HubSpot's ticked box comes back
on the next pull as lifesync's own write. A grant is never sent; a missing scope is a dead letter.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from support.crm import CONFIG, run, settings_for

from sync.crm.plan import crm_targets
from sync.ingest.pipeline import ingest_patches, map_records, mapping_for
from sync.outbox.effects import Effects
from sync.sandbox.hubspot.preferences import WRITE_SCOPE
from sync.sandbox.hubspot.sandbox import HubSpotSandbox
from sync.sandbox.server import SandboxServer
from sync.store import model

HUBSPOT = frozenset({"hubspot"})
ORDER = json.loads((Path(__file__).parents[1] / "fixtures/shop/order.json").read_text())
UNSUBSCRIBE = "POST /communication-preferences/2026-09/statuses/{subscriber}/unsubscribe-all"
EMAIL = "ana.opt@example.com"


@pytest.fixture
def portal(store, database_url):
    """A HubSpot sandbox with one contact, pulled once: lifesync holds the contact with its HubSpot id."""
    sandbox = HubSpotSandbox(rate_per_10s=None, search_per_second=None)
    hub_id = sandbox.put("contacts", {"email": EMAIL, "firstname": "Ana", "lifecyclestage": "lead"},
                         at=datetime.now(UTC) - timedelta(days=1))
    server = SandboxServer(hubspot=sandbox).start()
    settings = settings_for(server, database_url)
    run("hubspot", settings, store, objects=["contacts"])
    yield sandbox, settings, hub_id
    server.stop()


def shop_order(store, accepts: bool, at: datetime | None = None) -> None:
    """The shop reports an order of the contact: its offers checkbox ticked (a grant) or not (a withdrawal)."""
    at = (at or datetime.now(UTC) - timedelta(hours=2)).replace(microsecond=0).isoformat()
    order = {**ORDER, "updated_at": at, "customer": {**ORDER["customer"], "email": EMAIL, "phone": None,
                                                     "first_name": "Ana", "last_name": None,
                                                     "accepts_marketing": accepts}}
    items, dead = map_records(mapping_for(CONFIG, "shop", "order"), [order])
    assert not dead, dead
    ingest_patches(store, CONFIG.lifecycle, items, dead, Effects(HUBSPOT, crm_targets(CONFIG, HUBSPOT)))


def consent_and_rows(store):
    with store.transaction() as s:
        contact = s.scalars(select(model.Contact)).one()
        rows = [(o.destination, o.status, o.payload["values"]) for o in s.scalars(select(model.Outbox))]
    return contact.consent, rows


def test_a_shop_withdrawal_unsubscribes_the_hubspot_contact_once_and_a_grant_sends_nothing(portal, store):
    sandbox, settings, hub_id = portal
    shop_order(store, accepts=False)
    report = run("hubspot", settings, store, objects=["contacts"])
    assert report["pushed"]["sent"] == 1 and report["pushed"]["dead"] == 0
    assert sandbox.calls[UNSUBSCRIBE] == 1 and sandbox.unsubscribed == {EMAIL: {"EMAIL"}}
    assert sandbox.get("contacts", hub_id)["properties"]["hs_email_optout"] == "true"
    # the PATCH carries what HubSpot lets lifesync write (the order's stage), never the read-only opt-out box
    assert sandbox.get("contacts", hub_id)["properties"]["lifecyclestage"] == "customer"

    # the next pull reads the ticked hs_email_optout: lifesync's own write, no new change, nothing to push
    before = consent_and_rows(store)
    report = run("hubspot", settings, store, objects=["contacts"])
    assert report["objects"]["contacts"]["unchanged"] == 1 and report["pushed"]["sent"] == 0
    assert consent_and_rows(store) == before
    assert before[0]["marketing_email"] is False and len(before[1]) == 1
    with store.transaction() as s:
        held = {f.source: f for f in s.scalars(select(model.FieldValue).where(
            model.FieldValue.field == "consent.marketing_email"))}
    assert held["hubspot"].value is False and held["hubspot"].source_time == held["shop"].source_time  # its origin's

    # the person ticks the shop's offers box again (after HubSpot's opt-out: the shop's times are whole seconds):
    # a grant, which only they can give HubSpot — nothing is sent
    shop_order(store, accepts=True, at=datetime.now(UTC) + timedelta(seconds=1))
    writes = sandbox.calls["POST /crm/objects/2026-09/contacts/batch/update"]
    report = run("hubspot", settings, store, objects=["contacts"])
    assert consent_and_rows(store)[0]["marketing_email"] is True and report["pushed"]["sent"] == 1
    assert sandbox.calls[UNSUBSCRIBE] == 1 and [k for k in sandbox.calls if "communication-preferences" in k] == [
        UNSUBSCRIBE]  # no subscribe of any kind
    assert sandbox.calls["POST /crm/objects/2026-09/contacts/batch/update"] == writes  # not even an empty PATCH
    assert sandbox.get("contacts", hub_id)["properties"]["hs_email_optout"] == "true"  # HubSpot's rule stands


def test_a_missing_scope_dead_letters_the_delivery_with_the_reason(portal, store):
    sandbox, settings, _ = portal
    sandbox.granted_scopes.discard(WRITE_SCOPE)
    shop_order(store, accepts=False)
    report = run("hubspot", settings, store, objects=["contacts"])
    assert report["pushed"]["dead"] == 1 and sandbox.calls[UNSUBSCRIBE] == 1
    with store.transaction() as s:
        delivery = s.scalars(select(model.Delivery)).one()
        letter = s.scalars(select(model.DeadLetter)).one()
    assert delivery.status == "dead" and WRITE_SCOPE in delivery.last_error and "MISSING_SCOPES" in letter.reason
    assert EMAIL not in letter.reason and "ana.opt%40" not in letter.reason
