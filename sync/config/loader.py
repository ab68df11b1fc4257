"""Find, validate and load the configuration files: lifecycle.yaml, conversions.yaml, mappings/ and segments/.

Bundled defaults live in the repository's top-level ``config/`` directory. A project
directory (the ``LIFESYNC_CONFIG_DIR`` setting, passed in by the caller) overrides them
file by file:

- ``<project>/lifecycle.yaml`` replaces the bundled lifecycle.yaml, and
  ``<project>/conversions.yaml`` the bundled conversions.yaml (no file: no conversion rules);
- ``<project>/mappings/<name>.yaml`` replaces the bundled mapping of the same file name,
  and files with new names are added; ``segments/<key>.yaml`` likewise (``sync.segments``);
- ``<project>/privacy.yaml`` replaces the bundled privacy.yaml (``sync.config.privacy``);
- ``<project>/brands.yaml`` (none bundled) names the brands of the installation and the
  ``lifecycles/`` and ``conversions/`` files of their own (``sync.config.brands``).

``check_config`` validates everything and returns every issue in every file (it never
stops at the first bad file); ``load_config`` returns the loaded ``Config`` or raises
``ConfigError`` with those issues.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sync.config.brands import ONE_BRAND, Brands, brands_and_issues, brands_path
from sync.config.bundled import BUNDLED_CONFIG_DIR
from sync.config.conversions import ConversionRules
from sync.config.conversions_schema import CONVERSIONS_FILE, conversions_and_issues, conversions_path
from sync.config.lifecycle_schema import parse_lifecycle
from sync.config.privacy import (
    PRIVACY_FILE,
    PrivacyConfig,
    destination_issues,
    privacy_and_issues,
    privacy_path,
    purpose_issues,
)
from sync.config.types import LifecycleConfig
from sync.config.yamlload import join_path, line_for, load_yaml, misnamed_file, yaml_files
from sync.errors import ConfigError, ConfigIssue

if TYPE_CHECKING:
    from sync.mappings import Mapping
    from sync.segments.conditions import Segment

LIFECYCLE_FILE = "lifecycle.yaml"
MAPPINGS_DIR = "mappings"
SEGMENTS_DIR = "segments"  # == sync.segments.files.SEGMENTS_DIR (that package imports this one)


@dataclass(frozen=True)
class ConfigFiles:
    """The config files in effect after applying the project directory's overrides."""

    lifecycle: Path
    mappings: tuple[Path, ...]  # sorted by file name
    conversions: Path | None = None  # None: neither the project nor the bundle has one
    brands: Path | None = None  # the project's brands.yaml; None: one implicit brand (sync.config.brands)
    segments: tuple[Path, ...] = ()  # segments/<key>.yaml, sorted by file name
    privacy: Path | None = None  # privacy.yaml (the project's, else the bundled one)


@dataclass(frozen=True)
class Config:
    """Everything loaded from the config files, validated."""

    lifecycle: LifecycleConfig
    mappings: dict[tuple[str, str], Mapping]  # (source, object) → mapping
    files: ConfigFiles
    conversions: ConversionRules = field(default_factory=ConversionRules)
    brands: Brands = ONE_BRAND  # brands.yaml (sync.config.brands)
    segments: tuple[Segment, ...] = ()  # segments/<key>.yaml (sync.segments), sorted by key
    privacy: PrivacyConfig = field(default_factory=PrivacyConfig)  # privacy.yaml (sync.config.privacy)

    def segment(self, key: str) -> Segment | None:
        """The configured segment ``key``, None when there is none."""
        return next((s for s in self.segments if s.key == key), None)


def resolve_files(project_dir: Path | None, bundled_dir: Path = BUNDLED_CONFIG_DIR) -> ConfigFiles:
    """Pick each config file from the project directory when it has one, else the bundled one.

    Raises ConfigError when ``project_dir`` is given but is not a directory.
    """
    lifecycle = bundled_dir / LIFECYCLE_FILE
    mappings = {p.name: p for p in _yaml_files(bundled_dir / MAPPINGS_DIR)}
    segments = {p.name: p for p in _yaml_files(bundled_dir / SEGMENTS_DIR)}
    if project_dir is not None:
        project_dir = Path(project_dir)
        if not project_dir.is_dir():
            raise ConfigError([ConfigIssue(
                str(project_dir), "",
                "the config directory (LIFESYNC_CONFIG_DIR) does not exist or is not a directory",
            )])
        if (project_dir / LIFECYCLE_FILE).is_file():
            lifecycle = project_dir / LIFECYCLE_FILE
        mappings.update({p.name: p for p in _yaml_files(project_dir / MAPPINGS_DIR)})
        segments.update({p.name: p for p in _yaml_files(project_dir / SEGMENTS_DIR)})
    return ConfigFiles(lifecycle=lifecycle, mappings=tuple(mappings[name] for name in sorted(mappings)),
                       conversions=conversions_path(project_dir, bundled_dir),
                       brands=brands_path(project_dir, bundled_dir),
                       segments=tuple(segments[name] for name in sorted(segments)),
                       privacy=privacy_path(project_dir, bundled_dir))


