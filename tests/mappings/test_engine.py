import json

import pytest

from sync.errors import MappingError
from sync.mappings import apply, load_mapping, preview, reverse
from sync.reconcile.patch import IdentityRef

HEAD = "source: shop\nobject: order\nrecord_id: id\n"


@pytest.fixture
def make(tmp_path):
    def build(body: str):
        path = tmp_path / "shop_order.yaml"
        path.write_text(HEAD + body)
        return load_mapping(path)

    return build


# (mapping body, record, expected fields)
FIELD_CASES = [
    ("fields:\n  city: a.city\n", {"id": 1, "a": {"city": "Lima"}}, {"city": "Lima"}),
    ("fields:\n  city: a.city\n", {"id": 1}, {}),  # missing: omitted
    ("fields:\n  city: a.city\n", {"id": 1, "a": {"city": None}}, {"city": None}),  # explicit null: cleared
    ("fields:\n  city: a.city\n", {"id": 1, "a": {"city": "  "}}, {"city": None}),  # explicit blank: cleared
    # a null we produced (invalid phone, one-word name) is not the source clearing the field
    ("fields:\n  phone: {path: p, transforms: [e164]}\n", {"id": 1, "p": "12"}, {}),
    ("fields:\n  last_name: {path: n, transforms: [{split_name: {part: last}}]}\n", {"id": 1, "n": "Ana"}, {}),
    ("fields:\n  city: {path: c, default: Unknown}\n", {"id": 1}, {"city": "Unknown"}),
    ("fields:\n  city: {path: c, default: Unknown}\n", {"id": 1, "c": ""}, {"city": "Unknown"}),
    ("fields:\n  phone: {paths: [a, b]}\n", {"id": 1, "a": "", "b": "2"}, {"phone": "2"}),
    ("fields:\n  phone: {paths: [a, b]}\n", {"id": 1, "a": None}, {"phone": None}),
    ("fields:\n  channel: {constant: web}\n", {"id": 1}, {"channel": "web"}),
    ("fields:\n  seen: {path: t, transforms: [datetime]}\n", {"id": 1, "t": 1772360100},
     {"seen": "2026-03-01T10:15:00+00:00"}),
    ("fields:\n  day: {path: t, transforms: [date]}\n", {"id": 1, "t": "2026-03-01T10:15:00Z"}, {"day": "2026-03-01"}),
    ("fields:\n  tags: 'tags[*].name'\n", {"id": 1, "tags": [{"name": "a"}, {"name": "b"}]}, {"tags": ["a", "b"]}),
    ("fields:\n  city: {path: c, direction: out}\n", {"id": 1, "c": "Lima"}, {}),  # out: never read
    ("fields:\n  city: {path: c, when: {path: k, equals: home}}\n", {"id": 1, "c": "Lima", "k": "work"}, {}),
    ("fields:\n  city: {path: c, when: {path: k, in: [home, work]}}\n", {"id": 1, "c": "Lima", "k": "work"},
     {"city": "Lima"}),
    ("fields:\n  city: {path: c, when: {path: k, present: false}}\n", {"id": 1, "c": "Lima", "k": {}},
     {"city": "Lima"}),
    ("fields:\n  won: {path: w, when: {path: w, equals: true}}\n", {"id": 1, "w": "true"}, {"won": "true"}),
    ("fields:\n  city: {path: c, when: {path: k, equals: home}}\n", {"id": 1, "c": "Lima", "k": "HOME"}, {}),
    ("fields:\n  n: {path: n, transforms: [int], when: {path: n, equals: 2}}\n", {"id": 1, "n": 2.0}, {"n": 2}),
]


@pytest.mark.parametrize(("body", "record", "expected"), FIELD_CASES)
def test_fields(make, body, record, expected):
    assert apply(make(body), record).field_map == expected


