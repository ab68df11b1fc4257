"""One contact in full: why each field has its value, how it moved, what was sent about it.

``GET /api/contacts/<id>`` and ``lifesync contacts get`` print :func:`contact_detail`. It
extends the stable export document (:func:`sync.reports.export.contacts_json`) with what
depends on configuration and time: every source's candidate per field with the winner and the
survivorship rule that chose it (the same :func:`sync.reconcile.survivorship.choose` ingest
uses, under the active configuration), its consent per purpose (the value ``contacts.consent``
holds, the winning candidate's source, time and record, and every source's candidate), the
phase of the stage, its stage in each brand it dealt with (``stages``: brand, name, stage,
phase, lost stage, since when), recent activities, each
conversion's outbox rows and deliveries per destination, and the merges and conflicts that
touched the contact (including those of the contacts it absorbed).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sync.config.brands import DEFAULT_BRAND, ONE_BRAND, Brands
from sync.config.types import LifecycleConfig
from sync.errors import NotFound
from sync.reconcile.survivorship import Candidate, choose, consent_purpose, consent_winner
from sync.reports.attribution import named_touch
from sync.reports.contact_search import display_name, stage_phase
from sync.reports.export import contacts_json
from sync.store import model

RECENT_ACTIVITIES = 50
ONLY_SOURCE = "only source"


def _ts(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def contact_detail(session: Session, lifecycle: LifecycleConfig, contact_id: int,
                   brands: Brands = ONE_BRAND) -> dict[str, Any]:
    """The full document of one contact; :class:`NotFound` when no contact has the id (a merged-away one).

    ``lifecycle``: the shared one; ``brands``: the installation's (each brand's stage is read in
    its own lifecycle).
    """
    docs = contacts_json(session, [contact_id]) if 0 < contact_id <= model.MAX_ID else []
    if not docs:
        raise NotFound(f"no contact with id {contact_id} (a contact merged into another keeps no id of its own)")
    doc = docs[0]
    contact = session.get(model.Contact, contact_id)
    assert contact is not None  # contacts_json just read it
    absorbed, merges = _merges(session, contact_id)
    doc.update({
        "name": display_name(contact.attributes),
        "phase": stage_phase(lifecycle, contact.stage),
        "created_at": _ts(contact.created_at),
        "updated_at": _ts(contact.updated_at),
        "stage_changed_at": _ts(contact.stage_changed_at),
        "stages": brand_stages(doc, lifecycle, brands, _ts(contact.stage_changed_at)),
        "identity_details": _identities(session, contact_id),
        **_values(session, lifecycle, contact_id, contact.attributes or {}, contact.consent or {}),
        "touchpoints": _touchpoints_named(session, doc["touchpoints"]),
        **_activities(session, contact_id),
        "conversions": _conversions(session, contact_id, doc["conversions"]),
        "merges": merges,
        "conflicts": _conflicts(session, [contact_id, *absorbed]),
    })
    return doc


def brand_stages(doc: dict[str, Any], lifecycle: LifecycleConfig, brands: Brands,
                 default_since: str | None) -> list[dict[str, Any]]:
    """The contact's stage in each brand it dealt with, the default brand first, then by brand key.

    ``doc``: its export document (the default brand's stage at the top, the others under
    ``brands``). The default brand is listed when the contact has a stage, a lost stage or a
    history there, or no other brand at all. Each: ``brand``, ``name`` (brands.yaml's, else the
    key), ``stage``, ``phase`` (in the brand's lifecycle), ``lost_stage``, ``stage_changed_at``.
    """
    def entry(key: str, stage: str | None, lost: str | None, since: str | None) -> dict[str, Any]:
        found = brands.get(key)
        return {"brand": key, "name": found.name if found is not None else key, "stage": stage,
                "phase": stage_phase(brands.lifecycle(key, lifecycle), stage), "lost_stage": lost,
                "stage_changed_at": since}

    others = doc.get("brands", {})
    out = []
    if doc["stage"] is not None or doc["lost_stage"] is not None or doc["stage_history"] or not others:
        out.append(entry(DEFAULT_BRAND, doc["stage"], doc["lost_stage"], default_since))
    out += [entry(key, own["stage"], own["lost_stage"], own.get("stage_changed_at"))
            for key, own in sorted(others.items())]
    return out


def _identities(session: Session, contact_id: int) -> list[dict[str, Any]]:
    i = model.Identity
    return [{"kind": r.kind, "value": r.value, "source": r.source, "first_seen_at": _ts(r.first_seen_at)}
            for r in session.scalars(select(i).where(i.contact_id == contact_id).order_by(i.kind, i.value))]


CONSENT_RULE = "newest; a withdrawal wins at equal times"


def _candidate(row: Any, win: Candidate | None) -> dict[str, Any]:
    return {"source": row.source, "value": row.value, "source_time": _ts(row.source_time),
            "arrived_at": _ts(row.arrived_at), "record_id": row.record_id,
            "wins": win is not None and row.source == win.source}


def _values(session: Session, lifecycle: LifecycleConfig, contact_id: int, attributes: dict[str, Any],
            consent: dict[str, Any]) -> dict[str, Any]:
    """``fields`` and ``consent``: both kept as per-source candidates in ``field_values``."""
    fv = model.FieldValue
    by_field: dict[str, list[Any]] = defaultdict(list)
    by_purpose: dict[str, list[Any]] = defaultdict(list)
    for row in session.scalars(select(fv).where(fv.contact_id == contact_id).order_by(fv.field, fv.source)):
        purpose = consent_purpose(row.field)
        (by_field[row.field] if purpose is None else by_purpose[purpose]).append(row)
    return {"fields": _fields(lifecycle, by_field, attributes), "consent": _consent(by_purpose, consent)}


def _consent(by_purpose: dict[str, list[Any]], consent: dict[str, Any]) -> dict[str, Any]:
    """Per purpose: the stored value (true granted, false withdrawn), the winner's source, time and record, and
    every source's candidate.
    """
    out: dict[str, Any] = {}
    for purpose in sorted(set(by_purpose) | set(consent)):
        rows = by_purpose.get(purpose, [])
        win = consent_winner(Candidate(r.source, r.value, r.source_time, r.record_id) for r in rows)
        out[purpose] = {
            "value": consent.get(purpose), "rule": CONSENT_RULE,
            "source": win.source if win else None, "source_time": _ts(win.source_time) if win else None,
            "record_id": win.record_id if win else None,
            "candidates": [_candidate(r, win) for r in rows],
        }
    return out


def _fields(lifecycle: LifecycleConfig, by_field: dict[str, list[Any]], attributes: dict[str, Any]) -> dict[str, Any]:
    """Per field: the stored winner, every source's candidate, and the rule that decides between them."""
    out: dict[str, Any] = {}
    for name in sorted(set(by_field) | set(attributes)):
        rows = by_field.get(name, [])
        rule = lifecycle.rule_for(name)
        win = choose(rule, [Candidate(r.source, r.value, r.source_time, r.record_id) for r in rows])
        stored = attributes.get(name) or {}
        out[name] = {
            "value": stored.get("value"),
            "source": stored.get("source"),
            "rule": {"name": rule.rule, "sources": list(rule.sources)},
            "decided_by": ONLY_SOURCE if len(rows) <= 1 else rule.rule,
            "winner_source": win.source if win is not None else None,
            "candidates": [_candidate(r, win) for r in rows],
        }
    return out


def _touchpoints_named(session: Session, touchpoints: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each touchpoint with what its network calls the ad and the campaign (``ad_names``), named as the
    attribution report names them; None where the network has not named them.
    """
    an = model.AdName
    ads = sorted({t["ad_id"] for t in touchpoints if t["network"] and t["ad_id"]})
    names = {(r.network, r.ad_id): r for r in session.scalars(select(an).where(an.ad_id.in_(ads)))} if ads else {}
    out = []
    for touch in touchpoints:
        row = names.get((touch["network"], touch["ad_id"]))
        _, campaign_name = named_touch(touch["campaign_id"], row.campaign_id if row else None,
                                       row.campaign_name if row else None)
        out.append({**touch, "ad_name": row.ad_name if row else None, "campaign_name": campaign_name})
    return out


def _activities(session: Session, contact_id: int) -> dict[str, Any]:
    a = model.Activity
    total = session.scalar(select(func.count()).select_from(a).where(a.contact_id == contact_id)) or 0
    recent = session.scalars(select(a).where(a.contact_id == contact_id)
                             .order_by(a.occurred_at.desc(), a.id.desc()).limit(RECENT_ACTIVITIES))
    return {"activity_count": total, "activities": [
        {"channel": r.channel, "direction": r.direction, "occurred_at": _ts(r.occurred_at),
         "external_id": r.external_id, "conversation_id": r.conversation_id, "source": r.source} for r in recent]}


def _conversions(session: Session, contact_id: int, exported: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The exported conversions with their adjusted state and, per destination, what was sent and answered."""
    ce, o, d = model.ConversionEvent, model.Outbox, model.Delivery
    state = {r.event_id: r for r in session.execute(
        select(ce.event_id, ce.adjusted_value, ce.adjusted_currency, ce.retracted_at)
        .where(ce.contact_id == contact_id))}
    sends: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in session.execute(
            select(o.id, o.kind, o.destination, o.status, o.payload, o.created_at, d.status.label("delivery_status"),
                   d.attempts, d.last_error, d.response, d.sent_at, d.updated_at, d.policy)
            .outerjoin(d, d.outbox_id == o.id)
            .where(o.contact_id == contact_id, o.kind.in_(("conversion", "adjustment"))).order_by(o.id)):
        payload = row.payload or {}
        sends[str(payload.get("event_id"))].append({
            "outbox_id": row.id, "kind": row.kind, "destination": row.destination, "status": row.status,
            "adjustment": payload.get("adjustment"), "queued_at": _ts(row.created_at),
            "delivery": None if row.delivery_status is None else {
                "status": row.delivery_status, "attempts": row.attempts, "last_error": row.last_error,
                "response": row.response or {}, "sent_at": _ts(row.sent_at), "updated_at": _ts(row.updated_at),
                "policy": row.policy},
        })
    out = []
    for conv in exported:
        s = state.get(conv["event_id"])
        out.append({**conv, "adjusted_value": s.adjusted_value if s else None,
                    "adjusted_currency": s.adjusted_currency if s else None,
                    "retracted_at": _ts(s.retracted_at) if s else None, "deliveries": sends.get(conv["event_id"], [])})
    return out


def _merges(session: Session, contact_id: int) -> tuple[list[int], list[dict[str, Any]]]:
    """The ids of every contact merged into this one (transitively, merges undone left out) and the merge-log rows."""
    m = model.MergeLog
    absorbed: list[int] = []
    seen, frontier = {contact_id}, [contact_id]
    by_id: dict[int, Any] = {}
    while frontier:  # SQLite can reuse a merged contact's id: ``seen`` keeps the walk finite
        found = list(session.scalars(select(m).where(m.kept_contact_id.in_(frontier), m.unmerged_at.is_(None))))
        by_id.update((r.id, r) for r in found)
        frontier = sorted({r.merged_contact_id for r in found} - seen)
        seen.update(frontier)
        absorbed += frontier
    rows = sorted(by_id.values(), key=lambda r: (r.at, r.id))
    return absorbed, [{"kept_contact_id": r.kept_contact_id, "merged_contact_id": r.merged_contact_id, "via": r.via,
                       "source": r.source, "record_id": r.record_id, "at": _ts(r.at)} for r in rows]


def _conflicts(session: Session, contact_ids: list[int]) -> list[dict[str, Any]]:
    c = model.ConflictLog
    return [{"contact_id": r.contact_id, "field": r.field, "rule": r.rule, "winner_source": r.winner_source,
             "candidates": r.candidates, "source": r.source, "record_id": r.record_id, "at": _ts(r.at)}
            for r in session.scalars(select(c).where(c.contact_id.in_(contact_ids)).order_by(c.at, c.id))]
