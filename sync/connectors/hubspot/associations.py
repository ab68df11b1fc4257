"""Deal → contact associations for a page of deals, from one associations batch read.

Search results carry no associations and the deals mapping finds a deal's contact only under
``associations.contacts.results[].id``, so each page of deals costs one
``POST /crm/associations/2026-09/deals/contacts/batch/read`` (``/crm/v4/associations/…`` in the
legacy version; up to 1,000 ids; a page has at most 200). The answer is reshaped into the
CRM v3 form the mapping reads: one ``{"id", "type"}`` per associated contact, ``type`` being
``deal_to_contact`` for the unlabelled association or the label. A deal with more associations than one answer holds
carries ``paging.next.after``; those deals are read again with their ``after`` until done.
A deal with no associations comes back as a per-input error (207): it gets an empty list.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sync.connectors.hubspot.client import HubSpotApi

BATCH_READ_MAX = 1000


def _type_name(types: Iterable[Any], default: str) -> str:
    labels = [t.get("label") for t in types if isinstance(t, dict)]
    if any(label is None for label in labels) or not labels:
        return default  # the unlabelled (primary) association
    return str(labels[0])


def read_associations(api: HubSpotApi, from_type: str, to_type: str,
                      ids: list[str]) -> dict[str, list[dict[str, str]]]:
    """``{from id: [{"id": to id, "type": ...}]}`` for every id in ``ids`` (empty lists included)."""
    default = f"{from_type.removesuffix('s')}_to_{to_type.removesuffix('s')}"
    found: dict[str, list[dict[str, str]]] = {i: [] for i in ids}
    seen: dict[str, set[str]] = {i: set() for i in ids}
    inputs: list[dict[str, str]] = [{"id": i} for i in ids]
    while inputs:
        pending: list[dict[str, str]] = []
        for start in range(0, len(inputs), BATCH_READ_MAX):
            _, answer = api.post(api.paths.associations(from_type, to_type),
                                 {"inputs": inputs[start:start + BATCH_READ_MAX]})
            for result in answer.get("results") or []:
                source = str((result.get("from") or {}).get("id", ""))
                if source not in found:
                    continue
                for target in result.get("to") or []:
                    to_id = str(target.get("toObjectId", ""))
                    if to_id and to_id not in seen[source]:
                        seen[source].add(to_id)
                        found[source].append({"id": to_id,
                                              "type": _type_name(target.get("associationTypes") or [], default)})
                after = ((result.get("paging") or {}).get("next") or {}).get("after")
                if after:
                    pending.append({"id": source, "after": str(after)})
        inputs = pending
    return found