def test_identities_skip_blanks_expand_lists_and_dedupe(make):
    mapping = make(
        "identities:\n"
        "  - {kind: shop, path: id}\n"
        "  - {kind: email, path: 'emails[*]', when: {path: opt_in, equals: true}}\n"
        "  - {kind: email, path: primary, transforms: [email]}\n"
        "  - {kind: phone, path: phone, transforms: [e164]}\n"
    )
    record = {"id": 7, "opt_in": True, "emails": ["a@x.io", "", None, "b@x.io"], "primary": "A@X.io", "phone": "0"}
    assert apply(mapping, record).identities == (
        IdentityRef("shop", "7"), IdentityRef("email", "a@x.io"), IdentityRef("email", "b@x.io"))
    assert apply(mapping, {**record, "opt_in": False}).identities == (
        IdentityRef("shop", "7"), IdentityRef("email", "a@x.io"))


def test_record_id_is_required(make):
    with pytest.raises(MappingError, match="the record has no id at id") as info:
        apply(make(""), {"name": "x"})
    assert (info.value.mapping, info.value.field) == ("shop_order", "record_id")


@pytest.mark.parametrize(
    ("body", "record", "field", "message", "secret"),
    [
        ("fields:\n  amount: {path: a, transforms: [float]}\n", {"id": 9, "a": "12,50"},
         "amount", "expected a number (got '12,50')", None),
        ("stage: {path: s, transforms: [{map: {values: {lead: New Lead}}}]}\n", {"id": 9, "s": "weird"},
         "stage", "not one of the mapped values (lead) and no default is set (got 'weird')", None),
        ("fields:\n  phone: {path: p, transforms: [{e164: {on_invalid: error}}]}\n", {"id": 9, "p": "+1 555 0100 99"},
         "phone", "not a valid phone number for region US", "555 0100"),
        ("fields:\n  email: {path: e, transforms: [{email: {on_invalid: error}}]}\n", {"id": 9, "e": "ana@lopez"},
         "email", "not a valid email address (expected local@domain.tld)", "ana@lopez"),
        ("fields:\n  first_name: {path: n, transforms: [int]}\n", {"id": 9, "n": "Ana"},
         "first_name", "expected a whole number", "Ana"),
        ("identities:\n  - {kind: crm_number, path: n, transforms: [int]}\n", {"id": 9, "n": "Ana"},
         "identities[0]", "expected a whole number", "Ana"),
        ("modified_at: {path: t}\n", {"id": 9, "t": "last tuesday"},
         "modified_at", "ISO 8601 date or date-time (got 'last tuesday')", None),
        ("deleted: d\n", {"id": 9, "d": "gone"}, "deleted", "expected true/false", None),
        ("conversions:\n  - {kind: {constant: purchase}, value: v}\n", {"id": 9, "v": "lots"},
         "conversions[0].value", "expected a number (got 'lots')", None),
        ("activities:\n  - {channel: {constant: sms}, direction: {constant: sideways}, occurred_at: t}\n",
         {"id": 9, "t": 0}, "activities[0].direction", "expected inbound or outbound", None),
        ("activities:\n  - {channel: {constant: sms}, direction: {constant: inbound}, occurred_at: t}\n",
         {"id": 9}, "activities[0].occurred_at", "a value is required here", None),
        ("touchpoints:\n  - {channel: c}\n", {"id": 9}, "touchpoints[0].channel", "a value is required", None),
        ("touchpoints:\n  - {channel: {constant: ads}, ad_id: a}\n", {"id": 9, "a": {"x": 1}},
         "touchpoints[0].ad_id", "expected a single value, got a dict", None),
    ],
)
def test_failures_become_mapping_errors(make, body, record, field, message, secret):
    with pytest.raises(MappingError) as info:
        apply(make(body), record)
    error = info.value
    assert (error.mapping, error.field, error.record_id) == ("shop_order", field, "9")
    assert message in str(error)
    if secret:
        assert secret not in str(error)


