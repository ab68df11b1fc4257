"""load_yaml: data, key-path line table, syntax and duplicate-key errors; issues_from_messages."""

from pathlib import Path

import pytest

from sync.config.yamlload import issues_from_messages, line_for, load_yaml, yaml_files
from sync.errors import ConfigError, ConfigIssue


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "file.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_data_and_line_table(tmp_path):
    path = write(tmp_path, (
        "stages:\n"                                     # 1
        "  - {name: New Lead, phase: acquisition}\n"    # 2
        "  - name: Hot Lead\n"                          # 3
        "\n"                                            # 4
        "    phase: acquisition\n"                      # 5
        "survivorship:\n"                               # 6
        "  fields:\n"                                   # 7
        "    email: {rule: prefer, source: hubspot}\n"  # 8
    ))
    data, lines = load_yaml(path)
    assert data == {
        "stages": [{"name": "New Lead", "phase": "acquisition"}, {"name": "Hot Lead", "phase": "acquisition"}],
        "survivorship": {"fields": {"email": {"rule": "prefer", "source": "hubspot"}}},
    }
    assert lines["stages"] == 1
    assert lines["stages[0]"] == 2
    assert lines["stages[1]"] == 3
    assert lines["stages[1].phase"] == 5
    assert lines["survivorship.fields.email"] == 8
    assert lines["survivorship.fields.email.rule"] == 8


def test_yes_no_on_off_stay_text_only_true_false_are_booleans(tmp_path):
    # YAML 1.1 would read the key `on` as True and Norway's region code NO as False
    path = write(tmp_path, "on: inbound_message\nregion: NO\nflags: [yes, off, true, False]\n")
    data, lines = load_yaml(path)
    assert data == {"on": "inbound_message", "region": "NO", "flags": ["yes", "off", True, False]}
    assert lines["on"] == 1


def test_empty_file(tmp_path):
    assert load_yaml(write(tmp_path, "# only a comment\n")) == (None, {})


def test_syntax_error_names_file_and_line(tmp_path):
    path = write(tmp_path, "stages:\n  - name: a\n  - [unclosed\n")
    with pytest.raises(ConfigError) as exc:
        load_yaml(path)
    [issue] = exc.value.issues
    assert issue.file == str(path)
    assert issue.path == ""
    assert issue.message.startswith("invalid YAML: ")
    assert issue.line == 4


def test_duplicate_keys_are_errors(tmp_path):
    path = write(tmp_path, "a: 1\nb:\n  c: 1\n  c: 2\na: 3\n")
    with pytest.raises(ConfigError) as exc:
        load_yaml(path)
    assert exc.value.issues == [
        ConfigIssue(str(path), "b.c", "duplicate key 'c' (first written at line 3)", 4),
        ConfigIssue(str(path), "a", "duplicate key 'a' (first written at line 1)", 5),
    ]


def test_merge_keys_are_not_duplicates(tmp_path):
    path = write(tmp_path, "base: &b {x: 1, y: 1}\nother:\n  <<: *b\n  x: 2\n")
    data, lines = load_yaml(path)
    assert data["other"] == {"x": 2, "y": 1}
    assert lines["other.x"] == 4


# (case id, file text, key path, line, message)
BROKEN = [
    ("alias containing itself", "a: 1\nloop: &l\n  - *l\n", "loop[0]", 2, "an alias cannot contain itself"),
    ("merge of itself", "a: &m {<<: *m}\n", "a", 1, "an alias cannot contain itself"),
    ("impossible date", "a:\n  when: 2026-02-30\n", "a.when", 2, "cannot read value '2026-02-30':"),
    ("impossible date in a list", "a: [1, 2026-13-01]\n", "a[1]", 1, "cannot read value '2026-13-01':"),
    ("impossible date behind an anchor", "b: &b {d: 2026-02-30}\nc: {<<: *b}\n", "b.d", 1, "cannot read value"),
]


@pytest.mark.parametrize(("text", "key_path", "line", "message"), [c[1:] for c in BROKEN], ids=[c[0] for c in BROKEN])
def test_broken_documents_are_issues_not_crashes(tmp_path, text, key_path, line, message):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as exc:
        load_yaml(path)
    [issue] = exc.value.issues
    assert (issue.file, issue.path, issue.line) == (str(path), key_path, line)
    assert issue.message.startswith(message)


def test_yaml_files_lists_yaml_and_reports_yml(tmp_path):
    for name in ("b.yaml", "a.yaml", "c.yml", "notes.txt"):
        (tmp_path / name).write_text("x: 1\n")
    files, issues = yaml_files(tmp_path)
    assert files == [tmp_path / "a.yaml", tmp_path / "b.yaml"]
    assert issues == [ConfigIssue(str(tmp_path / "c.yml"), "",
                                  "ignored: config files must end in .yaml; rename it to c.yaml")]
    assert yaml_files(tmp_path / "missing") == ([], [])


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError) as exc:
        load_yaml(tmp_path / "nope.yaml")
    assert "cannot read file" in exc.value.issues[0].message


def test_line_for_uses_deepest_written_prefix():
    lines = {"": 1, "stages": 2, "stages[1]": 4, "stages[1].name": 4}
    assert line_for(lines, "stages[1].name") == 4
    assert line_for(lines, "stages[1].phase") == 4  # missing key: line of its object
    assert line_for(lines, "stages[7].phase") == 2
    assert line_for(lines, "transitions") == 1
    assert line_for({}, "x") is None


def test_issues_from_messages_flattens_marshmallow_messages():
    messages = {
        "stages": {1: {"phase": ["bad phase"], "_schema": ["bad stage"]}},
        "_schema": ["bad file"],
        "identities": {"kinds": {"phone": {"no_merge_if_different": {0: ["unknown kind"]}}}},
    }
    lines = {"": 1, "stages": 1, "stages[1]": 3, "stages[1].phase": 4, "identities": 9,
             "identities.kinds": 10, "identities.kinds.phone": 11}
    assert issues_from_messages("f.yaml", messages, lines) == [
        ConfigIssue("f.yaml", "", "bad file", 1),
        ConfigIssue("f.yaml", "stages[1]", "bad stage", 3),
        ConfigIssue("f.yaml", "stages[1].phase", "bad phase", 4),
        ConfigIssue("f.yaml", "identities.kinds.phone.no_merge_if_different[0]", "unknown kind", 11),
    ]
