"""HubSpot test helpers: vendor fixtures, a simulated clock, an in-memory token store, a tiny search portal."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import responses

from sync.connectors.hubspot.endpoints import Endpoints
from sync.connectors.hubspot.settings import HubSpotSettings
from sync.settings import Settings

BASE = "https://api.hubapi.com"
PATHS = Endpoints(HubSpotSettings().api_version)  # the paths of the default API version
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "hubspot_api"
PRIVATE_TOKEN = "pat-na1-11111111-2222-3333-4444-555555555555"
PROPERTIES = {"contacts": ["email", "firstname", "lastname", "lifecyclestage"],
              "deals": ["amount", "dealstage"]}
SEARCH_CAP = 10_000


def fixture(name: str) -> Any:
    """A vendor-shaped answer from tests/fixtures/hubspot_api."""
    return json.loads((FIXTURES / name).read_text())


def ms(text: str) -> int:
    """ISO text → epoch milliseconds."""
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


class SimClock:
    """A simulated clock: ``sleep`` records the wait and advances time instead of blocking."""

    def __init__(self, start: float = datetime(2026, 3, 1, 12, 0, tzinfo=UTC).timestamp()):
        self.now = start
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


class MemoryTokens:
    """The TokenStore protocol on a dict, recording every save."""

    def __init__(self, initial: dict[tuple[str, str], dict] | None = None):
        self.data = dict(initial or {})
        self.saves: list[tuple[str, str, dict]] = []

    def load(self, system: str, connection: str) -> dict | None:
        found = self.data.get((system, connection))
        return dict(found) if found else None

    def save(self, system: str, connection: str, data: dict) -> None:
        self.saves.append((system, connection, dict(data)))
        self.data[(system, connection)] = dict(data)


def settings_with(**env: str) -> Settings:
    return Settings.from_env({"DATABASE_URL": "sqlite://", **env})


def record(obj: str, record_id: int, modified: str, **properties: Any) -> dict[str, Any]:
    """A CRM v3 record as HubSpot returns it."""
    prop = "lastmodifieddate" if obj == "contacts" else "hs_lastmodifieddate"
    return {"id": str(record_id),
            "properties": {"hs_object_id": str(record_id), prop: modified, "createdate": "2026-01-01T00:00:00.000Z",
                           **properties},
            "createdAt": "2026-01-01T00:00:00.000Z", "updatedAt": modified, "archived": False}


class Portal:
    """A tiny HubSpot search endpoint over in-memory records, with the 10,000-result cap.

    Filters (GTE/LTE on dates in epoch ms and on ``hs_object_id``), the sort, ``limit`` ≤ 200 and
    ``after`` offsets behave as HubSpot's do; a request paging past 10,000 results gets HubSpot's
    400. ``bodies`` records every request body.
    """

    def __init__(self, obj: str, records: list[dict[str, Any]]):
        self.obj, self.records = obj, list(records)
        self.bodies: list[dict[str, Any]] = []
        self.refused = 0
        self._values: dict[tuple[str, str], int] = {}

    def install(self, mock: responses.RequestsMock) -> Portal:
        mock.add_callback(responses.POST, f"{BASE}{PATHS.search(self.obj)}", callback=self.search,
                          content_type="application/json")
        return self

    def _value(self, rec: dict[str, Any], prop: str) -> int:
        key = (rec["id"], prop)
        if key not in self._values:
            raw = rec["properties"][prop]
            self._values[key] = int(raw) if prop == "hs_object_id" else ms(raw)
        return self._values[key]

    def _keep(self, rec: dict[str, Any], filters: list[dict[str, Any]]) -> bool:
        for f in filters:
            value, bound = self._value(rec, f["propertyName"]), int(f["value"])
            if (f["operator"] == "GTE" and value < bound) or (f["operator"] == "LTE" and value > bound):
                return False
        return True

    def search(self, request):
        body = json.loads(request.body)
        self.bodies.append(body)
        limit, after = body.get("limit", 10), int(body.get("after") or 0)
        if limit > 200 or after + limit > SEARCH_CAP:
            self.refused += 1
            return 400, {}, json.dumps(fixture("search_past_cap_400.json"))
        groups = body.get("filterGroups") or [{"filters": []}]
        found = [r for r in self.records if any(self._keep(r, g["filters"]) for g in groups)]
        for sort in reversed(body.get("sorts") or []):
            found.sort(key=lambda r, p=sort["propertyName"]: self._value(r, p),
                       reverse=sort["direction"] == "DESCENDING")
        wanted = set(body.get("properties") or []) | {"hs_object_id", "createdate", "lastmodifieddate"}
        page = [{**r, "properties": {k: v for k, v in r["properties"].items() if k in wanted}}
                for r in found[after:after + limit]]
        answer: dict[str, Any] = {"total": len(found), "results": page}
        if after + limit < len(found):
            answer["paging"] = {"next": {"after": str(after + limit)}}
        return 200, {}, json.dumps(answer)
