"""Suspected duplicates for the review tests: the demo's case of two HubSpot contacts sharing one e-mail."""

from __future__ import annotations

from support.lifecycle_fixtures import patch
from sync.config.types import LifecycleConfig
from sync.ingest.pipeline import ingest_patches
from sync.reconcile.patch import IdentityRef
from sync.reports.export import find_contact
from sync.store.engine import Store


def hubspot_twins(store: Store, config: LifecycleConfig, n: int) -> list[tuple[int, int]]:
    """``n`` people each with a second, later HubSpot contact whose e-mail is the first one's in another
    case (the identity rules refuse to merge them: two HubSpot ids); their contact ids, in pairs."""
    patches = []
    for k in range(n):
        email, phone = f"Person{k}@Example.com", f"+3460000{k:04d}"
        patches += [patch("hubspot", f"h{k}", [f"hubspot:h{k}", f"email:{email}", f"phone:{phone}"],
                          email=email.lower(), phone=phone, first_name=f"P{k}", city="Madrid"),
                    patch("hubspot", f"d{k}", [f"hubspot:d{k}", f"email:{email.upper()}", f"phone:{phone}"],
                          minutes=5, email=email.upper(), phone=phone, first_name=f"Q{k}")]
    result = ingest_patches(store, config, [(p, None) for p in patches])
    assert result.dead_lettered == 0
    with store.transaction() as s:
        return [(find_contact(s, IdentityRef("hubspot", f"h{k}")), find_contact(s, IdentityRef("hubspot", f"d{k}")))
                for k in range(n)]
