from datetime import UTC, datetime

import phonenumbers
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from sync.mappings.transforms import REGISTRY, TransformError, bind


def run(name, value, /, **args):
    return bind(name, args)(value)


def dt(*parts):
    return datetime(*parts, tzinfo=UTC)


# (transform, args, input, expected output)
VALID = [
    ("strip", {}, "  Ana  ", "Ana"),
    ("strip", {}, 42, "42"),
    ("lower", {}, "ANA@Example.COM", "ana@example.com"),
    ("upper", {}, "usd", "USD"),
    ("string", {}, 81234567, "81234567"),
    ("string", {}, 2.0, "2"),
    ("string", {}, True, "true"),
    ("digits", {}, "+1 (212) 555-0142", "12125550142"),
    ("digits", {}, "n/a", None),
    ("prefix", {"value": "+"}, "5215512345678", "+5215512345678"),
    ("prefix", {"value": "+"}, "+447911123456", "+447911123456"),
    # e164: several regions, national and international input
    ("e164", {}, "(212) 555-0142", "+12125550142"),
    ("e164", {}, "+1 415 555 2671", "+14155552671"),
    ("e164", {"region": "GB"}, "07911 123456", "+447911123456"),
    ("e164", {"region": "US"}, "+44 7911 123456", "+447911123456"),
    ("e164", {"region": "MX"}, "55 1234 5678", "+525512345678"),
    ("e164", {"region": "ES"}, "612 34 56 78", "+34612345678"),
    ("e164", {"region": "DE"}, "030 123456", "+4930123456"),
    ("e164", {"region": "IN"}, "98765 43210", "+919876543210"),
    ("e164", {}, "+5215512345678", "+525512345678"),  # WhatsApp's old Mexican mobile format
    ("e164", {}, 2125550142, "+12125550142"),
    ("e164", {}, "0000000000", None),
    ("e164", {}, "+1 000 000 0000", None),
    ("e164", {}, "12345", None),
    ("e164", {"region": "TJ"}, "000000000", None),  # phonenumbers alone calls this valid
    ("e164", {}, "+992 000 000 000", None),
    ("e164", {"region": "AT"}, "12345", None),  # valid for phonenumbers, too short for contact data
    ("e164", {"region": "AT"}, "01 5123456", "+4315123456"),
    ("e164", {}, "555-1234", None),
    ("e164", {}, "call me", None),
    ("e164", {"on_invalid": "keep"}, " 12345 ", "12345"),
    ("email", {}, "  Ana.Lopez@Example.COM ", "ana.lopez@example.com"),
    ("email", {}, "o'brien+news@mail.example.co.uk", "o'brien+news@mail.example.co.uk"),
    ("email", {}, "not-an-email", None),
    ("email", {"on_invalid": None}, "not-an-email", None),  # `on_invalid: null` in YAML
    ("email", {}, "ana@localhost", None),
    ("email", {}, "ana@@example.com", None),
    ("email", {}, "ana..lopez@example.com", None),
    ("email", {}, "ana lopez@example.com", None),
    ("email", {"on_invalid": "keep"}, " Not-An-Email ", "not-an-email"),
    # date / datetime
    ("datetime", {}, 1772360100, dt(2026, 3, 1, 10, 15)),
    ("datetime", {}, "1772360100", dt(2026, 3, 1, 10, 15)),
    ("datetime", {}, 1772360100123, dt(2026, 3, 1, 10, 15, 0, 123000)),
    ("datetime", {}, "1772360100123", dt(2026, 3, 1, 10, 15, 0, 123000)),
    ("datetime", {}, 1772360100.5, dt(2026, 3, 1, 10, 15, 0, 500000)),
    ("datetime", {}, "2026-03-01T10:15:00Z", dt(2026, 3, 1, 10, 15)),
    ("datetime", {}, "2026-03-01T10:15:00.000+0000", dt(2026, 3, 1, 10, 15)),
    ("datetime", {}, "2026-03-01T10:15:42.120Z", dt(2026, 3, 1, 10, 15, 42, 120000)),
    ("datetime", {}, "2026-03-01T05:15:00-05:00", dt(2026, 3, 1, 10, 15)),
    ("datetime", {}, "2026-03-01T15:45:00+05:30", dt(2026, 3, 1, 10, 15)),
    ("datetime", {}, "2026-03-01T10:15:00.123456789Z", dt(2026, 3, 1, 10, 15, 0, 123456)),
    ("datetime", {}, "2026-03-01T10:15:00", dt(2026, 3, 1, 10, 15)),  # naive: taken as UTC
    ("datetime", {}, "2026-03-01", dt(2026, 3, 1)),
    ("date", {}, "2026-03-18", "2026-03-18"),
    ("date", {}, "2026-03-01T23:30:00-05:00", "2026-03-02"),  # the UTC date of the instant
    ("date", {}, 1772360100000, "2026-03-01"),
    ("date", {}, "1772360100", "2026-03-01"),
    # numbers and booleans
    ("int", {}, "42", 42),
    ("int", {}, " -7 ", -7),
    ("int", {}, 42.0, 42),
    ("int", {}, "42.00", 42),
    ("float", {}, "1250.50", 1250.5),
    ("float", {}, 48000, 48000.0),
    ("float", {}, "1e3", 1000.0),
    *[("bool", {}, text, True) for text in ("true", "TRUE", "Yes", "1", "on", 1, True)],
    *[("bool", {}, text, False) for text in ("false", "No", "0", "OFF", 0, False)],
    # map
    ("map", {"values": {"lead": "New Lead"}}, "LEAD", "New Lead"),
    ("map", {"values": {"lead": "New Lead"}, "default": None}, "other", None),
    ("map", {"values": {"lead": "New Lead"}, "default": "Cold Lead"}, "other", "Cold Lead"),
    ("map", {"values": {"true": "yes", "1": "one"}}, True, "yes"),
    ("map", {"values": {"1": "one"}}, 1, "one"),
    # names and lists
    ("split_name", {"part": "first"}, "Ana María López", "Ana"),
    ("split_name", {"part": "last"}, "Ana María López", "María López"),
    ("split_name", {"part": "first"}, "  Oliver  ", "Oliver"),
    ("split_name", {"part": "last"}, "Oliver", None),
    ("split_name", {"part": "last"}, " Ana   de  la Cruz ", "de la Cruz"),
    ("join", {}, ["Ana", None, " ", "López"], "Ana López"),
    ("join", {"sep": ", "}, ["vip", "instagram"], "vip, instagram"),
    ("join", {}, [None, ""], None),
    ("first_non_empty", {}, [None, "", "  ", "x", "y"], "x"),
    ("first_non_empty", {}, [None, []], None),
    ("first_non_empty", {}, None, None),
    ("constant", {"value": "whatsapp"}, None, "whatsapp"),
    ("constant", {"value": "whatsapp"}, "anything", "whatsapp"),
    ("default", {"value": "USD"}, None, "USD"),
    ("default", {"value": "USD"}, " ", "USD"),
    ("default", {"value": "USD"}, "EUR", "EUR"),
]


