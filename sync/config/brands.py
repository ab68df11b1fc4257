"""Brands (workspaces) in one installation: ``brands.yaml`` and the typed ``Brands`` it loads into.

A brand owns connections, a lifecycle (its own file or the shared ``lifecycle.yaml``),
conversion rules (its own file or the shared ``conversions.yaml``) and the conversion
destinations it sends to::

    brands:
      default:
        name: Glow Salons                     # the brand that owns everything no other brand lists
      lumen:
        name: Lumen Spa
        connections: [whatsapp:lumen, shop:lumen]   # <source>:<connection> (a webhook's or a CRM's)
        destinations: [meta-lumen, google-lumen]    # destination names of conversions.yaml
        lifecycle: lifecycles/lumen.yaml             # optional; default: the shared lifecycle.yaml
        conversions: conversions/lumen.yaml          # optional: its on_stage / sets_stage rules

No file means one implicit brand, ``default``, which owns every connection and destination:
a single-brand installation behaves as if brands did not exist. The brand of a record is the
brand owning the connection it arrived on (``Brands.brand_of``); a contact has a stage per
brand it dealt with (``contact_stages``), while its identities and fields stay one person's.
The default brand's stage is the one ``contacts.stage`` holds, so every report of an
installation without brands reads exactly what it read before.

``parse_brands`` reports every issue with file, key and line, as the other config files do.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any

from sync.config.conversions import ConversionRules
from sync.config.conversions_schema import load_conversions
from sync.config.lifecycle_schema import parse_lifecycle
from sync.config.types import DEFAULT_BRAND, LifecycleConfig
from sync.config.yamlload import join_path, line_for, load_yaml
from sync.errors import ConfigError, ConfigIssue

BRANDS_FILE = "brands.yaml"
__all__ = ["BRANDS_FILE", "DEFAULT_BRAND", "ONE_BRAND", "Brand", "Brands", "brands_and_issues", "brands_path",
           "own_files", "parse_brands"]
_KEY = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
_PART = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_OWN_FILE = re.compile(r"^(lifecycles|conversions)/[A-Za-z0-9_][A-Za-z0-9_.-]{0,100}\.yaml$")
_FOLDER = {"lifecycle": "lifecycles", "conversions": "conversions"}  # where a brand's own files live
_BRAND_KEYS = ("name", "connections", "destinations", "lifecycle", "conversions")


@dataclass(frozen=True)
class Brand:
    """One brand: its key, display name, what it owns and its own rules (None: the shared ones)."""

    key: str
    name: str
    connections: tuple[str, ...] = ()  # "<source>:<connection>"
    destinations: tuple[str, ...] = ()  # destination names of conversions.yaml
    lifecycle: LifecycleConfig | None = field(default=None, compare=False)
    conversions: ConversionRules | None = field(default=None, compare=False)
    lifecycle_file: str | None = None  # as written in brands.yaml
    conversions_file: str | None = None


@dataclass(frozen=True)
class Brands:
    """Every brand of the installation; the default brand is always there."""

    brands: tuple[Brand, ...] = (Brand(DEFAULT_BRAND, "Default"),)

    @cached_property
    def _by_key(self) -> dict[str, Brand]:
        return {b.key: b for b in self.brands}

    @cached_property
    def _owner(self) -> dict[str, str]:
        return {c: b.key for b in self.brands for c in b.connections}

    @cached_property
    def _destination_owner(self) -> dict[str, str]:
        return {d: b.key for b in self.brands for d in b.destinations}

    @property
    def keys(self) -> tuple[str, ...]:
        """The brand keys, the default brand first."""
        return tuple(b.key for b in self.brands)

    @property
    def several(self) -> bool:
        """True when more than the default brand is configured."""
        return len(self.brands) > 1

    def get(self, key: str) -> Brand | None:
        """The brand ``key``, None when there is none."""
        return self._by_key.get(key)

    def brand_of(self, source: str, connection: str | None = None) -> str:
        """The brand owning ``source``'s ``connection`` (the default brand owns every unlisted one)."""
        return self._owner.get(f"{source}:{connection or 'default'}", DEFAULT_BRAND)

    def namespace(self, source: str, brand: str, connection: str | None = None) -> str | None:
        """The namespace of record ids (``per_connection`` identity kinds) of ``source`` records of ``brand``.

        None for the default brand (its connections keep bare ids, as before brands) and for the
        ``default`` connection whoever owns it; else the connection the records came through; when
        that is not known (a file ingest, a dead letter's replay: they know the brand), the brand's
        one connection of ``source``, or the brand's key when it has none. A ValueError when the
        brand owns several of them.
        """
        if brand == DEFAULT_BRAND:
            return None
        if not connection:
            owned = [c.partition(":")[2] for c in self._owned(brand) if c.partition(":")[0] == source]
            if len(owned) > 1:
                raise ValueError(f"brand {brand!r} owns several {source} connections ({', '.join(sorted(owned))}): "
                                 f"which one a record without its connection came through is unknown")
            connection = owned[0] if owned else brand
        return None if connection == "default" else connection

    def _owned(self, brand: str) -> tuple[str, ...]:
        found = self._by_key.get(brand)
        return found.connections if found is not None else ()

    def owns_destination(self, brand: str, destination: str) -> bool:
        """True when ``destination`` belongs to ``brand`` (unlisted destinations belong to the default brand)."""
        return self._destination_owner.get(destination, DEFAULT_BRAND) == brand

    def destinations(self, brand: str, names: Iterable[str]) -> tuple[str, ...]:
        """Of ``names``, the destinations ``brand`` sends to (its conversions go nowhere else)."""
        return tuple(n for n in names if self.owns_destination(brand, n))

    def lifecycle(self, brand: str, shared: LifecycleConfig) -> LifecycleConfig:
        """``brand``'s lifecycle: its own, else the shared one."""
        found = self._by_key.get(brand)
        return found.lifecycle if found is not None and found.lifecycle is not None else shared

    def rules(self, brand: str, shared: ConversionRules) -> ConversionRules:
        """``brand``'s conversion rules (its own on_stage / sets_stage, else the shared ones)."""
        found = self._by_key.get(brand)
        return found.conversions if found is not None and found.conversions is not None else shared


