"""Salesforce sandbox REST queries: query vs queryAll, pages, snapshots, ordering, relationships, seeding."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import phonenumbers
import pytest
from support.clock import Clock

from sync.sandbox.salesforce.sandbox import SalesforceSandbox, create_app

NOW = datetime(2026, 11, 27, 10, tzinfo=UTC)
V = "/services/data/v60.0"




class Api:
    """A test client that carries a session."""

    def __init__(self, sandbox: SalesforceSandbox) -> None:
        self.sandbox, self.client = sandbox, create_app(sandbox).test_client()
        self.headers = {"Authorization": f"Bearer {sandbox.issue_token()}"}

    def query(self, soql: str, *, all_rows: bool = False, **headers):
        return self.client.get(f"{V}/{'queryAll' if all_rows else 'query'}", query_string={"q": soql},
                               headers={**self.headers, **headers})

    def get(self, url: str):
        return self.client.get(url, headers=self.headers)

    def pages(self, soql: str, **kw) -> list[dict]:
        response = self.query(soql, **kw)
        assert response.status_code == 200, response.get_json()
        pages = [response.get_json()]
        while not pages[-1]["done"]:
            pages.append(self.get(pages[-1]["nextRecordsUrl"]).get_json())
        return pages


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW.timestamp())


def lead(sandbox: SalesforceSandbox, n: int, **fields) -> str:
    return sandbox.insert("Lead", {"LastName": f"Person {n}", "Company": "Acme", "Email": f"p{n}@x.example",
                                   **fields})


def test_query_hides_deleted_rows_and_query_all_shows_them(clock):
    sandbox = SalesforceSandbox(clock=clock)
    kept, gone = lead(sandbox, 1), lead(sandbox, 2)
    sandbox.delete("Lead", gone)
    api = Api(sandbox)
    live = api.query("SELECT Id, IsDeleted FROM Lead").get_json()
    assert live["totalSize"] == 1 and live["done"] is True and "nextRecordsUrl" not in live
    assert [(r["Id"], r["IsDeleted"]) for r in live["records"]] == [(kept, False)]
    everything = api.query("SELECT Id, IsDeleted FROM Lead", all_rows=True).get_json()
    assert [(r["Id"], r["IsDeleted"]) for r in everything["records"]] == [(kept, False), (gone, True)]
    deleted_only = api.query("SELECT Id FROM Lead WHERE IsDeleted = true", all_rows=True).get_json()
    assert [r["Id"] for r in deleted_only["records"]] == [gone]
    assert api.query("SELECT COUNT() FROM Lead").get_json() == {"totalSize": 1, "done": True, "records": []}


def test_record_shape_and_formats(clock):
    sandbox = SalesforceSandbox(clock=clock)
    record_id = lead(sandbox, 1, Phone="+14155550100")
    record = Api(sandbox).query("SELECT Id, Email, Phone, City, IsConverted, SystemModstamp FROM Lead"
                                ).get_json()["records"][0]
    assert record == {"attributes": {"type": "Lead", "url": f"{V}/sobjects/Lead/{record_id}"}, "Id": record_id,
                      "Email": "p1@x.example", "Phone": "+14155550100", "City": None, "IsConverted": False,
                      "SystemModstamp": "2026-11-27T10:00:00.000+0000"}
    assert list(record) == ["attributes", "Id", "Email", "Phone", "City", "IsConverted", "SystemModstamp"]
    assert len(record_id) == 18 and record_id.startswith("00Q")


def test_relationship_fields_are_nested_objects(clock):
    sandbox = SalesforceSandbox(clock=clock)
    account = sandbox.insert("Account", {"Name": "Acme, Inc."})
    with_account = sandbox.insert("Contact", {"LastName": "A", "AccountId": account})
    without = sandbox.insert("Contact", {"LastName": "B"})
    sandbox.insert("Opportunity", {"Name": "Deal", "StageName": "Closed Won", "CloseDate": "2026-12-01",
                                   "ContactId": with_account, "AccountId": account, "Amount": 1200})
    api = Api(sandbox)
    records = api.query("SELECT Id, Account.Name FROM Contact ORDER BY LastName").get_json()["records"]
    assert records[0]["Account"] == {"attributes": {"type": "Account", "url": f"{V}/sobjects/Account/{account}"},
                                     "Name": "Acme, Inc."}
    assert records[1]["Id"] == without and records[1]["Account"] is None
    deal = api.query("SELECT Name, IsWon, IsClosed, Amount, CloseDate, Contact.LastName, Account.Name "
                     "FROM Opportunity WHERE Account.Name LIKE 'acme%'").get_json()["records"]
    assert len(deal) == 1
    assert (deal[0]["IsWon"], deal[0]["IsClosed"], deal[0]["Amount"], deal[0]["CloseDate"]) == (
        True, True, 1200.0, "2026-12-01")
    assert deal[0]["Contact"]["LastName"] == "A" and deal[0]["Account"]["Name"] == "Acme, Inc."


@pytest.mark.parametrize(("soql", "code"), [
    ("SELECT Id, Nope FROM Lead", "INVALID_FIELD"),
    ("SELECT Id FROM Lead WHERE SystemModstamp > '2026-01-01'", "INVALID_FIELD"),
    ("SELECT Id FROM Nothing", "INVALID_TYPE"),
    ("SELECT Id FROM Lead WHERE", "MALFORMED_QUERY"),
    ("", "MALFORMED_QUERY"),
])
def test_bad_queries_are_400_arrays(clock, soql, code):
    sandbox = SalesforceSandbox(clock=clock)
    response = Api(sandbox).query(soql)
    assert response.status_code == 400
    body = response.get_json()
    assert isinstance(body, list) and body[0]["errorCode"] == code and body[0]["message"]


def test_pages_follow_next_records_url_with_auth(clock):
    sandbox = SalesforceSandbox(clock=clock, query_batch_size=4)
    ids = [lead(sandbox, n) for n in range(10)]
    api = Api(sandbox)
    first = api.query("SELECT Id FROM Lead ORDER BY Id").get_json()
    assert first["totalSize"] == 10 and not first["done"] and len(first["records"]) == 4
    assert first["nextRecordsUrl"].startswith(f"{V}/query/01g") and first["nextRecordsUrl"].endswith("-4")
    assert api.client.get(first["nextRecordsUrl"]).status_code == 401  # a locator is no session
    pages = api.pages("SELECT Id FROM Lead ORDER BY Id")
    assert [len(p["records"]) for p in pages] == [4, 4, 2]
    assert [r["Id"] for p in pages for r in p["records"]] == ids
    assert pages[-1]["done"] and "nextRecordsUrl" not in pages[-1]
    # the unauthenticated follow-up was not counted; pages() followed two links
    assert sandbox.calls["GET /services/data/vXX.X/query/{token}"] == 2
    assert sandbox.calls["GET /services/data/vXX.X/query"] == 2


def test_batch_size_header_is_clamped_to_200_2000(clock):
    sandbox = SalesforceSandbox(clock=clock)
    for n in range(450):
        lead(sandbox, n)
    api = Api(sandbox)
    assert len(api.query("SELECT Id FROM Lead").get_json()["records"]) == 450
    small = api.query("SELECT Id FROM Lead", **{"Sforce-Query-Options": "batchSize=250"}).get_json()
    assert len(small["records"]) == 250 and small["nextRecordsUrl"].endswith("-250")
    tiny = api.query("SELECT Id FROM Lead", **{"Sforce-Query-Options": "batchSize=10"}).get_json()
    assert len(tiny["records"]) == 200


def test_pages_are_a_snapshot_of_the_query_start(clock):
    sandbox = SalesforceSandbox(clock=clock, query_batch_size=3)
    ids = [lead(sandbox, n, City="Old") for n in range(6)]
    api = Api(sandbox)
    first = api.query("SELECT Id, City FROM Lead ORDER BY SystemModstamp, Id").get_json()
    clock.now += 60
    sandbox.update("Lead", ids[4], {"City": "New"})  # would move to the end of a fresh query
    sandbox.delete("Lead", ids[5])
    lead(sandbox, 99)
    rest = api.get(first["nextRecordsUrl"]).get_json()
    assert rest["totalSize"] == 6 and rest["done"]
    assert [(r["Id"], r["City"]) for r in rest["records"]] == [(ids[3], "Old"), (ids[4], "Old"), (ids[5], "Old")]
    fresh = api.pages("SELECT Id, City FROM Lead ORDER BY SystemModstamp, Id")
    assert [r["Id"] for p in fresh for r in p["records"]][-2:] == [ids[4], sandbox.records("Lead")[-1]["Id"]]


def test_twelve_thousand_rows_sharing_one_systemmodstamp(clock):
    sandbox = SalesforceSandbox(clock=clock)
    stamp = NOW - timedelta(hours=1)
    for n in range(12_000):
        sandbox.insert("Lead", {"LastName": f"L{n}", "Company": "Same Second"}, modstamp=stamp)
    later = lead(sandbox, 12_000)
    api = Api(sandbox)
    soql = ("SELECT Id, SystemModstamp FROM Lead WHERE SystemModstamp >= 2026-11-27T09:00:00Z "
            "ORDER BY SystemModstamp, Id")
    pages = api.pages(soql)
    ids = [r["Id"] for p in pages for r in p["records"]]
    assert [len(p["records"]) for p in pages] == [2000] * 6 + [1]
    assert len(set(ids)) == 12_001 and ids == sorted(ids) and ids[-1] == later
    assert sandbox.queries.sorts == 1  # later pages slice the snapshot; they do not sort again
    # the keyset walk a connector does on a shared timestamp: Id tiebreaker, bounded pages
    seen, last = [], ""
    while True:
        where = "SystemModstamp = 2026-11-27T09:00:00.000+0000" + (f" AND Id > '{last}'" if last else "")
        chunk = api.query(f"SELECT Id FROM Lead WHERE {where} ORDER BY Id LIMIT 2000").get_json()["records"]
        if not chunk:
            break
        seen += [r["Id"] for r in chunk]
        last = chunk[-1]["Id"]
    assert len(seen) == 12_000 and len(set(seen)) == 12_000


def test_order_by_systemmodstamp_descending(clock):
    sandbox = SalesforceSandbox(clock=clock)
    older = lead(sandbox, 1)
    clock.now += 5
    newer = lead(sandbox, 2)
    records = Api(sandbox).query("SELECT Id FROM Lead ORDER BY SystemModstamp DESC").get_json()["records"]
    assert [r["Id"] for r in records] == [newer, older]


def test_locators_are_checked_and_expire_after_15_idle_minutes(clock):
    sandbox = SalesforceSandbox(clock=clock, query_batch_size=2)
    for n in range(5):
        lead(sandbox, n)
    api = Api(sandbox)
    first = api.query("SELECT Id FROM Lead").get_json()
    bad = api.get(f"{V}/query/01gNOTAREALONE-2")
    assert bad.status_code == 400 and bad.get_json()[0]["errorCode"] == "INVALID_QUERY_LOCATOR"
    clock.now += 14 * 60
    second = api.get(first["nextRecordsUrl"]).get_json()
    clock.now += 15 * 60 + 1
    expired = api.get(second["nextRecordsUrl"])
    assert expired.status_code == 400 and expired.get_json()[0]["errorCode"] == "INVALID_QUERY_LOCATOR"


def test_seeded_org(clock):
    sandbox = SalesforceSandbox.seeded(leads=12_000, contacts=6_000, opportunities=3_000, clock=clock)
    assert len(sandbox.records("Lead")) == 12_000 and len(sandbox.records("Opportunity")) == 3_000
    contacts = {c["Id"]: c for c in sandbox.records("Contact")}
    assert len(contacts) == 6_000
    for opp in sandbox.records("Opportunity")[:500]:
        assert opp["ContactId"] in contacts and opp["AccountId"] == contacts[opp["ContactId"]]["AccountId"]
        assert opp["IsWon"] == (opp["StageName"] == "Closed Won")
    stamps = [r["SystemModstamp"] for r in sandbox.records("Lead")]
    assert min(stamps) >= NOW - timedelta(days=30) and max(stamps) < NOW
    assert max(stamps) - min(stamps) > timedelta(days=25)  # spread over the month
    emails = [r["Email"] for r in sandbox.records("Lead")]
    assert len(set(emails)) == len(emails)
    for row in sandbox.records("Contact")[:300]:
        assert phonenumbers.is_valid_number(phonenumbers.parse(row["Phone"]))
    again = SalesforceSandbox.seeded(leads=50, clock=clock)
    assert [r["Email"] for r in again.records("Lead")] == emails[:50]  # deterministic by seed
    total = Api(sandbox).query("SELECT COUNT() FROM Opportunity WHERE Contact.Email != null").get_json()
    assert total["totalSize"] == 3_000