@pytest.mark.parametrize(("name", "args", "value", "expected"), VALID)
def test_transform_valid(name, args, value, expected):
    assert run(name, value, **args) == expected


def test_datetime_output_is_aware_utc():
    value = run("datetime", "2026-03-01T15:45:00+05:30")
    assert value.tzinfo is UTC


# (transform, args, input, expected message fragment)
INVALID = [
    ("e164", {"on_invalid": "error"}, "0000000000", "not a valid phone number for region US"),
    ("e164", {"on_invalid": "error", "region": "GB"}, "12345", "not a valid phone number for region GB"),
    ("email", {"on_invalid": "error"}, "ana@localhost", "not a valid email address"),
    ("datetime", {}, "yesterday", "expected epoch seconds/milliseconds or an ISO 8601"),
    ("datetime", {}, "2026-02-30", "ISO 8601"),
    ("datetime", {}, True, "ISO 8601"),
    ("datetime", {}, 10**20, "out of range"),
    ("date", {}, "2026-02-30", "expected a date"),
    ("date", {}, "soon", "ISO 8601"),
    ("int", {}, "4.5", "expected a whole number"),
    ("int", {}, "forty", "expected a whole number"),
    ("int", {}, True, "expected a whole number"),
    ("float", {}, "1,250.50", "expected a number"),
    ("float", {}, "nan", "expected a number"),
    ("float", {}, True, "expected a number"),
    ("bool", {}, "maybe", "expected true/false, yes/no, 1/0 or on/off"),
    ("bool", {}, 2, "expected true/false"),
    ("map", {"values": {"lead": "New Lead"}}, "other", "not one of the mapped values (lead)"),
    ("map", {"values": {"Lead": "New Lead"}, "case_insensitive": False}, "lead", "not one of the mapped values"),
    ("map", {"values": {"lead": "New Lead"}}, ["lead"], "single value"),
    ("lower", {}, {"a": 1}, "expects a text or number value"),
]


