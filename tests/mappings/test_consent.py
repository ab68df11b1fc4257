"""The mapping ``consent`` section: parsing, refusals, errors, write-back, and what each bundled mapping reads."""

from __future__ import annotations

import copy
import json
import textwrap
from pathlib import Path

import pytest

from sync.errors import ConfigError
from sync.mappings import apply, load_mapping, reverse
from sync.mappings.transforms import bind

ROOT = Path(__file__).resolve().parents[2]
MAPPINGS, FIXTURES = ROOT / "config" / "mappings", ROOT / "tests" / "fixtures"


def write(tmp_path, body: str):
    path = tmp_path / "m.yaml"
    path.write_text("source: crm\nobject: person\nrecord_id: id\nidentities: [{kind: email, path: email}]\n"
                    + textwrap.dedent(body).lstrip())
    return path


def test_consent_values_become_purposes_and_other_values_are_refused_not_fatal(tmp_path):
    mapping = load_mapping(write(tmp_path, """
        consent:
          marketing_email: {path: optout, transforms: [not]}
          marketing_messages: {path: sms, transforms: [consent]}
          ad_user_data: {path: ads}
          ad_personalization: {path: ads2, transforms: [bool]}
        """))
    record = {"id": "1", "email": "a@x.com", "optout": True, "sms": "Opted-Out", "ads": "maybe", "ads2": "perhaps"}
    patch = apply(mapping, record)
    assert patch.consent == (("marketing_email", False), ("marketing_messages", False))
    assert {(r.field, r.kind) for r in patch.refusals} == {("consent.ad_user_data", "invalid_value"),
                                                           ("consent.ad_personalization", "invalid_value")}
    assert patch.to_json()["consent"] == {"marketing_email": False, "marketing_messages": False}
    unknown = apply(mapping, {"id": "2", "email": "a@x.com", "sms": "whenever"})
    assert unknown.consent == ()  # absent values record nothing
    assert [(r.field, r.value) for r in unknown.refusals] == [("consent.marketing_messages", "whenever")]


@pytest.mark.parametrize(("word", "granted"), [
    ("granted", True), ("OPT_IN", True), ("subscribed", True), ("resume", True), ("Start", True), (1, True),
    ("denied", False), ("opt-out", False), ("Unsubscribed", False), ("STOP", False), ("إلغاء", False), ("no", False)])
def test_the_consent_transform_reads_vendor_words(word, granted):
    assert bind("consent")(word) is granted


def test_consent_errors_name_the_file_key_and_line(tmp_path):
    path = write(tmp_path, """
        consent:
          Marketing: {path: a}
          ad_user_data: {path: a, direction: sideways}
          marketing_email: {path: a, transforms: [consent], direction: both}
        """)
    with pytest.raises(ConfigError) as info:
        load_mapping(path)
    found = {(i.path, i.line): i.message for i in info.value.issues}
    assert "names must be lowercase letters" in found[("consent.Marketing", 6)]
    assert "expected in, out or both" in found[("consent.ad_user_data.direction", 7)]
    assert "consent cannot be reversed" in found[("consent.marketing_email.transforms", 8)]


def test_write_back_inverts_the_opt_out_flag(tmp_path):
    mapping = load_mapping(write(tmp_path, """
        consent:
          marketing_email: {path: HasOptedOutOfEmail, transforms: [not], direction: both}
        """))
    assert mapping.out_fields() == {"consent.marketing_email"}
    assert reverse(mapping, {"consent.marketing_email": False}) == {"HasOptedOutOfEmail": True}
    assert reverse(mapping, {"consent.marketing_email": True}) == {"HasOptedOutOfEmail": False}


def fixture(name: str, **changes) -> dict:
    record = copy.deepcopy(json.loads((FIXTURES / name).read_text(encoding="utf-8")))
    for dotted, value in changes.items():
        node = record
        *parents, last = dotted.split("__")
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node[key]
        node[last] = value
    return record


LEGAL = "Freely given consent from contact"
BUNDLED = [
    ("hubspot_contacts", fixture("hubspot/contact.json", properties__hs_email_optout="true",
                                 properties__hs_legal_basis=LEGAL),
     {"marketing_email": False, "ad_user_data": True, "ad_personalization": True}),
    ("hubspot_contacts", fixture("hubspot/contact.json", properties__hs_email_optout="false"), {}),
    ("salesforce_contact", fixture("salesforce/contact.json", HasOptedOutOfEmail=True,
                                   Individual={"HasOptedOutTracking": True, "HasOptedOutProcessing": False}),
     {"marketing_email": False, "ad_personalization": False}),
    ("salesforce_lead", fixture("salesforce/lead.json", HasOptedOutOfEmail=True,
                                Individual={"HasOptedOutSolicit": True}),
     {"marketing_email": False, "marketing_messages": False}),
    ("respondio_contact", fixture("respondio/contact.json", custom_fields=[{"name": "Marketing Consent",
                                                                          "value": "opted_out"}]),
     {"marketing_messages": False}),
    ("whatsapp_message", fixture("whatsapp/message_text.json", messages__0__text={"body": "توقف"}),
     {"marketing_messages": False}),
    ("whatsapp_message", fixture("whatsapp/message_text.json", messages__0__text={"body": "START"}),
     {"marketing_messages": True}),
    ("whatsapp_message", fixture("whatsapp/message_text.json", messages__0__text={"body": "please stop by tomorrow"}),
     {}),
    ("twilio_message", fixture("twilio/sms_inbound.json", Body="STOP"), {"marketing_messages": False}),
    ("shop_order", fixture("shop/order.json", customer__accepts_marketing=False),
     {"marketing_email": False, "marketing_messages": False}),
    ("whatsapp_user_preference", fixture("whatsapp/user_preference_stop.json",
                                         user_preferences__0__value="resume"), {"marketing_messages": True}),
]


@pytest.mark.parametrize(("name", "record", "expected"), BUNDLED,
                         ids=[f"{n}-{i}" for i, (n, _, _) in enumerate(BUNDLED)])
def test_each_bundled_mapping_reads_the_consent_its_source_carries(name, record, expected):
    patch = apply(load_mapping(MAPPINGS / f"{name}.yaml"), record)
    assert dict(patch.consent) == expected
    assert not [r for r in patch.refusals if r.field.startswith("consent.")]


def test_a_salesforce_opt_out_is_written_back_and_a_whatsapp_signup_is_refused_not_guessed():
    lead = load_mapping(MAPPINGS / "salesforce_lead.yaml")
    assert reverse(lead, {"consent.marketing_email": False}) == {"HasOptedOutOfEmail": True}
    pref = apply(load_mapping(MAPPINGS / "whatsapp_user_preference.yaml"),
                 fixture("whatsapp/user_preference_stop.json", user_preferences__0__value="signup"))
    assert pref.consent == () and [r.field for r in pref.refusals] == ["consent.marketing_messages"]
