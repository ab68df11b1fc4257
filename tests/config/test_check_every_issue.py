"""``config check`` reports every issue of every file in one run, in file and line order; and shares its mapping
check with ``mappings preview``."""

from __future__ import annotations

import json
import shutil

import pytest
from click.testing import CliRunner

from sync.cli.main import main
from sync.config import BUNDLED_CONFIG_DIR, check_config
from sync.config.loader import check_mapping, load_lifecycle

MAPPING = """source: shop
object: widget
record_id: id
modified_at: {path: updated, transforms: [datetime]}
identities:
  - {kind: email, path: email, transforms: [email]}
fields:
  city: {path: city, transforms: [strip]}
  city: {path: town}
  name: {path: name, transforms: [titlecase]}
stage:
  path: status
  transforms:
    - map: {values: {new: New Lead, gold: Platinum Lead}, default: null}
"""


@pytest.fixture
def broken(tmp_path):
    """A project whose lifecycle.yaml has a duplicate key, one mapping three kinds of issue, another bad YAML."""
    project = tmp_path / "cfg"
    shutil.copytree(BUNDLED_CONFIG_DIR, project)
    lifecycle = project / "lifecycle.yaml"
    lifecycle.write_text(lifecycle.read_text() + "\ndefault_stage: New Lead\n")
    (project / "mappings" / "shop_widget.yaml").write_text(MAPPING)
    (project / "mappings" / "zz_broken.yaml").write_text("source: shop\nobject: [unclosed\n")
    return project


def test_every_issue_of_several_broken_files_in_one_run_in_file_and_line_order(broken):
    issues = check_config(broken)
    found = [(i.file.rsplit("/", 1)[-1], i.line, i.path) for i in issues]
    assert any(f == "lifecycle.yaml" and path == "default_stage" for f, _, path in found)  # its stages still judged
    widget = [(line, path, i.message) for (file, line, path), i in zip(found, issues, strict=True)
              if file == "shop_widget.yaml"]
    assert [(line, path) for line, path, _ in widget] == [(9, "fields.city"), (10, "fields.name.transforms[0]"),
                                                          (14, "stage")]
    assert "duplicate key 'city'" in widget[0][2] and "unknown transform 'titlecase'" in widget[1][2]
    assert "can produce stage 'Platinum Lead', which lifecycle.yaml does not configure" in widget[2][2]
    assert any(file == "zz_broken.yaml" and "invalid YAML" in i.message
               for (file, _, _), i in zip(found, issues, strict=True))
    assert [(f, line or 0) for f, line, _ in found] == sorted((f, line or 0) for f, line, _ in found)


def test_the_cli_lists_them_all_and_warns_of_a_mapping_without_modified_at(broken, store, database_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("LIFESYNC_CONFIG_DIR", str(broken))
    res = CliRunner().invoke(main, ["config", "check", "--on", "2026-12-06"])
    assert res.exit_code == 1
    for says in ("duplicate key 'default_stage'", "duplicate key 'city'", "titlecase", "Platinum Lead",
                 "invalid YAML", "5 error(s)"):
        assert says in res.output, says
    fixed = MAPPING.replace("  city: {path: town}\n", "").replace("titlecase", "strip").replace("Platinum", "Hot")
    (broken / "mappings" / "shop_widget.yaml").write_text(fixed.replace("modified_at: {path: updated, "
                                                                        "transforms: [datetime]}\n", ""))
    (broken / "mappings" / "zz_broken.yaml").unlink()
    lifecycle = broken / "lifecycle.yaml"
    lifecycle.write_text(lifecycle.read_text().rstrip().rsplit("\n", 1)[0] + "\n")
    res = CliRunner().invoke(main, ["config", "check", "--on", "2026-12-06"])
    assert res.exit_code == 0, res.output
    assert "warning: mappings/shop_widget.yaml: modified_at: not set" in res.output
    assert "dated by their arrival" in res.output and "configuration OK (1 warning(s))" in res.output


def test_preview_refuses_a_stage_the_lifecycle_lacks_like_config_check(tmp_path, store, database_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.delenv("LIFESYNC_CONFIG_DIR", raising=False)
    mapping = tmp_path / "shop_widget.yaml"
    mapping.write_text(MAPPING.replace("  city: {path: town}\n", "").replace("titlecase", "strip"))
    _, issues = check_mapping(mapping, load_lifecycle(BUNDLED_CONFIG_DIR / "lifecycle.yaml"))
    res = CliRunner().invoke(main, ["mappings", "preview", str(mapping), '{"id": "w1", "status": "new"}'])
    assert res.exit_code == 1
    assert [str(i) for i in issues] == [line for line in res.output.splitlines() if "shop_widget.yaml" in line]
    assert "can produce stage 'Platinum Lead'" in res.output
    mapping.write_text(mapping.read_text().replace("Platinum", "Hot"))
    res = CliRunner().invoke(main, ["mappings", "preview", str(mapping),
                                     '{"id": "w1", "updated": "2026-03-01T00:00:00Z", "status": "weird"}'])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["refused_values"] == [{
        "field": "stage", "kind": "unmapped_value", "value": "weird",
        "reason": "not one of the mapped values (new, gold)"}]
