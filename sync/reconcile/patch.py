"""Canonical patches: what a mapping makes of one vendor record.

A patch is plain, immutable data. It names the record it came from (for provenance and
dead letters), the identities that find its contact, field values with the source's own
modification time, consent per purpose (granted or withdrawn), an observed lifecycle stage,
and any touchpoints, activities and conversion events the record carries. Reconciliation
turns patches into state; nothing in this module touches storage.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sync.config.types import DEFAULT_BRAND


@dataclass(frozen=True, order=True)
class IdentityRef:
    """One identifier of a person in one system, e.g. ``email:ana@example.com``."""

    kind: str
    value: str

    def __str__(self) -> str:
        return f"{self.kind}:{self.value}"

    @classmethod
    def parse(cls, text: str) -> IdentityRef:
        """Parse ``kind:value`` (the value may itself contain colons)."""
        kind, sep, value = text.partition(":")
        if not sep or not kind or not value:
            raise ValueError(f"identity {text!r} must look like KIND:VALUE, e.g. email:ana@example.com")
        return cls(kind.strip().lower(), value.strip())


def destination(system: str, connection: str | None = None) -> str:
    """A connection's outbox destination and echo system: ``system`` for the default one, else
    ``<system>/<connection>``.
    """
    return system if connection in (None, "", "default") else f"{system}/{connection}"


@dataclass(frozen=True)
class TouchpointData:
    """An ad click or referral that brought the contact in (click ids, campaign ids)."""

    channel: str
    occurred_at: datetime | None = None
    network: str | None = None
    campaign_id: str | None = None
    adset_id: str | None = None
    ad_id: str | None = None
    click_ids: tuple[tuple[str, str], ...] = ()
    referral_url: str | None = None
    headline: str | None = None
    extra: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class ActivityData:
    """A message or CRM activity: channel, direction (``inbound``/``outbound``), time."""

    channel: str
    direction: str
    occurred_at: datetime
    external_id: str | None = None
    conversation_id: str | None = None


@dataclass(frozen=True)
class ConversionData:
    """A conversion event the record itself carries (a purchase, a booking, a won deal).

    With ``adjust`` (``retract``/``restate``) it is an adjustment of the earlier conversion of
    the same kind and order id (a refund, a cancellation), not a new conversion.
    """

    kind: str
    occurred_at: datetime | None = None
    value: float | None = None
    currency: str | None = None
    order_id: str | None = None
    adjust: str | None = None


@dataclass(frozen=True)
class Refusal:
    """A value of the record the mapping could not use: dropped from the patch, kept as a data-quality issue.

    ``field`` names where the mapping read it (``phone``, ``stage``, ``identities[2]``); ``kind``
    what went wrong (``sync.quality.issues.KINDS``: ``invalid_phone``, ``unmapped_value``, …);
    ``reason`` what was expected; ``value`` the refused value as text, or None when it is
    personal data (never shown: the engine's PII rules decide).
    """

    field: str
    kind: str
    reason: str
    value: str | None = None


@dataclass(frozen=True)
class Patch:
    """Everything one vendor record says about one contact, in canonical terms."""

    source: str
    object: str
    record_id: str
    source_time: datetime | None = None  # the source's own modification time, else the record's arrival
    identities: tuple[IdentityRef, ...] = ()
    fields: tuple[tuple[str, Any], ...] = ()
    consent: tuple[tuple[str, bool], ...] = ()  # (purpose, granted): true granted, false withdrawn
    stage: str | None = None
    touchpoints: tuple[TouchpointData, ...] = ()
    activities: tuple[ActivityData, ...] = ()
    conversions: tuple[ConversionData, ...] = ()
    deleted: bool = False
    creates_contact: bool = True  # False: only adds to a contact its identities already name
    refusals: tuple[Refusal, ...] = ()  # values dropped from this patch, each a data-quality issue
    brand: str = DEFAULT_BRAND  # the brand owning the connection the record came through (sync.config.brands)
    # the namespace of its per_connection ids (sync.reconcile.identity.namespaced): the connection it came
    # through when a brand other than the default owns it; None: the default brand's, bare ids
    connection: str | None = None
    meta: tuple[tuple[str, Any], ...] = field(default=(), compare=False)

    @property
    def echo_system(self) -> str:
        """Whose echoes its values may be (``sync.crm.plan``): its connection's outbox destination."""
        return destination(self.source, self.connection)

    @property
    def field_map(self) -> dict[str, Any]:
        """Fields as a dict (last one wins if a mapping named a field twice)."""
        return dict(self.fields)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready view, used by ``lifesync mappings preview``."""

        def ts(value: datetime | None) -> str | None:
            return value.isoformat() if value else None

        return {
            "source": self.source,
            "object": self.object,
            "record_id": self.record_id,
            **({"brand": self.brand} if self.brand != DEFAULT_BRAND else {}),
            **({"connection": self.connection} if self.connection else {}),
            "source_time": ts(self.source_time),
            "deleted": self.deleted,
            "identities": [str(i) for i in self.identities],
            "fields": {k: v for k, v in self.fields},
            **({"consent": dict(self.consent)} if self.consent else {}),
            "stage": self.stage,
            "touchpoints": [
                {
                    "channel": t.channel,
                    "occurred_at": ts(t.occurred_at),
                    "network": t.network,
                    "campaign_id": t.campaign_id,
                    "adset_id": t.adset_id,
                    "ad_id": t.ad_id,
                    "click_ids": dict(t.click_ids),
                    "referral_url": t.referral_url,
                    "headline": t.headline,
                    "extra": dict(t.extra),
                }
                for t in self.touchpoints
            ],
            "activities": [
                {
                    "channel": a.channel,
                    "direction": a.direction,
                    "occurred_at": ts(a.occurred_at),
                    "external_id": a.external_id,
                    "conversation_id": a.conversation_id,
                }
                for a in self.activities
            ],
            "conversions": [
                {
                    "kind": c.kind,
                    "occurred_at": ts(c.occurred_at),
                    "value": c.value,
                    "currency": c.currency,
                    "order_id": c.order_id,
                    **({"adjust": c.adjust} if c.adjust else {}),
                }
                for c in self.conversions
            ],
            **({"refused_values": [{"field": r.field, "kind": r.kind, "reason": r.reason, "value": r.value}
                                   for r in self.refusals]} if self.refusals else {}),
        }
