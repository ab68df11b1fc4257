"""respondio_event.yaml reads a webhook's contact exactly as respondio_contact.yaml reads the API contact."""

import json
from pathlib import Path

import pytest

from sync.mappings import apply, load_mapping

ROOT = Path(__file__).resolve().parents[2]
EVENT = load_mapping(ROOT / "config" / "mappings" / "respondio_event.yaml")
CONTACT = load_mapping(ROOT / "config" / "mappings" / "respondio_contact.yaml")
API_CONTACT = json.loads((ROOT / "tests" / "fixtures" / "respondio" / "contact.json").read_text(encoding="utf-8"))


def event_record(contact: dict, **event) -> dict:
    return {**contact, "event": {"id": "ev-1", "type": "contact.updated", "timestamp": 1772446500, **event}}


def test_the_contact_part_maps_like_the_api_contact_mapping():
    from_event, from_api = apply(EVENT, event_record(API_CONTACT)), apply(CONTACT, API_CONTACT)
    assert from_event.identities == from_api.identities
    assert from_event.field_map == from_api.field_map
    assert from_event.stage == from_api.stage == "Hot Lead"
    assert from_event.source_time != from_api.source_time  # dated by the event, not the contact's creation


@pytest.mark.parametrize(("lifecycle", "source", "stage"), [
    ("Payment", None, "Payment"),
    ({"id": 4, "name": "Payment"}, "ctc_ads", "Payment"),  # respond.io's own stage wins
    (None, "ctc_ads", "New Lead"),
    ({}, "ctc_ads", "New Lead"),
    (None, "contact", None),
    ("VIP", "ctc_ads", None),  # a custom stage lifesync does not know hides the ad's New Lead
    ("cold lead", None, "Cold Lead"),
])
def test_stage_from_lifecycle_or_from_a_click_to_chat_ad(lifecycle, source, stage):
    record = event_record({**API_CONTACT, "lifecycle": lifecycle}, conversation_source=source)
    assert apply(EVENT, record).stage == stage


def test_event_without_its_own_time_is_dated_by_its_receipt():
    record = event_record(API_CONTACT, timestamp=None, received_at="2026-03-04T08:00:00+00:00")
    assert apply(EVENT, record).source_time.isoformat() == "2026-03-04T08:00:00+00:00"
