"""Stage write-back: which systems hear about a stage lifesync decided, and how to address them.

When a contact's current stage (its lost stage while lost) changes, ``stage_outbox_rows``
makes one outbox row per enabled target, in the same transaction as the change (see
``sync.ingest.persist``). A target that itself reported the change is not told again, and the
idempotency key (contact, history length, stage) makes a replayed batch add nothing.

**Brands** (``sync.config.brands``): a target's connection brands.yaml gives to a brand
(``connections: [respondio:lumen]``) is a destination of its own, ``respondio/lumen``, told
that brand's stage of the contact (``BrandConnection``); the default connection is told the
default brand's. Each connection addresses a contact by the system's own id of *its* namespace
(``sync.reconcile.identity.in_namespace``: a brand's workspace's ids are stored as ``lumen:<id>``,
the default connection's bare), never by another workspace's, else by e-mail or phone.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sync.config.brands import DEFAULT_BRAND, Brands
from sync.outbox.rows import stage_row
from sync.reconcile.identity import in_namespace
from sync.reconcile.patch import IdentityRef, destination
from sync.settings import Settings

if TYPE_CHECKING:
    from sync.config import Config


@dataclass(frozen=True)
class BrandConnection:
    """A stage write-back connection brands.yaml gives to a brand other than the default one."""

    system: str  # a key of TARGETS
    connection: str
    brand: str

    @property
    def destination(self) -> str:
        """Its outbox destination: ``<system>/<connection>``."""
        return f"{self.system}/{self.connection}"


def brand_connections(settings: Settings, brands: Brands) -> tuple[BrandConnection, ...]:
    """The stage targets' connections with credentials that a brand other than the default one owns."""
    return tuple(BrandConnection(name, c, brands.brand_of(name, c)) for name, target in sorted(TARGETS.items())
                 for c in settings.connections(*target.token_setting)
                 if c != "default" and brands.brand_of(name, c) != DEFAULT_BRAND)


@dataclass(frozen=True)
class PushTarget:
    """A system lifesync writes stages to: how it is enabled and how a contact is addressed."""

    system: str
    token_setting: tuple[str, str]  # (platform, name) of the connection setting that enables it
    identity_kinds: tuple[str, ...]  # kinds that address a contact there, best first
    formats: tuple[tuple[str, str], ...]  # kind -> identifier template
    sender: str  # "module:function(settings, config)" building the sender (imported only when dispatching)

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
                            (("respondio", "id:{value}"), ("email", "email:{value}"), ("phone", "phone:{value}")),
                            "sync.connectors.respondio.writeback:stage_sender"),
}


# CRMs (sync.crm.plan) are written to when any of their credentials is configured
CRM_CREDENTIALS: dict[str, tuple[tuple[str, str], ...]] = {
    "hubspot": (("hubspot", "token"), ("hubspot", "refresh_token")),
    "salesforce": (("salesforce", "client_id"),),
}


def configured_connections(settings: Settings, system: str) -> list[str]:
    """Connections of the CRM ``system`` with credentials set (``default`` first when it has them)."""
    found: list[str] = []
    for platform, name in CRM_CREDENTIALS[system]:
        found += [c for c in settings.connections(platform, name) if c not in found]
    return found


def enabled_targets(settings: Settings) -> frozenset[str]:
    """Systems whose write-back credentials are configured (default connection)."""
    stage = {name for name, t in TARGETS.items() if settings.connection_setting(*t.token_setting)}
    crm = {name for name, keys in CRM_CREDENTIALS.items() if any(settings.connection_setting(*k) for k in keys)}
    return frozenset(stage | crm)


def stage_outbox_rows(contact_id: int, stage: str | None, history_length: int, last_source: str | None,
                      identities: Iterable[IdentityRef], targets: Iterable[str],
                      connection: str = "default") -> list[dict[str, Any]]:
    """Outbox rows telling ``targets`` (their ``connection``) a contact's new stage (none for the system that
    reported it).
    """
    if stage is None:
        return []
    identities = list(identities)
    rows = []
    for name in sorted(set(targets) & set(TARGETS)):  # CRMs get their stage through sync.crm.plan
        target = TARGETS[name]
        identifier = target.identifier(_own(identities, name, connection))
        if name == last_source or identifier is None:
            continue
        rows.append(stage_row(destination(name, connection), contact_id, history_length, stage, identifier))
    return rows


def _own(identities: list[IdentityRef], system: str, connection: str) -> list[IdentityRef]:
    """``identities`` with the system's own ids of ``connection`` only, as the system knows them."""
    namespace = None if connection == "default" else connection
    own = []
    for ref in identities:
        if ref.kind != system:
            own.append(ref)
        elif (bare := in_namespace(ref.value, namespace)) is not None:
            own.append(IdentityRef(ref.kind, bare))
    return own


def stage_sender(destination: str, settings: Settings,
                 config: Config | None = None) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """The sender ``sync.outbox.stage_dispatch`` gives a stage target's items to, built from settings
    (``respondio`` or a brand's connection, ``respondio/lumen``).

    ``config``: the active configuration (its mappings say what the target's fields are called);
    None loads the files of the settings' config directory.
    """
    system, _, connection = destination.partition("/")
    if system not in TARGETS:
        raise ValueError(f"no stage write-back target {destination!r}; known: {', '.join(sorted(TARGETS))}")
    module, _, function = TARGETS[system].sender.partition(":")
    return getattr(importlib.import_module(module), function)(settings, config, connection or "default")
