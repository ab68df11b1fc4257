"""The HubSpot API client: the shared HTTP layer plus a meter that counts what the connector spends.

``HubSpotApi`` is an ``HttpClient`` (tenacity retries, the one error table, Retry-After) on an
``HttpSession`` whose ``send`` is metered: every HTTP request that leaves the process
(retries and token refreshes included) adds one to ``stats.api_calls``. Rate-limit waits are
metered too, with their seconds: the token buckets' waits (when the connector shares a Redis
budget) and the retry layer's sleeps after a 429. HubSpot-specific overrides of the error
table name the setting to fix when the credentials are refused; HubSpot's error bodies are
read by ``sync.connectors.hubspot.errors.read_error``.

``paths`` (``endpoints.Endpoints``) gives every call its path in the configured API version.
CRM search requests go through ``search``, whose limiter adds HubSpot's search budget (4
requests per second per token) to the general ones.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

import requests

from sync.connectors.crm import SyncStats
from sync.connectors.hubspot.endpoints import Endpoints
from sync.connectors.hubspot.errors import read_error
from sync.errors import AuthError, PermanentError
from sync.http import HttpClient, HttpSession, RetryPolicy
from sync.http.errors import Action, ErrorTable, Rule
from sync.http.retry import Refresh

DEFAULT_BASE_URL = "https://api.hubapi.com"
VENDOR = "HubSpot"
SCOPES = ("crm.objects.contacts.read/write, crm.objects.deals.read/write, crm.schemas.contacts.read, "
          "crm.schemas.deals.read; communication_preferences.statuses.write to write e-mail opt-outs back")


class Meter:
    """Adds requests and rate-limit waits to the owner's current ``SyncStats``."""

    def __init__(self, stats: Callable[[], SyncStats], sleep: Callable[[float], None] = time.sleep):
        self._stats, self.sleep = stats, sleep

    def sent(self, response: requests.Response | None) -> None:
        """One request went out (``response`` is None when it failed before an answer)."""
        self._stats().api_calls += 1

    def waited(self, seconds: float) -> None:
        """A rate-limit wait of ``seconds`` happened (the shared bucket's, or a 429's Retry-After)."""
        if seconds > 0:
            stats = self._stats()
            stats.rate_limit_waits += 1
            stats.rate_limit_seconds += seconds


class MeteredSession(HttpSession):
    """An ``HttpSession`` that reports every send to a ``Meter``."""

    def __init__(self, base_url: str, meter: Meter):
        super().__init__(base_url)
        self.meter = meter

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        """Send and count."""
        try:
            response = super().send(request, **kwargs)
        except requests.RequestException:
            self.meter.sent(None)
            raise
        self.meter.sent(response)
        return response


class MeteredLimiter:
    """A limiter (``Limiters`` of token buckets) whose waits are counted."""

    def __init__(self, inner: Any, meter: Meter):
        self.inner, self.meter = inner, meter

    def acquire(self, cost: int = 1) -> float:
        """Take ``cost`` from every bucket; count the wait."""
        waited = float(self.inner.acquire(cost))
        self.meter.waited(waited)
        return waited

    def learn(self, headers: Mapping[str, str]) -> None:
        """Let the buckets learn from HubSpot's rate-limit headers."""
        self.inner.learn(headers)