@pytest.mark.parametrize(("name", "args", "value", "message"), INVALID)
def test_transform_invalid(name, args, value, message):
    with pytest.raises(TransformError, match=message.replace("(", r"\(").replace(")", r"\)")) as info:
        run(name, value, **args)
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(("name", "value"), [("e164", "0000000000"), ("email", "ana@localhost")])
def test_personal_data_is_not_in_the_message(name, value):
    with pytest.raises(TransformError) as info:
        run(name, value, on_invalid="error")
    assert value not in str(info.value)
    assert info.value.value == value  # kept apart for the engine to decide


@pytest.mark.parametrize("name", sorted(set(REGISTRY) - {"default", "constant", "first_non_empty"}))
@pytest.mark.parametrize("blank", [None, "", "   "])
def test_null_and_blank_pass_through(name, blank):
    args = {"split_name": {"part": "first"}, "prefix": {"value": "+"}, "map": {"values": {"a": "b"}}}
    assert run(name, blank, **args.get(name, {})) == blank


# (transform, args, canonical value, vendor value)
REVERSE = [
    ("strip", {}, "Ana", "Ana"),
    ("email", {}, "ana@example.com", "ana@example.com"),
    ("e164", {}, "+12125550142", "+12125550142"),
    ("prefix", {"value": "+"}, "+5215512345678", "5215512345678"),
    ("int", {}, 42, "42"),
    ("float", {}, 1250.5, "1250.5"),
    ("bool", {}, True, "true"),
    ("date", {}, "2026-03-18", "2026-03-18"),
    ("datetime", {}, dt(2026, 3, 1, 10, 15), "2026-03-01T10:15:00+00:00"),
    ("datetime", {}, "2026-03-01T10:15:00+00:00", "2026-03-01T10:15:00+00:00"),
    ("map", {"values": {"lead": "New Lead", "subscriber": "New Lead"}}, "New Lead", "lead"),
    ("map", {"values": {"lead": "New Lead"}}, "new lead", "lead"),
    ("map", {"values": {"lead": "New Lead"}, "reverse": {"Payment": "opportunity"}}, "Payment", "opportunity"),
    ("default", {"value": "x"}, "y", "y"),
]


@pytest.mark.parametrize(("name", "args", "canonical", "vendor"), REVERSE)
def test_reverse(name, args, canonical, vendor):
    assert bind(name, args).invert(canonical) == vendor


@pytest.mark.parametrize(("name", "value"), [("date", "2026-02-30"), ("datetime", "soon"), ("int", {"a": 1})])
def test_reverse_failures_are_transform_errors(name, value):
    with pytest.raises(TransformError):
        bind(name).invert(value)


def test_reverse_of_unmapped_value_is_an_error():
    with pytest.raises(TransformError, match="no reverse mapping"):
        bind("map", {"values": {"lead": "New Lead"}}).invert("Customer")


@pytest.mark.parametrize("name", ["split_name", "join", "digits", "constant", "first_non_empty"])
def test_irreversible_transforms_say_so(name):
    args = {"split_name": {"part": "first"}, "constant": {"value": 1}}
    bound = bind(name, args.get(name, {}))
    assert not bound.reversible
    with pytest.raises(TransformError, match="cannot be reversed"):
        bound.invert("x")


# (transform, args, expected message fragment of the load-time error)
BAD_ARGS = [
    ("nope", {}, "unknown transform 'nope'; expected one of:"),
    ("strip", {"x": 1}, "transform strip: unknown argument 'x' (it takes no arguments)"),
    ("e164", {"regio": "US"}, "transform e164: unknown argument 'regio' (expected on_invalid, region, region_path)"),
    ("e164", {"region": "XX"}, "transform e164: argument 'region' must be a two-letter ISO region code"),
    ("e164", {"on_invalid": "drop"}, "transform e164: argument 'on_invalid' must be one of null, error, keep"),
    ("e164", {"region_path": "a..b"}, "transform e164: argument 'region_path': empty key"),
    ("email", {"on_invalid": "none"}, "argument 'on_invalid' must be one of null, error, keep"),
    ("split_name", {}, "transform split_name: missing required argument 'part' (expected part)"),
    ("split_name", {"part": "middle"}, "argument 'part' must be one of first, last"),
    ("map", {}, "missing required argument 'values'"),
    ("map", {"values": {}}, "argument 'values' must be a mapping"),
    ("map", {"values": ["a"]}, "argument 'values' must be a mapping"),
    ("map", {"values": {"a": ["b"]}}, "must map single values to single values"),
    ("map", {"values": {None: "b"}}, "a key cannot be null"),
    ("map", {"values": {"a": "b"}, "case_insensitive": "yes"}, "argument 'case_insensitive' must be one of"),
    ("join", {"sep": 1}, "argument 'sep' must be text"),
    ("prefix", {"value": ""}, "argument 'value' must be a non-empty text"),
    ("constant", {"value": [1]}, "argument 'value' must be a single value"),
]


