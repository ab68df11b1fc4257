"""Upstream erasure against the HubSpot and Salesforce sandboxes: HubSpot's GDPR delete (as hubspot-api-client
sends it), Salesforce's sObject DELETE, a refusal reported per system without undoing the local erasure."""

from __future__ import annotations

import pytest
import requests
from hubspot import HubSpot
from hubspot.crm.contacts import PublicGdprDeleteInput
from sqlalchemy import select

from sync.access.roles import Principal
from sync.privacy.erasure import forget
from sync.sandbox.hubspot.sandbox import HubSpotSandbox
from sync.sandbox.salesforce.sandbox import SalesforceSandbox
from sync.sandbox.server import SandboxServer
from sync.settings import Settings
from sync.store import model

ADMIN = Principal(name="cli:dpo", role="admin", via="cli")


@pytest.fixture(scope="module")
def crms():
    hubspot = HubSpotSandbox.seeded(3, rate_per_10s=None, search_per_second=None)
    salesforce = SalesforceSandbox.seeded(leads=2, contacts=1)
    with SandboxServer(hubspot=hubspot, salesforce=salesforce) as server:
        yield hubspot, salesforce, server


def _person(store, identities):
    with store.transaction() as s:
        contact = model.Contact(attributes={"first_name": {"value": "Zoë"}})
        s.add(contact)
        s.flush()
        for kind, value in identities:
            s.add(model.Identity(contact_id=contact.id, kind=kind, value=value, source=kind.split("_")[0]))
        return contact.id


def test_hubspot_gdpr_delete_and_salesforce_delete_remove_the_person_upstream(store, crms):
    hubspot, salesforce, server = crms
    hub_id = str(hubspot.tables["contacts"].live[0])
    email = hubspot.tables["contacts"].rows[int(hub_id)].props["email"]
    lead = salesforce.records("Lead")[0]["Id"]
    cid = _person(store, [("hubspot", hub_id), ("salesforce_lead", lead), ("email", email)])
    done = forget(store, None, Settings.from_env(server.env()), cid, ADMIN, upstream=True)
    assert done["upstream"] == {"hubspot": {"status": "deleted", "detail": "1 of 1 record(s) deleted"},
                                "salesforce": {"status": "deleted", "detail": "1 of 1 record(s) deleted"}}
    assert int(hub_id) not in hubspot.tables["contacts"].rows and email.lower() in hubspot.gdpr_blocklist
    assert lead not in {r["Id"] for r in salesforce.records("Lead")}
    with store.transaction() as s:
        row = s.get(model.Erasure, done["id"])
        assert row.upstream == done["upstream"] and hub_id not in str(row.upstream) and lead not in str(row.upstream)


def test_a_refused_upstream_call_is_reported_and_the_local_erasure_stands(store, crms):
    server = crms[2]
    cid = _person(store, [("hubspot", "999999999"), ("salesforce", "0035g00000NotThere"),
                          ("hubspot", "eu:123")])  # a connection with no settings
    done = forget(store, None, Settings.from_env(server.env()), cid, ADMIN, upstream=True)
    assert done["upstream"]["hubspot"]["status"] == "failed" and "HTTP 404" in done["upstream"]["hubspot"]["detail"]
    assert done["upstream"]["salesforce"]["status"] == "failed"
    assert done["upstream"]["hubspot/eu"]["status"] == "failed"
    assert done["upstream"]["hubspot/eu"]["detail"].startswith("not configured")
    assert "999999999" not in str(done["upstream"]) and "0035g00000NotThere" not in str(done["upstream"])
    with store.transaction() as s:
        assert s.get(model.Contact, cid) is None
        assert s.scalars(select(model.Erasure.upstream).where(model.Erasure.id == done["id"])).one() == \
            done["upstream"]


def test_the_sandbox_takes_hubspots_sdk_request_and_validates_the_body(crms):
    hubspot, _, server = crms
    base = f"{server.url}/hubspot"
    record = hubspot.tables["contacts"].rows[hubspot.tables["contacts"].live[-1]]
    sdk = HubSpot(access_token=HubSpotSandbox.TOKEN, host=base)
    sdk.crm.contacts.basic_api.purge(public_gdpr_delete_input=PublicGdprDeleteInput(
        object_id=record.props["email"], id_property="email"))
    assert record.id not in hubspot.tables["contacts"].rows
    url = f"{base}/crm/v3/objects/contacts/gdpr-delete"
    auth = {"Authorization": f"Bearer {HubSpotSandbox.TOKEN}"}
    missing = requests.post(url, json={"idProperty": "email"}, headers=auth, timeout=10)
    assert missing.status_code == 400 and missing.json()["category"] == "VALIDATION_ERROR"
    assert requests.post(url, json={"objectId": "1"}, timeout=10).status_code == 401
