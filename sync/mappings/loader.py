"""Load mapping files: YAML with a line for every key, validated into ``Mapping`` objects.

Files are read with ``sync.config.yamlload`` (the one YAML dialect of every config file:
only ``true``/``false`` are booleans, so a vendor's ``no`` or ``on`` stays text; duplicate
keys, looping aliases and unreadable values are errors). Every problem of every file is
collected as a ``ConfigIssue`` (file, key path, line, expectation) and raised together as
one ``ConfigError``. Mapping files end in ``.yaml``: ``load_mappings`` reports a ``.yml``
file instead of loading it.
"""

from __future__ import annotations

from pathlib import Path

from marshmallow import ValidationError

from sync.config.yamlload import issues_from_messages, load_yaml, yaml_files
from sync.errors import ConfigError, ConfigIssue
from sync.mappings.schema import MappingSchema, SpecField
from sync.mappings.specs import Mapping

__all__ = ["load_mapping", "load_mappings", "read_mapping"]


def _stage_alone(data: dict) -> set[str]:
    """The stage names the file's ``stage`` spec can produce, read on its own (another part of the file failed)."""
    if "stage" not in data:
        return set()
    try:
        spec = SpecField(directed=True).deserialize(data["stage"])
    except ValidationError:
        return set()  # the stage spec's own issues are reported with the rest
    return {str(v) for v in spec.outputs()}


def read_mapping(path: Path) -> tuple[Mapping | None, list[ConfigIssue], dict[str, int], set[str]]:
    """(the mapping, or None when it has issues; every issue of the file; its key-path → line table; stages).

    ``stages``: every stage name the file's stage spec can produce, read even when another part of
    the file has issues (a duplicate key, an unknown transform), so ``config check`` judges them
    against the lifecycle in the same run.
    """
    file = str(path)
    recovered: list[ConfigIssue] = []
    try:
        data, lines = load_yaml(path, recovered)
    except ConfigError as err:
        return None, err.issues, {}, set()
    if not isinstance(data, dict):
        return None, [*recovered, ConfigIssue(file, "", "expected a mapping with source, object, record_id, ...",
                                              1)], lines, set()
    try:
        parts = MappingSchema().load(data)
    except ValidationError as exc:
        issues = sorted([*recovered, *issues_from_messages(file, exc.messages, lines)],
                        key=lambda i: i.line or 0)
        return None, issues, lines, _stage_alone(data)
    mapping = Mapping(name=path.stem, file=file, **parts)
    return (None if recovered else mapping), recovered, lines, mapping.stage_values()


def _load(path: Path) -> tuple[Mapping | None, list[ConfigIssue], dict[str, int]]:
    """(the mapping or None, every issue of the file, the file's key-path → line table)."""
    mapping, issues, lines, _ = read_mapping(path)
    return mapping, issues, lines


def load_mapping(path: str | Path) -> Mapping:
    """Load and validate one mapping file; raise ConfigError listing every problem."""
    mapping, issues, _ = _load(Path(path))
    if issues or mapping is None:
        raise ConfigError(issues)
    return mapping


def load_mappings(config_dir: str | Path) -> dict[tuple[str, str], Mapping]:
    """Load every ``config_dir/mappings/*.yaml`` keyed by (source, object); one ConfigError for all."""
    files, issues = yaml_files(Path(config_dir) / "mappings")
    found: dict[tuple[str, str], Mapping] = {}
    for file in files:
        mapping, file_issues, lines = _load(file)
        issues += file_issues
        if mapping is None:
            continue
        key = (mapping.source, mapping.object)
        if key in found:
            issues.append(ConfigIssue(mapping.file, "object", f"duplicate mapping for source {key[0]!r}, object "
                                      f"{key[1]!r}: {found[key].file} already maps it", lines.get("object")))
            continue
        found[key] = mapping
    if issues:
        raise ConfigError(issues)
    return found
