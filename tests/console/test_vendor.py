"""The vendored assets: each under its licence, the fonts' rules pointing at shipped files, all in the wheel."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VENDOR = ROOT / "sync/web/console/static/vendor"
OURS = {"README.md", "LICENSES.md", "LICENSE", "fonts.css"}


def licence_of(path: Path) -> Path | None:
    """The LICENSE in the nearest folder above ``path`` inside vendor/ (a package's own folder)."""
    for folder in path.parents:
        if folder == VENDOR:
            return None
        if (folder / "LICENSE").is_file():
            return folder / "LICENSE"
    return None


def test_every_vendored_file_sits_under_its_packages_licence():
    assets = [path for path in VENDOR.rglob("*") if path.is_file() and path.name not in OURS]
    assert len(assets) >= 12
    assert not [str(path.relative_to(VENDOR)) for path in assets if licence_of(path) is None]


def test_fonts_css_names_only_shipped_woff2_files():
    css = (VENDOR / "fonts/fonts.css").read_text()
    urls = re.findall(r"url\(([^)]+)\)", css)
    assert urls and all(url.endswith(".woff2") and (VENDOR / "fonts" / url).is_file() for url in urls), urls
    assert {"'Noto Sans'", "'Noto Sans Arabic'"} <= set(re.findall(r"font-family: ('[^']+')", css))


def test_package_data_ships_every_vendored_file():
    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["sync"]
    shipped = {path for pattern in patterns for path in (ROOT / "sync").glob(pattern) if path.is_file()}
    missing = [str(path) for path in VENDOR.rglob("*") if path.is_file() and path not in shipped]
    assert not missing