def _json(response: requests.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        raise PermanentError(f"{VENDOR} answered HTTP {response.status_code} with a body that is not JSON") from None
    if not isinstance(body, dict):
        raise PermanentError(f"{VENDOR} answered HTTP {response.status_code} with JSON that is not an object")
    return body


GDPR_DELETE_PATH = "/crm/v3/objects/contacts/gdpr-delete"  # legacy only: no dated version documents it


class HubSpotApi:
    """GET and POST against the HubSpot API with retries, the shared limiters and the meter.

    ``limiter`` paces every request; ``search_limiter`` (default: ``limiter``) paces the CRM
    search requests sent through ``search``. Both clients share one session and error table;
    ``refresh`` (OAuth) renews the token once on a 401.
    """

    def __init__(self, base_url: str, meter: Meter, *, auth: requests.auth.AuthBase | None = None,
                 limiter: Any = None, search_limiter: Any = None, credential_setting: str = "the HubSpot credentials",
                 policy: RetryPolicy | None = None, paths: Endpoints | None = None, refresh: Refresh | None = None):
        self.paths = paths or Endpoints()
        session = MeteredSession(base_url, meter)
        session.auth = auth
        overrides: ErrorTable = {
            401: Rule(Action.AUTH, AuthError, f"the credentials were rejected; check {credential_setting}"),
            403: Rule(Action.FAIL, AuthError, f"the app lacks a scope this request needs ({SCOPES})"),
        }

        def client(paced_by: Any) -> HttpClient:
            return HttpClient(session, vendor=VENDOR, policy=policy or RetryPolicy(), overrides=overrides,
                              limiter=paced_by, refresh=refresh, sleep=meter.sleep, read_error=read_error,
                              rate_limit_wait=meter.waited)

        self.client = client(limiter)
        self.search_client = client(search_limiter if search_limiter is not None else limiter)

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """``GET path?params`` → the JSON object answered."""
        return _json(self.client.request("GET", path, params=dict(params or {})))

    def post(self, path: str, body: Mapping[str, Any],
             params: Mapping[str, Any] | None = None) -> tuple[int, dict[str, Any]]:
        """``POST path[?params]`` with a JSON body → (status, the JSON object answered); 207 is a success."""
        response = self.client.request("POST", path, json=dict(body), params=dict(params or {}))
        return response.status_code, _json(response)

    def put(self, path: str, body: Any) -> dict[str, Any]:
        """``PUT path`` with a JSON body (an object, or an array: list memberships) → the JSON object answered."""
        return _json(self.client.request("PUT", path, json=body))

    def gdpr_delete(self, object_id: str, id_property: str | None = None) -> None:
        """Permanently delete one contact (HubSpot's GDPR delete): by record id, or ``id_property="email"``.

        ``POST /crm/v3/objects/contacts/gdpr-delete`` ``{objectId[, idProperty]}``: documented only under
        HubSpot's legacy reference, with no dated equivalent (docs/vendors/audiences-and-consent.md §4), so
        it is called on that path whatever ``LIFESYNC_HUBSPOT_API_VERSION`` says. Any 2xx is success (the
        answer has no body worth reading); an error raises as every other call's does.
        """
        body = {"objectId": object_id, **({"idProperty": id_property} if id_property else {})}
        self.client.request("POST", GDPR_DELETE_PATH, json=body)

    def search(self, obj: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """``POST`` a CRM search of ``obj`` (paced by the search limiter) → the JSON object answered."""
        return _json(self.search_client.request("POST", self.paths.search(obj), json=dict(body)))


def token_poster(base_url: str, meter: Meter, token_path: str, refresh_setting: str,
                 policy: RetryPolicy | None = None) -> Callable[[dict[str, str]], dict[str, Any]]:
    """A function posting the OAuth token form (no auth, no limiter) and returning HubSpot's answer."""
    refused = Rule(Action.FAIL, AuthError, f"the OAuth app or refresh token was refused; check the client id, "
                                           f"LIFESYNC_HUBSPOT_CLIENT_SECRET and {refresh_setting}")
    session = MeteredSession(base_url, meter)
    client = HttpClient(session, vendor=f"{VENDOR} OAuth", policy=policy or RetryPolicy(),
                        overrides={400: refused, 401: refused, 403: refused}, sleep=meter.sleep,
                        read_error=read_error, rate_limit_wait=meter.waited)

    def post(form: dict[str, str]) -> dict[str, Any]:
        return _json(client.request("POST", token_path, data=form))

    return post
