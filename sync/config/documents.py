"""Configuration documents: one per editable file, and loading a set of their texts.

A *document* is one config file, named as it sits in a config directory: ``lifecycle.yaml``,
``conversions.yaml``, ``privacy.yaml``, ``mappings/<name>.yaml``, ``segments/<key>.yaml``, and with
brands ``brands.yaml`` and the brands' own ``lifecycles/<name>.yaml`` and ``conversions/<name>.yaml``
(``sync.config.brands``).
Its *baseline* is the file the loader would use (``sync.config.loader``: LIFESYNC_CONFIG_DIR's,
origin ``file``, else the bundled one, origin ``bundled``; ``conversions.yaml`` may have none,
origin ``none``).
``sync.config.revisions`` stores edits in the database; the active configuration is every
baseline overlaid with the latest revision of its document.

``schedule.yaml`` is no document: the scheduler registers its entries once, when it starts,
so an edit could not take effect without a restart; it stays a file.

``load_texts`` judges a complete set of texts with the very loader the files go through
(written to a private directory that lives as long as the Config made from it: a long ingest
re-reads its mapping file on a spawned process), so an edit meets exactly the checks of
``lifesync config check``; its issues name the document, not the private directory.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import weakref
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from sync.config.brands import BRANDS_FILE, own_files
from sync.config.bundled import BUNDLED_CONFIG_DIR
from sync.config.conversions_schema import CONVERSIONS_FILE
from sync.config.loader import (
    LIFECYCLE_FILE,
    MAPPINGS_DIR,
    SEGMENTS_DIR,
    Config,
    load_all,
    misnamed_files,
    resolve_files,
)
from sync.config.privacy import PRIVACY_FILE
from sync.errors import ConfigIssue, RevisionError

_MAPPING_NAME = re.compile(r"^(mappings|lifecycles|conversions|segments)/[A-Za-z0-9_][A-Za-z0-9_.-]{0,100}\.yaml$")
NAMING = (f"{LIFECYCLE_FILE}, {CONVERSIONS_FILE}, {PRIVACY_FILE}, {BRANDS_FILE}, {MAPPINGS_DIR}/<name>.yaml, "
          f"{SEGMENTS_DIR}/<key>.yaml, or a brand's lifecycles/<name>.yaml or conversions/<name>.yaml "
          "(letters, digits, _ . -)")


@dataclass(frozen=True)
class Baseline:
    """Where a document's baseline text comes from: ``path`` (None: no file) and its origin."""

    name: str
    path: Path | None
    origin: str  # "file" (LIFESYNC_CONFIG_DIR), "bundled", or "none"

    def text(self) -> str:
        """The file's text ("" without a file; bytes that are not UTF-8 shown as U+FFFD)."""
        return self.path.read_text(encoding="utf-8", errors="replace") if self.path is not None else ""


def document_name(name: str) -> str:
    """``name`` when it names a document; RevisionError saying what a name looks like otherwise."""
    if name in (LIFECYCLE_FILE, CONVERSIONS_FILE, PRIVACY_FILE, BRANDS_FILE) or (
            _MAPPING_NAME.match(name) and ".." not in name):
        return name
    raise RevisionError(f"{name[:120]!r} is no configuration document; expected {NAMING}", document=name[:120])


def baselines(project_dir: Path | None, bundled_dir: Path = BUNDLED_CONFIG_DIR) -> dict[str, Baseline]:
    """Every document's baseline, by name; ConfigError when ``project_dir`` is not a directory."""
    files = resolve_files(project_dir, bundled_dir)
    project = Path(project_dir).resolve() if project_dir is not None else None

    def origin(path: Path) -> str:
        return "file" if project is not None and path.resolve().is_relative_to(project) else "bundled"

    found = {LIFECYCLE_FILE: Baseline(LIFECYCLE_FILE, files.lifecycle, origin(files.lifecycle))}
    for folder, paths in ((MAPPINGS_DIR, files.mappings), (SEGMENTS_DIR, files.segments)):
        for path in paths:
            name = f"{folder}/{path.name}"
            found[name] = Baseline(name, path, origin(path))
    conversions = files.conversions
    found[CONVERSIONS_FILE] = Baseline(CONVERSIONS_FILE, conversions,
                                       origin(conversions) if conversions is not None else "none")
    if files.privacy is not None:  # the project's, else the bundled one: an edit reaches every exit's next decision
        found[PRIVACY_FILE] = Baseline(PRIVACY_FILE, files.privacy, origin(files.privacy))
    if files.brands is not None:  # no file: one implicit brand (sync.config.brands)
        found[BRANDS_FILE] = Baseline(BRANDS_FILE, files.brands, origin(files.brands))
    for path in own_files(project):  # the brands' own lifecycle and conversions files
        name = f"{path.parent.name}/{path.name}"
        found[name] = Baseline(name, path, "file")
    return dict(sorted(found.items()))


def load_texts(texts: Mapping[str, str], where: Mapping[str, str], project_dir: Path | None,
               bundled_dir: Path = BUNDLED_CONFIG_DIR) -> tuple[Config | None, list[ConfigIssue]]:
    """Load a complete set of document texts as the files would load: (Config, []) or (None, every issue).

    ``where`` names each document in issues (its file, or its revision); ``.yml`` files in
    the real directories are issues here as they are for ``load_config``.
    """
    directory = Path(tempfile.mkdtemp(prefix="lifesync-config-"))
    try:
        for folder in (MAPPINGS_DIR, SEGMENTS_DIR, "lifecycles", "conversions"):
            (directory / folder).mkdir()
        for name, text in texts.items():
            # a lone surrogate is kept as bytes that are not UTF-8: the loader names the line
            (directory / document_name(name)).write_bytes(text.encode("utf-8", "surrogatepass"))
        config, issues = load_all(None, directory)
        issues = [_named(issue, directory, where) for issue in issues + misnamed_files(project_dir, bundled_dir)]
    except BaseException:
        shutil.rmtree(directory, ignore_errors=True)
        raise
    if issues or config is None:
        shutil.rmtree(directory, ignore_errors=True)
        return None, issues
    weakref.finalize(config, shutil.rmtree, str(directory), True)
    return config, []


def _named(issue: ConfigIssue, directory: Path, where: Mapping[str, str]) -> ConfigIssue:
    """``issue`` with the private directory's path replaced by the document's own name."""
    prefix = f"{directory}/"
    file = issue.file
    if file.startswith(prefix):
        name = file[len(prefix):]
        file = where.get(name, name)
    return replace(issue, file=file, message=issue.message.replace(prefix, ""))
