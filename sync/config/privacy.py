"""``privacy.yaml``: the consent purposes, the regions, and the policy every exit applies to a contact.

    purposes:                       # consent purposes (contacts.consent keys) and their labels
      ad_user_data: Ad user data
      marketing_messages: Marketing messages
    regions:                        # named groups of ISO countries (GB) and subdivisions (US-CA)
      eea: [AT, BE, DE, FR, IS, LI, NO]
      us_ldu: [US-CA, US-CO]
    policies:                       # first match wins
      - name: ad-data-denied        # optional: named in the delivery log's reason
        destinations: [meta, google, meta_audience]   # networks, audience kinds or destination names; all
        regions: [eea]              # optional: the contact's country / state is in one of them
        consent: {ad_user_data: denied}               # optional: granted | denied | unknown, or a list
        policy: drop                # send | restricted | strip | drop
    default: send                   # when no rule matches

A rule's ``consent`` may name ``purpose``: the purpose the exit itself needs (an audience
destination's ``purpose``: ``marketing_messages`` for a respond.io tag; ``ad_user_data`` for an
ad network). ``sync.privacy.policy.decide`` applies the rules; whatever they say, a contact that
denied the purpose its exit needs is never sent (``send`` and ``restricted`` become ``drop``).

A project directory's ``privacy.yaml`` replaces the bundled one as a whole. Validation reports
every problem with file, key path and line, like conversions.yaml; the destinations rules name
are checked against the networks, the audience kinds and the destinations conversions.yaml and
the segment files configure (``destination_issues``, run by ``sync.config.loader``).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from marshmallow import ValidationError, fields, post_load, validates_schema

from sync.config.bundled import BUNDLED_CONFIG_DIR, effective_file
from sync.config.schema_fields import MappingOf, Strict, add_error, entries, list_field, names, one_of, text_field
from sync.config.yamlload import line_for, load_yaml, validated
from sync.errors import ConfigError, ConfigIssue

PRIVACY_FILE = "privacy.yaml"
POLICIES = ("send", "restricted", "strip", "drop")
STATES = ("granted", "denied", "unknown")
ALL = "all"
NEEDED = "purpose"  # a rule's consent key for "the purpose the exit needs"
DEFAULT_PURPOSES = {"ad_user_data": "Ad user data", "ad_personalization": "Ad personalisation",
                    "marketing_email": "Marketing e-mail", "marketing_messages": "Marketing messages"}
_PURPOSE = re.compile(r"^[a-z][a-z0-9_]*$")
_PLACE = re.compile(r"^[A-Z]{2}(-[A-Z0-9]{1,3})?$")


@dataclass(frozen=True)
class PolicyRule:
    """One rule of ``policies:``: when it applies (every condition given holds) and the policy it sets."""

    policy: str
    name: str = ""
    destinations: tuple[str, ...] = ()  # empty or containing ``all``: every exit
    regions: tuple[str, ...] = ()  # names of ``regions:``; empty: anywhere (a contact of no known place too)
    consent: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # purpose (or ``purpose``) → states
    line: int | None = None  # where it is written (issues, reasons)

    def label(self, index: int) -> str:
        """How reasons name it: its name, else its position."""
        return f"rule {self.name!r}" if self.name else f"rule {index + 1}"


@dataclass(frozen=True)
class PrivacyConfig:
    """Everything privacy.yaml configures; the default (no file) sends everything (tests, tools)."""

    purposes: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_PURPOSES))  # purpose → label
    regions: Mapping[str, frozenset[str]] = field(default_factory=dict)  # name → GB, US-CA, ...
    policies: tuple[PolicyRule, ...] = ()
    default: str = "send"
    file: str = ""


def _place_check(value: str) -> None:
    from sync.attribution.geo_codes import region_codes

    if not _PLACE.match(value):
        raise ValidationError(f"'{value}' is not a country or subdivision code; expected an ISO 3166 code in capitals "
                              "such as DE, or a country's subdivision such as US-CA")
    if value[:2].lower() not in region_codes():
        raise ValidationError(f"'{value[:2]}' is not an ISO 3166-1 country code")


def _purpose_check(value: str) -> None:
    if not _PURPOSE.match(value) or len(value) > 32:
        raise ValidationError(f"'{value}' is not a purpose name; use lowercase letters, digits and _ "
                              "(at most 32), starting with a letter, e.g. ad_user_data")


class States(fields.Field):
    """A consent condition's value: one state or a list of them."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> tuple[str, ...]:
        found = [value] if isinstance(value, str) else value
        if not isinstance(found, list) or not found or not all(isinstance(v, str) for v in found):
            raise ValidationError(f"expected one of {', '.join(STATES)}, or a list of them")
        bad = [v for v in found if v not in STATES]
        if bad:
            raise ValidationError(f"unknown consent state '{bad[0]}'; expected one of: {', '.join(STATES)}")
        return tuple(dict.fromkeys(found))


class _RuleSchema(Strict):
    name = text_field(load_default="")
    destinations = names(load_default=())
    regions = names(load_default=())
    consent = MappingOf(States(), load_default=dict)
    policy = text_field(required=True, validate=one_of(POLICIES, "policy"))


