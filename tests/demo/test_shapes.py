import re
from datetime import UTC, date, datetime

import phonenumbers
import pytest

from sync.demo.records import salesforce_id

HS_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
SF_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000")
NOW = datetime(2026, 11, 1, tzinfo=UTC)

HS_CONTACT_PROPS = {"email", "firstname", "lastname", "phone", "mobilephone", "company", "jobtitle", "city",
                    "state", "zip", "country", "hs_language", "lifecyclestage", "hs_lead_status", "createdate",
                    "lastmodifieddate", "hs_object_id"}
HS_DEAL_PROPS = {"dealname", "amount", "dealstage", "closedate", "pipeline", "deal_currency_code", "createdate",
                 "hs_lastmodifieddate", "hs_object_id"}
LEAD_KEYS = {"attributes", "Id", "FirstName", "LastName", "Email", "Phone", "MobilePhone", "Company", "Title",
             "City", "State", "PostalCode", "Country", "Status", "LeadSource", "IsConverted",
             "ConvertedContactId", "OwnerId", "CreatedDate", "LastModifiedDate", "SystemModstamp", "IsDeleted"}
CONTACT_KEYS = {"attributes", "Id", "FirstName", "LastName", "Email", "Phone", "MobilePhone", "Title",
                "MailingCity", "MailingState", "MailingPostalCode", "MailingCountry", "LeadSource", "OwnerId",
                "AccountId", "Account", "SystemModstamp", "IsDeleted"}
OPP_KEYS = {"attributes", "Id", "Name", "StageName", "IsClosed", "IsWon", "Amount", "CloseDate", "ContactId",
            "AccountId", "SystemModstamp", "IsDeleted"}
RESPONDIO_KEYS = {"id", "firstName", "lastName", "phone", "email", "language", "countryCode", "custom_fields",
                  "status", "tags", "assignee", "lifecycle", "created_at"}
REFERRAL_KEYS = {"source_url", "source_id", "source_type", "headline", "body", "media_type", "image_url"}


def hs_time(text: str) -> datetime:
    assert HS_TIME.fullmatch(text), text
    parsed = datetime.fromisoformat(text)
    assert parsed <= NOW
    return parsed


def sf_time(text: str) -> datetime:
    assert SF_TIME.fullmatch(text), text
    parsed = datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f%z")
    assert parsed <= NOW
    return parsed


def check_sf_id(value: str, prefix: str) -> None:
    assert isinstance(value, str) and len(value) == 18 and value.startswith(prefix), value
    suffix = ""
    for chunk in (value[0:5], value[5:10], value[10:15]):
        bits = sum(1 << i for i, ch in enumerate(chunk) if ch.isupper())
        suffix += "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"[bits]
    assert value[15:] == suffix, value


def check_attributes(record: dict, kind: str) -> None:
    assert record["attributes"] == {"type": kind, "url": f"/services/data/v60.0/sobjects/{kind}/{record['Id']}"}


def test_salesforce_ids_carry_the_case_checksum():
    ids = [salesforce_id(prefix, 62**8 * n + 987_654_321 * n) for prefix in ("003", "00Q") for n in range(1, 40)]
    for value in ids:
        check_sf_id(value, value[:3])
    assert len({value[15:] for value in ids}) > 5  # the suffix really depends on the case pattern


def test_hubspot_contacts(business):
    for c in business.hubspot_contacts:
        assert set(c) == {"id", "properties", "createdAt", "updatedAt", "archived"}
        assert c["id"].isdigit() and c["archived"] is False
        props = c["properties"]
        assert set(props) == HS_CONTACT_PROPS
        assert all(v is None or isinstance(v, str) for v in props.values()), props
        assert props["hs_object_id"] == c["id"]
        assert props["createdate"] == c["createdAt"] and props["lastmodifieddate"] == c["updatedAt"]
        assert hs_time(c["createdAt"]) <= hs_time(c["updatedAt"])
        assert props["lifecyclestage"] in {"subscriber", "lead", "marketingqualifiedlead", "salesqualifiedlead",
                                           "opportunity", "customer", "evangelist", "other"}


def test_hubspot_deals(business):
    contact_ids = {c["id"] for c in business.hubspot_contacts}
    assert business.hubspot_deals
    for d in business.hubspot_deals:
        assert set(d) == {"id", "properties", "associations", "createdAt", "updatedAt", "archived"}
        props = d["properties"]
        assert set(props) == HS_DEAL_PROPS
        assert all(isinstance(v, str) for v in props.values())
        assert props["dealstage"] in {"appointmentscheduled", "qualifiedtobuy", "presentationscheduled",
                                      "decisionmakerboughtin", "contractsent", "closedwon", "closedlost"}
        assert float(props["amount"]) > 0 and props["pipeline"] == "default"
        assert props["hs_object_id"] == d["id"] and d["id"].isdigit()
        hs_time(props["closedate"])
        assert hs_time(d["createdAt"]) <= hs_time(d["updatedAt"])
        [assoc] = d["associations"]["contacts"]["results"]
        assert assoc["type"] == "deal_to_contact" and assoc["id"] in contact_ids


