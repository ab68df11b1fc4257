"""Conversions waiting in the outbox, as the dispatch tests need them: contacts, identities, touchpoints."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from sync.store import model
from sync.store.sql import insert_rows


def seed(store, n: int, *, kind: str = "purchase", destinations=("meta", "tiktok", "google"), poison: int | None = None,
         whatsapp: bool = False, ages: dict[int, timedelta] | None = None) -> list[str]:
    """``n`` contacts, each with one conversion, a touchpoint and outbox rows for ``destinations``.

    A conversion occurred an hour ago, or ``ages[i]`` ago for contact ``i``.
    """
    now = model.utcnow()
    contacts, idents, convs, touches, outbox = [], [], [], [], []
    for i in range(1, n + 1):
        contacts.append({"id": i, "created_at": now, "updated_at": now, "stage": "Customer", "lost_stage": None,
                         "stage_changed_at": now, "consent": {"ad_user_data": True},  # Portugal: EEA
                         "attributes": {"first_name": {"value": "Ana", "source": "hubspot"},
                                        "city": {"value": "Lisbon", "source": "hubspot"},
                                        "country": {"value": "Portugal", "source": "hubspot"}}})
        idents += [{"contact_id": i, "kind": "email", "value": f"buyer{i}@example.com", "source": "hubspot",
                    "first_seen_at": now},
                   {"contact_id": i, "kind": "phone", "value": f"+3519100{i:05d}", "source": "hubspot",
                    "first_seen_at": now}]
        event_id = f"evt{i:07d}"
        value = 10.0 + i
        occurred = now - (ages or {}).get(i, timedelta(hours=1))
        convs.append({"id": i, "event_id": event_id, "contact_id": i, "kind": kind, "value": value, "currency": "EUR",
                      "order_id": f"order-{i}", "occurred_at": occurred, "source": "shop",
                      "object": "order", "record_id": f"order-{i}", "created_at": now})
        clicks = {"ctwa_clid": f"ARAkLk{i}"} if whatsapp else {"gclid": f"Cj0K{i}", "ttclid": f"E.C.P.{i}",
                                                                "fbclid": f"IwAR{i}"}
        if poison == i:  # a browser cookie captured mangled: only Meta itself tells, by refusing the whole batch
            clicks = {"fbc": "fb.1.not-a-timestamp"}
        touches.append({"key": f"tp{i}", "contact_id": i, "channel": "whatsapp" if whatsapp else "web",
                        "network": "meta" if whatsapp else None, "campaign_id": "c1", "adset_id": "s1", "ad_id": "a1",
                        "click_ids": clicks, "referral_url": None, "headline": None,
                        "extra": {"source_type": "ad"} if whatsapp else {},
                        "occurred_at": now - timedelta(days=1), "source": "whatsapp" if whatsapp else "web",
                        "record_id": f"r{i}"})
        outbox += [{"idempotency_key": f"conv:{d}:{event_id}", "kind": "conversion", "destination": d,
                    "contact_id": i, "payload": {"event_id": event_id}, "status": "pending", "created_at": now,
                    "available_at": now} for d in destinations]
    with store.transaction() as s:
        for entity, rows in ((model.Contact, contacts), (model.Identity, idents), (model.ConversionEvent, convs),
                             (model.Touchpoint, touches), (model.Outbox, outbox)):
            insert_rows(s, entity, rows)
    return [c["event_id"] for c in convs]


def statuses(store, destination: str) -> dict[str, int]:
    with store.transaction() as s:
        return dict(s.execute(select(model.Outbox.status, func.count()).where(model.Outbox.destination == destination)
                              .group_by(model.Outbox.status)).all())