ONE_BRAND = Brands()


def brands_path(project_dir: Path | None, bundled_dir: Path | None = None) -> Path | None:
    """The project's brands.yaml, else the bundled directory's (lifesync bundles none), else None."""
    for base in (project_dir, bundled_dir):
        if base is not None and (Path(base) / BRANDS_FILE).is_file():
            return Path(base) / BRANDS_FILE
    return None


def own_files(directory: Path | None) -> list[Path]:
    """The brands' own lifecycle and conversions files of a config directory (``lifecycles/``, ``conversions/``)."""
    if directory is None:
        return []
    return sorted(p for folder in _FOLDER.values() for p in (Path(directory) / folder).glob("*.yaml") if p.is_file())


def brands_and_issues(path: Path | None, destinations: Iterable[str], shared: ConversionRules | None = None,
                      ) -> tuple[Brands, list[ConfigIssue]]:
    """The brands of ``path`` (one implicit brand when None) and every issue in it and the files it names.

    ``destinations``: the destination names conversions.yaml declares; ``shared``: its rules
    (a brand's own conversions file takes its destinations from them).
    """
    if path is None:
        return ONE_BRAND, []
    try:
        data, lines = load_yaml(path)
    except ConfigError as err:
        return ONE_BRAND, err.issues
    return parse_brands(data, path, lines, tuple(destinations), shared)


