"""Per-network normalisation and hashing of user data (ads.md vectors, tables and properties)."""

import datetime as dt
import hashlib

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sync.attribution import hashing
from sync.attribution.hashing import FIELDS, UserDataRules
from sync.attribution.networks import NETWORKS, network


# The tables name networks; hashing takes each network's declared rules.
def normalize(name, field, value, *, region=None):
    return hashing.normalize(network(name).user_data, field, value, region=region)


def hashed(name, field, value, *, region=None):
    return hashing.hashed(network(name).user_data, field, value, region=region)


def should_hash(name, field):
    return hashing.should_hash(network(name).user_data, field)


def wire_value(name, field, value, *, region=None):
    return hashing.wire_value(network(name).user_data, field, value, region=region)


# Published vectors from shared/reference/ads.md (Meta docs, Google's formatToE164 example).
META_VECTORS = [
    ("email", "John_Smith@gmail.com", None, "62a14e44f765419d10fea99367361a727c12365e2520f32218d505ed9aa0f62f"),
    ("phone", "(650)555-1212", "US", "e323ec626319ca94ee8bff2e4c87cf613be6ea19919ed1364124e16807ab3176"),
    ("first_name", "Mary", None, "6915771be1c5aa0c886870b6951b03d7eafc121fea0e80a5ea83beb7c449f4ec"),
]


@pytest.mark.parametrize(("field", "value", "region", "digest"), META_VECTORS)
def test_meta_published_vectors(field, value, region, digest):
    assert hashed("meta", field, value, region=region) == digest


def test_meta_phone_vector_normalises_to_digits_with_country_code():
    assert normalize("meta", "phone", "(650)555-1212", region="US") == "16505551212"


@pytest.mark.parametrize("region", ["44", "+44", "GB", "gb", "United Kingdom"])
def test_google_format_to_e164_vector(region):
    assert normalize("google", "phone", "20 7123 4567", region=region) == "+442071234567"


def sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# (network, field, raw value, region, expected normalised value)
NORMALISED = [
    # email
    ("meta", "email", "  John.Smith@Example.COM ", None, "john.smith@example.com"),
    ("google", "email", "John.Q.Smith@gmail.com", None, "johnqsmith@gmail.com"),
    ("google", "email", "j.o.h.n.s@GoogleMail.com", None, "johns@googlemail.com"),
    ("google", "email", "john.smith@example.com", None, "john.smith@example.com"),
    ("google", "email", "john.smith@gmail.co.uk", None, "john.smith@gmail.co.uk"),
    ("meta", "email", "john.smith@gmail.com", None, "john.smith@gmail.com"),
    ("tiktok", "email", "John.Smith@gmail.com", None, "john.smith@gmail.com"),
    # phone: Meta digits without +, TikTok/Google E.164 with +
    ("meta", "phone", "+1 (650) 555-1212", None, "16505551212"),
    ("tiktok", "phone", "(650) 555-1212", "US", "+16505551212"),
    ("google", "phone", "650.555.1212", None, "+16505551212"),
    ("meta", "phone", "020 7123 4567", "GB", "442071234567"),
    ("tiktok", "phone", "020 7123 4567", "GB", "+442071234567"),
    ("meta", "phone", "0044 20 7123 4567", None, "442071234567"),
    ("meta", "phone", "442071234567", "US", "442071234567"),
    ("google", "phone", "0151 23456789", "DE", "+4915123456789"),
    ("meta", "phone", "+49 (0)151 23456789", None, "4915123456789"),
    ("tiktok", "phone", "16505551212", None, "+16505551212"),
    # names: lowercase, punctuation gone, UTF-8 kept
    ("meta", "first_name", "Valéry", None, "valéry"),
    ("meta", "last_name", "O'Connor", None, "oconnor"),
    ("tiktok", "last_name", " Smith-Jones ", None, "smithjones"),
    ("google", "first_name", "Mary Ann", None, "mary ann"),  # Google's Formatter only trims and lowercases names
    ("meta", "last_name", "Müller", None, "müller"),
    # city
    ("meta", "city", "San Francisco", None, "sanfrancisco"),
    ("tiktok", "city", "St. Louis", None, "stlouis"),
    ("meta", "city", "Köln", None, "köln"),
    # state
    ("meta", "state", "California", None, "ca"),
    ("meta", "state", "new york", None, "ny"),
    ("tiktok", "state", "NY", None, "ny"),
    ("meta", "state", "District of Columbia", None, "dc"),
    ("meta", "state", "Québec", None, "qc"),
    ("meta", "state", "Bavaria", None, "bavaria"),
    # country
    ("meta", "country", "United States", None, "us"),
    ("meta", "country", "USA", None, "us"),
    ("meta", "country", "US", None, "us"),
    ("tiktok", "country", "United Kingdom", None, "gb"),
    ("google", "country", "UK", None, "GB"),  # Google's region_code is upper case
    ("meta", "country", "Deutschland", None, "de"),
    ("meta", "country", "France", None, "fr"),
    ("meta", "country", "España", None, "es"),
    ("meta", "country", "DEU", None, "de"),
    # zip
    ("meta", "zip", "37221-3312", None, "37221"),
    ("meta", "zip", "372213312", "US", "37221"),
    ("meta", "zip", " 94105 ", None, "94105"),
    ("meta", "zip", "SW1A 1AA", "GB", "sw1a1aa"),
    ("google", "zip", "10115", "DE", "10115"),
    # date of birth
    ("meta", "date_of_birth", "1990-02-01", None, "19900201"),
    ("meta", "date_of_birth", "1990-02-01T00:00:00Z", None, "19900201"),
    ("meta", "date_of_birth", "19900201", None, "19900201"),
    ("meta", "date_of_birth", "1990/2/1", None, "19900201"),
    ("meta", "date_of_birth", "02/01/1990", None, "19900201"),
    ("meta", "date_of_birth", "02/01/1990", "US", "19900201"),
    ("meta", "date_of_birth", "02/01/1990", "GB", "19900102"),
    ("meta", "date_of_birth", "31/12/1990", "US", "19901231"),
    ("meta", "date_of_birth", "12/31/1990", "GB", "19901231"),
    ("meta", "date_of_birth", "01.02.1990", None, "19900201"),
    ("meta", "date_of_birth", "1-2-1990", None, "19900201"),
    # gender
    ("meta", "gender", "Female", None, "f"),
    ("meta", "gender", "F", None, "f"),
    ("meta", "gender", "male", None, "m"),
    ("meta", "gender", " Männlich ", None, "m"),
    # external id
    ("meta", "external_id", "  CRM-00042 ", None, "crm-00042"),
    ("tiktok", "external_id", 42, None, "42"),
]


