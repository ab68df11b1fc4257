"""Pulling changes: windows, paging, shared timestamps, overlap, resume, bookmark, deletes, converted leads."""

from __future__ import annotations

import logging
import re

import pytest
import responses
from connectors.salesforce.helpers import (
    CONTACT_FIELDS,
    DATA,
    INSTANCE,
    NOW,
    STAMP,
    describe,
    lead,
    lead_soql,
    load,
    locator_url,
    query,
    window,
)

from sync.config import BUNDLED_CONFIG_DIR
from sync.connectors.crm import Page
from sync.connectors.salesforce import SalesforceConnector
from sync.errors import PermanentError, SettingsError
from sync.mappings import apply, load_mapping


def run(connector: SalesforceConnector, obj: str, cursor: dict, **kwargs) -> list[Page]:
    return list(connector.pull(obj, cursor, now=kwargs.pop("now", NOW), **kwargs))


def test_incremental_pull_reads_the_overlapping_window_and_yields_records_without_attributes(mock, connect):
    describe(mock, "Lead")
    query(mock, lead_soql("2026-11-27T09:45:00Z"), [lead(1, "2026-11-27T09:51:00.000+0000"), lead(2, STAMP)])
    connector = connect()
    pages = run(connector, "Lead", {"bookmark": "2026-11-27T09:50:00Z"})
    assert [p.object for p in pages] == ["Lead"]
    assert [r["Id"] for r in pages[0].records] == [lead(1)["Id"], lead(2)["Id"]]
    assert all("attributes" not in r for r in pages[0].records)
    assert pages[0].cursor == {"bookmark": "2026-11-27T09:58:00Z"}
    assert connector.stats.as_dict() | {} == {"records": 2, "pages": 1, "api_calls": 2, "rate_limit_waits": 0,
                                             "rate_limit_seconds": 0.0, "deleted": 0}
    assert mock.calls[1].request.url.startswith(f"{INSTANCE}/services/data/v61.0/queryAll?q=SELECT+Id")
    assert "Sforce-Call-Options" not in mock.calls[1].request.headers  # reads are not marked as our writes


def test_next_records_url_is_followed_and_every_page_carries_the_cursor_after_it(mock, connect):
    describe(mock, "Lead")
    query(mock, lead_soql("2026-11-27T09:45:00Z"), [lead(1, "2026-11-27T09:51:00.000+0000")], next_url=locator_url(1))
    query(mock, None, [lead(2, "2026-11-27T09:52:00.000+0000")], url=INSTANCE + locator_url(1),
          next_url=locator_url(2))
    query(mock, None, [lead(3, "2026-11-27T09:53:00.000+0000")], url=INSTANCE + locator_url(2))
    pages = run(connect(), "Lead", {"bookmark": "2026-11-27T09:50:00Z"})
    assert [len(p.records) for p in pages] == [1, 1, 1]
    first = pages[0].cursor
    assert first["bookmark"] == "2026-11-27T09:50:00Z"  # unchanged until the run completes
    assert first["run"] == {"mode": "rest", "full": False, "since": "2026-11-27T09:45:00Z",
                            "until": "2026-11-27T10:00:00Z", "max_seen": "2026-11-27T09:51:00Z",
                            "after": ["2026-11-27T09:51:00Z", lead(1)["Id"]]}
    assert pages[1].cursor["run"]["after"] == ["2026-11-27T09:52:00Z", lead(2)["Id"]]
    assert pages[2].cursor == {"bookmark": "2026-11-27T09:53:00Z"}


def shared_stamp_pages(mock, soql: str, numbers: range, first_locator: int = 0) -> None:
    """REST pages of 2,000 leads, all with one SystemModstamp, chained by nextRecordsUrl."""
    chunks = [numbers[i:i + 2000] for i in range(0, len(numbers), 2000)]
    for index, chunk in enumerate(chunks):
        more = index + 1 < len(chunks)
        next_url = locator_url(first_locator + index + 1) if more else None
        url = f"{DATA}/queryAll" if index == 0 else INSTANCE + locator_url(first_locator + index)
        query(mock, soql if index == 0 else None, [lead(n, STAMP) for n in chunk], url=url, next_url=next_url)


