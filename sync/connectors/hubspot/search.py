"""One incremental page from the CRM search API, paged by record id so the 10,000-result cap never bites.

``POST /crm/objects/2026-09/{type}/search`` (``/crm/v3/objects/{type}/search`` in the legacy
version; ``HubSpotApi.search``, paced at HubSpot's 4 searches per second per token) with one
filter group::

    {modified} GTE bookmark - lookback   AND   {modified} LTE run start   AND   hs_object_id GTE id_floor

sorted by ``hs_object_id`` ASCENDING, ``limit`` 200. ``{modified}`` is ``lastmodifieddate`` for
contacts and ``hs_lastmodifieddate`` for other objects; bounds are epoch milliseconds.

Search pages by an ``after`` offset into the result set and answers 400 once a query pages
past 10,000 results; peers then reset ``after`` and raise ``id_floor`` to the last id + 1 just
before the cap. This module does that on *every* page (``after`` is never sent): the next
page is the same query with ``id_floor`` = the page's highest id + 1. Besides never reaching
the cap, that keeps paging correct while records change during the run: a record edited
after the run started leaves the result set (its new modification time is past the upper
bound), which shifts every later offset down by one, so offset paging would silently skip a
record at the next page boundary; an id floor does not move. Records sharing one timestamp,
however many, are read once each and the loop ends because the floor only rises.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sync.connectors.hubspot.client import HubSpotApi
from sync.errors import PermanentError

SEARCH_LIMIT = 200  # HubSpot's maximum page size for search
RESULT_CAP = 10_000  # results one search query can page through
ID_PROPERTY = "hs_object_id"


def modified_property(obj: str) -> str:
    """The property holding a record's last modification time."""
    return "lastmodifieddate" if obj == "contacts" else "hs_lastmodifieddate"


def epoch_ms(when: datetime) -> str:
    """``when`` as the epoch-milliseconds text HubSpot filters take."""
    return str(int(when.timestamp() * 1000))


def search_body(obj: str, properties: Sequence[str], *, since: datetime, until: datetime,
                id_floor: int) -> dict[str, Any]:
    """The search request for records of ``obj`` modified in [since, until] with ids ≥ ``id_floor``."""
    modified = modified_property(obj)
    return {
        "filterGroups": [{"filters": [
            {"propertyName": modified, "operator": "GTE", "value": epoch_ms(since)},
            {"propertyName": modified, "operator": "LTE", "value": epoch_ms(until)},
            {"propertyName": ID_PROPERTY, "operator": "GTE", "value": str(id_floor)},
        ]}],
        "sorts": [{"propertyName": ID_PROPERTY, "direction": "ASCENDING"}],
        "properties": list(properties),
        "limit": SEARCH_LIMIT,
    }


def search_page(api: HubSpotApi, obj: str, properties: Sequence[str], *, since: datetime, until: datetime,
                id_floor: int) -> tuple[list[dict[str, Any]], int | None]:
    """One page of changed records and the next page's id floor (None when this was the last page)."""
    body = search_body(obj, properties, since=since, until=until, id_floor=id_floor)
    answer = api.search(obj, body)
    results = [r for r in answer.get("results") or [] if isinstance(r, dict) and r.get("id") is not None]
    more = bool(((answer.get("paging") or {}).get("next") or {}).get("after"))
    if not results or not more:
        return results, None
    highest = max(int(r["id"]) for r in results)
    if highest < id_floor:  # the floor must rise or the loop would never end
        raise PermanentError(f"HubSpot search answered ids below the requested floor {id_floor}")
    return results, highest + 1
