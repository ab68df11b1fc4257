"""Bounded config parsing: files built to exhaust a YAML loader are refused as issues naming file and line.

The attack files are generated here (``support.yaml_attacks``); the tests assert the refusal and
its words, never a timing (``bench/hostile_input.py`` measures how fast each is refused).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from support import yaml_attacks as attacks

from sync.cli.main import main
from sync.config import BUNDLED_CONFIG_DIR, load_config
from sync.config.yamlload import MAX_BYTES, MAX_DEPTH, MAX_NODES, load_yaml
from sync.errors import ConfigError

CASES = [
    pytest.param(attacks.billion_laughs(), 5, f"more than {MAX_NODES:,} values once its anchors, aliases",
                 id="billion laughs"),
    pytest.param(attacks.merge_bomb(), 6, "merge keys (<<) are expanded", id="merge-key bomb"),
    pytest.param(attacks.deep_nesting(50_000), 1, f"nested more than {MAX_DEPTH} deep", id="deep flow nesting"),
    pytest.param(attacks.deep_blocks(MAX_DEPTH + 5), MAX_DEPTH, f"nested more than {MAX_DEPTH} deep",
                 id="deep block nesting"),
    pytest.param("base: &b {" + ", ".join(f"k{n}: [[[[[[[[1]]]]]]]]" for n in range(3)) + "}\n"
                 + "".join(f"l{n}: &l{n} {{x: *{'b' if n == 0 else f'l{n - 1}'}}}\n" for n in range(60)),
                 55, "nested more than 64 deep once aliases are expanded", id="deep through aliases"),
    pytest.param(attacks.with_nul(3), 3, "a NUL byte at column 19: YAML files cannot hold it", id="NUL byte"),
    pytest.param("a: 1\nb: \x07bell\n", 2, "the control character U+0007", id="control character"),
    pytest.param(attacks.NOT_UTF8, 3, "not UTF-8 text (byte 0xe9 at column 14)", id="Latin-1 bytes"),
    pytest.param(attacks.oversized(MAX_BYTES + 1), None, f"larger than {MAX_BYTES:,} bytes", id="oversized"),
]


def write(path: Path, content: str | bytes) -> Path:
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return path


@pytest.mark.parametrize(("content", "line", "says"), CASES)
def test_an_attack_file_is_one_issue_naming_file_line_and_limit(tmp_path, content, line, says):
    path = write(tmp_path / "lifecycle.yaml", content)
    with pytest.raises(ConfigError) as err:
        load_yaml(path)
    [issue] = err.value.issues
    assert (issue.file, issue.line) == (str(path), line) and says in issue.message, issue


def test_a_file_at_the_size_cap_and_aliases_below_the_limit_still_load(tmp_path):
    at_cap = attacks.oversized(MAX_BYTES)[:MAX_BYTES].rsplit("\n", 1)[0] + "\n"
    data, _ = load_yaml(write(tmp_path / "big.yaml", at_cap))
    assert len(data["items"]) == at_cap.count("\n") - 1
    data, _ = load_yaml(write(tmp_path / "laughs.yaml", attacks.billion_laughs(levels=4)))  # 9**4 = 6,561 values
    assert len(data["l3"]) == 9 and data["l3"][0][0][0][0] == "lol"
    merged, _ = load_yaml(write(tmp_path / "merge.yaml", attacks.merge_bomb(levels=3)))
    assert merged["m2"] == {"k": "v"}


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A copy of the bundled config as LIFESYNC_CONFIG_DIR, and a way to plant an attack file in it."""
    shutil.copytree(BUNDLED_CONFIG_DIR, tmp_path / "cfg")
    monkeypatch.setenv("LIFESYNC_CONFIG_DIR", str(tmp_path / "cfg"))
    return tmp_path / "cfg"


@pytest.mark.parametrize("relative", ["lifecycle.yaml", "mappings/hubspot_contacts.yaml", "conversions.yaml",
                                      "schedule.yaml"])
def test_config_check_refuses_an_attack_file_by_name_and_line_without_a_traceback(project, store, database_url,
                                                                                    monkeypatch, relative):
    # store: an empty database; a revision another test stored would stand in for the file on disk
    monkeypatch.setenv("DATABASE_URL", database_url)
    bomb = write(project / relative, attacks.merge_bomb())
    res = CliRunner().invoke(main, ["config", "check"])
    assert res.exit_code == 1 and isinstance(res.exception, SystemExit), (res.exception, res.output)
    assert f"{bomb}:6: this value holds more than {MAX_NODES:,} values" in res.output, res.output
    assert "Traceback" not in res.output


def test_start_up_refuses_an_attack_file_as_a_config_error(project):
    write(project / "lifecycle.yaml", attacks.billion_laughs())
    with pytest.raises(ConfigError) as err:
        load_config(project)  # what serve, worker and scheduler call first
    assert [(i.file, i.line) for i in err.value.issues] == [(str(project / "lifecycle.yaml"), 5)]
