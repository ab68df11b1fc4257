"""Builders for reconciliation tests: a lifecycle config and canonical patches."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sync.config.types import (
    FieldRule,
    IdentityKind,
    LifecycleConfig,
    LostStageDef,
    StageDef,
    TransitionRule,
)
from sync.reconcile.patch import IdentityRef, Patch

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def make_config(**overrides) -> LifecycleConfig:
    base = dict(
        stages=(StageDef("New Lead", "acquisition"), StageDef("Hot Lead", "acquisition"),
                StageDef("Payment", "conversion"), StageDef("Customer", "retention")),
        lost_stages=(LostStageDef("Cold Lead"), LostStageDef("Unqualified"), LostStageDef("Lost to competitor")),
        transitions=(TransitionRule("reactivate", ("Cold Lead",), on="inbound_message", to="New Lead"),),
        field_rules=(
            ("email", FieldRule("priority", ("salesforce", "hubspot"))),
            ("first_name", FieldRule("prefer", ("salesforce",))),
            ("lead_source", FieldRule("first")),
            ("score", FieldRule("max")),
            ("lowest", FieldRule("min")),
        ),
        identity_kinds=(
            IdentityKind("salesforce", exclusive=True, priority=1),
            IdentityKind("hubspot", exclusive=True, priority=3),
            IdentityKind("whatsapp", exclusive=True, priority=5),
            IdentityKind("email", priority=10),
            IdentityKind("phone", priority=11, no_merge_if_different=("email",)),
        ),
    )
    base.update(overrides)
    return LifecycleConfig(**base)


def patch(source: str, record: str, ids: list[str], *, minutes: int = 0, stage: str | None = None,
          **fields) -> Patch:
    return Patch(source=source, object="contacts", record_id=record,
                 source_time=T0 + timedelta(minutes=minutes),
                 identities=tuple(IdentityRef.parse(i) for i in ids),
                 fields=tuple(sorted(fields.items())), stage=stage)
