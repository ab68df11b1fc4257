import pytest
from hypothesis import given
from hypothesis import strategies as st

from sync.mappings.paths import Each, Index, Key, PathSyntaxError, Select, compile_path, get_path, path_exists, set_path

RECORD = {
    "id": "7",
    "properties": {"email": "a@b.co", "hs.weird": "dotted", "empty": None, "blank": ""},
    "messages": [{"id": "m1", "referral": {"source_id": "ad1"}}, {"id": "m2"}],
    "custom_fields": [
        {"name": "Budget", "value": 1500},
        {"name": "Lead Source", "value": "Instagram"},
        {"name": "Budget", "value": "second match ignored"},
        {"name": True, "value": "flag"},
    ],
    "lifecycle": "Hot Lead",
    "matrix": [[1, 2], [3]],
    "tags": ["vip", "instagram"],
}


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("id", "7"),
        ("properties.email", "a@b.co"),
        ('properties."hs.weird"', "dotted"),
        ("properties.empty", None),
        ("properties.blank", ""),
        ("properties.missing", None),
        ("nope.deeper.still", None),
        ("messages[0].id", "m1"),
        ("messages[1].id", "m2"),
        ("messages[-1].id", "m2"),
        ("messages[-2].referral.source_id", "ad1"),
        ("messages[2].id", None),
        ("messages[-3].id", None),
        ("messages[1].referral.source_id", None),
        ("messages[*].id", ["m1", "m2"]),
        ("messages[*].referral.source_id", ["ad1"]),  # elements without the key are skipped
        ("tags[*]", ["vip", "instagram"]),
        ("matrix[*][*]", [1, 2, 3]),
        ("custom_fields[name=Budget].value", 1500),
        ('custom_fields[name="Lead Source"].value', "Instagram"),
        ("custom_fields[name=Lead Source].value", "Instagram"),
        ("custom_fields[name=true].value", "flag"),
        ("custom_fields[name=Missing].value", None),
        ("lifecycle.name", None),  # a string where a dict was expected
        ("lifecycle[0]", None),  # a string where a list was expected
        ("properties[0]", None),  # a dict where a list was expected
        ("id.deeper", None),
        ("tags[*].name", []),
    ],
)
def test_get_path(path, expected):
    assert get_path(RECORD, compile_path(path)) == expected


@pytest.mark.parametrize(
    ("path", "exists"),
    [("properties.empty", True), ("properties.blank", True), ("properties.missing", False),
     ("messages[5]", False), ("lifecycle.name", False), ("messages[*].id", True)],
)
def test_path_exists_distinguishes_null_from_missing(path, exists):
    assert path_exists(RECORD, compile_path(path)) is exists


@pytest.mark.parametrize(
    ("text", "steps"),
    [
        ("a.b", (Key("a"), Key("b"))),
        ("a[0].b", (Key("a"), Index(0), Key("b"))),
        ("a[-1]", (Key("a"), Index(-1))),
        ("a[*].b", (Key("a"), Each(), Key("b"))),
        ("cf[name=Budget].value", (Key("cf"), Select("name", "Budget"), Key("value"))),
        ('cf[name="a]b"]', (Key("cf"), Select("name", "a]b"))),
        ('properties."hs.weird key"', (Key("properties"), Key("hs.weird key"))),
        ('"a\\"b"', (Key('a"b'),)),
        ("Account.Name", (Key("Account"), Key("Name"))),
    ],
)
def test_compile_path_steps(text, steps):
    assert compile_path(text).steps == steps


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "non-empty"),
        ("a..b", "empty key at position 3"),
        (".a", "empty key at position 1"),
        ("a.", "must not end with a dot"),
        ("a[", "unclosed ["),
        ("a[x]", "bad bracket [x]"),
        ("a[1.5]", "bad bracket"),
        ("[0]", "must start with a key"),
        ('a."b', "unterminated quote"),
        ('a.""', "empty quoted key"),
        ("a b", "expected '.' or '['"),
        (" a", "must not start or end with spaces"),
        ("a]", "expected '.' or '['"),
    ],
)
def test_compile_path_rejects_bad_syntax(text, message):
    with pytest.raises(PathSyntaxError, match=message.replace("[", r"\[")):
        compile_path(text)


def test_set_path_creates_nested_dicts_and_keeps_siblings():
    out = {"properties": {"email": "a@b.co"}}
    set_path(out, compile_path("properties.firstname"), "Ana")
    set_path(out, compile_path('meta."x.y".z'), 1)
    assert out == {"properties": {"email": "a@b.co", "firstname": "Ana"}, "meta": {"x.y": {"z": 1}}}


@pytest.mark.parametrize("text", ["a[0]", "a[*].b", "a[k=v]"])
def test_set_path_refuses_list_steps(text):
    with pytest.raises(ValueError, match="only plain keys"):
        set_path({}, compile_path(text), 1)


def test_set_path_refuses_to_overwrite_a_scalar_with_an_object():
    with pytest.raises(ValueError, match="non-object"):
        set_path({"a": "text"}, compile_path("a.b"), 1)


keys = st.text(min_size=1, max_size=8)
values = st.one_of(st.none(), st.integers(), st.text(max_size=5), st.booleans())


@given(st.lists(keys, min_size=1, max_size=4), values)
def test_set_then_get_round_trips_any_key(parts, value):
    """Any key (dots, brackets, quotes, spaces) can be written quoted and read back."""
    quoted = ".".join('"' + p.replace("\\", "\\\\").replace('"', '\\"') + '"' for p in parts)
    path = compile_path(quoted)
    assert path.steps == tuple(Key(p) for p in parts)
    record: dict = {}
    set_path(record, path, value)
    assert get_path(record, path) == value
    assert path_exists(record, path)


@given(st.recursive(values, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                    st.dictionaries(keys, inner, max_size=3)), max_leaves=10))
def test_get_path_never_raises_on_arbitrary_data(data):
    for text in ("a.b[0].c", "a[*].b", "a[-1]", "x[name=y].z"):
        get_path(data, compile_path(text))
