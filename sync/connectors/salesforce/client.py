"""The Salesforce REST client: the org's instance URL, Salesforce's error codes, and the API quota.

``SalesforceClient`` is an ``HttpClient`` (tenacity retries, the shared error table) aimed at
the ``instance_url`` the login returned, with Salesforce's array error bodies
``[{"message", "errorCode", "fields"}]`` (read by ``sync.connectors.salesforce.errors``) classified
by code:

    REQUEST_LIMIT_EXCEEDED (403)       the org's rolling 24 h API limit is spent: ``ApiLimitExceeded``
                                       (a RateLimited that is not retried in the job; the puller
                                       turns it into ``QuotaReached``)
    INVALID_SESSION_ID (401)           re-authenticate once, then retry once
    SERVER_UNAVAILABLE (503), UNABLE_TO_LOCK_ROW   retried with backoff
    MALFORMED_QUERY, INVALID_FIELD ... permanent, with Salesforce's message
    INVALID_QUERY_LOCATOR              a ``nextRecordsUrl`` expired: ``QueryLocatorExpired``

Every response's ``Sforce-Limit-Info: api-usage=used/limit`` feeds ``Quota`` (this run's share
of the daily limit, measured from the usage seen at the run's first call) and, when Redis is
configured, the ``TokenBucket`` all workers share. Every write carries
``Sforce-Call-Options: client=lifesync`` so Change Data Capture and audit fields can tell our
own writes apart (echo suppression).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import requests

from sync.connectors.crm import SyncStats
from sync.connectors.salesforce.auth import SalesforceAuth
from sync.connectors.salesforce.errors import read_error
from sync.errors import AuthError, PermanentError, RateLimited, TransientError, ValidationError
from sync.http import Action, HttpClient, RetryPolicy, Rule, make_session
from sync.http.retry import Limiter

VENDOR = "Salesforce"
DEFAULT_API_VERSION = "v61.0"
CALL_OPTIONS = {"Sforce-Call-Options": "client=lifesync"}
DAILY_LIMIT_WAIT = 3600.0  # seconds rq waits before retrying a job stopped by the org's daily limit


class ApiLimitExceeded(RateLimited):
    """The org's rolling 24 h API request limit is spent (403 ``REQUEST_LIMIT_EXCEEDED``).

    Its ``retry_after`` is never below an hour, so the in-job retry gives up at once and the
    retry is left to the next run or rq's job-level ``Retry``.
    """

    @property
    def retry_after(self) -> float:
        """Seconds to wait before trying again (at least ``DAILY_LIMIT_WAIT``)."""
        return self._retry_after

    @retry_after.setter
    def retry_after(self, value: float | None) -> None:
        self._retry_after = max(DAILY_LIMIT_WAIT, value or 0.0)


class QueryLocatorExpired(PermanentError):
    """A query's ``nextRecordsUrl`` is no longer valid (``INVALID_QUERY_LOCATOR``): query again."""


def _permanent(message: str) -> Rule:
    return Rule(Action.FAIL, PermanentError, message)


_RETRY_LOCK = Rule(Action.RETRY, TransientError, "a record was locked by another update")
OVERRIDES: dict[Any, Rule] = {
    (403, "REQUEST_LIMIT_EXCEEDED"): Rule(Action.RATE_LIMITED, ApiLimitExceeded,
                                          "the org's daily API request limit is used up"),
    (401, "INVALID_SESSION_ID"): Rule(Action.AUTH, AuthError, "the session expired or was revoked"),
    (503, "SERVER_UNAVAILABLE"): Rule(Action.RETRY, TransientError, "the server is unavailable"),
    (400, "UNABLE_TO_LOCK_ROW"): _RETRY_LOCK,
    (409, "UNABLE_TO_LOCK_ROW"): _RETRY_LOCK,
    (500, "UNABLE_TO_LOCK_ROW"): _RETRY_LOCK,
    (400, "MALFORMED_QUERY"): _permanent("the query was rejected (check the mapping's field names)"),
    (400, "INVALID_FIELD"): _permanent("a field does not exist or is not visible to the integration user "
                                       "(check the mapping's field names and field-level security)"),
    (400, "INVALID_TYPE"): _permanent("the object does not exist or is not visible to the integration user"),
    (400, "INVALID_QUERY_LOCATOR"): Rule(Action.FAIL, QueryLocatorExpired, "the query cursor expired"),
    (400, "JSON_PARSER_ERROR"): Rule(Action.FAIL, ValidationError, "the request body was rejected"),
}

