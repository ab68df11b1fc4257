"""Salesforce sandbox driven by simple-salesforce, the reference Python client, through lifesync's calls.

The session comes from the sandbox's OAuth (refresh-token grant, as lifesync's connector gets
it): ``Salesforce(instance_url=..., session_id=...)``. simple-salesforce always speaks
``https://{host}``; the loopback sandbox speaks plain HTTP under ``/salesforce``, so one
transport adapter rewrites that prefix and nothing else. Calls: query and queryAll following
``nextRecordsUrl``, sObject get/create/update/delete, upsert by external id, get by external
id, composite collections (create and upsert), ``updated``/``deleted``, limits, describe,
Bulk 2.0 query (paged by locator) and the error bodies simple-salesforce maps to exceptions.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
import requests
from requests.adapters import HTTPAdapter
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import (
    SalesforceExpiredSession,
    SalesforceMalformedRequest,
    SalesforceMoreThanOneRecord,
    SalesforceResourceNotFound,
)

from sync.sandbox.salesforce.sandbox import SalesforceSandbox
from sync.sandbox.server import SandboxServer

VERSION = "61.0"  # lifesync's default (sync.connectors.salesforce.client.DEFAULT_API_VERSION)


class _Loopback(HTTPAdapter):
    """Sends simple-salesforce's ``https://127.0.0.1:port`` requests to the sandbox's plain-HTTP mount."""

    def __init__(self, tls: str, plain: str) -> None:
        super().__init__()
        self.tls, self.plain = tls, plain

    def send(self, request, **kwargs):
        request.url = request.url.replace(self.tls, self.plain, 1)
        return super().send(request, **kwargs)


@pytest.fixture(scope="module")
def org():
    sandbox = SalesforceSandbox.seeded(leads=45, contacts=12, opportunities=6, query_batch_size=10)
    with SandboxServer(salesforce=sandbox) as server:
        yield sandbox, f"{server.url}/salesforce", server.url.replace("http://", "https://")


@pytest.fixture
def sf(org) -> Salesforce:
    sandbox, base, tls = org
    grant = requests.post(f"{base}/services/oauth2/token", timeout=10, data={
        "grant_type": "refresh_token", "client_id": sandbox.CLIENT_ID, "client_secret": sandbox.CLIENT_SECRET,
        "refresh_token": sandbox.REFRESH_TOKEN}).json()
    assert grant["instance_url"] == base
    session = requests.Session()
    session.mount(tls, _Loopback(tls, base))
    return Salesforce(instance_url=grant["instance_url"], session_id=grant["access_token"], version=VERSION,
                      session=session)


def test_query_follows_next_records_url_to_every_lead(org, sf):
    sandbox, _, _ = org
    first = sf.query("SELECT Id, Email FROM Lead ORDER BY Id")
    assert first["done"] is False and len(first["records"]) == 10
    assert first["nextRecordsUrl"].startswith(f"/services/data/v{VERSION}/query/")
    second = sf.query_more(first["nextRecordsUrl"], identifier_is_url=True)
    assert second["records"][0]["Id"] > first["records"][-1]["Id"]
    every = sf.query_all("SELECT Id, Email FROM Lead ORDER BY Id")
    assert every["totalSize"] == len(every["records"]) == len(sandbox.records("Lead"))
    assert [r["Email"] for r in every["records"]] == [r["Email"] for r in sandbox.records("Lead")]


def test_query_all_includes_deleted_records(org, sf):
    sandbox, _, _ = org
    gone = sandbox.records("Contact")[0]["Id"]
    sandbox.delete("Contact", gone)
    live = sf.query_all("SELECT Id FROM Contact")
    every = sf.query_all("SELECT Id, IsDeleted FROM Contact", include_deleted=True)
    assert gone not in {r["Id"] for r in live["records"]}
    assert {r["Id"]: r["IsDeleted"] for r in every["records"]}[gone] is True


def test_sobject_get_create_update_delete(org, sf):
    sandbox, _, _ = org
    created = sf.Lead.create({"LastName": "Reference", "Company": "Acme", "Email": "ref@example.com"})
    assert created["success"] is True and created["errors"] == []
    assert sf.Lead.update(created["id"], {"City": "Lyon"}) == 204
    record = sf.Lead.get(created["id"])
    assert record["City"] == "Lyon" and record["attributes"]["type"] == "Lead"
    assert record["Email"] == sandbox.get("Lead", created["id"])["Email"]
    assert sf.Lead.delete(created["id"]) == 204
    with pytest.raises(SalesforceResourceNotFound) as missing:
        sf.Lead.get(created["id"])
    assert missing.value.content[0]["errorCode"] == "ENTITY_IS_DELETED"  # Salesforce's 404 for a deleted record


def test_upsert_and_get_by_external_id(org, sf):
    assert sf.Lead.upsert("Lifesync_Id__c/ls-ref-1", {"LastName": "Up", "Company": "Acme"}) == 201
    # an upsert that updates answers 200 with a body (API 46.0+), which simple-salesforce reports as its status
    assert sf.Lead.upsert("Lifesync_Id__c/ls-ref-1", {"City": "Paris"}) == 200
    record = sf.Lead.get_by_custom_id("Lifesync_Id__c", "ls-ref-1")
    assert (record["LastName"], record["City"]) == ("Up", "Paris")


def test_an_ambiguous_external_id_is_simple_salesforces_300(org, sf):
    sandbox, _, _ = org
    for name in ("Twin A", "Twin B"):
        sandbox.insert("Lead", {"LastName": name, "Company": "Acme", "Lifesync_Id__c": "ls-twin"})
    with pytest.raises(SalesforceMoreThanOneRecord):
        sf.Lead.get_by_custom_id("Lifesync_Id__c", "ls-twin")


def test_composite_collections_create_and_upsert(org, sf):
    sandbox, _, _ = org
    created = sf.restful("composite/sobjects", method="POST", json={"allOrNone": False, "records": [
        {"attributes": {"type": "Lead"}, "LastName": "C1", "Company": "X"},
        {"attributes": {"type": "Lead"}, "Company": "No last name"}]})
    assert created[0]["success"] is True and sandbox.get("Lead", created[0]["id"])["LastName"] == "C1"
    assert created[1]["success"] is False and created[1]["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"
    updated = sf.restful("composite/sobjects", method="PATCH", json={"allOrNone": False, "records": [
        {"attributes": {"type": "Lead"}, "id": created[0]["id"], "City": "Turin"}]})
    assert updated == [{"id": created[0]["id"], "success": True, "errors": []}]
    assert sandbox.get("Lead", created[0]["id"])["City"] == "Turin"
    upserted = sf.restful("composite/sobjects/Lead/Lifesync_Id__c", method="PATCH", json={
        "allOrNone": False, "records": [{"attributes": {"type": "Lead"}, "Lifesync_Id__c": "ls-col-1",
                                         "LastName": "C2", "Company": "X"}]})
    assert upserted[0]["success"] is True and upserted[0]["created"] is True


def test_updated_and_deleted_windows(org, sf):
    sandbox, _, _ = org
    now = datetime.fromtimestamp(sandbox.clock(), UTC)
    lead = sandbox.records("Lead")[5]["Id"]
    # an hour ago: Salesforce covers whole minutes up to the current one only
    sandbox.update("Lead", lead, {"City": "Oslo"}, modstamp=now - timedelta(hours=1))
    sandbox.delete("Lead", sandbox.records("Lead")[6]["Id"], at=now - timedelta(hours=1))
    updated = sf.Lead.updated(now - timedelta(days=1), now + timedelta(minutes=2))
    assert lead in updated["ids"] and updated["latestDateCovered"]
    deleted = sf.Lead.deleted(now - timedelta(days=1), now + timedelta(minutes=2))
    assert deleted["deletedRecords"] and {"id", "deletedDate"} <= set(deleted["deletedRecords"][0])


def test_limits_describe_and_usage_header(sf):
    limits = sf.limits()
    assert limits["DailyApiRequests"]["Max"] >= limits["DailyApiRequests"]["Remaining"] > 0
    fields = {f["name"]: f for f in sf.Lead.describe()["fields"]}
    assert fields["Lifesync_Id__c"]["externalId"] is True and fields["LastName"]["nillable"] is False
    assert sf.api_usage["api-usage"].total == limits["DailyApiRequests"]["Max"]


def test_bulk2_query_returns_every_lead_as_csv(org, sf):
    sandbox, _, _ = org
    pages = list(sf.bulk2.Lead.query("SELECT Id, Email FROM Lead", max_records=20, wait=0))
    rows = [row for page in pages for row in csv.DictReader(io.StringIO(page))]
    assert len(pages) > 1
    assert [r["Id"] for r in rows] == [r["Id"] for r in sandbox.records("Lead")]


def test_malformed_soql_and_expired_sessions_map_to_simple_salesforces_errors(org, sf):
    sandbox, _, _ = org
    with pytest.raises(SalesforceMalformedRequest) as bad:
        sf.query("SELECT Nope FROM Lead")
    assert bad.value.content[0]["errorCode"] == "INVALID_FIELD"
    sandbox.expire_sessions()
    with pytest.raises(SalesforceExpiredSession):
        sf.query("SELECT Id FROM Lead")
