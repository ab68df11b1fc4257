"""Stage write-back: which systems hear about a stage lifesync decided, and how to address them.

When a contact's current stage (its lost stage while lost) changes, ``stage_outbox_rows``
makes one outbox row per enabled target, in the same transaction as the change (see
``sync.persist``). A target that itself reported the change is not told again, and the
idempotency key (contact, history length, stage) makes a replayed batch add nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sync.patch import IdentityRef
from sync.settings import Settings


@dataclass(frozen=True)
class PushTarget:
    """A system lifesync writes stages to: how it is enabled and how a contact is addressed."""

    system: str
    token_setting: tuple[str, str]  # (platform, name) of the connection setting that enables it
    identity_kinds: tuple[str, ...]  # kinds that address a contact there, best first
    formats: tuple[tuple[str, str], ...]  # kind -> identifier template

    def identifier(self, identities: Iterable[IdentityRef]) -> str | None:
        """How this system names the contact, from the best identity it has; None if none."""
        refs = sorted(identities)
        for kind in self.identity_kinds:
            for ref in refs:
                if ref.kind == kind:
                    return dict(self.formats)[kind].format(value=ref.value)
        return None


TARGETS: dict[str, PushTarget] = {
    "respondio": PushTarget("respondio", ("respondio", "api_token"), ("respondio", "email", "phone"),
                            (("respondio", "id:{value}"), ("email", "email:{value}"), ("phone", "phone:{value}"))),
}


# CRMs (sync.crmpush) are written to when any of their credentials is configured
CRM_CREDENTIALS: dict[str, tuple[tuple[str, str], ...]] = {
    "hubspot": (("hubspot", "token"), ("hubspot", "refresh_token")),
    "salesforce": (("salesforce", "client_id"),),
}


def enabled_targets(settings: Settings) -> frozenset[str]:
    """Systems whose write-back credentials are configured (default connection)."""
    stage = {name for name, t in TARGETS.items() if settings.connection_setting(*t.token_setting)}
    crm = {name for name, keys in CRM_CREDENTIALS.items() if any(settings.connection_setting(*k) for k in keys)}
    return frozenset(stage | crm)


def stage_outbox_rows(contact_id: int, stage: str | None, history_length: int, last_source: str | None,
                      identities: Iterable[IdentityRef], targets: Iterable[str]) -> list[dict[str, Any]]:
    """Outbox rows telling ``targets`` a contact's new stage (none for the system that reported it)."""
    if stage is None:
        return []
    identities = list(identities)
    rows = []
    for name in sorted(set(targets) & set(TARGETS)):  # CRMs get their stage through sync.crmpush
        target = TARGETS[name]
        identifier = target.identifier(identities)
        if name == last_source or identifier is None:
            continue
        rows.append({"idempotency_key": f"stage:{name}:{contact_id}:{history_length}:{stage}"[:128],
                     "kind": "stage", "destination": name, "contact_id": contact_id,
                     "payload": {"identifier": identifier, "stage": stage}})
    return rows
