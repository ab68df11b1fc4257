"""Where the bundled configuration lives: the ``config/`` directory beside the ``sync`` package.

Its own module so that every loader (lifecycle and mappings, schedule) can name it without
importing another loader.
"""

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from sync.errors import ConfigError, ConfigIssue

Parsed = TypeVar("Parsed")

BUNDLED_CONFIG_DIR = Path(__file__).resolve().parents[2] / "config"


def effective_file(name: str, project_dir: Path | None, bundled_dir: Path) -> Path:
    """The project directory's ``name`` when it has one (it replaces the bundled file whole), else the bundled one."""
    if project_dir is not None and (Path(project_dir) / name).is_file():
        return Path(project_dir) / name
    return bundled_dir / name


def load_effective(name: str, project_dir: Path | None, bundled_dir: Path,
                   parse: Callable[[Any, str, Mapping[str, int]], Parsed], absent: Parsed) -> Parsed:
    """The effective file ``name`` read and ``parse``d (data, file, lines); ``absent`` when there is none."""
    from sync.config.yamlload import load_yaml

    path = effective_file(name, project_dir, bundled_dir)
    if not path.is_file():
        return absent
    data, lines = load_yaml(path)
    return parse(data, str(path), lines)


def issues_of(load: Callable[[], Any]) -> list[ConfigIssue]:
    """Every problem ``load`` raises as a ConfigError ([] when it loads)."""
    try:
        load()
    except ConfigError as err:
        return err.issues
    return []
