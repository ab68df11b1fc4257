"""The members an audience destination is given, loaded from the canonical model in bulk.

The contact facts come from ``sync.attribution.loading.load_contacts`` — the loader the
conversion dispatchers use — so a contact's e-mails, phones, names, country, zip, identities
and consent read the same for an ad network's conversion and for its audience: two queries
per 5,000 contacts, whatever the segment's size.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sync.attribution.loading import load_contacts
from sync.segments.destinations.base import AudienceMember


def load_members(session: Any, contact_ids: Sequence[int]) -> dict[int, AudienceMember]:
    """``AudienceMember`` by contact id; a contact that no longer exists (erased, merged away) is left out."""
    return {cid: AudienceMember(contact_id=cid, emails=f.emails, phones=f.phones, first_name=f.first_name,
                                last_name=f.last_name, country=f.country, zip=f.zip, identities=f.identities,
                                consent=f.consent, state=f.state)
            for cid, f in load_contacts(session, contact_ids).items()}
