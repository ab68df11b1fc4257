"""Which HubSpot properties a mapping needs, and whether its mapped values are options the portal has."""

from __future__ import annotations

import textwrap

import pytest
import responses
from connectors.hubspot.hubspot_fakes import BASE, PATHS, fixture

from sync.connectors.hubspot import mapping_properties, options_of, validate_mapping
from sync.errors import ConfigIssue
from sync.mappings import load_mapping

CONTACTS = "config/mappings/hubspot_contacts.yaml"
DEALS = "config/mappings/hubspot_deals.yaml"
STAGES = ["subscriber", "lead", "marketingqualifiedlead", "salesqualifiedlead", "opportunity", "customer",
          "evangelist", "other"]


def write(tmp_path, text: str):
    path = tmp_path / "hubspot_contacts.yaml"
    path.write_text(textwrap.dedent(text).lstrip())
    return load_mapping(path)


def test_the_bundled_mappings_need_exactly_these_properties():
    assert mapping_properties(load_mapping(CONTACTS)) == [
        "city", "company", "country", "email", "firstname", "hs_analytics_source", "hs_email_optout", "hs_language",
        "hs_lead_status", "hs_legal_basis", "hubspot_owner_id", "jobtitle", "lastname", "lifecyclestage", "mobilephone",
        "phone", "state", "zip"]
    assert mapping_properties(load_mapping(DEALS)) == ["amount", "closedate", "deal_currency_code", "dealstage"]


def test_conditions_out_paths_and_transform_path_arguments_count_too(tmp_path):
    mapping = write(tmp_path, """
        source: hubspot
        object: contacts
        record_id: id
        fields:
          phone:
            path: properties.phone
            transforms: [{e164: {region_path: properties.hs_country_code}}]
            direction: both
            out_path: properties.mobilephone
        touchpoints:
          - when: {path: properties.hs_analytics_source, equals: PAID_SOCIAL}
            channel: {path: properties.hs_analytics_source_data_1}
    """)
    assert mapping_properties(mapping) == ["hs_analytics_source", "hs_analytics_source_data_1", "hs_country_code",
                                           "mobilephone", "phone"]


def test_options_come_in_display_order():
    assert options_of(fixture("lifecyclestage_property.json")) == STAGES
    unordered = {"options": [{"value": "b", "displayOrder": -1}, {"value": "a", "displayOrder": 2},
                             {"value": "c", "displayOrder": 1}, {"label": "no value"}]}
    assert options_of(unordered) == ["c", "a", "b"]


def test_the_bundled_contacts_mapping_fits_a_default_portal():
    assert validate_mapping(load_mapping(CONTACTS), {"lifecyclestage": STAGES}) == []


def test_values_a_portal_lacks_are_reported_with_file_key_path_and_line():
    portal = [s for s in STAGES if s not in ("evangelist", "other")]
    issues = validate_mapping(load_mapping(CONTACTS), {"lifecyclestage": portal})
    assert [(i.file, i.path, i.line) for i in issues] == [
        (CONTACTS, "stage.transforms[0].map.values.evangelist", 49),
        (CONTACTS, "stage.transforms[0].map.values.other", 50),  # read back as no stage, not as a refused value
        (CONTACTS, "stage.transforms[0].map.reverse.Cold Lead", 54),
        (CONTACTS, "stage.transforms[0].map.reverse.Unqualified", 55),
        (CONTACTS, "stage.transforms[0].map.reverse.Lost to competitor", 56),
    ]
    assert issues[0].message == ("'evangelist' is not a HubSpot lifecyclestage option, so HubSpot never sends it; "
                                 "expected one of: subscriber, lead, marketingqualifiedlead, salesqualifiedlead, "
                                 "opportunity, customer")
    assert "'other' is written to HubSpot lifecyclestage but is not one of its options" in issues[2].message


def test_written_values_must_match_hubspot_spelling_and_lead_status_is_checked(tmp_path):
    mapping = write(tmp_path, """
        source: hubspot
        object: contacts
        record_id: id
        fields:
          lead_status:
            path: properties.hs_lead_status
            direction: both
            transforms:
              - map: {values: {NEW: New, CONNECTED: Talking, BOGUS: Lost}}
        stage:
          path: properties.lifecyclestage
          direction: both
          transforms:
            - map:
                values: {lead: New Lead, Customer: Customer}
                reverse: {Cold Lead: Other}
    """)
    issues = validate_mapping(mapping, {"lifecyclestage": STAGES,
                                        "hs_lead_status": ["NEW", "OPEN", "IN_PROGRESS", "CONNECTED"]})
    assert [(i.path, i.line) for i in issues] == [
        ("fields.lead_status.transforms[0].map.values.BOGUS", 9),
        ("stage.transforms[0].map.values.Customer", 15),
        ("stage.transforms[0].map.reverse.Cold Lead", 16),
    ]
    assert issues[1].message.endswith("HubSpot spells it 'customer'")  # read case-insensitively, written exactly
    assert issues[2].message.endswith("HubSpot spells it 'other'")
    assert all(isinstance(i, ConfigIssue) and i.file == str(tmp_path / "hubspot_contacts.yaml") for i in issues)


def test_properties_without_options_given_are_not_checked():
    assert validate_mapping(load_mapping(CONTACTS), {}) == []


# a portal without customer (and evangelist, other): customer is read (values) and written (reverse of
# Repeat Customer), each reported
@pytest.mark.parametrize(("options", "expected"), [(STAGES, 0), (STAGES[:5], 7)])
def test_a_connector_checks_a_mapping_against_its_portal(make, mock, options, expected):
    answer = {**fixture("lifecyclestage_property.json"),
              "options": [{"value": v, "label": v, "displayOrder": i} for i, v in enumerate(options)]}
    mock.add(responses.GET, f"{BASE}{PATHS.property('contacts', 'lifecyclestage')}", json=answer)
    connector = make()
    assert len(connector.check_mapping(load_mapping(CONTACTS))) == expected
    assert connector.stage_options() == options and len(mock.calls) == 1  # read once, then cached
