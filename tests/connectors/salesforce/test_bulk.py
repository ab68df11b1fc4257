"""Full syncs above the threshold: a Bulk API 2.0 queryAll job, polled, its CSV pages parsed and resumable."""

from __future__ import annotations

import pytest
import responses
from connectors.salesforce.helpers import DATA, NOW, describe, load, settings, stored_session, usage
from responses import matchers

from sync.config import BUNDLED_CONFIG_DIR
from sync.connectors.salesforce import SalesforceConnector
from sync.connectors.salesforce.bulk import parse_csv
from sync.errors import PermanentError
from sync.mappings import apply, load_mapping

JOB = "7505g00000Ab1CdAAJ"
JOBS = f"{DATA}/jobs/query"
RESULTS = f"{JOBS}/{JOB}/results"
COLUMNS = ["Email", "Account.Name", "HasOptedOutOfEmail", "Birthdate", "Account.NumberOfEmployees"]
SOQL = ("SELECT Id, SystemModstamp, IsDeleted, Email, Account.Name, HasOptedOutOfEmail, Birthdate, "
        "Account.NumberOfEmployees FROM Contact WHERE SystemModstamp <= 2026-11-27T10:00:00Z")
OLIVER = {"Id": "0035g00000XyZ12AAB", "SystemModstamp": "2026-03-02T11:00:00.000+0000", "IsDeleted": False,
          "Email": "oliver.smith@example.co.uk", "Account": {"Name": "Smith & Daughters Ltd", "NumberOfEmployees": 12},
          "HasOptedOutOfEmail": False, "Birthdate": "1980-04-02"}
DELETED = {"Id": "0035g00000XyZ13AAB", "SystemModstamp": "2026-03-04T09:30:00.000+0000", "IsDeleted": True,
           "Email": None, "Account": None, "HasOptedOutOfEmail": True, "Birthdate": None}
ANA = {"Id": "0035g00000XyZ14AAB", "SystemModstamp": "2026-03-03T08:00:00.000+0000", "IsDeleted": False,
       "Email": "ana.lopez@example.com", "Account": {"Name": 'Lopez, "Hermanos" y Cia', "NumberOfEmployees": None},
       "HasOptedOutOfEmail": False, "Birthdate": None}


@pytest.fixture
def connector(sleeps):
    return SalesforceConnector(settings(bulk_threshold="2"), tokens=stored_session(), fields={"Contact": COLUMNS},
                               sleep=sleeps.append)


def count(mock, total: int) -> None:
    mock.add(responses.GET, f"{DATA}/queryAll", json={"totalSize": total, "done": True, "records": []},
             match=[matchers.query_param_matcher({"q": "SELECT COUNT() FROM Contact"})], headers=usage(11))


def job_state(mock, state: str, **extra) -> None:
    mock.add(responses.GET, f"{JOBS}/{JOB}", json={**load("bulk_job_complete.json"), "state": state, **extra},
             headers=usage(20))


def results(mock, csv_file: str, locator: str | None, next_locator: str) -> None:
    params = {"maxRecords": "10000", **({"locator": locator} if locator else {})}
    mock.add(responses.GET, RESULTS, body=load(csv_file), content_type="text/csv",
             headers={"Sforce-Locator": next_locator, "Sforce-NumberOfRecords": "2", **usage(21)},
             match=[matchers.query_param_matcher(params), matchers.header_matcher({"Accept": "text/csv"})])


def test_full_sync_above_the_threshold_runs_a_bulk_job_and_parses_its_csv_pages(mock, connector, sleeps):
    count(mock, 3)
    describe(mock, "Contact", "Account")
    mock.add(responses.POST, JOBS, json=load("bulk_job_created.json"), match=[
        matchers.json_params_matcher({"operation": "queryAll", "query": SOQL, "contentType": "CSV",
                                      "columnDelimiter": "COMMA", "lineEnding": "LF"}),
        matchers.header_matcher({"Sforce-Call-Options": "client=lifesync"})])
    job_state(mock, "UploadComplete")
    job_state(mock, "InProgress")
    job_state(mock, "JobComplete")
    results(mock, "bulk_contacts_1.csv", None, "MTAwMDA")
    results(mock, "bulk_contacts_2.csv", "MTAwMDA", "null")

    pages = list(connector.pull("Contact", {}, now=NOW))
    assert [p.records for p in pages] == [[], [OLIVER, DELETED], [ANA]]
    run = {"mode": "bulk", "full": True, "since": None, "until": "2026-11-27T10:00:00Z", "after": None, "job": JOB}
    assert pages[0].cursor == {"run": {**run, "max_seen": None, "locator": None}}  # the job survives a crash
    assert pages[1].cursor == {"run": {**run, "max_seen": "2026-03-04T09:30:00Z", "locator": "MTAwMDA"}}
    assert pages[2].cursor == {"bookmark": "2026-03-04T09:30:00Z"}
    assert sleeps == [1.0, 2.0]  # polled with a growing interval
    assert connector.stats.deleted == 1 and connector.stats.records == 3

    patch = apply(load_mapping(BUNDLED_CONFIG_DIR / "mappings" / "salesforce_contact.yaml"), OLIVER)
    assert patch.field_map["company"] == "Smith & Daughters Ltd" and patch.deleted is False
    assert apply(load_mapping(BUNDLED_CONFIG_DIR / "mappings" / "salesforce_contact.yaml"), DELETED).deleted is True