@pytest.mark.parametrize(("name", "args", "message"), BAD_ARGS)
def test_bad_arguments_fail_at_bind(name, args, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        bind(name, args)


def test_region_path_reads_the_region_from_the_record():
    bound = bind("e164", {"region": "US", "region_path": "countryCode"})
    assert bound("612 34 56 78", {"countryCode": "es"}) == "+34612345678"
    assert bound("(212) 555-0142", {"countryCode": "ZZ"}) == "+12125550142"  # unknown: falls back
    assert bound("(212) 555-0142", {}) == "+12125550142"


@given(st.text())
def test_lower_upper_strip_are_idempotent(text):
    for name in ("lower", "upper", "strip"):
        once = run(name, text)
        assert run(name, once) == once


REGIONS = ["US", "GB", "MX", "ES", "DE", "IN", "BR", "FR"]
KINDS = [phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE]


@given(st.sampled_from(REGIONS), st.sampled_from(KINDS), st.from_regex(r"[0-9]{4}", fullmatch=True),
       st.sampled_from([0, 1, 2, 3]))
def test_e164_output_reparses_to_itself(region, kind, last4, style):
    """Numbers near a region's example number, written in any format, normalise to a fixed point."""
    example = phonenumbers.example_number_for_type(region, kind)
    number = phonenumbers.parse(f"+{example.country_code}{str(example.national_number)[:-4]}{last4}")
    written = phonenumbers.format_number(number, style)  # E164, INTERNATIONAL, NATIONAL, RFC3966
    out = run("e164", written.removeprefix("tel:"), region=region)
    assume(out)
    assert out.startswith("+")
    assert out[1:].isdigit()
    assert run("e164", out, region="US") == out
    assert phonenumbers.is_valid_number(phonenumbers.parse(out))


@given(st.sampled_from(REGIONS), st.sampled_from(KINDS))
def test_e164_accepts_every_national_format(region, kind):
    example = phonenumbers.example_number_for_type(region, kind)
    expected = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)
    national = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.NATIONAL)
    assert run("e164", national, region=region) == expected
    assert run("e164", expected, region="US") == expected


@given(st.datetimes(min_value=datetime(1974, 1, 1), max_value=datetime(4999, 1, 1), timezones=st.just(UTC)))
def test_datetime_reads_epoch_seconds_millis_and_its_own_iso_output(moment):
    """Epoch seconds and milliseconds are told apart by size; exact for 1974-4999 (see _MS_THRESHOLD)."""
    moment = moment.replace(microsecond=moment.microsecond // 1000 * 1000)
    millis = round((moment - dt(1970, 1, 1)).total_seconds() * 1000)
    assert run("datetime", millis) == moment
    assert run("datetime", str(millis // 1000)) == moment.replace(microsecond=0)
    assert run("datetime", bind("datetime").invert(moment)) == moment


words = st.text(alphabet="abcXYZ019 _-", min_size=1, max_size=6).map(str.strip).filter(bool)


@given(st.dictionaries(words, words, min_size=1, max_size=5))
def test_map_reverse_inverts_every_target(values):
    bound = bind("map", {"values": values, "case_insensitive": False})
    for target in set(values.values()):
        assert bound(bound.invert(target)) == target


def test_memoised_helpers_are_bounded_and_give_the_same_answers_cold_and_warm():
    from sync.mappings.registry import _CACHES, CACHE_SIZE, clear_caches

    assert _CACHES and all(cache.cache_info().maxsize == CACHE_SIZE for cache in _CACHES)
    cases = [("e164", {}, "(212) 555-0142"), ("e164", {"region": "GB"}, "07911 123456"), ("email", {}, " A@B.io "),
             ("datetime", {}, "2026-03-01T10:15:00Z"), ("date", {}, "2026-03-01T23:30:00-05:00")]
    clear_caches()
    cold = [run(name, value, **args) for name, args, value in cases]
    assert sum(cache.cache_info().currsize for cache in _CACHES) > 0
    assert [run(name, value, **args) for name, args, value in cases] == cold
    clear_caches()
    assert sum(cache.cache_info().currsize for cache in _CACHES) == 0


def test_invalid_values_raise_every_time_even_when_memoised():
    for _ in range(2):
        with pytest.raises(TransformError, match="not a valid phone number"):
            run("e164", "0000000000", on_invalid="error")
        with pytest.raises(TransformError, match="ISO 8601"):
            run("datetime", "2026-02-30")
