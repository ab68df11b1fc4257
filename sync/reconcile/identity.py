"""Identity hygiene and merge safety: which identifiers may find or join contacts.

Junk values (``null``, ``-1``, ``n/a``, all-zero phones, ...) are never identities: peers
that treat them as such merge thousands of strangers into one contact. Two contacts that
hold different ids of the same external system are never merged automatically.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from sync.config.types import LifecycleConfig
from sync.reconcile.patch import IdentityRef

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


def exclusive_clash(a: Iterable[IdentityRef], b: Iterable[IdentityRef], config: LifecycleConfig) -> str | None:
    """The exclusive kind on which two identity sets hold different values, or None.

    For a ``scoped`` kind the values must differ within one scope (``<scope>:<id>``).
    """
    by_slot: dict[tuple[str, str], set[str]] = {}
    for ref in (*a, *b):
        kind = config.identity_kind(ref.kind)
        if kind.exclusive:
            scope = ref.value.rpartition(":")[0] if kind.scoped else ""
            by_slot.setdefault((ref.kind, scope), set()).add(ref.value)
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