def test_twelve_thousand_rows_sharing_one_timestamp_arrive_once_each_and_a_resume_continues_after_the_last(
        mock, connect):
    describe(mock, "Lead")
    shared_stamp_pages(mock, lead_soql("2026-11-27T09:45:00Z"), range(1, 12_001))
    pages = run(connect(), "Lead", {"bookmark": "2026-11-27T09:50:00Z"})
    ids = [r["Id"] for p in pages for r in p.records]
    assert len(ids) == len(set(ids)) == 12_000
    assert len(mock.calls) == 7  # describe + 6 pages: no page asked twice, no loop
    assert pages[-1].cursor == {"bookmark": "2026-11-27T09:58:00Z"}

    # a crash after the third page: the next run keeps the window and restarts after row 6,000
    resume = pages[2].cursor
    assert resume["run"]["after"] == ["2026-11-27T09:58:00Z", lead(6000)["Id"]]
    mock.reset()
    describe(mock, "Lead")
    soql = lead_soql("2026-11-27T09:45:00Z", after=("2026-11-27T09:58:00Z", lead(6000)["Id"]))
    shared_stamp_pages(mock, soql, range(6001, 12_001), first_locator=10)
    later = run(connect(), "Lead", resume, now=NOW.replace(hour=11))  # the run's own window, not the new now
    resumed = [r["Id"] for p in later for r in p.records]
    assert len(resumed) == 6000 and set(resumed).isdisjoint(ids[:6000])
    assert set(ids[:6000]) | set(resumed) == set(ids)
    assert later[-1].cursor == {"bookmark": "2026-11-27T09:58:00Z"}


def test_overlap_window_catches_a_row_committed_late_with_an_older_timestamp(mock, connect):
    describe(mock, "Lead")
    query(mock, lead_soql("2026-11-27T09:45:00Z"), [lead(1, STAMP)])
    first = run(connect(), "Lead", {"bookmark": "2026-11-27T09:50:00Z"})
    assert first[-1].cursor == {"bookmark": "2026-11-27T09:58:00Z"}

    # lead 2 was stamped 09:57 but its transaction committed after the first run read the window
    mock.reset()
    describe(mock, "Lead")
    query(mock, lead_soql("2026-11-27T09:53:00Z", "2026-11-27T10:10:00Z"),
          [lead(2, "2026-11-27T09:57:00.000+0000"), lead(1, STAMP)])
    second = run(connect(), "Lead", first[-1].cursor, now=NOW.replace(minute=10))
    assert [r["Id"] for r in second[0].records] == [lead(2)["Id"], lead(1)["Id"]]
    assert second[-1].cursor == {"bookmark": "2026-11-27T09:58:00Z"}  # the bookmark never moves back


def test_bookmark_is_the_run_start_when_rows_newer_than_it_were_seen(mock, connect):
    describe(mock, "Lead")
    # a row stamped after the run started (clock skew): the bookmark stops at the run start
    query(mock, lead_soql("2026-11-27T09:45:00Z"), [lead(1, STAMP), lead(2, "2026-11-27T10:00:07.000+0000")])
    pages = run(connect(), "Lead", {"bookmark": "2026-11-27T09:50:00Z"})
    assert pages[-1].cursor == {"bookmark": "2026-11-27T10:00:00Z"}


def test_an_empty_incremental_run_yields_one_empty_page_and_keeps_the_bookmark(mock, connect):
    describe(mock, "Lead")
    query(mock, lead_soql("2026-11-27T09:45:00Z"), [])
    pages = run(connect(), "Lead", {"bookmark": "2026-11-27T09:50:00Z"})
    assert pages == [Page("Lead", [], {"bookmark": "2026-11-27T09:50:00Z"})]


def test_deleted_and_converted_leads_arrive_and_the_contact_is_followed(mock, connect):
    describe(mock, "Lead", "Contact", "Account")
    query(mock, lead_soql("2026-11-27T09:45:00Z"), load("query_leads.json")["records"])
    query(mock, f"SELECT {CONTACT_FIELDS} FROM Contact WHERE Id IN ('0035g00000XyZ12AAB') ORDER BY Id",
          load("query_converted_contacts.json")["records"])
    connector = connect()
    pages = run(connector, "Lead", {"bookmark": "2026-11-27T09:50:00Z"})
    assert [p.object for p in pages] == ["Lead", "Contact"]
    assert pages[1].cursor == pages[0].cursor == {"bookmark": "2026-11-27T09:58:30Z"}
    contact = pages[1].records[0]
    assert contact["Account"] == {"Name": "Smith & Daughters Ltd"}  # nested, without attributes
    assert connector.stats.deleted == 1 and connector.stats.records == 4 and connector.stats.pages == 2

    # the bundled mappings read these records as they are
    mappings = BUNDLED_CONFIG_DIR / "mappings"
    converted, deleted, _ = (apply(load_mapping(mappings / "salesforce_lead.yaml"), r) for r in pages[0].records)
    assert ("salesforce", "0035g00000XyZ12AAB") in {(i.kind, i.value) for i in converted.identities}
    assert deleted.deleted is True and converted.deleted is False
    followed = apply(load_mapping(mappings / "salesforce_contact.yaml"), contact)
    assert followed.field_map["company"] == "Smith & Daughters Ltd"
    assert ("salesforce", "0035g00000XyZ12AAB") in {(i.kind, i.value) for i in followed.identities}