def test_a_resumed_bulk_run_starts_at_the_next_locator(mock, connector, sleeps):
    describe(mock, "Contact", "Account")
    results(mock, "bulk_contacts_2.csv", "MTAwMDA", "null")
    cursor = {"run": {"mode": "bulk", "full": True, "since": None, "until": "2026-11-27T10:00:00Z", "after": None,
                      "job": JOB, "max_seen": "2026-03-04T09:30:00Z", "locator": "MTAwMDA"}}
    pages = list(connector.pull("Contact", cursor, full=True, now=NOW.replace(hour=12)))
    assert [p.records for p in pages] == [[ANA]]
    assert pages[0].cursor == {"bookmark": "2026-03-04T09:30:00Z"}
    assert sleeps == []  # a job with a locator is complete: no polling


def test_a_run_that_stopped_while_the_job_ran_polls_the_same_job(mock, connector, sleeps):
    describe(mock, "Contact", "Account")
    job_state(mock, "JobComplete")
    results(mock, "bulk_contacts_2.csv", None, "null")
    cursor = {"run": {"mode": "bulk", "full": True, "since": None, "until": "2026-11-27T10:00:00Z", "after": None,
                      "job": JOB, "max_seen": None, "locator": None}}
    assert [p.records for p in connector.pull("Contact", cursor, now=NOW)] == [[ANA]]


def test_a_failed_job_raises_a_permanent_error_with_its_reason(mock, connector):
    count(mock, 3)
    describe(mock, "Contact", "Account")
    mock.add(responses.POST, JOBS, json=load("bulk_job_created.json"))
    job_state(mock, "Failed", errorMessage="INVALID_FIELD: No such column 'Birthdate' on entity 'Contact'")
    pulled = connector.pull("Contact", {}, now=NOW)
    assert next(pulled).records == []
    with pytest.raises(PermanentError, match=r"ended Failed: INVALID_FIELD: No such column"):
        next(pulled)


def test_a_job_whose_results_expired_is_started_again(mock, connector):
    describe(mock, "Contact", "Account")
    mock.add(responses.GET, RESULTS, status=404,
             json=[{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}])
    mock.add(responses.POST, JOBS, json={**load("bulk_job_created.json"), "id": "7505g00000Ab1CeAAJ"})
    mock.add(responses.GET, f"{JOBS}/7505g00000Ab1CeAAJ", json=load("bulk_job_complete.json"))
    mock.add(responses.GET, f"{JOBS}/7505g00000Ab1CeAAJ/results", body=load("bulk_contacts_2.csv"),
             headers={"Sforce-Locator": "null"})
    cursor = {"run": {"mode": "bulk", "full": True, "since": None, "until": "2026-11-27T10:00:00Z", "after": None,
                      "job": JOB, "max_seen": "2026-03-04T09:30:00Z", "locator": "MTAwMDA"}}
    pages = list(connector.pull("Contact", cursor, now=NOW))
    assert [p.records for p in pages] == [[], [ANA]]
    assert pages[0].cursor["run"]["job"] == "7505g00000Ab1CeAAJ"
    assert pages[-1].cursor == {"bookmark": "2026-03-03T08:00:00Z"}


@pytest.mark.parametrize(("kind", "cell", "value"), [
    ("boolean", "true", True), ("boolean", "false", False), ("int", "42", 42), ("double", "0.5", 0.5),
    ("currency", "125000.00", 125000.0), ("percent", "10", 10.0), ("string", "02139", "02139"),
    ("phone", "+14155552671", "+14155552671"), ("datetime", "2026-03-01T10:15:02.000Z", "2026-03-01T10:15:02.000+0000"),
    ("date", "2026-03-01", "2026-03-01"), ("string", "", None), ("int", "", None), ("boolean", "", None),
])
def test_csv_cells_become_what_rest_returns(kind, cell, value):
    text = f'"Id","X"\n"0035g00000XyZ12AAB","{cell}"\n'
    assert parse_csv(text, {"Id": "id", "X": kind}) == [{"Id": "0035g00000XyZ12AAB", "X": value}]


def test_csv_relationship_columns_nest_and_an_empty_parent_is_null():
    text = '"Id","Owner.Name","Account.Owner.Email"\n"1","Ana","ana@example.com"\n"2","",""\n'
    assert parse_csv(text, {}) == [
        {"Id": "1", "Owner": {"Name": "Ana"}, "Account": {"Owner": {"Email": "ana@example.com"}}},
        {"Id": "2", "Owner": None, "Account": None},
    ]
    assert parse_csv("", {}) == []
