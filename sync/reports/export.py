"""Read contacts back out as stable, sorted JSON (``lifesync contacts get|export``).

The output holds only state that does not depend on arrival order or wall-clock time —
identities, winning values with their source, stage, stage history, touchpoints,
conversions — so two exports can be diffed, and the property tests compare them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sync.config.types import DEFAULT_BRAND
from sync.reconcile.identity import normalise
from sync.reconcile.patch import IdentityRef
from sync.store import model
from sync.store.sql import chunks


def _ts(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _rows_by_contact(session: Session, entity: Any, ids: Sequence[int], order: Sequence[Any]) -> dict[int, list[Any]]:
    out: dict[int, list[Any]] = defaultdict(list)
    for part in chunks(list(ids)):
        for row in session.scalars(select(entity).where(entity.contact_id.in_(part)).order_by(*order)):
            out[row.contact_id].append(row)
    return out


def contacts_json(session: Session, ids: Sequence[int]) -> list[dict[str, Any]]:
    """Full JSON documents of the given contacts, in id order (a fixed number of queries)."""
    ids = sorted(set(ids))
    contacts = {c.id: c for part in chunks(ids) for c in session.scalars(
        select(model.Contact).where(model.Contact.id.in_(part)))}
    identities = _rows_by_contact(session, model.Identity, ids, [model.Identity.kind, model.Identity.value])
    history = _rows_by_contact(session, model.StageTransition, ids, [model.StageTransition.brand,
                                                                     model.StageTransition.seq])
    others = _rows_by_contact(session, model.ContactStage, ids, [model.ContactStage.brand])
    touchpoints = _rows_by_contact(session, model.Touchpoint, ids, [model.Touchpoint.occurred_at, model.Touchpoint.key])
    conversions = _rows_by_contact(session, model.ConversionEvent, ids, [model.ConversionEvent.event_id])
    docs = []
    for cid in ids:
        c = contacts.get(cid)
        if c is None:
            continue
        docs.append({
            "id": c.id,
            "stage": c.stage,
            "lost_stage": c.lost_stage,
            "identities": [f"{i.kind}:{i.value}" for i in identities[cid]],
            "fields": {k: c.attributes[k] for k in sorted(c.attributes)},
            "stage_history": _history(history[cid], DEFAULT_BRAND),
            "touchpoints": [{"channel": t.channel, "network": t.network, "campaign_id": t.campaign_id,
                             "ad_id": t.ad_id, "click_ids": dict(sorted(t.click_ids.items())),
                             "occurred_at": _ts(t.occurred_at), "source": t.source} for t in touchpoints[cid]],
            "conversions": [{"event_id": e.event_id, "kind": e.kind, "value": e.value, "currency": e.currency,
                             "order_id": e.order_id, "occurred_at": _ts(e.occurred_at), "source": e.source,
                             **({"brand": e.brand} if e.brand != DEFAULT_BRAND else {})}
                            for e in conversions[cid]],
        })
        if others[cid]:  # a contact of other brands too: its stage and history in each (sync.config.brands)
            docs[-1]["brands"] = {o.brand: {"stage": o.stage, "lost_stage": o.lost_stage,
                                            "stage_changed_at": _ts(o.stage_changed_at),
                                            "stage_history": _history(history[cid], o.brand)} for o in others[cid]}
    return docs


def _history(rows: list[Any], brand: str) -> list[dict[str, Any]]:
    """One brand's stage history, oldest first."""
    return [{"from": t.from_stage, "to": t.to_stage, "at": _ts(t.at), "source": t.source, "reason": t.reason}
            for t in rows if t.brand == brand]


def find_contact(session: Session, ref: IdentityRef) -> int | None:
    """The id of the contact holding an identity, normalised as identity resolution stores it."""
    ref = normalise(ref)
    return session.scalar(select(model.Identity.contact_id).where(
        model.Identity.kind == ref.kind, model.Identity.value == ref.value))


def export_all(session: Session, page: int = 1000) -> Iterator[dict[str, Any]]:
    """Every contact, in id order, a page at a time (memory stays flat)."""
    last = 0
    while True:
        ids = list(session.scalars(select(model.Contact.id).where(model.Contact.id > last)
                                   .order_by(model.Contact.id).limit(page)))
        if not ids:
            return
        yield from contacts_json(session, ids)
        last = ids[-1]
