import re

import phonenumbers

from sync.demo.people import ascii_fold
from sync.demo.records import JUNK_VALUES, format_phone, hubspot_contact_id, salesforce_record_id

EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def identity_values(business) -> list[tuple[str, str, object]]:
    values = []
    for c in business.hubspot_contacts:
        props = c["properties"]
        values += [("hubspot", "email", props["email"]), ("hubspot", "phone", props["phone"]),
                   ("hubspot", "phone", props["mobilephone"])]
    for r in business.salesforce_leads + business.salesforce_contacts:
        values += [("salesforce", "email", r["Email"]), ("salesforce", "phone", r["Phone"]),
                   ("salesforce", "phone", r["MobilePhone"])]
    return values


def test_junk_identity_values_in_both_crms(business):
    values = identity_values(business)
    for system in ("hubspot", "salesforce"):
        junk = {v for s, _, v in values if s == system and v in JUNK_VALUES}
        assert len(junk) >= 3, (system, junk)
    assert {v for _, _, v in values if isinstance(v, str)} >= {"null", "n/a", "-1", "000000000", ""}


def test_invalid_and_messy_emails(business):
    emails = [v for _, kind, v in identity_values(business) if kind == "email" and v and v not in JUNK_VALUES]
    invalid = [e for e in emails if not EMAIL.fullmatch(e.strip())]
    assert "not-an-email" in invalid and any(e.endswith("@") for e in invalid)
    assert any(e != e.strip() for e in emails)
    assert any(e.strip() != e.strip().lower() for e in emails)
    assert any(v is None for _, kind, v in identity_values(business) if kind == "email")


def test_phones_in_national_and_other_local_formats(business):
    phones = {v for _, kind, v in identity_values(business) if kind == "phone" and v}
    national = {format_phone(p.phone_e164, p.country, "national") for p in business.people}
    assert phones & national
    assert any(p.startswith("00") and p not in JUNK_VALUES for p in phones)
    assert any("(" in p for p in phones) and any("-" in p and p != "-1" for p in phones)
    assert any(re.fullmatch(r"[1-9]\d{9,13}", p) for p in phones)  # country code without "+"


def test_same_phone_written_differently_across_systems(business):
    seed = business.seed
    hubspot = {c["id"]: c["properties"] for c in business.hubspot_contacts}
    salesforce = {r["Id"]: r for r in business.salesforce_leads + business.salesforce_contacts}
    differing = 0
    for p in business.people:
        hs = hubspot.get(hubspot_contact_id(seed, p.key))
        sf = salesforce.get(salesforce_record_id(seed, "00Q", p.key)) or salesforce.get(
            salesforce_record_id(seed, "003", p.key))
        if not hs or not sf or not hs["phone"] or not sf["Phone"] or hs["phone"] == sf["Phone"]:
            continue
        if hs["phone"] in JUNK_VALUES or sf["Phone"] in JUNK_VALUES:
            continue
        for text in (hs["phone"], sf["Phone"]):
            text = "+" + text[2:] if text.startswith("00") else text
            if re.fullmatch(r"[1-9]\d{9,13}", text):
                text = "+" + text
            number = phonenumbers.parse(text, p.country)
            assert phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164) == p.phone_e164
        differing += 1
    assert differing > 100


def test_conflicting_values_across_crms_with_different_timestamps(business):
    seed = business.seed
    hubspot = {c["id"]: c for c in business.hubspot_contacts}
    leads = {r["Id"]: r for r in business.salesforce_leads}
    titles = cities = short_names = accents = later_in_salesforce = later_in_hubspot = 0
    for p in business.people:
        hs, lead = hubspot.get(hubspot_contact_id(seed, p.key)), leads.get(salesforce_record_id(seed, "00Q", p.key))
        if not hs or not lead:
            continue
        props = hs["properties"]
        titles += bool(props["jobtitle"] and lead["Title"] and props["jobtitle"] != lead["Title"])
        cities += bool(props["city"] and lead["City"] and props["city"] != lead["City"])
        short_names += " " in p.first_name and {props["firstname"], lead["FirstName"]} == {
            p.first_name, p.first_name.split()[0]}
        accents += props["firstname"] != lead["FirstName"] and ascii_fold(props["firstname"]) == lead["FirstName"]
        hs_modified = props["lastmodifieddate"][:19]
        sf_modified = lead["LastModifiedDate"][:19]
        later_in_salesforce += sf_modified > hs_modified
        later_in_hubspot += hs_modified > sf_modified
    assert titles > 50 and cities > 20 and short_names > 5 and accents > 5
    assert later_in_salesforce > 50 and later_in_hubspot > 50


def test_hubspot_duplicates_share_email_in_different_case(business):
    by_email: dict[str, list[str]] = {}
    for c in business.hubspot_contacts:
        email = c["properties"]["email"]
        if email and EMAIL.fullmatch(email.strip()):
            by_email.setdefault(email.strip().lower(), []).append(email)
    pairs = [v for v in by_email.values() if len(v) > 1]
    assert len(pairs) > 20
    assert all(len(set(v)) == len(v) for v in pairs)  # never the identical string


def test_respondio_lifecycle_comes_in_both_shapes(business):
    shapes = {type(c["lifecycle"]) for c in business.respondio_contacts}
    assert shapes == {str, dict}
    assert any(c["lastName"] == "" and " " in c["firstName"] for c in business.respondio_contacts)


def test_some_ad_clicks_lack_ctwa_clid_in_the_referral(business):
    referrals = [v["messages"][0]["referral"] for v in business.whatsapp_messages if "referral" in v["messages"][0]]
    assert referrals and any("ctwa_clid" not in r for r in referrals)
    assert sum("ctwa_clid" in r for r in referrals) > len(referrals) / 2
