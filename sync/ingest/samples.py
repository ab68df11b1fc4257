"""The last record a connection delivered for a contact: a real sample to preview a mapping with.

Webhook bodies are kept in the inbox (``raw_events``), one record per row. A contact's records
are recognised by the record ids its field values and stage signals came from (the mapping's
``record_id`` of each record): the newest inbox rows of the source are mapped, newest first,
until one carries such an id — at most ``SCAN`` rows, so the search stays bounded on a busy
inbox. Records pulled from a CRM are not kept (the CRM holds them); their contacts have no
sample here, and the answer says so.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from sync.errors import NotFound, RecordError
from sync.mappings.engine import apply as apply_mapping
from sync.store import model
from sync.store.engine import Store

if TYPE_CHECKING:
    from sync.config import Config

SCAN = 2000


def _record_ids(session: Any, contact_id: int, source: str | None) -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    fv = model.FieldValue
    query = select(fv.source, fv.record_id).where(fv.contact_id == contact_id, fv.record_id.is_not(None))
    for src, rid in session.execute(query if source is None else query.where(fv.source == source)):
        found.add((src, rid))
    return found


def last_record(store: Store, config: Config, contact_id: int, source: str | None = None) -> dict[str, Any]:
    """The newest kept record of ``contact_id`` (from ``source`` when given): source, object, connection, record."""
    with store.sessions() as session:
        if session.get(model.Contact, contact_id) is None:
            raise NotFound(f"no contact with id {contact_id}")
        wanted = _record_ids(session, contact_id, source)
        sources = sorted({src for src, _ in wanted})
        raw = model.RawEvent
        rows = session.execute(
            select(raw.id, raw.source, raw.object, raw.connection, raw.received_at, raw.body)
            .where(raw.source.in_(sources)).order_by(raw.id.desc()).limit(SCAN)).all() if sources else []
    for _, src, obj, connection, received_at, body in rows:
        mapping = config.mappings.get((src, obj))
        if mapping is None:
            continue
        try:
            record = json.loads(body)
            patch = apply_mapping(mapping, record)
        except (ValueError, RecordError):
            continue
        if (src, patch.record_id) in wanted:
            return {"source": src, "object": obj, "connection": connection, "received_at": received_at,
                    "record": record}
    where = f" from {source}" if source else ""
    raise NotFound(f"no record{where} of contact {contact_id} is kept: lifesync keeps webhook deliveries "
                   f"(the newest {SCAN:,} per source are searched), not records pulled from a CRM; paste one instead")
