"""``sync.jsontext``: the same text and the same values as the json module, faster for plain strings."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sync.jsontext import dumps, loads

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=10)


@given(JSON_VALUES)
def test_dumps_writes_json_dumps_text_and_loads_reads_it_back(value):
    text = dumps(value)
    assert text == json.dumps(value)
    assert loads(text) == json.loads(text)


@given(st.text())
def test_any_string_round_trips(value):
    assert loads(dumps(value)) == value
    assert loads(json.dumps(value, ensure_ascii=False)) == value  # text another writer stored unescaped


@pytest.mark.parametrize("text", ['"a"b"', '"unterminated', '"', "'single'", '"tab\\tand \\"quote\\""'])
def test_text_that_is_not_a_plain_string_goes_to_the_json_module(text):
    try:
        expected = json.loads(text)
    except json.JSONDecodeError:
        with pytest.raises(json.JSONDecodeError):
            loads(text)
    else:
        assert loads(text) == expected
