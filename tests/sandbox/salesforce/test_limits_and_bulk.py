"""Salesforce sandbox: API usage and quota, faults, replication windows, Bulk API 2.0 query jobs."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from support.clock import Clock

from sync.sandbox.faults import Faults
from sync.sandbox.salesforce.sandbox import SalesforceSandbox, create_app

NOW = datetime(2026, 11, 27, 10, 30, 45, tzinfo=UTC)
V = "/services/data/v60.0"




@pytest.fixture
def clock() -> Clock:
    return Clock(NOW.timestamp())


def api(sandbox: SalesforceSandbox):
    client = create_app(sandbox).test_client()
    headers = {"Authorization": f"Bearer {sandbox.issue_token()}"}

    def call(path: str, method: str = "GET", **kw):
        return client.open(f"{V}{path}", method=method, headers=headers, **kw)
    return call


def test_usage_header_and_daily_limit(clock):
    sandbox = SalesforceSandbox(clock=clock, daily_limit=3)
    call = api(sandbox)
    first = call("/limits")
    assert first.headers["Sforce-Limit-Info"] == "api-usage=1/3"
    assert first.get_json()["DailyApiRequests"] == {"Max": 3, "Remaining": 2}
    assert call("/query?q=SELECT+Id+FROM+Lead").headers["Sforce-Limit-Info"] == "api-usage=2/3"
    bad = call("/query?q=SELECT+Nope+FROM+Lead")  # refused queries still count
    assert bad.status_code == 400 and bad.headers["Sforce-Limit-Info"] == "api-usage=3/3"
    refused = call("/limits")
    assert refused.status_code == 403
    assert refused.get_json() == [{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED",
                                   "fields": []}]
    assert refused.headers["Sforce-Limit-Info"] == "api-usage=3/3"
    assert sandbox.api_calls == 3 and sandbox.calls["GET /services/data/vXX.X/limits"] == 1
    clock.now += 24 * 3600  # the window rolls (the old session has expired meanwhile)
    assert api(sandbox)("/limits").headers["Sforce-Limit-Info"] == "api-usage=1/3"


def test_other_apps_share_the_quota(clock):
    sandbox = SalesforceSandbox(clock=clock, daily_limit=100)
    sandbox.use_quota(99)
    call = api(sandbox)
    assert call("/limits").headers["Sforce-Limit-Info"] == "api-usage=100/100"
    assert call("/limits").status_code == 403


def test_faults_take_salesforce_shapes_and_are_not_counted(clock):
    faults = Faults()
    sandbox = SalesforceSandbox(clock=clock, faults=faults)
    call = api(sandbox)
    faults.storm(1, retry_after=0.25)
    throttled = call("/limits")
    assert throttled.status_code == 429 and throttled.headers["Retry-After"] == "0.25"
    assert throttled.get_json()[0]["errorCode"] == "REQUEST_LIMIT_EXCEEDED"
    faults.storm(1, retry_after=None)
    assert "Retry-After" not in call("/limits").headers
    faults.fail_paths["/query"] = 500
    assert call("/query?q=SELECT+Id+FROM+Lead").get_json()[0]["errorCode"] == "UNKNOWN_EXCEPTION"
    faults.fail_paths["/query"] = 503
    unavailable = call("/query?q=SELECT+Id+FROM+Lead")
    assert (unavailable.status_code, unavailable.get_json()[0]["errorCode"]) == (503, "SERVER_UNAVAILABLE")
    assert sandbox.api_calls == 0 and faults.injected == 4
    del faults.fail_paths["/query"]
    assert call("/query?q=SELECT+Id+FROM+Lead").status_code == 200


def window(path: str, start: datetime, end: datetime) -> str:
    return f"{path}?start={start.isoformat()}&end={end.isoformat()}".replace("+", "%2B")


def test_updated_window(clock):
    sandbox = SalesforceSandbox(clock=clock)
    old = sandbox.insert("Lead", {"LastName": "Old", "Company": "A"}, modstamp=NOW - timedelta(days=3))
    fresh = sandbox.insert("Lead", {"LastName": "Fresh", "Company": "A"}, modstamp=NOW - timedelta(minutes=5))
    gone = sandbox.insert("Lead", {"LastName": "Gone", "Company": "A"}, modstamp=NOW - timedelta(minutes=4))
    sandbox.delete("Lead", gone, at=NOW - timedelta(minutes=3))
    call = api(sandbox)
    body = call(window("/sobjects/Lead/updated/", NOW - timedelta(days=1), NOW + timedelta(hours=1))).get_json()
    assert body == {"ids": [fresh], "latestDateCovered": "2026-11-27T10:30:00.000+0000"}
    body = call(window("/sobjects/Lead/updated", NOW - timedelta(days=29), NOW)).get_json()
    assert body["ids"] == [old, fresh]
    for start, end in [(NOW - timedelta(days=31), NOW), (NOW, NOW - timedelta(hours=1)), (NOW, NOW)]:
        refused = call(window("/sobjects/Lead/updated/", start, end))
        assert (refused.status_code, refused.get_json()[0]["errorCode"]) == (400, "INVALID_REPLICATION_DATE")
    assert call("/sobjects/Lead/updated/?start=yesterday&end=now").status_code == 400


def test_deleted_window(clock):
    sandbox = SalesforceSandbox(clock=clock)
    lead = sandbox.insert("Lead", {"LastName": "Gone", "Company": "A"})
    sandbox.delete("Lead", lead, at=NOW - timedelta(hours=2))
    call = api(sandbox)
    body = call(window("/sobjects/Lead/deleted/", NOW - timedelta(days=1), NOW)).get_json()
    assert body == {"deletedRecords": [{"id": lead, "deletedDate": "2026-11-27T08:30:45.000+0000"}],
                    "earliestDateAvailable": "2026-11-12T10:30:00.000+0000",
                    "latestDateCovered": "2026-11-27T10:30:00.000+0000"}
    assert call(window("/sobjects/Contact/deleted/", NOW - timedelta(days=1), NOW)).get_json()["deletedRecords"] == []
    too_old = call(window("/sobjects/Lead/deleted/", NOW - timedelta(days=16), NOW))
    assert (too_old.status_code, too_old.get_json()[0]["errorCode"]) == (400, "INVALID_REPLICATION_DATE")


def read_csv(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_bulk_query_job(clock):
    sandbox = SalesforceSandbox(clock=clock)
    account = sandbox.insert("Account", {"Name": 'Quote "Co", Ltd'})
    ids = [sandbox.insert("Contact", {"LastName": f"C{n}", "AccountId": account if n % 2 else None,
                                      "Title": "Head of\nSales" if n == 1 else None}) for n in range(5)]
    sandbox.delete("Contact", ids[4])
    call = api(sandbox)
    created = call("/jobs/query", "POST", json={"operation": "query", "query":
                                                "SELECT Id, LastName, Title, Account.Name, IsDeleted, CreatedDate "
                                                "FROM Contact ORDER BY LastName"})
    job = created.get_json()
    assert (job["state"], job["object"], job["operation"], job["apiVersion"]) == (
        "UploadComplete", "Contact", "query", 60.0)
    early = call(f"/jobs/query/{job['id']}/results")
    assert early.status_code == 400
    assert call(f"/jobs/query/{job['id']}").get_json()["state"] == "InProgress"
    done = call(f"/jobs/query/{job['id']}").get_json()
    assert (done["state"], done["numberRecordsProcessed"]) == ("JobComplete", 4)
    first = call(f"/jobs/query/{job['id']}/results?maxRecords=3")
    assert first.content_type.startswith("text/csv")
    assert first.headers["Sforce-NumberOfRecords"] == "3" and first.headers["Sforce-Locator"] != "null"
    assert first.text.splitlines()[0] == '"Id","LastName","Title","Account.Name","IsDeleted","CreatedDate"'
    rows = read_csv(first.text)
    assert rows[1] == [ids[0], "C0", "", "", "false", "2026-11-27T10:30:45.000Z"]
    assert rows[2] == [ids[1], "C1", "Head of\nSales", 'Quote "Co", Ltd', "false", "2026-11-27T10:30:45.000Z"]
    assert '"Quote ""Co"", Ltd"' in first.text
    rest = call(f"/jobs/query/{job['id']}/results?maxRecords=3&locator={first.headers['Sforce-Locator']}")
    assert rest.headers["Sforce-Locator"] == "null" and rest.headers["Sforce-NumberOfRecords"] == "1"
    assert [r[0] for r in read_csv(rest.text)[1:]] == [ids[3]]
    wrong_version = create_app(sandbox).test_client().get(
        f"/services/data/v59.0/jobs/query/{job['id']}/results",
        headers={"Authorization": f"Bearer {sandbox.issue_token()}"})
    assert wrong_version.status_code == 409
    assert call(f"/jobs/query/{job['id']}/results?locator=%%%").status_code == 400
    assert [j["id"] for j in call("/jobs/query").get_json()["records"]] == [job["id"]]
    assert call(f"/jobs/query/{job['id']}", "DELETE").status_code == 204
    assert call(f"/jobs/query/{job['id']}").status_code == 404


def test_bulk_query_all_and_refusals(clock):
    sandbox = SalesforceSandbox(clock=clock)
    lead = sandbox.insert("Lead", {"LastName": "Gone", "Company": "A"})
    sandbox.delete("Lead", lead)
    call = api(sandbox)
    job = call("/jobs/query", "POST", json={"operation": "queryAll", "query": "SELECT Id, IsDeleted FROM Lead"})
    job_id = job.get_json()["id"]
    call(f"/jobs/query/{job_id}")
    call(f"/jobs/query/{job_id}")
    assert read_csv(call(f"/jobs/query/{job_id}/results").text)[1:] == [[lead, "true"]]
    assert call("/jobs/query", "POST", json={"operation": "query", "query": "SELECT Nope FROM Lead"}
                ).get_json()[0]["errorCode"] == "INVALID_FIELD"
    assert call("/jobs/query", "POST", json={"operation": "delete", "query": "SELECT Id FROM Lead"}
                ).status_code == 400
    assert call("/jobs/query", "POST", json={"query": "SELECT COUNT() FROM Lead"}).status_code == 400
    pending = call("/jobs/query", "POST", json={"query": "SELECT Id FROM Lead"}).get_json()["id"]
    assert call(f"/jobs/query/{pending}", "PATCH", json={"state": "Aborted"}).get_json()["state"] == "Aborted"
