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


def add_twin(store: Store, config: LifecycleConfig) -> tuple[int, int]:
    """A second HubSpot contact for the first contact holding a HubSpot id and an e-mail, with that e-mail in
    upper case (a blocked merge, as the demo makes them); (the contact, its twin)."""
    from datetime import timedelta

    from sqlalchemy import select

    from sync.reconcile.patch import Patch
    from sync.store import model

    i = model.Identity
    with store.transaction() as s:
        hubspot = select(i.contact_id).where(i.kind == "hubspot")
        contact, email = s.execute(select(i.contact_id, i.value).where(i.kind == "email", i.contact_id.in_(hubspot))
                                   .order_by(i.contact_id).limit(1)).one()
    twin = Patch(source="hubspot", object="contacts", record_id="twin-1",
                 source_time=model.utcnow() - timedelta(hours=1),
                 identities=(IdentityRef("hubspot", "twin-1"), IdentityRef("email", email.upper())),
                 fields=(("email", email.upper()), ("first_name", "Twin")))
    assert ingest_patches(store, config, [(twin, None)]).dead_lettered == 0
    with store.transaction() as s:
        return contact, find_contact(s, IdentityRef("hubspot", "twin-1"))


def remove_contact(store: Store, contact_id: int) -> None:
    """Delete a contact a test added and every row of it (its stage history counted out of the funnel)."""
    from sqlalchemy import delete, or_

    from sync.ingest import funnel_counts
    from sync.ingest.persist import delete_transitions
    from sync.store import model

    with store.transaction() as s:
        funnel_counts.record(s, delete_transitions(s, [contact_id]), [])
        for entity in (model.FieldValue, model.StageSignal, model.ConflictLog):
            s.execute(delete(entity).where(entity.contact_id == contact_id))
        m, p = model.MergeLog, model.DuplicatePair
        s.execute(delete(m).where(or_(m.kept_contact_id == contact_id, m.merged_contact_id == contact_id)))
        s.execute(delete(p).where(or_(p.contact_a == contact_id, p.contact_b == contact_id)))
        s.execute(delete(model.Contact).where(model.Contact.id == contact_id))