def _yaml_files(directory: Path) -> list[Path]:
    """The ``*.yaml`` files directly in ``directory`` (none when it does not exist)."""
    return yaml_files(directory)[0]


def load_lifecycle(path: Path) -> LifecycleConfig:
    """Load and validate one lifecycle.yaml; raises ConfigError listing every issue."""
    data, lines = load_yaml(path)
    return parse_lifecycle(data, str(path), lines)


def lifecycle_and_issues(path: Path) -> tuple[LifecycleConfig | None, list[ConfigIssue]]:
    """lifecycle.yaml's every issue, and its stages to check the other files against whenever they can be read.

    A duplicate key or an unreadable value is an issue, yet leaves the stages readable: the
    mappings' and conversions' stages are still judged in the same run.
    """
    recovered: list[ConfigIssue] = []
    try:
        data, lines = load_yaml(path, recovered)
        return parse_lifecycle(data, str(path), lines), recovered
    except ConfigError as err:
        return None, [*recovered, *err.issues]


def check_mapping(path: Path, lifecycle: LifecycleConfig | None) -> tuple[Mapping | None, list[ConfigIssue]]:
    """A mapping file's every issue, the stages it can produce that ``lifecycle`` lacks included; the mapping when none.

    The one check of a mapping file: ``config check`` (``load_all``), every configuration load,
    and ``lifesync mappings preview`` run it, so a stage the lifecycle does not have is refused
    alike everywhere. Stages are judged even when another part of the file has issues.
    """
    from sync.mappings.loader import read_mapping  # lazy: the mapping package imports sync.config

    mapping, issues, _, stages = read_mapping(Path(path))
    if lifecycle is not None:
        issues = [*issues, *_stage_issues(Path(path), stages, lifecycle)]
    issues.sort(key=lambda i: i.line or 0)
    return (mapping if not issues else None), issues


def mapping_warnings(mappings: Iterable[Any]) -> list[str]:
    """What ``config check`` warns about (exit 0): mappings without ``modified_at``, dated by arrival."""
    return [f"{MAPPINGS_DIR}/{Path(m.file).name}: modified_at: not set, so records of {m.source} {m.object} are "
            "dated by their arrival at lifesync (their stage changes and conversions too); map the record's own "
            "modification time" for m in mappings if m.modified_at is None]


def file_warnings(project_dir: Path | None, bundled_dir: Path = BUNDLED_CONFIG_DIR) -> list[str]:
    """``mapping_warnings`` of the effective mapping files that load (when the configuration as a whole does not)."""
    try:
        files = resolve_files(project_dir, bundled_dir)
    except ConfigError:
        return []
    return mapping_warnings(m for path in files.mappings if (m := check_mapping(path, None)[0]) is not None)


def check_config(project_dir: Path | None, bundled_dir: Path = BUNDLED_CONFIG_DIR) -> list[ConfigIssue]:
    """Every issue in the effective config files, including checks across files; [] when valid."""
    from sync.config.alerts import alerts_issues
    from sync.config.schedule import schedule_issues

    return (load_all(project_dir, bundled_dir)[1] + schedule_issues(project_dir, bundled_dir)
            + alerts_issues(project_dir, bundled_dir))


def load_config(project_dir: Path | None, bundled_dir: Path = BUNDLED_CONFIG_DIR) -> Config:
    """Load the effective configuration; raises ConfigError with every issue found."""
    config, issues = load_all(project_dir, bundled_dir)
    if issues or config is None:
        raise ConfigError(issues)
    return config


