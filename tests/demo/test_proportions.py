from collections import Counter

import pytest

from sync.demo.records import hubspot_contact_id, salesforce_record_id


def share(business, predicate) -> float:
    return sum(1 for p in business.people if predicate(p)) / len(business.people)


@pytest.mark.parametrize(("predicate", "expected"), [
    (lambda p: "hubspot" in p.systems, 0.55),
    (lambda p: "salesforce" in p.systems, 0.45),
    (lambda p: {"hubspot", "salesforce"} <= set(p.systems), 0.30),
    (lambda p: "whatsapp" in p.systems, 0.25),
    (lambda p: "respondio" in p.systems, 0.15),
    (lambda p: p.lost_stage is not None, 0.20),
    (lambda p: p.ad is not None, 0.125),
])
def test_people_shares(business, predicate, expected):
    assert len(business.people) == 5000
    assert share(business, predicate) == pytest.approx(expected, abs=0.025)


def test_everyone_is_somewhere_and_stages_are_coherent(business):
    for p in business.people:
        assert p.systems, p
        assert p.stage_path == ("New Lead", "Hot Lead", "Payment", "Customer")[: len(p.stage_path)]
        assert p.lost_stage is None or "Customer" not in p.stage_path
        assert (p.salesforce_kind is not None) is ("salesforce" in p.systems)
    lost = Counter(p.lost_stage for p in business.people if p.lost_stage)
    assert lost.most_common(1)[0][0] == "Cold Lead"
    assert set(lost) == {"Cold Lead", "Unqualified", "Lost to competitor"}


def test_half_of_whatsapp_people_came_from_ads(business):
    whatsapp = [p for p in business.people if "whatsapp" in p.systems]
    clicks = [p.ad for p in whatsapp if p.ad]
    assert len(clicks) / len(whatsapp) == pytest.approx(0.5, abs=0.05)
    assert len({c.ad.campaign_id for c in clicks}) == 6
    assert len({c.ad.ad_id for c in clicks}) == 18
    assert all(len(c.ad.ad_id) == 18 and c.ad.ad_id.isdigit() for c in clicks)
    assert sum(c.ctwa_clid is None for c in clicks) / len(clicks) == pytest.approx(0.10, abs=0.04)
    assert all(p.channel == "whatsapp" for p in whatsapp if p.ad)


def test_records_match_the_people(business):
    people = business.people
    hubspot = [p for p in people if "hubspot" in p.systems]
    assert len(business.hubspot_deals) == sum(p.reached("Payment") for p in hubspot)
    assert len(business.salesforce_leads) == sum(p.salesforce_kind in ("lead", "converted") for p in people)
    assert len(business.salesforce_contacts) == sum(p.salesforce_kind in ("contact", "converted") for p in people)
    assert len(business.salesforce_opportunities) == sum(
        p.salesforce_kind in ("contact", "converted") and p.reached("Payment") for p in people)
    assert len(business.respondio_contacts) == sum("respondio" in p.systems for p in people)
    senders = {v["messages"][0]["from"] for v in business.whatsapp_messages}
    assert senders == {p.phone_e164[1:] for p in people if "whatsapp" in p.systems}
    duplicates = len(business.hubspot_contacts) - len(hubspot)
    assert duplicates / len(hubspot) == pytest.approx(0.03, abs=0.015)


def test_stages_are_encoded_in_each_vendor_vocabulary(business):
    seed = business.seed
    by_contact = {hubspot_contact_id(seed, p.key): p for p in business.people}
    for deal in business.hubspot_deals:
        p = by_contact[deal["associations"]["contacts"]["results"][0]["id"]]
        expected = "closedwon" if p.reached("Customer") else "closedlost" if p.lost_stage else None
        assert deal["properties"]["dealstage"] == expected or (
            expected is None and deal["properties"]["dealstage"] in
            {"presentationscheduled", "decisionmakerboughtin", "contractsent"})
    stages = {"customer", "evangelist"}
    for c in business.hubspot_contacts:
        p = by_contact.get(c["id"])
        if p is not None and p.reached("Customer"):
            assert c["properties"]["lifecyclestage"] in stages
    by_opp = {salesforce_record_id(seed, "006", p.key): p for p in business.people}
    for o in business.salesforce_opportunities:
        p = by_opp[o["Id"]]
        assert o["IsWon"] is p.reached("Customer")
        assert o["ContactId"] == salesforce_record_id(seed, "003", p.key)
    by_lead = {salesforce_record_id(seed, "00Q", p.key): p for p in business.people}
    for lead in business.salesforce_leads:
        p = by_lead[lead["Id"]]
        if p.salesforce_kind == "converted":
            assert lead["Status"] == "Closed - Converted"
            assert lead["ConvertedContactId"] == salesforce_record_id(seed, "003", p.key)
        elif p.lost_stage:
            assert lead["Status"] == "Closed - Not Converted"
        else:
            assert lead["Status"] in {"Open - Not Contacted", "Working - Contacted"}
    names = {c["lifecycle"] if isinstance(c["lifecycle"], str) else c["lifecycle"]["name"]
             for c in business.respondio_contacts}
    assert names == {"New Lead", "Hot Lead", "Payment", "Customer", "Cold Lead", "Unqualified",
                     "Lost to competitor"}


def test_summary_counts_match(business):
    summary = business.summary()
    assert summary["people"] == 5000
    assert summary["records"]["hubspot.contacts"] == len(business.hubspot_contacts)
    assert summary["records"]["whatsapp.message"] == len(business.whatsapp_messages)
    assert [source for source, _, _ in business.batches()] == [
        "hubspot", "hubspot", "salesforce", "salesforce", "salesforce", "whatsapp", "respondio"]
    assert [o for _, o, _ in business.batches()] == [
        "contacts", "deals", "Lead", "Contact", "Opportunity", "message", "contact"]
    assert summary["expected_overlaps"]["hubspot_and_salesforce"] == sum(
        {"hubspot", "salesforce"} <= set(p.systems) for p in business.people)
    assert summary["people_in"]["whatsapp"] == sum("whatsapp" in p.systems for p in business.people)
    assert summary["lost"] == sum(p.lost_stage is not None for p in business.people)
    assert summary["campaigns"] == 6 and summary["ads"] == 18
    assert summary["hubspot_duplicates"] > 0
    assert summary["mess"]["junk_identity_values"] > 0 and summary["mess"]["invalid_emails"] > 0
