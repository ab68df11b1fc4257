"""jsonread: untrusted JSON within limits; every violation a JsonInputError saying what and where."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sync.connectors.jsonread import JsonInputError, Limits, Reader, loads

REFUSED = [
    pytest.param("[" * 50_000 + "]" * 50_000, "nested more than 64 deep", id="deep"),
    pytest.param('{"a": ' + "9" * 4301 + "}", "a number of 4,301 characters (at most 100) at line 1 column 7",
                 id="over int max-str-digits"),
    pytest.param('{"a":\n 1.' + "5" * 200 + "}", "a number of 202 characters (at most 100) at line 2 column 2",
                 id="long float"),
    pytest.param("[1e400]", "the number 1e400 is out of range at line 1 column 2", id="float overflow"),
    pytest.param('{"a": NaN}', "NaN is not a JSON value at line 1 column 7", id="NaN"),
    pytest.param("[-Infinity]", "-Infinity is not a JSON value", id="Infinity"),
    pytest.param('{"a": 1} {"b": 2}', "not valid JSON (extra data after the value) at line 1 column 10", id="extra"),
    pytest.param('{"a":\n  [1,, 2]}', "not valid JSON (Expecting value) at line 2 column 6", id="syntax"),
    pytest.param(b'{"a": "caf\xe9"}', "not valid UTF-8 text (byte 10)", id="Latin-1"),
    pytest.param(b"", "not valid JSON (Expecting value) at line 1 column 1", id="empty"),
]


@pytest.mark.parametrize(("text", "says"), REFUSED)
def test_a_document_past_a_limit_is_refused_saying_what_and_where(text, says):
    with pytest.raises(JsonInputError) as err:
        loads(text)
    assert says in str(err.value)


def test_strings_and_sizes_have_their_own_limits():
    small = Limits(max_string=10, max_bytes=40)
    with pytest.raises(JsonInputError, match="a string of 11 characters"):
        loads('["' + "x" * 11 + '"]', small)
    with pytest.raises(JsonInputError, match="41 bytes, more than 40"):
        loads('"' + "x" * 39 + '"', small)
    assert loads('["' + "x" * 10 + '"]', small) == ["x" * 10]


def test_lone_surrogates_become_replacement_characters_and_pairs_stay_whole():
    value = loads(r'{"\udc00key": ["cut \ud83d", "\ud83d\ude00 whole", {"deep": "\udfff"}]}')
    assert value == {"\ufffdkey": ["cut \ufffd", "\U0001f600 whole", {"deep": "\ufffd"}]}
    json.dumps(value).encode("utf-8")  # storable now


def test_other_encodings_json_allows_are_read():
    assert loads('{"a": "ü"}'.encode("utf-16")) == {"a": "ü"}
    assert loads('{"a": "ü"}'.encode("utf-8-sig")) == {"a": "ü"}


def test_array_items_come_one_by_one_and_a_bad_one_does_not_stop_the_rest():
    """Even a syntax error, as long as the item's brackets close around it; one outside them ends the reading."""
    text = '[{"id": 1}, {"id": ' + "9" * 200 + '}, "\\ud800", NaN,\n {"id": 3}, {bad}, {"id": 4}]'
    items = [(v if not isinstance(v, JsonInputError) else str(v)) for v, _ in Reader().items(text, 0)]
    assert items == [{"id": 1}, "a number of 200 characters (at most 100) at line 1 column 20", "\ufffd",
                     "NaN is not a JSON value at line 1 column 233", {"id": 3},
                     "not valid JSON (Expecting property name enclosed in double quotes) at line 2 column 14",
                     {"id": 4}]
    *_, (last, _) = Reader().items('[{"id": 1}, {"id": 2} {"id": 3}]', 0)
    assert isinstance(last, JsonInputError) and last.ends_reading and "expected ',' or ']'" in str(last)


JSON_VALUES = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
                           | st.text(), lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=20)


@settings(max_examples=60, deadline=None)
@given(JSON_VALUES)
def test_any_json_within_the_limits_reads_as_the_json_module_reads_it(value):
    text = json.dumps(value)
    assert loads(text) == json.loads(text)
    assert loads(text.encode()) == json.loads(text)
