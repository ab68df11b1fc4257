"""``sync.store.jsontext``: JSON text any JSON reader reads back to the same values, fast for bulk loads."""

from __future__ import annotations

import dataclasses
import datetime
import json
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sync.store.jsontext import dumps, dumps_bytes, loads

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=10)


@given(JSON_VALUES)
def test_dumps_text_reads_back_to_the_value_with_either_reader(value):
    text = dumps(value)
    assert json.loads(text) == value
    assert loads(text) == value


@given(st.text())
def test_a_plain_string_is_written_exactly_as_the_json_module_writes_it(value):
    assert dumps(value) == json.dumps(value)
    assert loads(dumps(value)) == value
    assert loads(json.dumps(value, ensure_ascii=False)) == value  # text another writer stored unescaped


def test_what_orjson_refuses_is_encoded_or_refused_as_the_json_module_does():
    assert json.loads(dumps({"n": 2**70})) == {"n": 2**70}  # beyond 64 bits: exact, not a float
    assert dumps("\ud800") == json.dumps("\ud800")  # not valid Unicode
    assert json.loads(dumps({"\ud800": ["\udfff"]})) == {"\ud800": ["\udfff"]}
    assert json.loads(dumps({1: "a"})) == {"1": "a"}  # keys become strings, as json.dumps makes them
    for value in ({"at": datetime.datetime(2026, 1, 1)}, Decimal("1.5"), {"s": {1, 2}}, [_Point(1, 2)]):
        with pytest.raises(TypeError):
            dumps(value)
        with pytest.raises(TypeError):
            dumps_bytes(value)
    assert dumps_bytes({"n": "Ñ", "big": 2**70}) == '{"n":"Ñ","big":1180591620717411303424}'.encode()


@dataclasses.dataclass
class _Point:
    x: int
    y: int


def test_floats_that_are_not_numbers_are_written_as_null():
    assert dumps(float("nan")) == "null"
    assert dumps({"x": float("inf")}) == '{"x":null}'
    assert dumps_bytes([float("-inf")]) == b"[null]"


def test_loads_reads_integers_beyond_64_bits_exactly_and_nan_an_older_writer_stored():
    assert loads(str(2**70)) == 2**70
    assert loads('{"x": NaN}')["x"] != loads('{"x": NaN}')["x"]


@pytest.mark.parametrize("text", ['"a"b"', '"unterminated', '"', "'single'", '"tab\\tand \\"quote\\""'])
def test_text_that_is_not_a_plain_string_goes_to_the_json_module(text):
    try:
        expected = json.loads(text)
    except json.JSONDecodeError:
        with pytest.raises(json.JSONDecodeError):
            loads(text)
    else:
        assert loads(text) == expected