class PrivacySchema(Strict):
    """The whole privacy.yaml file; loads into ``PrivacyConfig``."""

    purposes = MappingOf(text_field(), load_default=None)
    regions = MappingOf(list_field(text_field(validate=_place_check)), load_default=dict)
    policies = entries(_RuleSchema, "{destinations: [meta], consent: {ad_user_data: denied}, policy: drop}",
                       load_default=())
    default = text_field(load_default="send", validate=one_of(POLICIES, "policy"))

    @validates_schema(skip_on_field_errors=False, pass_original=True)
    def _references(self, data: dict[str, Any], original: Any, **kwargs: Any) -> None:
        errors: dict[Any, Any] = {}
        raw = original if isinstance(original, Mapping) else {}
        purposes = raw.get("purposes") if isinstance(raw.get("purposes"), Mapping) else DEFAULT_PURPOSES
        for name in purposes:
            if isinstance(name, str):
                try:
                    _purpose_check(name)
                except ValidationError as err:
                    add_error(errors, ("purposes", name), str(err.messages[0]))
        regions = raw.get("regions") if isinstance(raw.get("regions"), Mapping) else {}
        rules = raw.get("policies") if isinstance(raw.get("policies"), list) else []
        for index, rule in enumerate(rules):
            if not isinstance(rule, Mapping):
                continue
            for region in rule["regions"] if isinstance(rule.get("regions"), list) else ():
                if isinstance(region, str) and region not in regions:
                    add_error(errors, ("policies", index, "regions"),
                              f"unknown region '{region}'{_close(region, regions)}; configured regions: "
                              f"{', '.join(map(str, regions)) or '(none)'}")
            consent = rule.get("consent") if isinstance(rule.get("consent"), Mapping) else {}
            for purpose in consent:
                if purpose != NEEDED and purpose not in purposes:
                    add_error(errors, ("policies", index, "consent", purpose),
                              f"unknown purpose '{purpose}'{_close(str(purpose), purposes)}; expected one of: "
                              f"{', '.join(map(str, purposes))}, or {NEEDED} (the purpose the destination needs)")
        if errors:
            raise ValidationError(errors)

    @post_load
    def _build(self, data: dict[str, Any], **kwargs: Any) -> PrivacyConfig:
        return PrivacyConfig(
            purposes=dict(data["purposes"] if data["purposes"] is not None else DEFAULT_PURPOSES),
            regions={name: frozenset(places) for name, places in data["regions"].items()},
            policies=tuple(PolicyRule(policy=r["policy"], name=r["name"], destinations=tuple(r["destinations"]),
                                      regions=tuple(r["regions"]), consent=dict(r["consent"]))
                           for r in data["policies"]),
            default=data["default"])


def _close(name: str, known: Iterable[Any]) -> str:
    close = difflib.get_close_matches(name, [str(k) for k in known], n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def parse_privacy(data: Any, file: str, lines: Mapping[str, int]) -> PrivacyConfig:
    """Validate privacy.yaml data (from ``load_yaml``); raise ConfigError listing every issue."""
    loaded: PrivacyConfig = validated(PrivacySchema(), data, file, lines, "policies")
    rules = tuple(PolicyRule(**{**r.__dict__, "line": line_for(lines, f"policies[{i}]")})
                  for i, r in enumerate(loaded.policies))
    return PrivacyConfig(purposes=loaded.purposes, regions=loaded.regions, policies=rules, default=loaded.default,
                         file=file)


def privacy_path(project_dir: Path | None, bundled_dir: Path) -> Path:
    """The project's privacy.yaml when it has one, else the bundled one (lifesync's own when the bundle has none)."""
    found = effective_file(PRIVACY_FILE, project_dir, bundled_dir)
    return found if found.is_file() else BUNDLED_CONFIG_DIR / PRIVACY_FILE


def privacy_and_issues(path: Path) -> tuple[PrivacyConfig, list[ConfigIssue]]:
    """privacy.yaml loaded (the send-everything default when it is missing or broken) and its every issue."""
    if not path.is_file():
        return PrivacyConfig(), [ConfigIssue(str(path), "", "privacy.yaml is missing; lifesync ships one in config/")]
    try:
        data, lines = load_yaml(path)
        return parse_privacy(data, str(path), lines), []
    except ConfigError as err:
        return PrivacyConfig(), err.issues


def destination_issues(privacy: PrivacyConfig, known: Iterable[str]) -> list[ConfigIssue]:
    """Destinations the rules name that are no network, audience kind or configured destination."""
    names_known = sorted(set(known))
    issues = []
    for index, rule in enumerate(privacy.policies):
        for name in rule.destinations:
            if name != ALL and name not in names_known:
                issues.append(ConfigIssue(
                    privacy.file, f"policies[{index}].destinations",
                    f"unknown destination '{name}'{_close(name, names_known)}; expected {ALL}, a network, an audience "
                    f"destination kind or a destination's name: {', '.join(names_known)}", rule.line))
    return issues


def purpose_issues(privacy: PrivacyConfig, mappings: Iterable[Any]) -> list[ConfigIssue]:
    """Consent purposes a mapping file's ``consent:`` writes that privacy.yaml's ``purposes`` does not declare.

    A purpose no policy or segment can know is a typo (``marketing_mesages``) or a missing
    declaration; either way its consent would be recorded and never honoured.
    """
    declared = sorted(privacy.purposes)
    return [ConfigIssue(str(m.file), f"consent.{purpose}",
                        f"consent purpose '{purpose}' is not declared in privacy.yaml{_close(purpose, declared)}; "
                        f"expected one of: {', '.join(declared)} (or add it under purposes:)")
            for m in mappings for purpose, _ in getattr(m, "consent", ()) if purpose not in privacy.purposes]


@cache
def bundled_privacy() -> PrivacyConfig:
    """The bundled privacy.yaml: what an exit applies when it was given no configuration of its own."""
    data, lines = load_yaml(BUNDLED_CONFIG_DIR / PRIVACY_FILE)
    return parse_privacy(data, str(BUNDLED_CONFIG_DIR / PRIVACY_FILE), lines)