@pytest.mark.parametrize(("network", "field", "value", "region", "expected"), NORMALISED)
def test_normalize(network, field, value, region, expected):
    assert normalize(network, field, value, region=region) == expected
    assert hashed(network, field, value, region=region) == sha(expected)


@pytest.mark.parametrize(
    ("network", "expected"), [("meta", "16505551212"), ("tiktok", "+16505551212"), ("google", "+16505551212")]
)
def test_phone_format_differs_per_network(network, expected):
    assert normalize(network, "phone", "650-555-1212", region="US") == expected


def test_gmail_dots_removed_for_google_only():
    assert normalize("google", "email", "a.b.c.d@gmail.com") == "abcd@gmail.com"
    assert normalize("meta", "email", "a.b.c.d@gmail.com") == "a.b.c.d@gmail.com"
    assert normalize("tiktok", "email", "a.b.c.d@gmail.com") == "a.b.c.d@gmail.com"


JUNK = [
    ("email", "not an email"),
    ("email", "john@localhost"),
    ("email", "a@b@c.com"),
    ("email", "   "),
    ("email", "..@gmail.com"),
    ("phone", "12"),
    ("phone", "call me maybe"),
    ("phone", "+1 555 0100"),
    ("phone", "000000000000"),
    ("phone", ""),
    ("first_name", "!!!"),
    ("last_name", "  "),
    ("city", "--"),
    ("state", "..."),
    ("country", "Atlantis"),
    ("country", "zz"),
    ("country", ""),
    ("zip", " - "),
    ("date_of_birth", "31/31/1990"),
    ("date_of_birth", "1990-02-30"),
    ("date_of_birth", "02/01/90"),
    ("date_of_birth", "1850-01-01"),
    ("date_of_birth", "yesterday"),
    ("gender", "unknown"),
    ("gender", ""),
    ("external_id", "   "),
    ("email", None),
    ("phone", True),
    ("first_name", 3.5),
]


@pytest.mark.parametrize("network", sorted(NETWORKS))
@pytest.mark.parametrize(("field", "value"), JUNK)
def test_junk_gives_none(network, field, value):
    assert normalize(network, field, value) is None
    assert hashed(network, field, value) is None


