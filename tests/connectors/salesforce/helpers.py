"""Vendor-shaped Salesforce responses for the connector tests (fixtures under tests/fixtures/salesforce_api/)."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import responses
from responses import matchers

from sync.settings import Settings

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "salesforce_api"
LOGIN = "https://login.salesforce.com"
TOKEN_URL = f"{LOGIN}/services/oauth2/token"
INSTANCE = "https://acme.my.salesforce.com"
DATA = f"{INSTANCE}/services/data/v61.0"
QUERY_ALL = f"{DATA}/queryAll"
STORED_TOKEN = "00D5g000004Xk2E!AQ0AQStored.session.token.9e8d7c"
NOW = datetime(2026, 11, 27, 10, 0, 0, tzinfo=UTC)
FIELDS = {"Lead": ["FirstName", "Email"], "Contact": ["Email", "Account.Name"], "Opportunity": ["StageName"]}
LEAD_FIELDS = "Id, SystemModstamp, IsDeleted, IsConverted, ConvertedContactId, FirstName, Email"
CONTACT_FIELDS = "Id, SystemModstamp, IsDeleted, Email, Account.Name"


STAMP = "2026-11-27T09:58:00.000+0000"  # a lead's SystemModstamp just before NOW


def window(since: str | None, until: str = "2026-11-27T10:00:00Z", after: tuple[str, str] | None = None) -> str:
    """The WHERE clause of an incremental query: the time window, and where a resumed run restarts."""
    parts = [f"SystemModstamp >= {since}"] if since else []
    parts.append(f"SystemModstamp <= {until}")
    if after:
        parts.append(f"(SystemModstamp > {after[0]} OR (SystemModstamp = {after[0]} AND Id > '{after[1]}'))")
    return " AND ".join(parts)


def lead_soql(since: str | None, until: str = "2026-11-27T10:00:00Z", after: tuple[str, str] | None = None) -> str:
    """The SOQL of a Lead pull over ``window(since, until, after)``."""
    return f"SELECT {LEAD_FIELDS} FROM Lead WHERE {window(since, until, after)} ORDER BY SystemModstamp, Id"


def load(name: str) -> Any:
    """A fixture file: JSON decoded, anything else as text."""
    text = (FIXTURES / name).read_text()
    return json.loads(text) if name.endswith(".json") else text


def settings(**values: str) -> Settings:
    """Settings with the given ``LIFESYNC_SALESFORCE_<NAME>`` values (refresh-token flow by default)."""
    env = {"LIFESYNC_SALESFORCE_CLIENT_ID": "3MVG9client.id", "LIFESYNC_SALESFORCE_CLIENT_SECRET": "cs-7f3c9a",
           "LIFESYNC_SALESFORCE_REFRESH_TOKEN": "5Aep861env.refresh.token"}
    env.update({f"LIFESYNC_SALESFORCE_{k.upper()}": v for k, v in values.items()})
    return Settings.from_env({k: v for k, v in env.items() if v})


class MemoryTokens:
    """An in-memory TokenStore (the real one is encrypted in the database)."""

    def __init__(self, data: dict[tuple[str, str], dict[str, Any]] | None = None):
        self.data = dict(data or {})
        self.saves: list[dict[str, Any]] = []

    def load(self, system: str, connection: str) -> dict[str, Any] | None:
        found = self.data.get((system, connection))
        return dict(found) if found is not None else None

    def save(self, system: str, connection: str, data: dict[str, Any]) -> None:
        self.data[(system, connection)] = dict(data)
        self.saves.append(dict(data))


def stored_session() -> MemoryTokens:
    """A token store holding a live session, so a test needs no login call."""
    return MemoryTokens({("salesforce", "default"): {"access_token": STORED_TOKEN, "instance_url": INSTANCE,
                                                     "issued_at": 1795770000000}})


def usage(used: int, limit: int = 100_000) -> dict[str, str]:
    """The ``Sforce-Limit-Info`` header every Salesforce response carries."""
    return {"Sforce-Limit-Info": f"api-usage={used}/{limit}"}


def describe(mock: responses.RequestsMock, *objects: str, used: int = 1, limit: int = 100_000) -> None:
    """Register the describe of each object (the puller checks mapping fields against it)."""
    for obj in objects:
        mock.add(responses.GET, f"{DATA}/sobjects/{obj}/describe", json=load(f"describe_{obj.lower()}.json"),
                 headers=usage(used, limit))


def lead(n: int, stamp: str = "2026-11-27T09:58:00.000+0000", **extra: Any) -> dict[str, Any]:
    """A REST Lead record (with ``attributes``) numbered ``n``: ids sort in number order."""
    lead_id = f"00Q5g0000{n:09d}"
    return {"attributes": {"type": "Lead", "url": f"/services/data/v61.0/sobjects/Lead/{lead_id}"},
            "Id": lead_id, "SystemModstamp": stamp, "IsDeleted": False, "IsConverted": False,
            "ConvertedContactId": None, "FirstName": f"Lead{n}", "Email": None, **extra}


def query(mock: responses.RequestsMock, soql: str | None, records: list[dict[str, Any]], *,
          next_url: str | None = None, url: str = QUERY_ALL, used: int = 10, limit: int = 100_000) -> None:
    """One REST query response (``soql`` None: a ``nextRecordsUrl`` page at ``url``)."""
    body: dict[str, Any] = {"totalSize": len(records), "done": next_url is None, "records": copy.deepcopy(records)}
    if next_url:
        body["nextRecordsUrl"] = next_url
    match = [matchers.query_param_matcher({"q": soql})] if soql is not None else []
    mock.add(responses.GET, url, json=body, match=match, headers=usage(used, limit))


def locator_url(n: int) -> str:
    """The ``nextRecordsUrl`` of the n-th following page."""
    return f"/services/data/v61.0/query/01g5g00000Ab1CdAAJ-{2000 * n}"