def parse_brands(data: Any, path: Path, lines: Mapping[str, int], destinations: tuple[str, ...],
                 shared: ConversionRules | None = None) -> tuple[Brands, list[ConfigIssue]]:
    """Validate brands.yaml's data; (Brands, []) or (the implicit brand, every issue)."""
    file = str(path)
    issues: list[ConfigIssue] = []

    def issue(key: str, message: str) -> None:
        issues.append(ConfigIssue(file, key, message, line_for(lines, key)))

    if not isinstance(data, dict) or not isinstance(data.get("brands"), dict) or not data["brands"]:
        issue("brands" if isinstance(data, dict) else "", "expected a brands: mapping of brand keys, e.g. "
              "brands: {default: {name: Glow}, lumen: {name: Lumen Spa, connections: [whatsapp:lumen]}}")
        return ONE_BRAND, issues
    for key in data:
        if key != "brands":
            issue(str(key), f"unknown key '{key}'; brands.yaml holds one key, brands")
    found: list[Brand] = []
    owner: dict[str, str] = {}
    dest_owner: dict[str, str] = {}
    for key, body in data["brands"].items():
        at = join_path("brands", str(key))
        if not isinstance(key, str) or not _KEY.match(key):
            issue(at, f"'{key}' is not a brand key; use lowercase letters, digits, _ and - (at most 32), "
                      "starting with a letter, e.g. lumen")
            continue
        body = {} if body is None else body
        if not isinstance(body, dict):
            issue(at, "expected a mapping with name, connections, destinations, lifecycle, conversions")
            continue
        for unknown in sorted(set(map(str, body)) - set(_BRAND_KEYS)):
            issue(join_path(at, unknown), f"unknown key '{unknown}'; expected one of: {', '.join(_BRAND_KEYS)}")
        name = body.get("name", key)
        if not isinstance(name, str) or not name.strip() or len(name) > 100:
            issue(join_path(at, "name"), "expected the brand's display name (text, at most 100 characters)")
            name = key
        connections = _names(body, at, "connections", issue)
        for n, conn in enumerate(connections):
            where = join_path(join_path(at, "connections"), n)
            source, sep, connection = conn.partition(":")
            if not sep or not _PART.match(source) or not _PART.match(connection):
                issue(where, f"'{conn}' is not a connection; expected <source>:<connection>, e.g. whatsapp:lumen "
                             "(the webhook's source or CRM system, then the connection name)")
            elif conn in owner:
                issue(where, f"connection {conn} already belongs to brand {owner[conn]}; a connection has one brand")
            else:
                owner[conn] = key
        if key == DEFAULT_BRAND and connections:
            issue(join_path(at, "connections"), "the default brand owns every connection no other brand lists; "
                                                "list connections under the other brands")
        dests = _names(body, at, "destinations", issue)
        for n, dest in enumerate(dests):
            where = join_path(join_path(at, "destinations"), n)
            if dest not in destinations:
                issue(where, f"unknown destination '{dest}'; conversions.yaml declares: "
                             f"{', '.join(destinations) or 'none'}")
            elif dest in dest_owner:
                issue(where, f"destination {dest} already belongs to brand {dest_owner[dest]}; "
                             "a destination has one brand")
            else:
                dest_owner[dest] = key
        brand = Brand(key, name.strip(), tuple(connections), tuple(dests))
        brand = _own_files(brand, body, path, at, issues, issue, shared)
        found.append(brand)
    if issues:
        return ONE_BRAND, issues
    if not any(b.key == DEFAULT_BRAND for b in found):
        found.insert(0, Brand(DEFAULT_BRAND, "Default"))
    found.sort(key=lambda b: (b.key != DEFAULT_BRAND, b.key))
    return Brands(tuple(found)), []


def _names(body: Mapping[str, Any], at: str, key: str, issue: Any) -> list[str]:
    value = body.get(key, [])
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        issue(join_path(at, key), f"expected a list of names, e.g. {key}: [a, b]")
        return []
    return list(value)


def _own_files(brand: Brand, body: Mapping[str, Any], path: Path, at: str, issues: list[ConfigIssue],
               issue: Any, shared: ConversionRules | None) -> Brand:
    """``brand`` with its own lifecycle and conversion rules loaded (their issues added to ``issues``)."""
    lifecycle = None
    for key in ("lifecycle", "conversions"):
        name = body.get(key)
        if name is None:
            continue
        where, folder = join_path(at, key), _FOLDER[key]
        if not isinstance(name, str) or not _OWN_FILE.match(name) or not name.startswith(f"{folder}/") or ".." in name:
            issue(where, f"expected a file of the config directory's {folder}/ folder, e.g. {folder}/{brand.key}.yaml")
            continue
        own = path.parent / name
        if not own.is_file():
            issue(where, f"{name} does not exist next to brands.yaml")
            continue
        try:
            if key == "lifecycle":
                data, lines = load_yaml(own)
                lifecycle = parse_lifecycle(data, str(own), lines)
                brand = replace(brand, lifecycle=lifecycle, lifecycle_file=name)
            else:
                rules = load_conversions(own, lifecycle)
                if rules.destinations:
                    issue(where, f"{name} declares destinations; destinations are declared in conversions.yaml "
                                 "and given to brands here, under destinations:")
                    continue
                rules = replace(rules, destinations=shared.destinations if shared is not None else ())
                brand = replace(brand, conversions=rules, conversions_file=name)
        except ConfigError as err:
            issues.extend(err.issues)
    return brand