def test_bundled_mapping_fields_are_selected_and_fields_the_org_lacks_are_left_out(mock, connect, caplog):
    describe(mock, "Opportunity")
    soql = ("SELECT Id, SystemModstamp, IsDeleted, ContactId, StageName, CloseDate, Amount, IsWon FROM Opportunity "
            f"WHERE {window('2026-11-27T09:45:00Z')} ORDER BY SystemModstamp, Id")
    query(mock, soql, [])
    with caplog.at_level(logging.WARNING):
        run(connect(fields=None), "Opportunity", {"bookmark": "2026-11-27T09:50:00Z"})
    assert "CurrencyIsoCode" in caplog.text and "left out of the query" in caplog.text


def test_full_sync_below_the_bulk_threshold_reads_rest_pages_without_a_lower_bound(mock, connect):
    query(mock, "SELECT COUNT() FROM Lead", [], used=3)
    describe(mock, "Lead")
    query(mock, lead_soql(None), [lead(1, "2026-01-05T08:00:00.000+0000")])
    pages = run(connect(), "Lead", {"bookmark": "2026-11-27T09:50:00Z"}, full=True)
    assert pages[-1].cursor == {"bookmark": "2026-11-27T09:50:00Z"}  # a full run never moves the bookmark back


def test_full_sync_of_an_empty_object_bookmarks_the_run_start(mock, connect):
    query(mock, "SELECT COUNT() FROM Lead", [])
    describe(mock, "Lead")
    query(mock, lead_soql(None), [])
    assert run(connect(), "Lead", {}) == [Page("Lead", [], {"bookmark": "2026-11-27T10:00:00Z"})]


def test_an_expired_query_locator_queries_again_after_the_last_committed_row(mock, connect):
    describe(mock, "Lead")
    query(mock, lead_soql("2026-11-27T09:45:00Z"), [lead(1, STAMP)], next_url=locator_url(1))
    mock.add(responses.GET, INSTANCE + locator_url(1), status=400, json=load("error_invalid_query_locator.json"))
    query(mock, lead_soql("2026-11-27T09:45:00Z", after=("2026-11-27T09:58:00Z", lead(1)["Id"])), [lead(2, STAMP)])
    pages = run(connect(), "Lead", {"bookmark": "2026-11-27T09:50:00Z"})
    assert [r["Id"] for p in pages for r in p.records] == [lead(1)["Id"], lead(2)["Id"]]


def test_a_malformed_query_fails_permanently_with_salesforce_message(mock, connect, sleeps):
    describe(mock, "Lead")
    mock.add(responses.GET, f"{DATA}/queryAll", status=400, json=load("error_malformed_query.json"))
    with pytest.raises(PermanentError, match=r"MALFORMED_QUERY.*unexpected token"):
        run(connect(), "Lead", {"bookmark": "2026-11-27T09:50:00Z"})
    assert sleeps == []


@pytest.mark.parametrize("failure", [
    {"status": 503, "json": [{"message": "Server unavailable", "errorCode": "SERVER_UNAVAILABLE"}]},
    {"status": 400, "json": [{"message": "unable to obtain exclusive access to this record",
                              "errorCode": "UNABLE_TO_LOCK_ROW"}]},
])
def test_unavailable_server_and_locked_rows_are_retried(mock, connect, sleeps, failure):
    describe(mock, "Lead")
    mock.add(responses.GET, f"{DATA}/queryAll", **failure)
    query(mock, lead_soql("2026-11-27T09:45:00Z"), [lead(1, STAMP)])
    pages = run(connect(), "Lead", {"bookmark": "2026-11-27T09:50:00Z"})
    assert len(pages[0].records) == 1 and len(sleeps) == 1


def test_the_connector_names_its_source_and_objects(connect):
    connector = connect()
    assert (connector.source, connector.objects(), connector.max_batch) == (
        "salesforce", ["Lead", "Contact", "Opportunity"], 200)


@pytest.mark.parametrize(("name", "value", "message"), [
    ("quota_share", "1.5", "LIFESYNC_SALESFORCE_QUOTA_SHARE must be between 0.01 and 1, got 1.5"),
    ("overlap_seconds", "five", "LIFESYNC_SALESFORCE_OVERLAP_SECONDS must be a number, got 'five'"),
    ("bulk_threshold", "-1", "LIFESYNC_SALESFORCE_BULK_THRESHOLD must be between 0 and 1000000000, got -1"),
])
def test_malformed_numeric_settings_name_the_variable(connect, name, value, message):
    with pytest.raises(SettingsError, match=re.escape(message)):
        connect(**{name: value})


def test_unknown_objects_are_refused(connect):
    with pytest.raises(ValueError, match="Lead, Contact, Opportunity"):
        connect().pull("Account", {})
