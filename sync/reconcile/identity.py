"""Identity hygiene and merge safety: which identifiers may find or join contacts.

Junk values (``null``, ``-1``, ``n/a``, all-zero phones, ...) are never identities: peers
that treat them as such merge thousands of strangers into one contact. Two contacts that
hold different ids of the same external system are never merged automatically.

Record ids of different accounts of one system (two brands' HubSpot portals) are different
namespaces: a record that came through a connection a brand other than the default owns holds
its ``per_connection`` kinds' ids as ``<connection>:<id>`` (``namespaced``), and exclusivity
holds per namespace, so a person in both portals holds one id of each. The default brand's
connections keep bare ids, as before brands.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from sync.config.types import LifecycleConfig
from sync.reconcile.patch import IdentityRef, Patch

_ONLY_PUNCT = re.compile(r"^[\W_]*$")
_NOT_DIGIT = re.compile(r"\D")


def is_junk(ref: IdentityRef, config: LifecycleConfig) -> bool:
    """True when a value cannot identify anyone (configured junk words, zeros, punctuation)."""
    value = ref.value.strip()
    lowered = value.lower()
    if not value or _ONLY_PUNCT.match(value):
        return True
    if lowered in config.junk_values:
        return True
    if ref.kind == "phone":
        digits = _NOT_DIGIT.sub("", value)
        return len(digits) < 6 or set(digits) <= {"0"}
    return ref.kind == "email" and "@" not in value


def normalise(ref: IdentityRef) -> IdentityRef:
    """The form identities are stored in: lowercase kind, trimmed value, lowercase email."""
    kind = ref.kind.strip().lower()
    value = ref.value.strip() if isinstance(ref.value, str) else str(ref.value)
    return IdentityRef(kind, value.lower() if kind == "email" else value)


def clean(refs: Iterable[IdentityRef], config: LifecycleConfig) -> list[IdentityRef]:
    """Normalise (:func:`normalise`), drop junk, dedupe."""
    out: list[IdentityRef] = []
    seen: set[IdentityRef] = set()
    for ref in refs:
        norm = normalise(ref)
        if norm in seen or is_junk(norm, config):
            continue
        seen.add(norm)
        out.append(norm)
    return sorted(out, key=lambda r: (config.identity_kind(r.kind).priority, r.kind, r.value))


def namespaced(refs: Iterable[IdentityRef], namespace: str | None, config: LifecycleConfig) -> list[IdentityRef]:
    """``refs`` with the values of ``per_connection`` kinds as ``<namespace>:<id>`` (unchanged when None).

    ``namespace``: the connection a record came through when a brand other than the default owns
    it (``sync.config.brands.Brands.namespace``). Applied after ``clean`` (junk is judged on the id).
    """
    refs = list(refs)
    if not namespace:
        return refs
    return [IdentityRef(r.kind, namespaced_id(r.value, namespace)) if config.identity_kind(r.kind).per_connection
            else r for r in refs]


def namespaced_id(value: str, namespace: str | None) -> str:
    """A connection's own id as stored: ``<namespace>:<id>``, or bare for the default connection (None)."""
    return f"{namespace}:{value}" if namespace else value


def patch_refs(patch: Patch, config: LifecycleConfig) -> list[IdentityRef]:
    """A patch's identities as stored: ``clean``, then ``namespaced`` by the connection it came through."""
    return namespaced(clean(patch.identities, config), patch.connection, config)


def namespace_of(value: str) -> str:
    """The connection namespace of a ``per_connection`` id: ``lumen`` of ``lumen:123``, "" of a bare id."""
    return value.partition(":")[0] if ":" in value else ""


def in_namespace(value: str, namespace: str | None) -> str | None:
    """The system's own id of ``value`` when it is an id of ``namespace`` (None: the default connection), else None."""
    if not namespace:
        return None if ":" in value else value
    head, _, rest = value.partition(":")
    return rest if head == namespace and rest else None


def _scope(ref: IdentityRef, config: LifecycleConfig) -> str:
    kind = config.identity_kind(ref.kind)
    if kind.scoped:
        return ref.value.rpartition(":")[0]
    return namespace_of(ref.value) if kind.per_connection else ""


def exclusive_clash(a: Iterable[IdentityRef], b: Iterable[IdentityRef], config: LifecycleConfig) -> str | None:
    """The exclusive kind on which two identity sets hold different values, or None.

    For a ``scoped`` kind the values must differ within one scope (``<scope>:<id>``), for a
    ``per_connection`` kind within one connection's namespace (``namespaced``).
    """
    by_slot: dict[tuple[str, str], set[str]] = {}
    for ref in (*a, *b):
        if config.identity_kind(ref.kind).exclusive:
            by_slot.setdefault((ref.kind, _scope(ref, config)), set()).add(ref.value)
    for kind_name, _ in sorted(by_slot):
        if len(by_slot[(kind_name, _)]) > 1:
            return kind_name
    return None


def merge_blocker(
    kept: Iterable[IdentityRef], other: Iterable[IdentityRef], via: str, config: LifecycleConfig
) -> str | None:
    """Why two contacts linked through an identity of kind ``via`` must not merge, or None."""
    kept, other = list(kept), list(other)
    kind = exclusive_clash(kept, other, config)
    if kind:
        return f"both hold a different {kind} id"
    for guard in config.identity_kind(via).no_merge_if_different:
        mine = {r.value for r in kept if r.kind == guard}
        theirs = {r.value for r in other if r.kind == guard}
        if mine and theirs and not mine & theirs:
            return f"matched on {via} but their {guard} values differ"
    return None


def own_clash(refs: Iterable[IdentityRef], config: LifecycleConfig) -> str | None:
    """An exclusive kind a single record names twice with different values, or None."""
    return exclusive_clash(list(refs), [], config)


def group_by_kind(refs: Iterable[IdentityRef]) -> Mapping[str, list[str]]:
    """Identity values grouped by kind, sorted (for stable output)."""
    out: dict[str, list[str]] = {}
    for ref in sorted(refs):
        out.setdefault(ref.kind, []).append(ref.value)
    return out
