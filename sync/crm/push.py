"""Send pending CRM write-backs: outbox rows → vendor-shaped batches → Delivery rows.

Pending rows of one contact are merged (newest value of each field, newest stage; what the
system knew from the oldest) and sent as one ``PushItem``, in batches of the connector's
``max_batch`` per object. Per-item results decide each row: ``ok`` → sent (and the record's
id in the system becomes one of the contact's identities, so the next push updates it);
``failed`` → dead with a dead letter carrying the vendor's reason (replayable); ``conflict``
(several records match) → dead, a dead letter and a conflict-log entry; ``retry`` → pending
again after a growing delay. A whole request that fails with ``RateLimited`` or
``TransientError`` leaves its items pending with a delay; ``AuthError`` / ``PermanentError`` /
``ValidationError`` make them dead. The echo records of a value that did not land are
removed, so the next change plans it again.

A connection of a brand (``sync.crm.plan``: ``hubspot/lumen``) gets its own rows, deliveries
and echoes, and the stage sent is that brand's stage of the contact. Its records are addressed by
the contact's ids of that connection — ``per_connection`` identity kinds hold them as
``lumen:<id>`` (``sync.reconcile.identity.namespaced``), sent without the namespace — and the id
the portal answers with is kept so; a contact with none is found by e-mail (HubSpot) or
lifesync's external id (Salesforce). The default connection is told only bare ids, never another
portal's. (With a kind that is not ``per_connection`` a brand's connection finds records by
e-mail or external id only, and keeps no id: a bare one may be another portal's.)

A row says *which* fields a system lacked when it was planned; the values sent are the
contact's winning values *now*, so a row overtaken by a later record (the system itself
reported the field since, or another source won) sends the current truth or nothing, never
a stale value. The echo of what was actually sent is recorded with the delivery, so its
return on the next pull is recognised as lifesync's own write.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, delete, select

from sync.config.brands import DEFAULT_BRAND, ONE_BRAND
from sync.connectors.crm import Pusher, PushItem, PushResult, QuotaReached
from sync.crm.plan import CRM_IDENTITY_KINDS, STAGE, crm_destination
from sync.errors import AuthError, LifesyncError, PermanentError, RateLimited, TransientError, ValidationError
from sync.http.redact import redact
from sync.ingest.persist import reconcile_lock
from sync.mappings.engine import reverse
from sync.outbox.deliveries import MAX_ATTEMPTS, backoff, dead_letter, record_attempts
from sync.reconcile.identity import in_namespace, namespaced_id
from sync.reconcile.state import echo_digest
from sync.reconcile.survivorship import Candidate, consent_purpose, consent_winner, is_blank, value_key
from sync.store import model
from sync.store.engine import Store
from sync.store.sql import chunks, insert_ignore, insert_rows, one_of, upsert

if TYPE_CHECKING:
    from sync.config import Config
    from sync.config.types import LifecycleConfig


@dataclass
class _Contact:
    """The merged pending rows of one contact."""

    contact_id: int
    rows: list[model.Outbox] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)
    known_values: dict[str, Any] = field(default_factory=dict)
    stage: str | None = None
    known_stage: str | None = None
    obj: str = ""
    identity_kind: str = ""
    namespace: str | None = None  # of the connection's ids (sync.reconcile.identity.namespaced)
    sent_values: dict[str, Any] = field(default_factory=dict)  # what was actually sent (current winners)
    sent_stage: str | None = None

    def add(self, row: model.Outbox) -> None:
        payload = row.payload or {}
        if not self.rows:
            self.known_stage = payload.get("known_stage")
        self.rows.append(row)
        self.values.update(payload.get("values") or {})
        for name, value in (payload.get("known_values") or {}).items():
            self.known_values.setdefault(name, value)
        if payload.get("stage"):
            self.stage = payload["stage"]


def _address(system: str, contact: _Contact, identities: dict[str, list[str]]) -> tuple[str, str | None, str]:
    """(object, the record's id in the system or None, identity kind of that id)."""
    if system == "hubspot":
        ids = identities.get("hubspot") or []
        return "contacts", (ids[0] if ids else None), "hubspot"
    if system == "salesforce":
        if identities.get("salesforce"):
            return "Contact", identities["salesforce"][0], "salesforce"
        ids = identities.get("salesforce_lead") or []
        return "Lead", (ids[0] if ids else None), "salesforce_lead"
    raise ValueError(f"{system!r} is not a CRM lifesync writes to")


def _own_ids(ids: dict[str, list[str]], namespace: str | None, lifecycle: LifecycleConfig) -> dict[str, list[str]]:
    """The ids the connection of ``namespace`` knows the contact by, as it knows them (see the module docstring)."""
    own: dict[str, list[str]] = {"email": list(ids.get("email", []))}
    for kind, values in ids.items():
        if kind == "email":
            continue
        if lifecycle.identity_kind(kind).per_connection:
            own[kind] = [bare for v in values if (bare := in_namespace(v, namespace)) is not None]
        elif namespace is None:
            own[kind] = list(values)
    return own


def _clean(props: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in props.items() if v is not None}


@dataclass
class _Outcome:
    outbox: list[dict[str, Any]] = field(default_factory=list)
    deliveries: list[dict[str, Any]] = field(default_factory=list)
    dead: list[dict[str, Any]] = field(default_factory=list)
    conflicts: list[dict[str, Any]] = field(default_factory=list)
    identities: list[dict[str, Any]] = field(default_factory=list)
    echo_gone: list[dict[str, Any]] = field(default_factory=list)
    echoes: list[dict[str, Any]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=lambda: {"sent": 0, "retrying": 0, "dead": 0, "conflicts": 0,
                                                            "requests": 0, "superseded": 0})


def dispatch_crm(store: Store, config: Config, system: str, pusher: Pusher, *, limit: int = 5000,
                 now: datetime | None = None, connection: str = "default") -> dict[str, int]:
    """Send what is due for the CRM ``system``'s ``connection``; counts of sent / retrying / dead / conflicts /
    requests.
    """
    now = now or model.utcnow()
    to = crm_destination(system, connection)
    brand = (getattr(config, "brands", None) or ONE_BRAND).brand_of(system, connection)
    namespace = (getattr(config, "brands", None) or ONE_BRAND).namespace(system, brand, connection)
    contacts, attempts, identities, current = _load(store, system, limit, now, to, brand)
    out = _Outcome()
    batches: dict[str, list[tuple[_Contact, PushItem]]] = defaultdict(list)
    for contact in contacts.values():
        if contact.contact_id > 0:
            _refresh(system, contact, current[contact.contact_id])
            out.echo_gone += [{"b_c": contact.contact_id, "b_sys": to, "b_f": f}  # planned, not sent: stale
                              for f in [*contact.values, *([STAGE] if contact.stage else [])]
                              if f not in contact.sent_values and not (f == STAGE and contact.sent_stage)]
            if not contact.sent_values and contact.sent_stage is None:
                _superseded(out, to, contact, attempts, now)
                continue
        ids = _own_ids(identities.get(contact.contact_id, {}), namespace, config.lifecycle)
        item = _item(config, system, contact, ids, out, attempts, now, to, namespace)
        if item is not None:
            batches[contact.obj].append((contact, item))
    stopped = False
    for obj, pairs in sorted(batches.items()):
        for part in chunks(pairs, pusher.max_batch):
            if stopped:
                break
            try:
                results = pusher.push(obj, [item for _, item in part])
                out.counts["requests"] += 1
            except QuotaReached:
                stopped = True  # the rest stays pending for the next run
                break
            except (RateLimited, TransientError) as exc:
                wait = exc.retry_after if isinstance(exc, RateLimited) else None
                for contact, _ in part:
                    _retry(out, to, contact, attempts, now, str(exc), wait)
                continue
            except (AuthError, PermanentError, ValidationError) as exc:
                for contact, _ in part:
                    _dead(out, to, contact, attempts, now, str(exc))
                continue
            by_key = {r.key: r for r in results}
            for contact, item in part:
                result = by_key.get(item.key)
                if result is not None and result.status == "deferred":
                    stopped = True  # not sent: it stays pending for the next run, like the rest
                    continue
                _apply(out, to, contact, result, attempts, now, current.get(contact.contact_id))
    _write(store, out)
    return out.counts


@dataclass
class _Current:
    """A contact as it is now: winners, stage, and what the system itself last reported."""

    attributes: dict[str, dict[str, Any]] = field(default_factory=dict)
    stage: str | None = None
    own: dict[str, Any] = field(default_factory=dict)  # the system's own values, by field
    times: dict[tuple[str, str], Any] = field(default_factory=dict)  # (field, source) -> source time
    own_stage: tuple[Any, str] | None = None  # (at, stage) of the system's latest stage report


def _load(store: Store, system: str, limit: int, now: datetime, to: str, brand: str) -> tuple[
        dict[int, _Contact], dict[int, int], dict[int, dict[str, list[str]]], dict[int, _Current]]:
    """The pending rows of destination ``to`` (a connection of ``system`` owned by ``brand``) by contact, and what
    sending them needs.
    """
    kinds = (*CRM_IDENTITY_KINDS[system], "email")
    with store.transaction() as session:
        rows = list(session.scalars(select(model.Outbox).where(
            model.Outbox.destination == to, model.Outbox.kind == "crm", model.Outbox.status == "pending",
            model.Outbox.available_at <= now).order_by(model.Outbox.id).limit(limit)))
        ids = [r.id for r in rows]
        attempts: dict[int, int] = {}
        for part in chunks(ids, 5000):
            attempts.update({d.outbox_id: d.attempts for d in session.scalars(select(model.Delivery).where(
                one_of(session, model.Delivery.outbox_id, part), model.Delivery.destination == to))})
        contact_ids = sorted({r.contact_id for r in rows if r.contact_id is not None})
        identities: dict[int, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
        for part in chunks(contact_ids, 5000):
            for i in session.execute(select(model.Identity.contact_id, model.Identity.kind, model.Identity.value)
                                     .where(one_of(session, model.Identity.contact_id, part),
                                            model.Identity.kind.in_(kinds))
                                     .order_by(model.Identity.kind, model.Identity.value)):
                identities[i.contact_id][i.kind].append(i.value)
        current = _current(session, system, contact_ids, brand)
        session.expunge_all()
    contacts: dict[int, _Contact] = {}
    for row in rows:
        cid = row.contact_id if row.contact_id is not None else -row.id  # an orphan stands alone
        contacts.setdefault(cid, _Contact(cid)).add(row)
    return contacts, attempts, identities, current


def _current(session: Any, system: str, contact_ids: list[int], brand: str = DEFAULT_BRAND) -> dict[int, _Current]:
    """Each contact now: its winners, its stage in ``brand``, and what ``system`` last reported to ``brand``."""
    out: dict[int, _Current] = defaultdict(_Current)
    fv, sg, cs = model.FieldValue, model.StageSignal, model.ContactStage
    for part in chunks(contact_ids, 5000):
        for c in session.execute(select(model.Contact.id, model.Contact.attributes, model.Contact.stage,
                                        model.Contact.lost_stage).where(one_of(session, model.Contact.id, part))):
            out[c.id].attributes = dict(c.attributes or {})
            if brand == DEFAULT_BRAND:
                out[c.id].stage = c.lost_stage or c.stage
        if brand != DEFAULT_BRAND:
            for c in session.execute(select(cs.contact_id, cs.stage, cs.lost_stage).where(
                    one_of(session, cs.contact_id, part), cs.brand == brand)):
                out[c.contact_id].stage = c.lost_stage or c.stage
        consent: dict[tuple[int, str], list[Candidate]] = defaultdict(list)
        for f in session.execute(select(fv.contact_id, fv.field, fv.source, fv.value, fv.source_time)
                                 .where(one_of(session, fv.contact_id, part))):
            out[f.contact_id].times[(f.field, f.source)] = f.source_time
            if f.source == system:
                out[f.contact_id].own[f.field] = f.value
            if consent_purpose(f.field) is not None:
                consent[(f.contact_id, f.field)].append(Candidate(f.source, f.value, f.source_time))
        for (cid, name), cands in consent.items():  # a consent purpose's winner, as a field's is in attributes
            if (win := consent_winner(cands)) is not None:
                out[cid].attributes[name] = {"value": win.value, "source": win.source}
        for g in session.execute(select(sg.contact_id, sg.at, sg.stage).where(
                one_of(session, sg.contact_id, part), sg.source == system, sg.kind == "stage", sg.brand == brand)):
            mine = out[g.contact_id]
            if g.stage and (mine.own_stage is None or g.at > mine.own_stage[0]):
                mine.own_stage = (g.at, g.stage)
    return out


def _refresh(system: str, contact: _Contact, now_: _Current) -> None:
    """Replace the planned values by the current winners the system still lacks (see the module docstring)."""
    values = {}
    for name in contact.values:
        win = now_.attributes.get(name)
        if win is None or is_blank(win.get("value")) or win.get("source") == system:
            continue
        if name in now_.own and value_key(now_.own[name]) == value_key(win["value"]):
            continue
        values[name] = win["value"]
    contact.sent_values = values
    contact.known_values = {k: now_.own.get(k) for k in values}
    known = now_.own_stage[1] if now_.own_stage else None
    contact.known_stage = known
    contact.sent_stage = now_.stage if contact.stage and now_.stage and now_.stage != known else None


def _item(config: Config, system: str, contact: _Contact, identities: dict[str, list[str]], out: _Outcome,
          attempts: dict[int, int], now: datetime, to: str, namespace: str | None = None) -> PushItem | None:
    if contact.contact_id < 0:
        _dead(out, to, contact, attempts, now, "the contact no longer exists")
        return None
    contact.obj, vendor_id, contact.identity_kind = _address(system, contact, identities)
    if namespace is not None and not config.lifecycle.identity_kind(contact.identity_kind).per_connection:
        contact.identity_kind = ""  # a bare id of a brand's connection is not kept (module docstring)
    contact.namespace = namespace
    mapping = config.mappings.get((system, contact.obj))
    if mapping is None:
        _dead(out, to, contact, attempts, now, f"no mapping for {system} {contact.obj} to build the push from")
        return None
    values = dict(contact.sent_values)
    emails = identities.get("email") or []
    if vendor_id is None and "email" not in values and emails and "email" in mapping.out_fields():
        values["email"] = emails[0]  # a new record is matched (HubSpot) and found again by its e-mail
    try:
        properties = reverse(mapping, values, contact.sent_stage)
        known = reverse(mapping, _clean(contact.known_values), contact.known_stage)
    except LifesyncError as exc:
        _dead(out, to, contact, attempts, now, str(exc))
        return None
    extra: dict[str, Any] = {}
    if system == "hubspot":  # a HubSpot record is {properties: …}; what a mapping writes beside it is a request
        extra = {key: value for key, value in properties.items() if key != "properties"}
        properties, known = properties.get("properties", {}), known.get("properties", {})
    return PushItem(key=contact.rows[-1].id, object=contact.obj, vendor_id=vendor_id, properties=properties,
                    known=known, external_id=str(contact.contact_id), extra=extra, emails=tuple(emails))


def _delivery(out: _Outcome, system: str, contact: _Contact, attempts: dict[int, int], now: datetime,
              status: str, error: str | None, response: dict[str, Any] | None = None) -> None:
    for row in contact.rows:
        out.deliveries.append({"outbox_id": row.id, "destination": system, "status": status,
                               "attempts": attempts.get(row.id, 0) + 1, "last_error": error and error[:1000],
                               "response": response or {}, "sent_at": now if status == "sent" else None,
                               "updated_at": now})


def _dead(out: _Outcome, system: str, contact: _Contact, attempts: dict[int, int], now: datetime,
          reason: str) -> None:
    reason = redact(reason)
    _delivery(out, system, contact, attempts, now, "dead", reason)
    for row in contact.rows:
        out.outbox.append({"id": row.id, "status": "dead", "available_at": row.available_at})
        out.dead.append(dead_letter(system, "crm", row.id, reason, now))
    if contact.contact_id > 0:
        out.echo_gone += [{"b_c": contact.contact_id, "b_sys": system, "b_f": f}
                          for f in [*contact.values, *([STAGE] if contact.stage else [])]]
    out.counts["dead"] += 1


def _superseded(out: _Outcome, system: str, contact: _Contact, attempts: dict[int, int], now: datetime) -> None:
    """Nothing is left to send: the system reported the values itself, or they changed hands since."""
    _delivery(out, system, contact, attempts, now, "superseded", None)
    out.outbox += [{"id": r.id, "status": "superseded", "available_at": r.available_at} for r in contact.rows]
    out.counts["superseded"] += 1


def _retry(out: _Outcome, system: str, contact: _Contact, attempts: dict[int, int], now: datetime,
           reason: str, retry_after: float | None) -> None:
    tries = max(attempts.get(r.id, 0) for r in contact.rows) + 1
    if tries >= MAX_ATTEMPTS:
        _dead(out, system, contact, attempts, now, f"gave up after {tries} attempts: {reason}")
        return
    _delivery(out, system, contact, attempts, now, "failed", redact(reason))
    out.outbox += [{"id": r.id, "status": "pending", "available_at": now + backoff(tries, retry_after)}
                   for r in contact.rows]
    out.counts["retrying"] += 1


def _apply(out: _Outcome, system: str, contact: _Contact, result: PushResult | None,
           attempts: dict[int, int], now: datetime, current: _Current | None = None) -> None:
    if result is None:
        _retry(out, system, contact, attempts, now, "the system returned no result for this record", None)
    elif result.status == "ok":
        _delivery(out, system, contact, attempts, now, "sent", None, {"id": result.vendor_id})
        out.outbox += [{"id": r.id, "status": "sent", "available_at": r.available_at} for r in contact.rows]
        out.echoes += _echoes(system, contact, current, now)
        if result.vendor_id and contact.identity_kind:
            out.identities.append({"contact_id": contact.contact_id, "kind": contact.identity_kind,
                                   "value": namespaced_id(str(result.vendor_id), contact.namespace),
                                   "source": system.partition("/")[0], "first_seen_at": now})
        out.counts["sent"] += 1
    elif result.status == "retry":
        _retry(out, system, contact, attempts, now, result.error or "temporary failure", None)
    else:
        if result.status == "conflict":
            out.conflicts.append({"contact_id": contact.contact_id, "field": f"identity:{contact.identity_kind}",
                                  "rule": "ambiguous_match", "winner_source": None,
                                  "candidates": [{"reason": redact(result.error or "several records match")}],
                                  "source": system, "record_id": str(contact.rows[-1].id), "at": now})
            out.counts["conflicts"] += 1
        _dead(out, system, contact, attempts, now, result.error or f"{system} refused the record")


def _echoes(system: str, contact: _Contact, current: _Current | None, now: datetime) -> list[dict[str, Any]]:
    """Echo records of what was actually sent: its return is lifesync's own write, dated by its origin."""
    if current is None:
        return []
    rows = []
    for name, value in contact.sent_values.items():
        origin = (current.attributes.get(name) or {}).get("source") or "lifesync"
        rows.append({"system": system, "contact_id": contact.contact_id, "field": name, "digest": echo_digest(value),
                     "origin_source": origin, "origin_time": current.times.get((name, origin)), "pushed_at": now})
    if contact.sent_stage is not None:
        rows.append({"system": system, "contact_id": contact.contact_id, "field": STAGE,
                     "digest": echo_digest(contact.sent_stage), "origin_source": "lifesync", "origin_time": None,
                     "pushed_at": now})
    return rows


def _write(store: Store, out: _Outcome) -> None:
    with store.transaction() as session:
        if out.identities:  # first, like a reconcile: no batch may be creating a contact with these ids
            reconcile_lock(session)
        record_attempts(session, out.outbox, out.deliveries, out.dead)
        insert_rows(session, model.ConflictLog, out.conflicts)
        insert_ignore(session, model.Identity, out.identities, ["kind", "value"])
        if out.echo_gone:  # before the new echoes: a field superseded in one row may be sent by another
            ec = model.EchoRecord.__table__.c
            session.execute(delete(model.EchoRecord.__table__).where(
                ec.contact_id == bindparam("b_c"), ec.system == bindparam("b_sys"), ec.field == bindparam("b_f")),
                out.echo_gone)
        upsert(session, model.EchoRecord, out.echoes, ["system", "contact_id", "field"],
               ["digest", "origin_source", "origin_time", "pushed_at"])