def test_salesforce_leads(business):
    contact_ids = {c["Id"] for c in business.salesforce_contacts}
    for lead in business.salesforce_leads:
        assert set(lead) == LEAD_KEYS
        check_sf_id(lead["Id"], "00Q")
        check_sf_id(lead["OwnerId"], "005")
        check_attributes(lead, "Lead")
        assert lead["Status"] in {"Open - Not Contacted", "Working - Contacted", "Closed - Converted",
                                  "Closed - Not Converted"}
        assert lead["IsConverted"] is (lead["Status"] == "Closed - Converted")
        if lead["IsConverted"]:
            check_sf_id(lead["ConvertedContactId"], "003")
            assert lead["ConvertedContactId"] in contact_ids
        else:
            assert lead["ConvertedContactId"] is None
        assert sf_time(lead["CreatedDate"]) <= sf_time(lead["LastModifiedDate"]) <= sf_time(lead["SystemModstamp"])
        assert lead["IsDeleted"] is False and isinstance(lead["LastName"], str) and lead["LastName"]


def test_salesforce_contacts(business):
    for c in business.salesforce_contacts:
        assert set(c) == CONTACT_KEYS
        check_sf_id(c["Id"], "003")
        check_sf_id(c["AccountId"], "001")
        check_attributes(c, "Contact")
        assert set(c["Account"]) == {"attributes", "Name"} and isinstance(c["Account"]["Name"], str)
        assert c["Account"]["attributes"]["type"] == "Account"
        sf_time(c["SystemModstamp"])
        assert c["IsDeleted"] is False


def test_salesforce_opportunities(business):
    contacts = {c["Id"]: c for c in business.salesforce_contacts}
    assert business.salesforce_opportunities
    for o in business.salesforce_opportunities:
        assert set(o) == OPP_KEYS
        check_sf_id(o["Id"], "006")
        check_attributes(o, "Opportunity")
        assert o["StageName"] in {"Prospecting", "Qualification", "Needs Analysis", "Proposal/Price Quote",
                                  "Negotiation/Review", "Closed Won", "Closed Lost"}
        assert o["IsClosed"] is o["StageName"].startswith("Closed")
        assert o["IsWon"] is (o["StageName"] == "Closed Won")
        assert isinstance(o["Amount"], float) and o["Amount"] > 0
        date.fromisoformat(o["CloseDate"])
        assert contacts[o["ContactId"]]["AccountId"] == o["AccountId"]
        sf_time(o["SystemModstamp"])


def test_whatsapp_messages(business):
    by_sender: dict[str, list[dict]] = {}
    for value in business.whatsapp_messages:
        assert set(value) == {"messaging_product", "metadata", "contacts", "messages"}
        assert value["messaging_product"] == "whatsapp"
        assert value["metadata"] == {"display_phone_number": "15550001111", "phone_number_id": "106540352242922"}
        [contact], [message] = value["contacts"], value["messages"]
        assert set(contact) == {"profile", "wa_id"} and set(contact["profile"]) == {"name"}
        assert set(message) - {"referral"} == {"from", "id", "timestamp", "type", "text"}
        assert message["from"] == contact["wa_id"] and contact["wa_id"].isdigit()
        assert message["timestamp"].isdigit() and int(message["timestamp"]) <= NOW.timestamp()
        assert message["id"].startswith("wamid.") and message["type"] == "text"
        assert isinstance(message["text"]["body"], str) and message["text"]["body"]
        if "referral" in message:
            referral = message["referral"]
            assert set(referral) - {"ctwa_clid"} == REFERRAL_KEYS and referral["source_type"] == "ad"
            assert referral["source_id"].isdigit() and referral["source_url"].startswith("https://fb.me/")
        by_sender.setdefault(message["from"], []).append(message)
    assert len({m["id"] for ms in by_sender.values() for m in ms}) == len(business.whatsapp_messages)
    for messages in by_sender.values():
        assert 1 <= len(messages) <= 4
        stamps = [int(m["timestamp"]) for m in messages]
        assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)
        assert all("referral" not in m for m in messages[1:])


def test_respondio_contacts(business):
    for c in business.respondio_contacts:
        assert set(c) == RESPONDIO_KEYS
        assert isinstance(c["id"], int) and isinstance(c["created_at"], int)
        assert c["created_at"] <= NOW.timestamp()
        assert c["phone"] is None or re.fullmatch(r"\+[1-9]\d{7,14}", c["phone"])
        assert c["status"] == "open" and c["assignee"] is None and isinstance(c["tags"], list)
        assert [f["name"] for f in c["custom_fields"]] == ["Budget"]
        lifecycle = c["lifecycle"]
        if isinstance(lifecycle, dict):
            assert set(lifecycle) == {"id", "name"} and isinstance(lifecycle["id"], int)
            lifecycle = lifecycle["name"]
        assert lifecycle in {"New Lead", "Hot Lead", "Payment", "Customer", "Cold Lead", "Unqualified",
                             "Lost to competitor"}


def test_person_phones_are_valid_numbers_of_their_country(business):
    for p in business.people:
        number = phonenumbers.parse(p.phone_e164)
        assert phonenumbers.is_valid_number(number), p.phone_e164
        assert phonenumbers.region_code_for_number(number) == p.country
        assert phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164) == p.phone_e164


@pytest.mark.parametrize("style", ["national", "dashed"])
def test_local_phone_styles_parse_back_to_the_same_number(business, style):
    from sync.demo.records import format_phone

    for p in business.people[:1500]:
        text = format_phone(p.phone_e164, p.country, style)
        assert not text.startswith("+")
        parsed = phonenumbers.parse(text, p.country)
        assert phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164) == p.phone_e164, text


@pytest.mark.parametrize("style", ["e164", "spaced", "zerozero", "digits"])
def test_international_phone_styles_hold_the_same_digits(business, style):
    from sync.demo.records import format_phone

    for p in business.people[:1500]:
        text = format_phone(p.phone_e164, p.country, style)
        digits = "+" + re.sub(r"\D", "", text).removeprefix("00")
        assert digits == p.phone_e164, text
