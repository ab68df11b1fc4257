"""The all-time funnel without reading the history: ``funnel_counts``, kept where transitions are written.

A contact's transitions are always written whole (``sync.ingest.persist.write`` deletes a
restaged or merged-away contact's history and inserts the new one), so the writer knows
each contact's old and new history and adds their difference here, in its transaction
(under ``reconcile_lock``: one writer at a time).

One row per (``stage``, ``after``) with ``n`` contacts: they have a transition into ``stage``,
and ``after`` is the set of stages they have a transition into after their *first* entry into
``stage`` (higher ``seq``). That is what the funnel's "entered" and "moved on" over all time
need, whatever the configured stage order: a contact moved on from stage *i* when some
transition after its first entry goes into a later active stage (``sync.reports.funnel``).
Stored without the stage order, the counts survive a lifecycle revision that reorders stages.

The counts are the default brand's funnel (``sync.config.brands``): every history of an
installation with one brand. Another brand's all-time funnel is read from its history
(``sync.reports.funnel``), as a windowed one is.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from itertools import groupby
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from sync.config.types import DEFAULT_BRAND
from sync.store import model
from sync.store.sql import upsert

SEPARATOR = "\x1f"  # unit separator: never part of a stage name in a YAML config
Key = tuple[str, frozenset[str]]


def signatures(rows: Iterable[Mapping[str, Any]]) -> Counter[Key]:
    """Per (stage, stages entered after the first entry into it): how many of these contacts' histories have it.

    ``rows`` are whole histories (``contact_id``, ``seq``, ``to_stage``), in any order; rows of
    another brand than the default one (``brand``) are left out.
    """
    by_contact: dict[int, list[tuple[int, str]]] = {}
    for r in rows:
        if r.get("brand", DEFAULT_BRAND) != DEFAULT_BRAND:
            continue
        by_contact.setdefault(r["contact_id"], []).append((r["seq"], r["to_stage"]))
    counts: Counter[Key] = Counter()
    for history in by_contact.values():
        counts.update(_contact(history))
    return counts


def _contact(history: list[tuple[int, str]]) -> list[Key]:
    first: dict[str, int] = {}
    for seq, stage in history:
        if seq < first.get(stage, seq + 1):
            first[stage] = seq
    return [(stage, frozenset(s for q, s in history if q > at)) for stage, at in first.items()]


def record(session: Session, removed: Iterable[Mapping[str, Any]], added: Iterable[Mapping[str, Any]]) -> None:
    """Count ``added`` histories in and ``removed`` ones out (each contact's whole history), in ``session``."""
    delta = signatures(added)
    delta.subtract(signatures(removed))
    _add(session, delta)


def _add(session: Session, delta: Mapping[Key, int]) -> None:
    f = model.FunnelCount
    changed = {_encode(k): n for k, n in delta.items() if n}
    if not changed:
        return
    stored = {(s, a): n for s, a, n in session.execute(select(f.stage, f.after, f.n).where(
        f.stage.in_({s for s, _ in changed})))}
    rows = [{"stage": s, "after": a, "n": stored.get((s, a), 0) + n} for (s, a), n in changed.items()]
    upsert(session, f, rows, ["stage", "after"], ["n"])


def _encode(key: Key) -> tuple[str, str]:
    return key[0], SEPARATOR.join(sorted(key[1]))


def counted(session: Session) -> Counter[Key]:
    """The stored counts (a handful of rows: one per stage and set of later stages seen)."""
    f = model.FunnelCount
    return Counter({(stage, frozenset(after.split(SEPARATOR)) - {""}): n
                    for stage, after, n in session.execute(select(f.stage, f.after, f.n).where(f.n != 0))})


def rebuild(session: Session, *, batch: int = 50_000, branded: bool = True) -> None:
    """Recount from every stored transition (a migration's backfill; a bulk load that bypassed ``write``).

    ``branded=False``: the history has no ``brand`` column yet (migration 0014, before brands).
    """
    t = model.StageTransition
    session.execute(delete(model.FunnelCount))
    counts: Counter[Key] = Counter()
    query = select(t.contact_id, t.seq, t.to_stage)
    if branded:
        query = query.where(t.brand == DEFAULT_BRAND)
    result = session.execute(query.order_by(t.contact_id).execution_options(yield_per=batch))
    for _, history in groupby(result, key=lambda r: r[0]):
        counts.update(_contact([(r[1], r[2]) for r in history]))
    _add(session, counts)
