"""A local Salesforce: the REST, OAuth and Bulk 2.0 query endpoints lifesync uses, in memory.

``SalesforceSandbox`` holds the org (records, sessions, query cursors, bulk jobs, API usage) and
the test hooks that change it the way a person in Salesforce's UI would (not counted as API
calls, not refused for read-only fields). ``create_app(sandbox)`` serves it with Flask at paths
without the ``/salesforce`` mount prefix; the mounted base URL is both the login host and the
``instance_url``.

Rules the sandbox enforces, as Salesforce does: sessions (401 ``INVALID_SESSION_ID``), the
rolling 24-hour API request limit (403 ``REQUEST_LIMIT_EXCEEDED``, ``Sforce-Limit-Info`` on every
answer), SOQL validity and types, read-only fields, required fields, restricted picklists,
converted leads, 200-record collections, 300 for ambiguous external ids, replication windows.

Injected faults (``sync.sandbox.faults``) keep their status and take Salesforce's error shape:
5xx → ``UNKNOWN_EXCEPTION`` (500) or ``SERVER_UNAVAILABLE`` (others), 429 →
``REQUEST_LIMIT_EXCEEDED`` with ``Retry-After`` when the fault has one; OAuth paths answer
``{"error": "unknown_error", ...}``. Faulted requests do not count against the API limit.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sync.sandbox.faults import Faults
from sync.sandbox.salesforce.app import create_app
from sync.sandbox.salesforce.auth import Credentials, Sessions
from sync.sandbox.salesforce.bulk import BulkQueries
from sync.sandbox.salesforce.people import seed_records
from sync.sandbox.salesforce.query import QueryEngine
from sync.sandbox.salesforce.records import ApiError, RecordStore
from sync.sandbox.salesforce.schema import OBJECT_NAMES, from_epoch

USAGE_WINDOW_SECONDS = 24 * 3600

__all__ = ["ApiError", "SalesforceSandbox", "create_app"]


class SalesforceSandbox:
    """An in-memory Salesforce org; thread-safe (one re-entrant lock guards all state)."""

    CLIENT_ID = "sandbox-consumer-key"
    CLIENT_SECRET = "sandbox-consumer-secret"  # noqa: S105 - a fixed, public sandbox credential
    REFRESH_TOKEN = "sandbox-refresh-token"  # noqa: S105
    USERNAME = "integration@sandbox.example"

    def __init__(self, *, daily_limit: int = 100_000, access_token_ttl: int = 7200,
                 rotate_refresh_tokens: bool = False, jwt_public_keys: dict[str, str] | None = None,
                 query_batch_size: int = 2000, faults: Faults | None = None,
                 clock: Callable[[], float] = time.time, seed: int = 42, base_url: str = "") -> None:
        self.lock = threading.RLock()
        self.daily_limit, self.query_batch_size = daily_limit, query_batch_size
        self.faults = faults or Faults()
        self.clock, self.seed, self.base_url = clock, seed, base_url.rstrip("/")
        rng = random.Random(seed)
        self.store = RecordStore(clock)
        credentials = Credentials(self.CLIENT_ID, self.CLIENT_SECRET, self.REFRESH_TOKEN, self.USERNAME,
                                  dict(jwt_public_keys or {}))
        self.sessions = Sessions(credentials, clock=clock, ttl=access_token_ttl, rotate=rotate_refresh_tokens,
                                 rng=rng)
        self.queries = QueryEngine(self.store, clock, rng)
        self.bulk = BulkQueries(self.queries, rng)
        self.calls: Counter[str] = Counter()
        self.api_calls = 0
        self._usage: deque[float] = deque()

    @classmethod
    def seeded(cls, leads: int = 0, contacts: int = 0, opportunities: int = 0, *, seed: int = 42,
               **kw: Any) -> SalesforceSandbox:
        """A sandbox with synthetic records modified over the last 30 days (opportunities on seeded contacts)."""
        sandbox = cls(seed=seed, **kw)
        with sandbox.lock:
            seed_records(sandbox.store, leads=leads, contacts=contacts, opportunities=opportunities, seed=seed,
                         now=sandbox.store.now())
        return sandbox

    # --- test hooks (not API calls) -------------------------------------------------------

    @staticmethod
    def _object(sobject: str) -> str:
        name = OBJECT_NAMES.get(sobject.lower())
        if name is None:
            raise ValueError(f"unknown sobject {sobject!r}; the sandbox has {sorted(OBJECT_NAMES.values())}")
        return name

    def insert(self, sobject: str, fields: dict[str, Any], *, modstamp: datetime | None = None) -> str:
        """Create a record as a user would (values checked, read-only fields allowed); returns its 18-char id."""
        with self.lock:
            return self.store.create(self._object(sobject), fields, at=modstamp, api=False)

    def update(self, sobject: str, id: str, fields: dict[str, Any], *,
               modstamp: datetime | None = None) -> None:
        """Change a record as a user would; bumps LastModifiedDate/SystemModstamp to ``modstamp`` or now."""
        with self.lock:
            self.store.update(self._object(sobject), id, fields, at=modstamp, api=False)

    def delete(self, sobject: str, id: str, *, at: datetime | None = None) -> None:
        """Soft delete: IsDeleted true, visible to queryAll and ``/deleted``."""
        with self.lock:
            self.store.delete(self._object(sobject), id, at=at, api=False)

    def convert_lead(self, lead_id: str, *, at: datetime | None = None) -> str:
        """Convert a lead; links the live contact with the lead's e-mail, or creates one and an account.

        Sets IsConverted, ConvertedContactId, ConvertedAccountId, ConvertedDate and Status
        "Closed - Converted" (no opportunity), and copies Lifesync_Id__c to a new contact (a lead
        field mapping); returns the contact id.
        """
        with self.lock:
            return self.store.convert_lead(lead_id, at=at)

    def get(self, sobject: str, id: str) -> dict[str, Any]:
        """A copy of a stored record (deleted ones too), with ``LastModifiedByClient``; KeyError if absent."""
        with self.lock:
            row = self.store.row(self._object(sobject), id, deleted=True)
            if row is None:
                raise KeyError(f"no {sobject} with id {id}")
            return dict(row)

    def records(self, sobject: str, *, deleted: bool = False) -> list[dict[str, Any]]:
        """Copies of the live records of an object (soft-deleted ones too when ``deleted``), oldest first."""
        with self.lock:
            return [dict(r) for r in self.store.rows[self._object(sobject)].values() if deleted or not r["IsDeleted"]]

    def issue_token(self) -> str:
        """A valid access token without the OAuth dance (for tests and tools)."""
        with self.lock:
            return self.sessions.issue()

    def expire_sessions(self) -> None:
        """End every session: the next API call answers 401 ``INVALID_SESSION_ID``."""
        with self.lock:
            self.sessions.expire_all()

    @property
    def writes(self) -> list[dict[str, Any]]:
        """Every API write: op, sobject, id, fields (as sent, canonical names), client, at."""
        return self.store.writes

    @property
    def refresh_tokens(self) -> set[str]:
        """The refresh tokens currently accepted (one; a new one after each rotation)."""
        return self.sessions.refresh_tokens

    # --- accounting -----------------------------------------------------------------------

    def now(self) -> datetime:
        """The sandbox clock as a Salesforce timestamp."""
        return from_epoch(self.clock())

    def api_usage(self) -> int:
        """API requests counted in the rolling 24 hours."""
        with self.lock:
            horizon = self.clock() - USAGE_WINDOW_SECONDS
            while self._usage and self._usage[0] <= horizon:
                self._usage.popleft()
            return len(self._usage)

    def limit_info(self) -> str:
        """The ``Sforce-Limit-Info`` header value."""
        return f"api-usage={self.api_usage()}/{self.daily_limit}"

    def count_call(self, key: str) -> None:
        """Count one API request (refusing it with 403 once the daily limit is used up)."""
        with self.lock:
            if self.api_usage() >= self.daily_limit:
                raise ApiError(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
            self._usage.append(self.clock())
            self.api_calls += 1
            self.calls[key] += 1

    def use_quota(self, requests: int) -> None:
        """Pretend other apps made ``requests`` API calls just now (they count against the same limit)."""
        with self.lock:
            self._usage.extend([self.clock()] * requests)

    def window_start(self, days: int) -> datetime:
        """The earliest moment a replication call may ask about (``days`` before now, to the minute)."""
        return (self.now() - timedelta(days=days)).replace(second=0)
