"""Load what a conversion destination is given from the database: conversions, their contacts and touchpoints.

Shared by the conversion dispatcher (``sync.attribution.dispatch``) and the adjustment
dispatcher (``sync.attribution.adjust_dispatch``); ``told_state`` is the one shape in which a
Delivery records what a destination was told of a conversion.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select

from sync.attribution.facts import ContactFacts, ConversionFacts, TouchpointFacts
from sync.store import model
from sync.store.sql import chunks, one_of

CONTACT_FIELDS = ("first_name", "last_name", "city", "state", "zip", "country", "date_of_birth", "gender")

Facts = tuple[dict[str, ConversionFacts], dict[str, int], dict[int, ContactFacts], dict[int, list[TouchpointFacts]]]


def load_facts(session: Any, event_ids: list[str], *, facts: bool = True) -> Facts:
    """Conversions by event id (with their contact ids), and those contacts' facts and touchpoints."""
    conversions: dict[str, ConversionFacts] = {}
    owner: dict[str, int] = {}
    brand_of: set[str] = set()
    for part in chunks(event_ids, 5000):
        for c in session.scalars(select(model.ConversionEvent).where(one_of(session, model.ConversionEvent.event_id,
                                                                             part))):
            restated = c.adjusted_value is not None
            conversions[c.event_id] = ConversionFacts(
                event_id=c.event_id, kind=c.kind, occurred_at=c.occurred_at,
                value=c.adjusted_value if restated else c.value,
                currency=(c.adjusted_currency or c.currency) if restated else c.currency,
                order_id=c.order_id, source=c.source, object=c.object, record_id=c.record_id,
                retracted_at=c.retracted_at, adjusted_at=c.adjusted_at, recorded_value=c.value)
            owner[c.event_id] = c.contact_id
            brand_of.add(c.brand)
    if not facts:  # the conversions alone
        return conversions, owner, {}, {}
    contact_ids = sorted(set(owner.values()))
    # a conversion is credited to, and carries the click ids of, its own brand's touchpoints only (a batch is
    # one destination's, and a destination has one brand)
    brands = sorted(brand_of)
    touches: dict[int, list[TouchpointFacts]] = defaultdict(list)
    for part in chunks(contact_ids, 5000):
        t = model.Touchpoint
        for tp in session.execute(select(t.contact_id, t.channel, t.network, t.occurred_at, t.campaign_id, t.adset_id,
                                         t.ad_id, t.click_ids, t.referral_url, t.extra)
                                  .where(one_of(session, t.contact_id, part), t.brand.in_(brands))
                                  .order_by(t.occurred_at)):
            touches[tp.contact_id].append(TouchpointFacts(
                channel=tp.channel, network=tp.network, occurred_at=tp.occurred_at, campaign_id=tp.campaign_id,
                adset_id=tp.adset_id, ad_id=tp.ad_id, click_ids=dict(tp.click_ids or {}),
                referral_url=tp.referral_url, extra=dict(tp.extra or {})))
    found = load_contacts(session, contact_ids)
    contacts = {cid: found.get(cid) or ContactFacts(contact_id=cid) for cid in contact_ids}
    return conversions, owner, contacts, touches


def load_contacts(session: Any, contact_ids: Sequence[int]) -> dict[int, ContactFacts]:
    """The facts of these contacts (values, identities, consent), two queries per 5,000; absent ids are left out.

    Shared by the conversion dispatchers and the audience engine (``sync.segments.audiences``):
    e-mails and phones are the contact's ``email`` / ``phone`` identities, the other identities
    come sorted by (kind, value), values are the winning canonical values as text.
    """
    attrs: dict[int, dict[str, Any]] = {}
    consent: dict[int, dict[str, Any]] = {}
    idents: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for part in chunks(list(contact_ids), 5000):
        for c in session.execute(select(model.Contact.id, model.Contact.attributes, model.Contact.consent)
                                 .where(one_of(session, model.Contact.id, part))):
            attrs[c.id] = {k: v.get("value") for k, v in (c.attributes or {}).items() if isinstance(v, dict)}
            consent[c.id] = dict(c.consent or {})
        for i in session.execute(select(model.Identity.contact_id, model.Identity.kind, model.Identity.value)
                                 .where(one_of(session, model.Identity.contact_id, part))
                                 .order_by(model.Identity.contact_id, model.Identity.kind, model.Identity.value)):
            idents[i.contact_id].append((i.kind, i.value))
    contacts: dict[int, ContactFacts] = {}
    for cid in contact_ids:
        if cid not in attrs:
            continue
        a = attrs[cid]
        ids = idents.get(cid, [])
        contacts[cid] = ContactFacts(
            contact_id=cid, emails=tuple(v for k, v in ids if k == "email"),
            phones=tuple(v for k, v in ids if k == "phone"),
            identities=tuple((k, v) for k, v in ids if k not in ("email", "phone")), consent=consent[cid],
            **{f: (str(a[f]) if a.get(f) is not None else None) for f in CONTACT_FIELDS})
    return contacts


def told_state(value: float | None, currency: str | None, *, retracted: bool = False) -> dict[str, Any]:
    """What a destination was told of a conversion (kept in its Delivery, compared by ``adjust_dispatch``)."""
    return {"retracted": True} if retracted else {"value": value, "currency": currency}
