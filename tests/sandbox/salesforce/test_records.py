"""Salesforce sandbox writes: sObject CRUD, upsert by external id, collections, lead conversion."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime

import pytest
from support.clock import Clock

from sync.sandbox.salesforce.sandbox import SalesforceSandbox, create_app

NOW = datetime(2026, 11, 27, 10, tzinfo=UTC)
V = "/services/data/v60.0"
CLIENT = {"Sforce-Call-Options": "client=lifesync, defaultNamespace=ls"}




@pytest.fixture
def clock() -> Clock:
    return Clock(NOW.timestamp())


@pytest.fixture
def sandbox(clock) -> SalesforceSandbox:
    return SalesforceSandbox(clock=clock)


class Api:
    def __init__(self, sandbox: SalesforceSandbox) -> None:
        self.client = create_app(sandbox).test_client()
        self.headers = {"Authorization": f"Bearer {sandbox.issue_token()}", **CLIENT}

    def __getattr__(self, method: str):
        def call(path: str, body=None, **kw):
            return self.client.open(f"{V}{path}", method=method.upper(), json=body, headers=self.headers, **kw)
        return call


@pytest.fixture
def api(sandbox) -> Api:
    return Api(sandbox)


def new_lead(sandbox, n: int = 1, **fields) -> str:
    return sandbox.insert("Lead", {"LastName": f"L{n}", "Company": "Acme", "Email": f"l{n}@x.example", **fields})


def error(response) -> tuple[int, str]:
    return response.status_code, response.get_json()[0]["errorCode"]


def test_create_get_update_delete(api, sandbox, clock):
    created = api.post("/sobjects/Lead", {"LastName": "Lovelace", "company": "Engines", "Email": "ada@x.example"})
    assert created.status_code == 201
    record_id = created.get_json()["id"]
    assert created.get_json() == {"id": record_id, "success": True, "errors": []}
    body = api.get(f"/sobjects/Lead/{record_id}").get_json()
    assert body["attributes"] == {"type": "Lead", "url": f"{V}/sobjects/Lead/{record_id}"}
    assert (body["Status"], body["IsConverted"], body["Name"], body["CreatedDate"]) == (
        "Open - Not Contacted", False, "Lovelace", "2026-11-27T10:00:00.000+0000")
    assert "LastModifiedByClient" not in body  # not a Salesforce field
    assert api.get(f"/sobjects/Lead/{record_id}?fields=Email,company").get_json() == {
        "attributes": body["attributes"], "Email": "ada@x.example", "Company": "Engines"}
    clock.now += 90
    assert api.patch(f"/sobjects/Lead/{record_id}", {"FirstName": "Ada", "Phone": "+442071234567"}).status_code == 204
    stored = sandbox.get("Lead", record_id)
    assert (stored["Name"], stored["LastModifiedByClient"]) == ("Ada Lovelace", "lifesync")
    assert stored["SystemModstamp"] == stored["LastModifiedDate"] == datetime(2026, 11, 27, 10, 1, 30, tzinfo=UTC)
    assert [(w["op"], w["client"], w["fields"]) for w in sandbox.writes] == [
        ("create", "lifesync", {"LastName": "Lovelace", "Company": "Engines", "Email": "ada@x.example"}),
        ("update", "lifesync", {"FirstName": "Ada", "Phone": "+442071234567"})]
    assert api.delete(f"/sobjects/Lead/{record_id}").status_code == 204
    assert error(api.get(f"/sobjects/Lead/{record_id}")) == (404, "ENTITY_IS_DELETED")
    assert sandbox.get("Lead", record_id)["IsDeleted"] is True


def test_user_edits_have_no_client(sandbox):
    record_id = new_lead(sandbox)
    sandbox.update("Lead", record_id, {"City": "Lisbon"})
    assert sandbox.get("Lead", record_id)["LastModifiedByClient"] is None
    assert sandbox.writes == []  # hooks are not API writes


@pytest.mark.parametrize(("path", "body", "status", "code"), [
    ("/sobjects/Widget/00Q5g0000000001AAA", None, 404, "NOT_FOUND"),
    ("/sobjects/Lead/00Q5g0000000099AAA", None, 404, "NOT_FOUND"),
    ("/sobjects/Lead/not-an-id", None, 404, "NOT_FOUND"),
    ("/sobjects/Lead/{id}?fields=Email,Nope", None, 400, "INVALID_FIELD"),
])
def test_read_errors(api, sandbox, path, body, status, code):
    record_id = new_lead(sandbox)
    assert error(api.get(path.format(id=record_id))) == (status, code)


@pytest.mark.parametrize(("body", "code", "fields"), [
    ({"IsConverted": True}, "INVALID_FIELD_FOR_INSERT_UPDATE", ["IsConverted"]),
    ({"SystemModstamp": "2026-01-01T00:00:00Z", "City": "X"}, "INVALID_FIELD_FOR_INSERT_UPDATE", ["SystemModstamp"]),
    ({"Shoe_Size__c": 44}, "INVALID_FIELD", ["Shoe_Size__c"]),
    ({"Status": "Maybe"}, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", ["Status"]),
    ({"Email": "not-an-email"}, "INVALID_EMAIL_ADDRESS", ["Email"]),
    ({"FirstName": "x" * 41}, "STRING_TOO_LONG", ["FirstName"]),
    ({"LastName": None}, "REQUIRED_FIELD_MISSING", ["LastName"]),
    ({"OwnerId": "003000000000000"}, "MALFORMED_ID", ["OwnerId"]),
    ({"City": {"name": "Paris"}}, "JSON_PARSER_ERROR", ["City"]),
    ({"IsUnreadByOwner": True}, "INVALID_FIELD", ["IsUnreadByOwner"]),
])
def test_update_refusals(api, sandbox, body, code, fields):
    record_id = new_lead(sandbox)
    response = api.patch(f"/sobjects/Lead/{record_id}", body)
    assert error(response) == (400, code)
    assert response.get_json()[0]["fields"] == fields
    assert sandbox.get("Lead", record_id)["City"] is None and sandbox.writes == []


def test_create_refusals(api):
    assert error(api.post("/sobjects/Lead", {"LastName": "NoCompany"})) == (400, "REQUIRED_FIELD_MISSING")
    assert error(api.post("/sobjects/Lead", {"Id": "00Q5g0000000001AAA", "LastName": "x", "Company": "y"})) == (
        400, "INVALID_FIELD")
    bad_json = api.client.post(f"{V}/sobjects/Lead", data="{nope", headers=api.headers,
                               content_type="application/json")
    assert error(bad_json) == (400, "JSON_PARSER_ERROR")
    account = api.post("/sobjects/Account", {"Name": "Acme"}).get_json()["id"]
    missing = api.post("/sobjects/Contact", {"LastName": "x", "AccountId": account[:-4] + "ZZZZ"})
    assert error(missing)[0] == 400
    gone = "0015g000000009ZAAQ"
    assert error(api.post("/sobjects/Contact", {"LastName": "x", "AccountId": gone})) == (
        400, "INVALID_CROSS_REFERENCE_KEY")


def test_opportunity_flags_follow_the_stage(api, sandbox):
    account = sandbox.insert("Account", {"Name": "Acme"})
    created = api.post("/sobjects/Opportunity", {"Name": "Big", "StageName": "Prospecting", "CloseDate": "2026-12-24",
                                                  "AccountId": account, "Amount": 5000})
    opp = created.get_json()["id"]
    assert (sandbox.get("Opportunity", opp)["IsClosed"], sandbox.get("Opportunity", opp)["IsWon"]) == (False, False)
    assert error(api.patch(f"/sobjects/Opportunity/{opp}", {"IsWon": True})) == (400,
                                                                                 "INVALID_FIELD_FOR_INSERT_UPDATE")
    api.patch(f"/sobjects/Opportunity/{opp}", {"StageName": "Closed Lost"})
    assert (sandbox.get("Opportunity", opp)["IsClosed"], sandbox.get("Opportunity", opp)["IsWon"]) == (True, False)
    api.patch(f"/sobjects/Opportunity/{opp}", {"StageName": "Closed Won"})
    row = sandbox.get("Opportunity", opp)
    assert (row["IsClosed"], row["IsWon"], row["CloseDate"], row["Amount"]) == (True, True, date(2026, 12, 24), 5000.0)


def test_converted_leads_refuse_updates(api, sandbox, clock):
    lead = new_lead(sandbox, Lifesync_Id__c="ls-1", Phone="+14155550100", City="Austin")
    clock.now += 3600
    contact = sandbox.convert_lead(lead)
    row = sandbox.get("Lead", lead)
    assert (row["IsConverted"], row["ConvertedContactId"], row["Status"], row["ConvertedDate"]) == (
        True, contact, "Closed - Converted", date(2026, 11, 27))
    assert row["SystemModstamp"] == datetime(2026, 11, 27, 11, tzinfo=UTC)
    person = sandbox.get("Contact", contact)
    assert (person["Email"], person["MailingCity"], person["Lifesync_Id__c"]) == ("l1@x.example", "Austin", "ls-1")
    assert sandbox.get("Account", person["AccountId"])["Name"] == "Acme" == sandbox.get("Account",
                                                                                        row["ConvertedAccountId"])["Name"]
    refused = api.patch(f"/sobjects/Lead/{lead}", {"City": "Dallas"})
    assert error(refused) == (400, "CANNOT_UPDATE_CONVERTED_LEAD")
    assert error(api.patch("/sobjects/Lead/Lifesync_Id__c/ls-1", {"City": "Dallas"})) == (
        400, "CANNOT_UPDATE_CONVERTED_LEAD")
    with pytest.raises(ValueError, match="already converted"):
        sandbox.convert_lead(lead)


def test_conversion_links_an_existing_contact_by_email(sandbox):
    account = sandbox.insert("Account", {"Name": "Existing"})
    known = sandbox.insert("Contact", {"LastName": "Known", "Email": "L1@X.example", "AccountId": account})
    lead = new_lead(sandbox)
    assert sandbox.convert_lead(lead) == known
    assert sandbox.get("Lead", lead)["ConvertedAccountId"] == account
    assert len(sandbox.records("Contact")) == 1


def test_upsert_by_external_id(api, sandbox):
    created = api.patch("/sobjects/Lead/Lifesync_Id__c/ls-42", {"LastName": "New", "Company": "Acme"})
    assert created.status_code == 201
    record_id = created.get_json()["id"]
    assert created.get_json() == {"id": record_id, "success": True, "errors": [], "created": True}
    assert sandbox.get("Lead", record_id)["Lifesync_Id__c"] == "ls-42"
    updated = api.patch("/sobjects/Lead/lifesync_id__c/ls-42", {"City": "Porto"})
    assert updated.status_code == 200
    assert updated.get_json() == {"id": record_id, "success": True, "errors": [], "created": False}
    assert api.get("/sobjects/Lead/Lifesync_Id__c/ls-42").get_json()["City"] == "Porto"
    twin = new_lead(sandbox, 2, Lifesync_Id__c="ls-42")
    ambiguous = api.patch("/sobjects/Lead/Lifesync_Id__c/ls-42", {"City": "Braga"})
    assert ambiguous.status_code == 300
    assert ambiguous.get_json() == [f"{V}/sobjects/Lead/{record_id}", f"{V}/sobjects/Lead/{twin}"]
    assert api.get("/sobjects/Lead/Lifesync_Id__c/ls-42").status_code == 300
    assert error(api.patch("/sobjects/Lead/Email/a@x.example", {"City": "x"})) == (404, "NOT_FOUND")
    assert [w["op"] for w in sandbox.writes] == ["upsert", "upsert"]


def collection(sandbox, records: list[dict], all_or_none: bool = False) -> list[dict]:
    response = Api(sandbox).patch("/composite/sobjects", {"allOrNone": all_or_none, "records": records})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_collection_update_answers_per_record_in_order(sandbox):
    ok, converted = new_lead(sandbox, 1), new_lead(sandbox, 2)
    sandbox.convert_lead(converted)
    results = collection(sandbox, [
        {"attributes": {"type": "Lead"}, "Id": ok, "City": "Rome"},
        {"attributes": {"type": "Lead"}, "City": "nowhere"},
        {"attributes": {"type": "Lead"}, "Id": converted, "City": "Milan"},
        {"attributes": {"type": "Lead"}, "Id": ok, "IsConverted": True},
        {"attributes": {"type": "Lead"}, "Id": "0035g00000000ZZAAA", "City": "x"},
        {"attributes": {"type": "Lead"}, "Id": "00Q5g000000ZZZZ", "City": "x"},
    ])
    assert results[0] == {"id": ok, "success": True, "errors": []}
    assert [r["errors"][0]["statusCode"] for r in results[1:]] == [
        "MISSING_ARGUMENT", "CANNOT_UPDATE_CONVERTED_LEAD", "INVALID_FIELD_FOR_INSERT_UPDATE", "MALFORMED_ID",
        "INVALID_CROSS_REFERENCE_KEY"]
    assert all(not r["success"] and "id" not in r for r in results[1:])
    assert results[3]["errors"][0]["fields"] == ["IsConverted"]
    assert sandbox.get("Lead", ok)["City"] == "Rome"
    assert sandbox.calls["PATCH /services/data/vXX.X/composite/sobjects"] == 1


def test_all_or_none_rolls_everything_back(sandbox, clock):
    first, second = new_lead(sandbox, 1), new_lead(sandbox, 2)
    before = sandbox.get("Lead", first)
    clock.now += 60
    results = collection(sandbox, [
        {"attributes": {"type": "Lead"}, "Id": first, "City": "Rome"},
        {"attributes": {"type": "Lead"}, "Id": second, "Status": "Bogus"},
    ], all_or_none=True)
    assert results[0] == {"success": False, "errors": [{
        "statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK", "fields": [],
        "message": "Record rolled back because not all records were valid and the request was using AllOrNone header"}]}
    assert results[1]["errors"][0]["statusCode"] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    assert sandbox.get("Lead", first) == before and sandbox.writes == []


def test_collection_limits_and_shape(sandbox):
    lead = new_lead(sandbox)
    api = Api(sandbox)
    records = [{"attributes": {"type": "Lead"}, "Id": lead, "City": str(i)} for i in range(201)]
    too_many = api.patch("/composite/sobjects", {"records": records})
    assert error(too_many) == (400, "EXCEEDED_ID_LIMIT")
    assert "cannot submit more than 200 records" in too_many.get_json()[0]["message"]
    assert sandbox.get("Lead", lead)["City"] is None
    assert len(collection(sandbox, records[:200])) == 200
    assert sandbox.get("Lead", lead)["City"] == "199"
    assert len({w["at"] for w in sandbox.writes}) == 1  # one request, one modstamp
    assert error(api.patch("/composite/sobjects", {"records": [{"Id": lead}]})) == (400, "INVALID_TYPE")
    assert error(api.patch("/composite/sobjects", [])) == (400, "JSON_PARSER_ERROR")


def test_collection_create(sandbox):
    response = Api(sandbox).post("/composite/sobjects", {"records": [
        {"attributes": {"type": "Account"}, "Name": "One"},
        {"attributes": {"type": "Contact"}, "LastName": "Two", "Email": "two@x.example"},
        {"attributes": {"type": "Contact"}, "Id": "0035g00000000ZZAAA", "LastName": "Three"},
        {"attributes": {"type": "Contact"}},
    ]})
    results = response.get_json()
    assert [r["success"] for r in results] == [True, True, False, False]
    assert results[0]["id"].startswith("001") and results[1]["id"].startswith("003")
    assert results[2]["errors"][0]["message"] == "cannot specify Id in an insert call"
    assert results[3]["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"
    assert sandbox.get("Contact", results[1]["id"])["LastModifiedByClient"] == "lifesync"


def test_collection_upsert(sandbox, clock):
    existing = new_lead(sandbox, 1, Lifesync_Id__c="a")
    new_lead(sandbox, 2, Lifesync_Id__c="dup")
    new_lead(sandbox, 3, Lifesync_Id__c="dup")
    api = Api(sandbox)

    def upsert(records, all_or_none=False):
        return api.patch("/composite/sobjects/Lead/Lifesync_Id__c", {"allOrNone": all_or_none, "records": [
            {"attributes": {"type": "Lead"}, **r} for r in records]})

    results = upsert([{"Lifesync_Id__c": "a", "City": "Oslo"},
                      {"Lifesync_Id__c": "b", "LastName": "B", "Company": "Acme"},
                      {"Lifesync_Id__c": "dup", "City": "x"},
                      {"Lifesync_Id__c": "c", "City": "no last name"},
                      {"Lifesync_Id__c": "d", "LastName": "D", "Company": "Acme"},
                      {"Lifesync_Id__c": "d", "LastName": "D2", "Company": "Acme"},
                      {"City": "no key"}]).get_json()
    assert results[0] == {"id": existing, "success": True, "errors": [], "created": False}
    assert results[1]["success"] and results[1]["created"] is True
    assert results[2]["errors"][0]["statusCode"] == "DUPLICATE_EXTERNAL_ID"
    assert "more than one record found for external id field" in results[2]["errors"][0]["message"]
    assert [r["errors"][0]["statusCode"] for r in results[3:]] == [
        "REQUIRED_FIELD_MISSING", "DUPLICATE_VALUE", "DUPLICATE_VALUE", "MISSING_ARGUMENT"]
    assert sandbox.get("Lead", existing)["City"] == "Oslo"
    leads = len(sandbox.records("Lead"))
    rolled = upsert([{"Lifesync_Id__c": "e", "LastName": "E", "Company": "Acme"},
                     {"Lifesync_Id__c": "f", "City": "no last name"}], all_or_none=True).get_json()
    assert [r["success"] for r in rolled] == [False, False]
    assert len(sandbox.records("Lead")) == leads  # the created record was rolled back
    assert sandbox.store.match_external("Lead", "Lifesync_Id__c", "e") == []
    wrong_type = api.patch("/composite/sobjects/Lead/Lifesync_Id__c",
                           {"records": [{"attributes": {"type": "Contact"}, "Lifesync_Id__c": "z"}]})
    assert error(wrong_type) == (400, "INVALID_TYPE")
    not_external = api.patch("/composite/sobjects/Lead/Email", {"records": []})
    assert error(not_external) == (400, "INVALID_FIELD")


def test_describe_lists_fields_with_their_flags(api):
    body = api.get("/sobjects/lead/describe").get_json()
    fields = {f["name"]: f for f in body["fields"]}
    assert body["name"] == "Lead" and body["keyPrefix"] == "00Q"
    assert fields["Lifesync_Id__c"]["externalId"] is True and fields["Lifesync_Id__c"]["updateable"] is True
    assert fields["IsConverted"]["updateable"] is False
    assert [v["value"] for v in fields["Status"]["picklistValues"]] == [
        "Open - Not Contacted", "Working - Contacted", "Closed - Converted", "Closed - Not Converted"]
    assert fields["ConvertedContactId"]["referenceTo"] == ["Contact"]


def test_concurrent_api_writes(sandbox):
    app = create_app(sandbox)
    headers = {"Authorization": f"Bearer {sandbox.issue_token()}", **CLIENT}

    def worker(n: int) -> list[int]:
        client = app.test_client()
        return [client.patch(f"{V}/sobjects/Lead/Lifesync_Id__c/t{n}-{i}", json={"LastName": "x", "Company": "y"},
                             headers=headers).status_code for i in range(20)]

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = [s for result in pool.map(worker, range(8)) for s in result]
    assert statuses == [201] * 160
    ids = [r["Id"] for r in sandbox.records("Lead")]
    assert len(set(ids)) == 160 and sandbox.api_calls == 160 and len(sandbox.writes) == 160


def test_records_keep_salesforces_key_order_attributes_first(api, sandbox):
    record_id = new_lead(sandbox)
    raw = api.get(f"/sobjects/Lead/{record_id}").get_data(as_text=True)
    keys = list(json.loads(raw))
    assert keys[0] == "attributes" and keys != sorted(keys)
    assert list(api.post("/sobjects/Lead", {"LastName": "L", "Company": "C"}).get_json()) == ["id", "success", "errors"]
