"""SOQL building: the mapping's fields, exact query text, literals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from sync.config import BUNDLED_CONFIG_DIR
from sync.connectors.salesforce import mapping_fields
from sync.connectors.salesforce.soql import (
    Window,
    changes_query,
    count_query,
    ids_query,
    parse_datetime,
    quote,
    select_fields,
    soql_datetime,
)
from sync.mappings import load_mapping

MAPPINGS = BUNDLED_CONFIG_DIR / "mappings"
T = datetime(2026, 11, 27, 10, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(("name", "expected"), [
    ("salesforce_lead", ["Id", "SystemModstamp", "IsDeleted", "ConvertedContactId", "IsConverted", "Email", "Phone",
                         "MobilePhone", "FirstName", "LastName", "Company", "Title", "City", "State", "PostalCode",
                         "Country", "LeadSource", "Status", "OwnerId", "HasOptedOutOfEmail",
                         "Individual.HasOptedOutProcessing", "Individual.HasOptedOutTracking",
                         "Individual.HasOptedOutSolicit"]),
    ("salesforce_contact", ["Id", "SystemModstamp", "IsDeleted", "Email", "Phone", "MobilePhone", "FirstName",
                            "LastName", "Account.Name", "Title", "MailingCity", "MailingState", "MailingPostalCode",
                            "MailingCountry", "LeadSource", "OwnerId", "HasOptedOutOfEmail",
                            "Individual.HasOptedOutProcessing", "Individual.HasOptedOutTracking",
                            "Individual.HasOptedOutSolicit"]),
    ("salesforce_opportunity", ["Id", "SystemModstamp", "IsDeleted", "ContactId", "StageName", "CloseDate", "Amount",
                                "CurrencyIsoCode", "IsWon"]),
])
def test_mapping_fields_lists_every_path_the_mapping_reads(name, expected):
    assert mapping_fields(load_mapping(MAPPINGS / f"{name}.yaml")) == expected


def test_mapping_fields_include_transform_path_arguments_and_skip_list_paths(tmp_path):
    path = tmp_path / "sf.yaml"
    path.write_text(
        "source: salesforce\nobject: Contact\nrecord_id: Id\n"
        "fields:\n"
        "  phone: {path: Phone, transforms: [{e164: {region_path: Account.BillingCountryCode}}]}\n"
        "  email: {path: email, when: {path: HasOptedOutOfEmail, equals: false}}\n"
        "  tag: {path: 'Tags[0].Name'}\n"
    )
    assert mapping_fields(load_mapping(path)) == ["Id", "Phone", "Account.BillingCountryCode", "email",
                                                  "HasOptedOutOfEmail"]


def test_select_fields_puts_the_base_fields_first_and_drops_duplicates_case_insensitively():
    assert select_fields("Lead", ["email", "Id", "FirstName", "Email"]) == [
        "Id", "SystemModstamp", "IsDeleted", "IsConverted", "ConvertedContactId", "email", "FirstName"]
    assert select_fields("Contact", ["Account.Name"]) == ["Id", "SystemModstamp", "IsDeleted", "Account.Name"]


@pytest.mark.parametrize("bad", ["Name, (SELECT Id FROM Contacts)", "Email FROM User--", "", "1Name", "Account..Name"])
def test_select_fields_refuses_what_is_not_a_field_name(bad):
    with pytest.raises(ValueError, match="not a Salesforce field name"):
        select_fields("Lead", [bad])


def test_incremental_query_text():
    window = Window(until=T, since=T - timedelta(minutes=5))
    assert changes_query("Lead", ["Email"], window) == (
        "SELECT Id, SystemModstamp, IsDeleted, IsConverted, ConvertedContactId, Email FROM Lead "
        "WHERE SystemModstamp >= 2026-11-27T09:55:00Z AND SystemModstamp <= 2026-11-27T10:00:00Z "
        "ORDER BY SystemModstamp, Id")


def test_resumed_query_restarts_strictly_after_the_last_row():
    window = Window(until=T, since=None, after=(datetime(2026, 11, 27, 9, 58, tzinfo=UTC), "00Q5g00000A1b2CEAR"))
    assert changes_query("Contact", ["Account.Name"], window, ordered=False) == (
        "SELECT Id, SystemModstamp, IsDeleted, Account.Name FROM Contact "
        "WHERE SystemModstamp <= 2026-11-27T10:00:00Z AND (SystemModstamp > 2026-11-27T09:58:00Z OR "
        "(SystemModstamp = 2026-11-27T09:58:00Z AND Id > '00Q5g00000A1b2CEAR'))")


def test_count_and_ids_queries():
    assert count_query("Opportunity") == "SELECT COUNT() FROM Opportunity"
    assert ids_query("Contact", ["Email"], ["0035g00000XyZ12AAB", "0035g00000XyZ13"]) == (
        "SELECT Id, SystemModstamp, IsDeleted, Email FROM Contact "
        "WHERE Id IN ('0035g00000XyZ12AAB', '0035g00000XyZ13') ORDER BY Id")
    with pytest.raises(ValueError):
        ids_query("Contact", [], ["0035' OR Name != '"])
    with pytest.raises(ValueError):
        count_query("Lead WHERE")


def test_datetime_literals_are_utc_to_the_second_without_quotes():
    cet = timezone(timedelta(hours=1))
    assert soql_datetime(datetime(2026, 11, 27, 11, 0, 0, 999_000, tzinfo=cet)) == "2026-11-27T10:00:00Z"
    assert soql_datetime(datetime(2026, 11, 27, 10, 0, 0)) == "2026-11-27T10:00:00Z"  # naive = UTC


@pytest.mark.parametrize("text", ["2026-03-01T10:15:02.000+0000", "2026-03-01T10:15:02.000Z",
                                  "2026-03-01T11:15:02+01:00"])
def test_salesforce_datetimes_parse_to_utc(text):
    assert parse_datetime(text) == datetime(2026, 3, 1, 10, 15, 2, tzinfo=UTC)


def test_string_literals_escape_quotes_and_backslashes():
    assert quote("O'Brien \\ co") == "'O\\'Brien \\\\ co'"
