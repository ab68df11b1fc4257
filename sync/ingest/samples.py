"""The last record a connection delivered for a contact: a real sample to preview a mapping with.

Webhook bodies are kept in the inbox (``raw_events``), one record per row. A record is the
contact's when one of the identities its mapping reads (cleaned as identity resolution cleans
them) is one of the contact's: the newest inbox rows (of the source, when given) are mapped,
newest first, until one is — at most ``SCAN`` rows, so the search stays bounded on a busy
inbox. Records pulled from a CRM are not kept (the CRM holds them); their contacts have no
sample here, and the answer says so.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from sync.errors import NotFound, RecordError
from sync.mappings.engine import apply as apply_mapping
from sync.reconcile.identity import clean
from sync.reconcile.patch import IdentityRef
from sync.store import model
from sync.store.engine import Store

if TYPE_CHECKING:
    from sync.config import Config

SCAN = 2000


def last_record(store: Store, config: Config, contact_id: int, source: str | None = None,
                object: str | None = None) -> dict[str, Any]:
    """The newest kept record of ``contact_id`` (from ``source`` and of ``object`` when given): source, object,
    connection, record. A preview names both: a WhatsApp status (an agent's reply delivered) is no message.
    """
    with store.sessions() as session:
        if session.get(model.Contact, contact_id) is None:
            raise NotFound(f"no contact with id {contact_id}")
        ident = model.Identity
        owned = {IdentityRef(kind, value) for kind, value in session.execute(
            select(ident.kind, ident.value).where(ident.contact_id == contact_id))}
        raw = model.RawEvent
        query = select(raw.id, raw.source, raw.object, raw.connection, raw.received_at, raw.body)
        if source is not None:
            query = query.where(raw.source == source)
        if object is not None:
            query = query.where(raw.object == object)
        rows = session.execute(query.order_by(raw.id.desc()).limit(SCAN)).all()
    for _, src, obj, connection, received_at, body in rows:
        mapping = config.mappings.get((src, obj))
        if mapping is None:
            continue
        try:
            record = json.loads(body)
            refs = clean(apply_mapping(mapping, record).identities, config.lifecycle)
        except (ValueError, RecordError):
            continue
        if owned.intersection(refs):
            return {"source": src, "object": obj, "connection": connection, "received_at": received_at,
                    "record": record}
    where = (f" from {source}" if source else "") + (f" of object {object}" if object else "")
    raise NotFound(f"no record{where} of contact {contact_id} is kept: lifesync keeps webhook deliveries "
                   f"(the newest {SCAN:,} per source are searched), not records pulled from a CRM; paste one instead")
