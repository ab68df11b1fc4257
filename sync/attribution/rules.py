"""The pure engine that applies the conversion rules (``sync.config.conversions``, from ``conversions.yaml``).

Two directions connect stages and conversions:

- **on_stage**: a contact *entering* a stage yields a conversion (``Hot Lead`` →
  ``qualified_lead``). ``stage_conversions`` turns a contact's stage history into conversion
  rows of the shape ``Workspace.conversions`` holds.
- **sets_stage**: a conversion a record carries moves the contact to a stage (``purchase`` →
  ``Customer``). ``sets_stage_signal`` makes the ``StageSignal`` for it: from the
  conversion's source, dated at the conversion's time, so it replays order-independently
  like every other signal.

**Event ids of stage conversions.** The same business fact must always get the same
``event_id`` (ad networks de-duplicate on it), across retries, replays, re-syncs and merges.
Contact database ids change on a merge, so the id does not use them. It is a digest of the
kind, the stage entered and the *signal* that moved the contact there: its time, source, kind
and reason. A record's signal reason names the record (``hubspot contacts 123``; the default
stage's reason names the record that created the contact), so two contacts entering the same
stage at the same moment from the same tool still get different ids, while a replayed or
merged history that keeps a transition keeps its id.

**Which transitions are new.** A history replayed after a late record or a merge can move an
entry into a stage to another time (the stage was really entered earlier); that is not a new
fact. So a contact converts only as many entries into a stage as it gained: ``before`` lists
the event ids of the entries it (and the contacts merged into it) already had. When the
history has more entries than that, the newest entries whose ids are not among them convert;
entering a stage again later (reactivated after going cold) is such a new entry.

**Entries that moved or vanished: conversions that converge.** The same records can arrive in
any order, and the history converges (an entry into a stage is dated by the earliest signal that
made it), so the conversions must converge with it. Per stage, the entries the contact already
had (``before``) that the history no longer has (*vanished*) are paired, oldest with oldest,
with the history's entries not known yet: such an entry *moved* (a late record dated it earlier,
or gave it another cause), and ``stage_changes`` reports its row with ``replaces``: the event id
it had. Unknown entries left over are new conversions (a re-entry, as above); vanished ids left
over are *withdrawn* (an earlier report made the contact skip the stage: had the records come
the other way round, it would never have entered it). A moved entry whose new cause does not
count (a ``sources`` rule, a record carrying the kind itself) withdraws the old id too. The
writer (``sync.ingest.moved_conversions``) re-keys, retracts or — when the conversion was already
delivered — keeps it with a note.

Why the new event id is the converged entry's digest and not "kind + stage + n-th entry": such
an id needs a contact-stable anchor and there is none — the contact's database id changes on a
merge, and which identities it had when its first record arrived depends on the order. The
entry's own cause (time, source, record, signal) is what every order agrees on once all records
are in, so the re-keyed id is the one the other order made directly.

**No double counting.** A record that itself carries a conversion of kind K (a won deal, a
paid order) and moves the contact into a stage whose rule says K does not produce a second,
stage-derived K (``record_kinds``). An ``on_stage`` rule may be limited to some ``sources``.

Pure functions and frozen data; no I/O.
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sync.config.conversions import ConversionRules, StageRule
from sync.config.types import DEFAULT_BRAND
from sync.reconcile.lifecycle import StageSignal, Transition, conversion_reason

STAGE_OBJECT_PREFIX = "stage:"  # conversion_events.object of a stage-derived conversion: "stage:<stage>"


def event_digest(*parts: Any) -> str:
    """A 40-hex-digit event id from ``parts`` (same scheme as the record conversions' ids)."""
    text = "\x1f".join("" if p is None else str(p) for p in parts)
    return hashlib.sha256(text.encode()).hexdigest()[:40]


def entries(transitions: Iterable[Transition]) -> Counter[str]:
    """How many times each stage was entered in a history."""
    return Counter(t.to_stage for t in transitions)


def cause(transition: Transition, signals: Iterable[StageSignal],
          used: set[StageSignal] | None = None) -> tuple[str, str]:
    """(signal kind, signal reason) of the signal that made ``transition``.

    A stage report is found by (time, source, stage), an inbound message (a rule moved the
    contact) by (time, source); a report is preferred, as replay steps it first. A signal
    makes at most one transition: pass the same ``used`` set for the transitions of one
    history, oldest first (a record reporting New Lead and carrying the message that later
    reactivates the contact causes two entries). Without a signal the transition's own
    reason stands in.
    """
    used = set() if used is None else used
    report = inbound = None
    for s in signals:
        if s.at != transition.at or s.source != transition.source or s in used:
            continue
        if s.kind == "stage" and s.stage == transition.to_stage:
            report = s
        elif s.kind == "inbound_message":
            inbound = s
    found = report or inbound
    if found is None:
        return "transition", transition.reason
    used.add(found)
    return found.kind, found.reason


def stage_event_id(kind: str, stage: str, at: datetime, source: str, signal_kind: str, reason: str,
                   brand: str = DEFAULT_BRAND) -> str:
    """The event id of a stage conversion: the business fact, not the contact's database id.

    Another brand's entry is another fact (its own funnel): its brand is part of the id. The
    default brand's ids are those of an installation without brands.
    """
    extra = () if brand == DEFAULT_BRAND else (brand,)
    return event_digest("stage-conversion", kind, stage, at.isoformat(), source, signal_kind, reason, *extra)


@dataclass(frozen=True)
class _Entry:
    transition: Transition
    rule: StageRule
    signal_kind: str
    reason: str
    event_id: str


def _entries(transitions: Iterable[Transition], rules: ConversionRules,
             signals: Iterable[StageSignal], brand: str = DEFAULT_BRAND) -> dict[str, list[_Entry]]:
    """Per stage with an on_stage rule, its entries in history order with their event ids."""
    signals = tuple(signals)
    used: set[StageSignal] = set()
    found: dict[str, list[_Entry]] = {}
    for t in transitions:
        signal_kind, reason = cause(t, signals, used)  # every transition uses up its signal
        rule = rules.rule_for_stage(t.to_stage)
        if rule is None:
            continue
        event_id = stage_event_id(rule.kind, t.to_stage, t.at, t.source, signal_kind, reason, brand)
        found.setdefault(t.to_stage, []).append(_Entry(t, rule, signal_kind, reason, event_id))
    return found


def entry_ids(transitions: Iterable[Transition], rules: ConversionRules,
              signals: Iterable[StageSignal] = (), brand: str = DEFAULT_BRAND) -> dict[str, list[str]]:
    """Per stage with an on_stage rule, the event ids of its entries in a history (for ``before``)."""
    return {stage: [e.event_id for e in found]
            for stage, found in _entries(transitions, rules, signals, brand).items()}


@dataclass(frozen=True)
class StageChanges:
    """What a contact's history changes in its stage conversions.

    ``rows``: conversions of new entries. ``moved``: rows of entries the contact already had
    that now have another cause, each with ``replaces``: the event id the entry had before.
    ``withdrawn``: ``{"contact", "replaces"}`` naming the event ids of entries the history no
    longer has.
    """

    rows: list[dict[str, Any]]
    moved: list[dict[str, Any]]
    withdrawn: list[dict[str, Any]]


def stage_conversions(transitions: Iterable[Transition], rules: ConversionRules, contact_key: Any,
                      **kwargs: Any) -> list[dict[str, Any]]:
    """Conversion rows for the new entries into stages with an on_stage rule (``stage_changes(...).rows``)."""
    return stage_changes(transitions, rules, contact_key, **kwargs).rows


def stage_changes(
    transitions: Iterable[Transition], rules: ConversionRules, contact_key: Any, *,
    signals: Iterable[StageSignal] = (), attributes: Mapping[str, Any] | None = None,
    before: Iterable[Mapping[str, Iterable[str]]] = (), record_kinds: Mapping[str, Iterable[str]] | None = None,
    brand: str = DEFAULT_BRAND,
) -> StageChanges:
    """Conversion rows for the new entries into stages with an on_stage rule, and for the moved ones.

    ``transitions``: the contact's whole history, oldest first. ``signals``: its stage signals
    (to find each transition's cause). ``attributes``: its winning field values
    (``{field: {"value": ..., "source": ...}}``). ``before``: the ``entry_ids`` of the histories
    the contact had already — its own and those of contacts merged into it (their entries made
    their conversions then).
    ``record_kinds``: signal reason → conversion kinds that record carries itself (no
    stage-derived duplicate of those). ``brand``: whose history this is (each row says so).
    """
    if not rules.on_stage:
        return StageChanges([], [], [])
    attributes = attributes or {}
    known_ids: dict[str, list[str]] = {}  # in history order, histories one after the other
    for history in before:
        for stage, ids in history.items():
            known = known_ids.setdefault(stage, [])
            known += [i for i in ids if i not in known]
    record_kinds = record_kinds or {}
    rows: list[dict[str, Any]] = []
    moved: list[dict[str, Any]] = []
    withdrawn: list[str] = []
    for stage, found in _entries(transitions, rules, signals, brand).items():
        known = known_ids.pop(stage, [])
        unknown = [e for e in found if e.event_id not in known]
        vanished = [i for i in known if i not in {e.event_id for e in found}]
        pairs = list(zip(vanished, unknown, strict=False))  # oldest with oldest: the later unknown ones are new
        rows += [row for e in unknown[len(pairs):]
                 if (row := _row(e, stage, contact_key, attributes, record_kinds, brand))]
        withdrawn += vanished[len(pairs):]
        for old, e in pairs:
            if (row := _row(e, stage, contact_key, attributes, record_kinds, brand)) is None:
                withdrawn.append(old)  # the entry's new cause does not count: its conversion goes
            else:
                moved.append({**row, "replaces": old})
    withdrawn += [i for ids in known_ids.values() for i in ids]  # stages no longer entered at all
    order = lambda r: (r["occurred_at"], r["event_id"])  # noqa: E731
    return StageChanges(sorted(rows, key=order), sorted(moved, key=order),
                        [{"contact": contact_key, "replaces": i} for i in sorted(withdrawn)])


def _row(e: _Entry, stage: str, contact_key: Any, attributes: Mapping[str, Any],
         record_kinds: Mapping[str, Iterable[str]], brand: str = DEFAULT_BRAND) -> dict[str, Any] | None:
    """The conversion row of one entry, None when its rule does not count it."""
    t, rule = e.transition, e.rule
    if rule.sources and t.source not in rule.sources:
        return None
    if rule.kind in record_kinds.get(e.reason, ()):
        return None
    return {"event_id": e.event_id, "contact": contact_key, "kind": rule.kind, "occurred_at": t.at,
            "source": t.source, "object": f"{STAGE_OBJECT_PREFIX}{stage}"[:64],
            "record_id": (e.reason or t.reason or "-")[:255], "brand": brand, **stage_values(rule, attributes)}


def stage_values(rule: StageRule, attributes: Mapping[str, Any]) -> dict[str, Any]:
    """Value, currency and order id of a stage conversion, from the contact's fields.

    A value that is not a number is left out (None); a currency that is not three letters
    falls back to ``default_currency``; the currency is upper-case.
    """
    value = _number(_field(attributes, rule.value_field))
    currency = _field(attributes, rule.currency_field)
    currency = currency.strip().upper() if isinstance(currency, str) else None
    if not (currency and len(currency) == 3 and currency.isalpha() and currency.isascii()):
        currency = rule.default_currency
    order_id = _field(attributes, rule.order_id_field)
    order_id = None if order_id is None or not str(order_id).strip() else str(order_id).strip()[:255]
    return {"value": value, "currency": currency, "order_id": order_id}


def sets_stage_signal(rules: ConversionRules, kind: str, source: str, at: datetime,
                      record_reason: str, brand: str = DEFAULT_BRAND) -> StageSignal | None:
    """The stage signal a record's conversion of ``kind`` implies (None when no rule says so).

    Its reason is ``<kind>: <record>``, so the stage history shows why the contact moved.
    """
    stage = rules.stage_for_kind(kind)
    if stage is None:
        return None
    return StageSignal(at=at, source=source, kind="stage", stage=stage,
                       reason=conversion_reason(kind, record_reason), brand=brand)


def _field(attributes: Mapping[str, Any], name: str | None) -> Any:
    if name is None:
        return None
    entry = attributes.get(name)
    return entry.get("value") if isinstance(entry, Mapping) else entry


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = float(value.strip() if isinstance(value, str) else value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None