def test_us_zip_with_too_few_digits_is_rejected_not_padded():
    assert normalize("meta", "zip", "2134", region="US") is None


def test_future_date_of_birth_is_rejected():
    tomorrow = dt.date.today() + dt.timedelta(days=1)
    assert normalize("meta", "date_of_birth", tomorrow.isoformat()) is None


@pytest.mark.parametrize("network", sorted(NETWORKS))
@pytest.mark.parametrize("field", sorted(FIELDS))
def test_already_hashed_value_passes_through(network, field):
    digest = sha("someone@example.com")
    assert hashed(network, field, digest) == digest
    assert hashed(network, field, f"  {digest.upper()} ") == digest


@pytest.mark.parametrize(
    ("network", "field", "expected"),
    [
        ("meta", "email", True),
        ("meta", "country", True),
        ("meta", "city", True),
        ("meta", "external_id", True),
        ("tiktok", "email", True),
        ("tiktok", "phone", True),
        ("tiktok", "zip", True),
        ("tiktok", "first_name", True),
        ("tiktok", "city", False),
        ("tiktok", "state", False),
        ("tiktok", "country", False),
        ("google", "email", True),
        ("google", "phone", True),
        ("google", "city", False),
        ("google", "zip", False),
    ],
)
def test_should_hash(network, field, expected):
    assert should_hash(network, field) is expected


def test_wire_value_hashes_or_sends_plain_text():
    assert wire_value("tiktok", "country", "United States") == "us"
    assert wire_value("meta", "country", "United States") == sha("us")
    assert wire_value("tiktok", "phone", "(650)555-1212") == sha("+16505551212")


@pytest.mark.parametrize(("network", "field"), [("bing", "email"), ("meta", "fn"), ("meta", "ssn")])
def test_unknown_network_or_field_is_a_caller_error(network, field):
    for call in (normalize, hashed):
        with pytest.raises(ValueError, match="unknown"):
            call(network, field, "x")
    with pytest.raises(ValueError, match="unknown"):
        should_hash(network, field)


def test_rules_name_only_known_fields():
    with pytest.raises(ValueError, match="unknown user-data fields"):
        UserDataRules("snap", plain_fields=frozenset({"city", "ssn"}))


def test_unknown_region_falls_back_to_default():
    assert hashing.resolve_region("Atlantis") == hashing.DEFAULT_REGION
    assert hashing.resolve_region("999") == hashing.DEFAULT_REGION
    assert normalize("meta", "phone", "(650)555-1212", region="Atlantis") == "16505551212"


# --- properties ---------------------------------------------------------------------------

REGIONS = sorted(r for r in phonenumbers.SUPPORTED_REGIONS if phonenumbers.example_number(r))
PHONE_FORMATS = [
    phonenumbers.PhoneNumberFormat.E164,
    phonenumbers.PhoneNumberFormat.INTERNATIONAL,
    phonenumbers.PhoneNumberFormat.NATIONAL,
]


@st.composite
def phone_inputs(draw):
    region = draw(st.sampled_from(REGIONS))
    number = phonenumbers.example_number(region)
    text = phonenumbers.format_number(number, draw(st.sampled_from(PHONE_FORMATS)))
    return text, region


@settings(max_examples=300, deadline=None)
@given(network=st.sampled_from(sorted(NETWORKS)), phone=phone_inputs())
def test_phone_normalize_is_idempotent(network, phone):
    text, region = phone
    once = normalize(network, "phone", text, region=region)
    assert once is not None
    assert normalize(network, "phone", once, region=region) == once


@settings(max_examples=400, deadline=None)
@given(
    network=st.sampled_from(sorted(NETWORKS)),
    field=st.sampled_from(sorted(FIELDS - {"phone"})),
    value=st.text(max_size=40)
    | st.sampled_from(
        ["John.Smith@Gmail.com", "O'Connor", "New York", "United States", "37221-3312", "02/01/1990", "Female"]
    ),
    region=st.sampled_from([None, "US", "GB", "DE", "FR"]),
)
def test_normalize_and_hashed_are_idempotent(network, field, value, region):
    once = normalize(network, field, value, region=region)
    if once is not None:
        assert normalize(network, field, once, region=region) == once
    digest = hashed(network, field, value, region=region)
    if digest is not None:
        assert len(digest) == 64
        assert digest == digest.lower()
        assert hashed(network, field, digest, region=region) == digest
