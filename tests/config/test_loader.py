"""Config directory overrides, check_config across files, load_config."""

from dataclasses import dataclass
from pathlib import Path

import pytest

import sync
from sync.config import BUNDLED_CONFIG_DIR, Config, check_config, load_config, resolve_files
from sync.errors import ConfigError, ConfigIssue

LIFECYCLE = (
    "stages:\n"
    "  - {name: New Lead, phase: acquisition}\n"
    "  - {name: Customer, phase: retention}\n"
    "lost_stages:\n"
    "  - {name: Cold Lead}\n"
)


def make_dir(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


@pytest.fixture
def bundled(tmp_path):
    return make_dir(tmp_path / "bundled", {
        "lifecycle.yaml": LIFECYCLE,
        "mappings/hubspot_contacts.yaml": "source: hubspot\nobject: contacts\nstages: [New Lead]\n",
        "mappings/salesforce_leads.yaml": "source: salesforce\nobject: leads\nstages: [Customer]\n",
    })


@dataclass
class FakeMapping:
    """Stands in for sync.mappings.Mapping: reads source/object/stages from a tiny YAML file."""

    source: str
    object: str
    stages: tuple[str, ...]

    def stage_values(self) -> set[str]:
        return set(self.stages)


def fake_load_mapping(path: Path) -> FakeMapping:
    from sync.config.yamlload import load_yaml

    data, lines = load_yaml(path)
    if "error" in data:
        raise ConfigError([ConfigIssue(str(path), "error", data["error"], lines["error"])])
    return FakeMapping(data["source"], data["object"], tuple(data.get("stages", ())))


def fake_read_mapping(path: Path) -> tuple[FakeMapping | None, list[ConfigIssue], dict, set[str]]:
    """``read_mapping``'s answer for the stand-in format: (mapping or None, issues, lines, stages)."""
    try:
        mapping = fake_load_mapping(path)
    except ConfigError as err:
        return None, err.issues, {}, set()
    return mapping, [], {}, mapping.stage_values()


@pytest.fixture
def fake_mappings(monkeypatch):
    # check_config reads each mapping file with sync.mappings.loader.read_mapping (imported when called);
    # these tests pin down the cross-file logic with a stand-in, independent of the real mapping format
    import sync.mappings.loader

    monkeypatch.setattr(sync.mappings.loader, "read_mapping", fake_read_mapping)


def test_bundled_defaults_without_project_dir():
    files = resolve_files(None)
    assert files.lifecycle == BUNDLED_CONFIG_DIR / "lifecycle.yaml"
    assert Path(__file__).resolve().parents[2] / "config" == BUNDLED_CONFIG_DIR
    assert all(p.parent == BUNDLED_CONFIG_DIR / "mappings" for p in files.mappings)


def test_project_dir_without_overrides_uses_bundled(tmp_path, bundled):
    project = make_dir(tmp_path / "project", {"README": "nothing here"})
    files = resolve_files(project, bundled)
    assert files.lifecycle == bundled / "lifecycle.yaml"
    assert files.mappings == (
        bundled / "mappings/hubspot_contacts.yaml", bundled / "mappings/salesforce_leads.yaml",
    )


def test_project_files_replace_and_add(tmp_path, bundled):
    project = make_dir(tmp_path / "project", {
        "lifecycle.yaml": LIFECYCLE,
        "mappings/hubspot_contacts.yaml": "source: hubspot\nobject: contacts\n",
        "mappings/respondio_contacts.yaml": "source: respondio\nobject: contacts\n",
    })
    files = resolve_files(project, bundled)
    assert files.lifecycle == project / "lifecycle.yaml"
    assert files.mappings == (
        project / "mappings/hubspot_contacts.yaml",    # replaced
        project / "mappings/respondio_contacts.yaml",  # added
        bundled / "mappings/salesforce_leads.yaml",    # kept
    )


def test_missing_project_dir_is_an_issue(tmp_path, bundled):
    with pytest.raises(ConfigError):
        resolve_files(tmp_path / "missing", bundled)
    [issue] = check_config(tmp_path / "missing", bundled)
    assert issue.file == str(tmp_path / "missing")
    assert "does not exist" in issue.message


def test_valid_config_loads(bundled, fake_mappings):
    assert check_config(None, bundled) == []
    config = load_config(None, bundled)
    assert isinstance(config, Config)
    assert config.lifecycle.active_names == ("New Lead", "Customer")
    assert set(config.mappings) == {("hubspot", "contacts"), ("salesforce", "leads")}
    assert config.files == resolve_files(None, bundled)


def test_mapping_stage_not_configured(tmp_path, bundled, fake_mappings):
    project = make_dir(tmp_path / "project", {
        "mappings/hubspot_contacts.yaml": (
            "source: hubspot\n"
            "object: contacts\n"
            "stages: [New Lead, Hot Lead, Paid]\n"
        ),
    })
    path = str(project / "mappings/hubspot_contacts.yaml")
    configured = "configured stages: New Lead, Customer; lost stages: Cold Lead"
    assert check_config(project, bundled) == [
        ConfigIssue(path, "stage", "this mapping can produce stage 'Hot Lead', which lifecycle.yaml does not "
                                   f"configure; {configured}", 3),
        ConfigIssue(path, "stage", "this mapping can produce stage 'Paid', which lifecycle.yaml does not "
                                   f"configure; {configured}", 3),
    ]


def test_every_issue_in_every_file_is_collected(tmp_path, bundled, fake_mappings):
    project = make_dir(tmp_path / "project", {
        "lifecycle.yaml": LIFECYCLE.replace("retention", "after-sales") + "colour: red\n",
        "mappings/hubspot_contacts.yaml": "error: broken hubspot mapping\n",
        "mappings/a_contacts.yaml": "error: broken a mapping\n",
        "mappings/b_contacts.yml": "source: b\nobject: contacts\n",
        "mappings/respondio_contacts.yaml": "source: salesforce\nobject: leads\n",
    })
    issues = check_config(project, bundled)
    assert {(Path(i.file).name, i.path) for i in issues} == {
        ("b_contacts.yml", ""),                # wrong extension: would be silently ignored
        ("lifecycle.yaml", "stages[1].phase"),
        ("lifecycle.yaml", "colour"),
        ("a_contacts.yaml", "error"),
        ("hubspot_contacts.yaml", "error"),
        ("salesforce_leads.yaml", "object"),   # second mapping for (salesforce, leads)
    }
    with pytest.raises(ConfigError) as exc:
        load_config(project, bundled)
    assert exc.value.issues == issues


# --- integration with the real mapping loader (sync/mappings, written by a colleague) ------

REAL_LOADER = Path(sync.__file__).parent / "mappings" / "loader.py"
SHIPPED_MAPPINGS = sorted((BUNDLED_CONFIG_DIR / "mappings").glob("*.yaml"))


@pytest.mark.skipif(not (REAL_LOADER.exists() and SHIPPED_MAPPINGS),
                    reason="integration: needs sync/mappings/loader.py and config/mappings/*.yaml")
def test_integration_shipped_config_with_real_mapping_loader():
    files = resolve_files(None)
    assert files.mappings == tuple(SHIPPED_MAPPINGS)
    assert check_config(None) == []
    config = load_config(None)
    assert len(config.mappings) == len(files.mappings)
    stages = set(config.lifecycle.active_names) | set(config.lifecycle.lost_names)
    for mapping in config.mappings.values():
        assert mapping.stage_values() <= stages


@pytest.mark.skipif(not (REAL_LOADER.exists() and SHIPPED_MAPPINGS),
                    reason="integration: needs sync/mappings/loader.py and config/mappings/*.yaml")
def test_integration_mapping_stage_missing_from_project_lifecycle(tmp_path):
    # a project copies a shipped mapping and renames one stage the mapping produces
    from sync.mappings import load_mapping

    source = next(p for p in SHIPPED_MAPPINGS if load_mapping(p).stage_values())
    stage = sorted(load_mapping(source).stage_values())[0]
    lines = source.read_text(encoding="utf-8").splitlines(keepends=True)
    number = next(i for i, line in enumerate(lines) if line.rstrip().endswith(f": {stage}"))
    lines[number] = lines[number].rstrip()[: -len(stage)] + f"Renamed {stage}\n"
    project = make_dir(tmp_path / "project", {f"mappings/{source.name}": "".join(lines)})

    issues = check_config(project)
    assert [(i.file, i.path, i.line) for i in issues] == [
        (str(project / "mappings" / source.name), "stage", number + 1),
    ]
    assert f"stage 'Renamed {stage}'" in issues[0].message
