"""Segments in tests: a segment from YAML text, and contacts built row by row with what conditions read."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

import yaml

from sync.config import load_config
from sync.config.brands import ONE_BRAND, Brands
from sync.segments.conditions import Segment
from sync.segments.parse import parse_segment
from sync.store import model

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
_keys = itertools.count(1)


def segment(text: str, key: str = "s", brands: Brands = ONE_BRAND, kinds: tuple[str, ...] = ()) -> Segment:
    """The segment ``text`` describes, judged against the bundled lifecycle; AssertionError listing its issues."""
    found, issues = parse_segment(yaml.safe_load(text), key, f"segments/{key}.yaml", {}, brands,
                                  load_config(None).lifecycle, kinds)
    assert found is not None, [str(i) for i in issues]
    return found


def contact(session: Any, *, stage: str | None = None, lost: str | None = None, changed: datetime | None = None,
            fields: dict[str, Any] | None = None, consent: dict[str, Any] | None = None,
            identities: tuple[tuple[str, str], ...] = (), messages: tuple[tuple[str, datetime], ...] = (),
            purchases: tuple[tuple[float | None, datetime], ...] = (), retracted: tuple[float, ...] = (),
            touches: tuple[dict[str, Any], ...] = (), brand_stages: dict[str, str] | None = None) -> int:
    """A contact with these facts; its id. ``messages``: (direction, at); ``purchases``: (value, at)."""
    c = model.Contact(stage=stage, lost_stage=lost, stage_changed_at=changed, consent=consent or {},
                      attributes={k: {"value": v, "source": "test"} for k, v in (fields or {}).items()})
    session.add(c)
    session.flush()
    n = next(_keys)
    for kind, value in identities:
        session.add(model.Identity(contact_id=c.id, kind=kind, value=f"{value}-{n}", source="test"))
    for i, (direction, at) in enumerate(messages):
        session.add(model.Activity(key=f"a{n}-{i}", contact_id=c.id, channel="whatsapp", direction=direction,
                                   occurred_at=at, source="test"))
    for i, (value, at) in enumerate(purchases):
        session.add(model.ConversionEvent(event_id=f"e{n}-{i}", contact_id=c.id, kind="purchase", value=value,
                                          occurred_at=at, source="shop", object="order", record_id=f"o{n}-{i}"))
    for i, value in enumerate(retracted):
        session.add(model.ConversionEvent(event_id=f"r{n}-{i}", contact_id=c.id, kind="purchase", value=value,
                                          occurred_at=NOW, source="shop", object="order", record_id=f"x{n}-{i}",
                                          retracted_at=NOW))
    for i, touch in enumerate(touches):
        session.add(model.Touchpoint(key=f"t{n}-{i}", contact_id=c.id, source="test", record_id=f"t{n}",
                                     **{"channel": "whatsapp", **touch}))
    for brand, stage_name in (brand_stages or {}).items():
        session.add(model.ContactStage(contact_id=c.id, brand=brand, stage=stage_name))
    session.flush()
    return c.id