def load_all(project_dir: Path | None, bundled_dir: Path) -> tuple[Config | None, list[ConfigIssue]]:
    """Load every file, collecting issues instead of stopping at the first bad file (no schedule.yaml).

    The Config when there are none, else None and every issue.
    """
    try:
        files = resolve_files(project_dir, bundled_dir)
    except ConfigError as err:
        return None, err.issues
    issues = misnamed_files(project_dir, bundled_dir)

    lifecycle, lifecycle_issues = lifecycle_and_issues(files.lifecycle)
    issues.extend(lifecycle_issues)

    mappings: dict[tuple[str, str], Mapping] = {}
    first_file: dict[tuple[str, str], Path] = {}
    for path in files.mappings:
        mapping, mapping_issues = check_mapping(path, lifecycle)
        issues.extend(mapping_issues)
        if mapping is None:
            continue
        key = (mapping.source, mapping.object)
        if key in first_file:
            issues.append(ConfigIssue(
                str(path), "object",
                f"a second mapping for {key[0]} {key[1]}; {first_file[key].name} already maps it "
                "(keep one file per source and object)",
            ))
            continue
        first_file[key] = path
        mappings[key] = mapping

    conversions, conversion_issues = conversions_and_issues(files.conversions, lifecycle, mappings)
    issues.extend(conversion_issues)
    brands, brand_issues = brands_and_issues(files.brands, [d.name for d in conversions.destinations], conversions)
    issues.extend(brand_issues)
    from sync.segments.files import read_segments  # lazy: sync.segments imports sync.config

    segments, segment_issues = read_segments(files.segments, brands, lifecycle)
    issues.extend(segment_issues)
    privacy, privacy_issues = privacy_and_issues(files.privacy or privacy_path(project_dir, bundled_dir))
    issues.extend(privacy_issues)
    if not privacy_issues:
        issues.extend(destination_issues(privacy, exit_names(conversions, segments)))
        issues.extend(purpose_issues(privacy, mappings.values()))

    if issues or lifecycle is None:
        return None, sorted(issues, key=lambda i: (i.file, i.line or 0))  # file by file, line by line
    return Config(lifecycle=lifecycle, mappings=mappings, files=files, conversions=conversions, brands=brands,
                  segments=segments, privacy=privacy), []


def exit_names(conversions: ConversionRules, segments: Iterable[Any]) -> list[str]:
    """What a privacy rule's ``destinations`` may name: networks, audience kinds, configured destinations."""
    from sync.attribution.networks import NETWORKS
    from sync.segments.destinations import KINDS

    return [*NETWORKS, *KINDS, *(d.name for d in conversions.destinations),
            *(d.name for s in segments for d in s.destinations)]


def _stage_issues(path: Path, stages: set[str], lifecycle: LifecycleConfig) -> list[ConfigIssue]:
    """Stages a mapping can produce that lifecycle.yaml does not configure."""
    known = set(lifecycle.active_names) | set(lifecycle.lost_names)
    configured = ", ".join(lifecycle.active_names)
    if lifecycle.lost_names:
        configured += f"; lost stages: {', '.join(lifecycle.lost_names)}"
    return [
        ConfigIssue(
            str(path), "stage",
            f"this mapping can produce stage '{stage}', which lifecycle.yaml does not configure; "
            f"configured stages: {configured}",
            _line_of_value(path, stage),
        )
        for stage in sorted(stages - known)
    ]


def _line_of_value(path: Path, value: str) -> int | None:
    """Best effort: the line of the first scalar equal to ``value`` in a YAML file."""
    try:
        data, lines = load_yaml(path, [])  # its duplicate keys are issues of their own: the line still counts
    except ConfigError:
        return None
    stack: list[tuple[str, Any]] = [("", data)]
    while stack:
        key_path, node = stack.pop(0)
        if isinstance(node, dict):
            stack[:0] = [(join_path(key_path, k), v) for k, v in node.items()]
        elif isinstance(node, list):
            stack[:0] = [(join_path(key_path, i), v) for i, v in enumerate(node)]
        elif node == value:
            return line_for(lines, key_path)
    return None


def misnamed_files(project_dir: Path | None, bundled_dir: Path) -> list[ConfigIssue]:
    """``.yml`` files where ``.yaml`` is expected: they would be silently ignored otherwise."""
    issues = []
    for base in (bundled_dir, Path(project_dir) if project_dir is not None else None):
        if base is None:
            continue
        for name in (LIFECYCLE_FILE, CONVERSIONS_FILE, PRIVACY_FILE):
            if (base / name).with_suffix(".yml").is_file():
                issues.append(misnamed_file((base / name).with_suffix(".yml")))
        issues += yaml_files(base / MAPPINGS_DIR)[1] + yaml_files(base / SEGMENTS_DIR)[1]
    return issues