_USAGE = re.compile(r"(?<![\w-])api-usage=(\d+)/(\d+)")  # not per-app-api-usage


@dataclass
class Quota:
    """The share of the org's daily API limit one run may use, from ``Sforce-Limit-Info`` headers."""

    share: float = 0.25
    baseline: int | None = None  # org usage before this run's first call
    used: int | None = None
    limit: int | None = None

    def observe(self, headers: Mapping[str, str]) -> None:
        """Learn the org's usage from a response's headers."""
        match = _USAGE.search(headers.get("Sforce-Limit-Info") or "")
        if not match:
            return
        self.used, self.limit = int(match.group(1)), int(match.group(2))
        if self.baseline is None:
            self.baseline = self.used - 1  # that first response already counts this run's first call

    @property
    def spent(self) -> int:
        """Calls this run made, as the org's counter sees them (others' calls included)."""
        return 0 if self.used is None or self.baseline is None else max(0, self.used - self.baseline)

    @property
    def allowed(self) -> int | None:
        """Calls this run may make (None until a header was seen)."""
        return None if self.limit is None else max(1, int(self.limit * self.share))

    @property
    def reached(self) -> bool:
        """True when the run used its share, or the org has no calls left."""
        if self.limit is None or self.used is None:
            return False
        return self.spent >= (self.allowed or 0) or self.used >= self.limit


class _CountingLimiter:
    """Wraps the shared bucket to count waits in the connector's stats."""

    def __init__(self, inner: Limiter, stats: SyncStats):
        self.inner, self.stats = inner, stats

    def acquire(self, cost: int = 1) -> float:
        waited = self.inner.acquire(cost)
        if waited > 0:
            self.stats.rate_limit_waits += 1
            self.stats.rate_limit_seconds += waited
        return waited

    def learn(self, headers: Any) -> None:
        self.inner.learn(headers)


