"""The one decision of what an exit may do with a contact: ``decide``.

An *exit* is where personal data leaves lifesync: a conversion destination (its ``kind`` is its
network: ``meta``, ``google``, ``tiktok``) or an audience destination (its ``kind``:
``meta_audience``, ``respondio_tag``, …), each with the ``name`` it is configured under. The
rules of privacy.yaml (``sync.config.privacy``) are read in order and the first that matches
decides: its destinations name the exit's kind or name (or ``all``), the contact is in one of
its regions, and the contact's consent for each purpose it names is in the states it lists
(``granted``: true, ``denied``: false, ``unknown``: not recorded). No rule matching: the file's
``default``.

One floor no rule can lower: when the exit needs a purpose (``purpose``) and the contact denied
it, ``send`` and ``restricted`` become ``drop`` — a withdrawal is never overridden by configuration.

Pure: plain values in, a ``Decision`` out; nothing here reads the database or logs. A reason
names the rule and the purpose, never a personal value.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from sync.attribution.geo_codes import country_code, state_code
from sync.config.privacy import ALL, NEEDED, PolicyRule, PrivacyConfig


class Facts(Protocol):
    """What ``decide`` reads of a contact (``ContactFacts``, ``AudienceMember``)."""

    country: str | None
    state: str | None
    consent: Mapping[str, Any]


@dataclass(frozen=True)
class Exit:
    """Where the data goes: ``kind`` (a network or an audience destination kind) and the configured ``name``."""

    name: str
    kind: str


@dataclass(frozen=True)
class Decision:
    """The policy one exit applies to one contact, and why (no personal data)."""

    policy: str  # send | restricted | strip | drop
    reason: str


def places(country: str | None, state: str | None) -> frozenset[str]:
    """Where a contact is, as privacy.yaml's regions write it: ``{"US", "US-CA"}``; empty when unknown.

    The country is read like the ad networks' hashing reads it (a code, a name, an alias), the
    state likewise (``California`` and ``CA`` are ``US-CA``).
    """
    code = country_code(country) if country else None
    if not code:
        return frozenset()
    found = {code.upper()}
    sub = state_code(state) if state else None
    if sub:
        found.add(f"{code.upper()}-{sub.upper()}")
    return frozenset(found)


def consent_state(consent: Mapping[str, Any], purpose: str) -> str:
    """``granted`` (True), ``denied`` (False) or ``unknown`` (anything else, or not recorded)."""
    value = consent.get(purpose)
    return "granted" if value is True else "denied" if value is False else "unknown"


def _matches(rule: PolicyRule, config: PrivacyConfig, target: Exit, where: frozenset[str],
             consent: Mapping[str, Any], purpose: str | None) -> bool:
    if rule.destinations and ALL not in rule.destinations and not {target.kind, target.name} & set(rule.destinations):
        return False
    if rule.regions and not any(where & config.regions.get(region, frozenset()) for region in rule.regions):
        return False
    for named, states in rule.consent.items():
        wanted = purpose if named == NEEDED else named
        if wanted is None or consent_state(consent, wanted) not in states:
            return False
    return True


def _why(rule: PolicyRule, index: int, consent: Mapping[str, Any], purpose: str | None) -> str:
    parts = [f"{rule.label(index)}"]
    if rule.regions:
        parts.append(f"region {'/'.join(rule.regions)}")
    for named in rule.consent:
        wanted = purpose if named == NEEDED else named
        if wanted is not None:
            parts.append(f"{wanted} {consent_state(consent, wanted)}")
    return ", ".join(parts)


def decide(config: PrivacyConfig, target: Exit, facts: Facts, purpose: str | None = None) -> Decision:
    """The policy ``target`` applies to the contact of ``facts`` (see the module docstring)."""
    consent = facts.consent or {}
    where = places(facts.country, getattr(facts, "state", None))
    decision = Decision(config.default, "no rule matched: the default")
    for index, rule in enumerate(config.policies):
        if _matches(rule, config, target, where, consent, purpose):
            decision = Decision(rule.policy, _why(rule, index, consent, purpose))
            break
    if purpose is not None and decision.policy in ("send", "restricted") and consent.get(purpose) is False:
        return Decision("drop", f"consent for {purpose} denied")
    return decision
