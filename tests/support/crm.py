"""Shared set-up of the CRM end-to-end tests: sandboxes on loopback, settings pointing at them, and ``CRMS``,
each CRM described for the connector contract (tests/crm/test_connector_contract.py)."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.fernet import Fernet
from sqlalchemy import func, select

from sync.config import load_config
from sync.crm.run import sync_connection
from sync.sandbox.hubspot.sandbox import HubSpotSandbox
from sync.sandbox.salesforce.sandbox import SalesforceSandbox
from sync.settings import Settings
from sync.store import model

CONFIG = load_config(None)
KEY = Fernet.generate_key().decode()


def settings_for(server: Any, database_url: str, **extra: str) -> Settings:
    """Settings for the sandboxes of ``server`` on ``database_url`` (the process env is not touched)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIFESYNC_")}
    env.update(server.env(), DATABASE_URL=database_url, LIFESYNC_SECRET_KEY=KEY, **extra)
    return Settings.from_env(env)


def run(system: str, settings: Settings, store: Any, **kwargs: Any) -> dict[str, Any]:
    """One ``lifesync sync`` of the default connection (no real sleeping)."""
    kwargs.setdefault("sleep", lambda seconds: None)
    kwargs.setdefault("config", CONFIG)
    return sync_connection(system, "default", settings=settings, store=store, **kwargs)


def count(store: Any, entity: Any, *where: Any) -> int:
    with store.transaction() as s:
        return s.scalar(select(func.count()).select_from(entity).where(*where))


def identities(store: Any, kind: str) -> set[str]:
    with store.transaction() as s:
        return set(s.scalars(select(model.Identity.value).where(model.Identity.kind == kind)))


def source_values(store: Any, kind: str, value: str, source: str) -> dict[str, Any]:
    """The field values ``source`` holds on the contact whose identity is (kind, value)."""
    with store.transaction() as s:
        cid = s.scalar(select(model.Identity.contact_id).where(model.Identity.kind == kind,
                                                               model.Identity.value == value))
        return {f.field: f.value for f in s.scalars(select(model.FieldValue).where(
            model.FieldValue.contact_id == cid, model.FieldValue.source == source))}


def _instant(value: Any) -> datetime:
    """A vendor timestamp (ISO text with ``Z``, or a datetime) as an aware datetime."""
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value).replace("Z", "+00:00"))


@dataclass(frozen=True)
class Crm:
    """A CRM as the connector contract drives it: its sandbox, its people object, its limits and hooks.

    The hooks change the sandbox as a person in the CRM's UI would (not API calls); ``people``
    seeds a sandbox with that many records of the people object.
    """

    name: str  # lifesync's system name (``lifesync sync <name>``)
    obj: str  # the people object the contract syncs
    identity: str  # the identity kind its records make
    people: Callable[[int], Any]  # n -> a sandbox seeded with n people records
    backfill: Callable[[], Any]  # a sandbox seeded with every object, for a first sync
    objects: dict[str, str | None]  # every object a first sync reads -> the identity kind its records make
    ids: Callable[[Any, str], set[str]]  # (sandbox, object) -> ids of its live records
    modified: Callable[[Any], list[datetime]]  # sandbox -> when each record of the people object last changed
    change: Callable[[Any, str, str], None]  # (sandbox, id, city) -> the record's city changed
    add: Callable[[Any, str], str]  # (sandbox, e-mail) -> the id of a new record
    delete: Callable[[Any, str], None]  # (sandbox, id) -> the record deleted (archived)
    write: str  # the sandbox's call key of one write-back request of the people object
    written: Callable[[Any], int]  # sandbox -> how many people records it holds
    max_batch: int  # the most records one write-back request may carry
    page_calls: Callable[[Any], int]  # sandbox -> requests for a page of records it answered (any object)
    overhead: int  # API calls a first sync of the people object makes besides its pages
    incremental_calls: int  # API calls an incremental sync that finds a few changes makes
    window: int = 300  # seconds an incremental sync re-reads before its bookmark (the default setting)
    page: int = 100  # records a page holds


def _hubspot(**seeds: Any) -> HubSpotSandbox:
    # no rate limit but the 429s a test injects (the search limit's own tests: tests/e2e/test_hubspot_sync.py)
    return HubSpotSandbox.seeded(**seeds, rate_per_10s=None, search_per_second=None)


def _salesforce(**seeds: Any) -> SalesforceSandbox:
    return SalesforceSandbox.seeded(**seeds, query_batch_size=100)  # pages as long as HubSpot's


def _set_city(sandbox: HubSpotSandbox, record_id: str, city: str) -> None:
    sandbox.put("contacts", {"city": city}, id=record_id)


HUBSPOT = Crm(
    "hubspot", "contacts", "hubspot", lambda n: _hubspot(contacts=n),
    backfill=lambda: _hubspot(contacts=20_000, deals=300),
    objects={"contacts": "hubspot", "deals": None},
    ids=lambda sb, obj: {r["id"] for r in sb.records(obj)},
    modified=lambda sb: [_instant(r["updatedAt"]) for r in sb.records("contacts")],
    change=lambda sb, record_id, city: _set_city(sb, record_id, city),
    add=lambda sb, email: sb.put("contacts", {"email": email, "firstname": "New", "lastname": "Arrival"}),
    delete=lambda sb, record_id: sb.archive("contacts", record_id),
    write="POST /crm/objects/2026-09/contacts/batch/upsert", written=lambda sb: len(sb.records("contacts")),
    max_batch=100, page_calls=lambda sb: sb.calls["GET /crm/objects/2026-09/contacts"], overhead=0,
    incremental_calls=2)

SALESFORCE = Crm(
    "salesforce", "Lead", "salesforce_lead", lambda n: _salesforce(leads=n),
    backfill=lambda: _salesforce(leads=3_000, contacts=500, opportunities=200),
    objects={"Lead": "salesforce_lead", "Contact": "salesforce", "Opportunity": None},
    ids=lambda sb, obj: {r["Id"] for r in sb.records(obj)},
    modified=lambda sb: [_instant(r["SystemModstamp"]) for r in sb.records("Lead", deleted=True)],
    change=lambda sb, record_id, city: sb.update("Lead", record_id, {"City": city}),
    add=lambda sb, email: sb.insert("Lead", {"LastName": "Arrival", "Company": "New Ltd", "Email": email,
                                             "Status": "Open - Not Contacted"}),
    delete=lambda sb, record_id: sb.delete("Lead", record_id),
    write="PATCH /services/data/vXX.X/composite/sobjects/{sobject}/{field}",
    written=lambda sb: len(sb.records("Lead")), max_batch=200,
    page_calls=lambda sb: sum(sb.calls[f"GET /services/data/vXX.X/{path}"] for path in ("queryAll", "query/{token}")),
    # the COUNT() that chooses REST or Bulk, and the describes that check the mapping's fields: the Lead's and
    # the Individual's its consent reads through the Individual relationship
    overhead=3, incremental_calls=3)  # the two describes and the query

CRMS = (HUBSPOT, SALESFORCE)