class SalesforceClient:
    """Authenticated, retrying, quota-tracking requests to one org's REST API."""

    def __init__(self, auth: SalesforceAuth, *, api_version: str = DEFAULT_API_VERSION,
                 stats: SyncStats | None = None, quota: Quota | None = None, limiter: Limiter | None = None,
                 sleep: Callable[[float], None] = time.sleep, policy: RetryPolicy | None = None):
        self.auth, self.api_version = auth, api_version if api_version.startswith("v") else f"v{api_version}"
        self.stats = stats if stats is not None else SyncStats()
        self.quota = quota if quota is not None else Quota()
        self.session = make_session()
        self.session.hooks["response"].append(self._observe)
        self.http = HttpClient(self.session, vendor=VENDOR, policy=policy or RetryPolicy(), overrides=OVERRIDES,
                               limiter=_CountingLimiter(limiter, self.stats) if limiter else None,
                               refresh=self._refresh, sleep=sleep, read_error=read_error,
                               rate_limit_wait=self._count_wait)
        self._instance_url: str | None = None
        self._described: dict[str, dict[str, str]] = {}

    def _count_wait(self, seconds: float) -> None:
        """A 429's Retry-After waited out: a rate-limit wait in the run's stats, as the limiter's are."""
        self.stats.rate_limit_waits += 1
        self.stats.rate_limit_seconds += seconds

    def __repr__(self) -> str:
        return f"SalesforceClient(instance_url={self._instance_url!r}, api_version={self.api_version!r})"

    def data_path(self, suffix: str) -> str:
        """``/services/data/{version}/{suffix}``."""
        return f"/services/data/{self.api_version}/{suffix.lstrip('/')}"

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """Send ``method path`` (relative to the instance, or a ``nextRecordsUrl``); writes carry call options."""
        self._connect()
        if method.upper() != "GET":
            kwargs["headers"] = {**CALL_OPTIONS, **(kwargs.get("headers") or {})}
        return self.http.request(method, path, **kwargs)

    def delete_record(self, sobject: str, record_id: str) -> None:
        """``DELETE /sobjects/{sobject}/{id}`` (to the Recycle Bin, as simple-salesforce's ``sf.Contact.delete``)."""
        self.request("DELETE", self.data_path(f"sobjects/{sobject}/{record_id}"))

    def get_json(self, path: str, **params: Any) -> Any:
        """``GET path`` with query parameters; the decoded JSON body."""
        return self.request("GET", path, params=params or None).json()

    def query_pages(self, soql: str, *, include_deleted: bool = True) -> Iterator[tuple[list[dict[str, Any]], bool]]:
        """One ``(records, done)`` per response of ``queryAll`` (or ``query``), following ``nextRecordsUrl``.

        Nothing is requested until the caller asks for the next page, so a caller can stop
        between pages (quota) without a wasted call.
        """
        body = self.get_json(self.data_path("queryAll" if include_deleted else "query"), q=soql)
        while True:
            done = bool(body.get("done", True)) or not body.get("nextRecordsUrl")
            yield list(body.get("records") or []), done
            if done:
                return
            body = self.get_json(body["nextRecordsUrl"])

    def count(self, soql: str) -> int:
        """The ``totalSize`` of a ``SELECT COUNT() ...`` query (deleted rows included)."""
        return int(self.get_json(self.data_path("queryAll"), q=soql).get("totalSize") or 0)

    def field_types(self, obj: str) -> dict[str, str]:
        """``{field name (lower case): type, "rel:<relationship>": parent object}`` from the describe (cached)."""
        if obj not in self._described:
            describe = self.get_json(self.data_path(f"sobjects/{obj}/describe"))
            found: dict[str, str] = {}
            for field in describe.get("fields") or []:
                found[str(field["name"]).lower()] = str(field.get("type") or "string")
                if field.get("relationshipName") and field.get("referenceTo"):
                    found[f"rel:{str(field['relationshipName']).lower()}"] = str(field["referenceTo"][0])
            self._described[obj] = found
        return self._described[obj]

    def field_type(self, obj: str, path: str) -> str | None:
        """The type of ``path`` (``Email``, ``Account.Name``) on ``obj``; None when the org has no such field."""
        *relationships, name = path.split(".")
        for relationship in relationships:
            parent = self.field_types(obj).get(f"rel:{relationship.lower()}")
            if parent is None:
                return None
            obj = parent
        return self.field_types(obj).get(name.lower())

    def _connect(self) -> None:
        if self._instance_url is None:
            self._use(self.auth.token())

    def _use(self, token: Any) -> None:
        self._instance_url = token.instance_url
        self.session.base_url = token.instance_url.rstrip("/")
        self.session.headers["Authorization"] = f"Bearer {token.access_token}"

    def _refresh(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        """HttpClient's AUTH hook: a new session, and the request re-aimed at it."""
        old = self.session.base_url
        self._use(self.auth.reauthenticate())
        fresh = request.copy()
        if fresh.url and old and fresh.url.startswith(old):
            fresh.url = self.session.base_url + fresh.url[len(old):]
        fresh.headers["Authorization"] = self.session.headers["Authorization"]
        return fresh

    def _observe(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        """A response hook: every HTTP call counts, and its usage header feeds the quota."""
        self.stats.api_calls += 1
        self.quota.observe(response.headers)