def test_sections(make):
    mapping = make(
        "modified_at: {path: u, transforms: [datetime]}\n"
        "deleted: {path: gone, transforms: [bool]}\n"
        "stage: {path: s, transforms: [{map: {values: {paid: Customer}, default: null}}]}\n"
        "touchpoints:\n"
        "  - channel: {constant: web}\n"
        "    network: {constant: google}\n"
        "    campaign_id: utm.campaign_id\n"
        "    click_ids: {gclid: utm.gclid, fbclid: utm.fbclid}\n"
        "    extra: {term: utm.term}\n"
        "conversions:\n"
        "  - {kind: {constant: purchase}, value: total, currency: {path: cur, default: EUR}, order_id: id,"
        " occurred_at: u, when: {path: s, equals: paid}}\n"
    )
    record = {"id": 41, "u": "2026-03-01T10:15:00Z", "gone": "no", "s": "paid", "total": "19.90",
              "utm": {"campaign_id": 123, "gclid": "Cj0K", "term": ""}}
    patch = apply(mapping, record).to_json()
    assert patch["source_time"] == "2026-03-01T10:15:00+00:00"
    assert patch["deleted"] is False
    assert patch["stage"] == "Customer"
    assert patch["touchpoints"] == [{
        "channel": "web", "occurred_at": None, "network": "google", "campaign_id": "123", "adset_id": None,
        "ad_id": None, "click_ids": {"gclid": "Cj0K"}, "referral_url": None, "headline": None, "extra": {},
    }]
    assert patch["conversions"] == [{"kind": "purchase", "occurred_at": "2026-03-01T10:15:00+00:00",
                                     "value": 19.9, "currency": "EUR", "order_id": "41"}]
    assert apply(mapping, {**record, "s": "open"}).conversions == ()
    assert apply(mapping, {"id": 41}).stage is None


def test_reverse_nests_applies_reverse_transforms_in_reverse_order_and_omits_absent(make):
    mapping = make(
        "fields:\n"
        "  phone: {path: contact.phone, transforms: [digits, {prefix: {value: '+'}}], direction: in}\n"
        "  wa: {path: contact.wa_id, transforms: [strip, {prefix: {value: '+'}}], direction: both}\n"
        "  score: {path: props.score, transforms: [int], direction: out}\n"
        "  city: {path: 'addr[0].city', out_path: address.city, direction: both}\n"
        "  note: {path: note, direction: both}\n"
        "stage:\n"
        "  path: props.stage\n"
        "  direction: both\n"
        "  transforms: [{map: {values: {won: Customer, paid: Customer}, reverse: {Payment: invoiced}}}]\n"
    )
    values = {"phone": "+1", "wa": "+4479", "score": 7, "city": "Lima", "unknown": 1}
    assert reverse(mapping, values, stage="Customer") == {
        "contact": {"wa_id": "4479"}, "props": {"score": "7", "stage": "won"}, "address": {"city": "Lima"}}
    assert reverse(mapping, {"note": None}, stage="payment") == {"note": None, "props": {"stage": "invoiced"}}
    assert reverse(mapping, {}) == {}
    with pytest.raises(MappingError, match="no reverse mapping") as info:
        reverse(mapping, {}, stage="Cold Lead")
    assert info.value.field == "stage"


def test_preview_is_the_json_patch(tmp_path):
    path = tmp_path / "m.yaml"
    path.write_text(HEAD + "fields:\n  city: c\n")
    out = preview(path, {"id": 3, "c": "Lima"})
    assert out["fields"] == {"city": "Lima"} and out["record_id"] == "3"
    json.dumps(out)


def test_a_record_that_is_not_an_object_is_a_mapping_error(make):
    with pytest.raises(MappingError, match="expected a record object, got list"):
        apply(make(""), [1, 2])


def test_one_phone_read_by_an_identity_and_a_field_is_parsed_once(make):
    from sync.mappings.registry import clear_caches
    from sync.mappings.transforms import _e164_text

    mapping = make("identities:\n  - {kind: phone, path: p, transforms: [e164]}\n"
                   "fields:\n  phone: {path: p, transforms: [e164]}\n")
    clear_caches()
    patch = apply(mapping, {"id": 1, "p": "(212) 555-0142"})
    assert patch.field_map == {"phone": "+12125550142"}
    assert patch.identities == (IdentityRef("phone", "+12125550142"),)
    assert (_e164_text.cache_info().misses, _e164_text.cache_info().hits) == (1, 1)
