"""Reading the segment files of a configuration: ``segments/<key>.yaml``, each validated, names checked across files.

``sync.config.loader`` calls ``read_segments`` with the effective files (the project's over
the bundled ones, by file name, as for mappings), so ``lifesync config check``, every load
and every edit through the ops API judge segment files alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from sync.config.brands import Brands
from sync.config.types import LifecycleConfig
from sync.config.yamlload import join_path, line_for, load_yaml
from sync.errors import ConfigError, ConfigIssue
from sync.segments.conditions import Segment
from sync.segments.parse import parse_segment

SEGMENTS_DIR = "segments"


def destination_kinds() -> tuple[str, ...]:
    """The audience destination kinds registered (``sync.segments.destinations.KINDS``)."""
    from sync.segments.destinations import KINDS  # lazy: the registry imports every vendor module

    return tuple(KINDS)


def read_segment(path: Path, brands: Brands, lifecycle: LifecycleConfig | None,
                 kinds: tuple[str, ...] | None = None) -> tuple[Segment | None, list[ConfigIssue]]:
    """One segment file, its key its file name: (Segment, []) or (None, every issue)."""
    try:
        data, lines = load_yaml(path)
    except ConfigError as err:
        return None, err.issues
    kinds = destination_kinds() if kinds is None else kinds
    return parse_segment(data, path.stem, str(path), lines, brands, lifecycle, kinds)


def read_segments(paths: Sequence[Path], brands: Brands,
                  lifecycle: LifecycleConfig | None) -> tuple[tuple[Segment, ...], list[ConfigIssue]]:
    """Every segment file's issues, destination names unique across files included; the segments by key."""
    kinds = destination_kinds()
    found: list[Segment] = []
    issues: list[ConfigIssue] = []
    owner: dict[str, str] = {}
    for path in paths:
        segment, own = read_segment(path, brands, lifecycle, kinds)
        issues += own
        if segment is None:
            continue
        clash = False
        for n, entry in enumerate(segment.destinations):
            if entry.name in owner:
                at = join_path(join_path("destinations", n), "name")
                _, lines = load_yaml(path, [])
                issues.append(ConfigIssue(str(path), at, f"destination {entry.name} is already segment "
                                          f"{owner[entry.name]}'s; a destination name is unique in the installation",
                                          line_for(lines, at)))
                clash = True
            owner.setdefault(entry.name, segment.key)
        if not clash:
            found.append(segment)
    return tuple(sorted(found, key=lambda s: s.key)), issues
