"""The ``ad_names`` table: which ad ids need a lookup, and saving what a lookup answered.

An ad id needs a lookup when no row holds it yet, or when its row is older than the refresh
age — named and refused rows alike, so renamed campaigns show their new names and an ad the
token could not see is tried again (the token may have been granted it since). Ads left for
later (throttled, timed out) get no row and are asked again on the next run.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from sync.attribution.adnames.lookup import Lookup
from sync.store import model


def stale(session: Session, now: datetime, refresh: timedelta) -> dict[str, list[str]]:
    """Ad ids of touchpoints that need a lookup, by network (sorted: stable batches)."""
    tp, an = model.Touchpoint, model.AdName
    rows = session.execute(
        select(tp.network, tp.ad_id).distinct()
        .outerjoin(an, and_(an.network == tp.network, an.ad_id == tp.ad_id))
        .where(tp.ad_id.is_not(None), tp.ad_id != "", tp.network.is_not(None),
               or_(an.ad_id.is_(None), an.resolved_at < now - refresh))
        .order_by(tp.network, tp.ad_id)).all()
    out: dict[str, list[str]] = defaultdict(list)
    for network, ad_id in rows:
        out[network].append(ad_id)
    return dict(out)


def save(session: Session, network: str, lookup: Lookup, now: datetime) -> None:
    """Write the named and the refused ads of ``lookup`` (one row per ad, replacing an older one)."""
    existing = {row.ad_id: row for row in session.scalars(select(model.AdName).where(
        model.AdName.network == network, model.AdName.ad_id.in_([*lookup.found, *lookup.refused])))}
    for ad_id, info in lookup.found.items():
        row = existing.get(ad_id) or model.AdName(network=network, ad_id=ad_id)
        row.ad_name, row.adset_id, row.adset_name = info.ad_name, info.adset_id, info.adset_name
        row.campaign_id, row.campaign_name = info.campaign_id, info.campaign_name
        row.resolved_at, row.error = now, None
        session.add(row)
    for ad_id, reason in lookup.refused.items():
        row = existing.get(ad_id) or model.AdName(network=network, ad_id=ad_id)
        # a refusal keeps the names learnt before (an ad deleted later is still the ad it was), but marks them
        row.resolved_at, row.error = now, reason
        session.add(row)
