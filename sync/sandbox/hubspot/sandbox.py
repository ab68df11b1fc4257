"""A local emulator of the HubSpot CRM API endpoints lifesync uses, in memory, enforcing HubSpot's rules.

``HubSpotSandbox`` holds the portal's state (contacts, deals, companies, associations,
tokens, rate-limit counters) behind one lock; ``create_app(sandbox)`` serves it with Flask
on HubSpot's own paths (the sandbox server mounts it under ``/hubspot``). What it enforces,
module by module:

    hubspot_access   bearer tokens, OAuth refresh (optional rotation), per-app rate limits
    hubspot_schema   properties, string-only values, enumerations, e-mails, lifecycle order
    hubspot_search   search limits, filters, sorts, the 10,000-result cap, index lag
    hubspot_reads    list / get / batch read / properties / v4 association reads
    hubspot_writes   batch create / update / upsert / archive: limits, 207 Multi-Status
    hubspot_rules    the portal's validation rules, enforced on writes from API version 2026-09
    hubspot_lists    lists: create, find by name, MANUAL/SNAPSHOT memberships (ids per call limited)
    hubspot_preferences  unsubscribe an e-mail address from all e-mail (scope, version and channel checked)
    hubspot_app      routes, fault injection, call counting, error answers

Test hooks (``put``, ``archive``, ``associate``, ``get``, ``records``, ``add_property``,
``add_validation_rule``) change or read state
directly: they are not API calls and are neither counted nor validated.
"""

from __future__ import annotations

import bisect
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import datetime
from itertools import accumulate
from typing import Any

from sync.sandbox.faults import Faults
from sync.sandbox.hubspot.access import SCOPES, Access, Credentials
from sync.sandbox.hubspot.app import create_app
from sync.sandbox.hubspot.lists import MAX_MEMBERSHIP_IDS, HubSpotList
from sync.sandbox.hubspot.preferences import WRITE_SCOPE
from sync.sandbox.hubspot.records import Associations, Record, Table, render
from sync.sandbox.hubspot.rules import ValidationRule
from sync.sandbox.hubspot.schema import (
    DEAL_STAGES,
    LEAD_STATUSES,
    MODIFIED_PROPERTY,
    OBJECT_TYPES,
    PropertyDef,
    default_schema,
    parse_instant,
)
from sync.sandbox.people import people

__all__ = ["HubSpotSandbox", "create_app"]

_DAY_MS = 86_400_000
_FIRST_ID = 101
_SEED_STAGES = (("lead", 40), ("marketingqualifiedlead", 20), ("salesqualifiedlead", 15), ("opportunity", 10),
                ("customer", 15))
_SEED_DEAL_STAGES = (15, 15, 10, 10, 10, 25, 15)  # weights of DEAL_STAGES
_CURRENCIES = {"US": "USD", "GB": "GBP", "ES": "EUR", "MX": "MXN", "AE": "AED"}
_PLANS = ("Starter plan", "Annual plan", "Onboarding", "Renewal", "Upgrade", "Consulting")


class HubSpotSandbox:
    """An in-memory HubSpot portal (thread-safe: one lock around all state)."""

    TOKEN = "pat-sandbox-hubspot"  # noqa: S105 - the sandbox's public, seeded credential
    CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN = "sandbox-client-id", "sandbox-client-secret", "sandbox-refresh-token"

    def __init__(self, *, rate_per_10s: int | None = 190, daily_limit: int | None = 500_000,
                 search_per_second: int | None = 4, index_lag: float = 0.0, access_token_ttl: int = 1800,
                 rotate_refresh_tokens: bool = False,
                 backward_lifecycle: str = "ignore", faults: Faults | None = None,
                 clock: Callable[[], float] = time.time, seed: int = 42):
        if backward_lifecycle not in ("ignore", "accept"):
            raise ValueError(f"backward_lifecycle must be 'ignore' or 'accept', not {backward_lifecycle!r}")
        self.lock = threading.RLock()
        self.clock, self.index_lag, self.backward_lifecycle = clock, index_lag, backward_lifecycle
        self.faults = faults if faults is not None else Faults()
        self.schema: dict[str, dict[str, PropertyDef]] = default_schema()
        self.tables = {t: Table(t, self.schema[t]) for t in OBJECT_TYPES}
        self.associations = Associations()
        self.access = Access(Credentials(self.TOKEN, self.CLIENT_ID, self.CLIENT_SECRET, self.REFRESH_TOKEN),
                             clock_ms=self.now_ms, access_token_ttl=access_token_ttl,
                             rotate_refresh_tokens=rotate_refresh_tokens, rate_per_10s=rate_per_10s,
                             daily_limit=daily_limit, seed=seed, search_per_second=search_per_second)
        self.validation_rules: dict[str, list[ValidationRule]] = {}  # object type -> the portal's rules
        self.lists: dict[int, HubSpotList] = {}
        # the app's scopes (a knob: drop one to get HubSpot's 403 MISSING_SCOPES where it is needed)
        self.granted_scopes: set[str] = {*SCOPES, WRITE_SCOPE}
        self.unsubscribed: dict[str, set[str]] = {}  # e-mail address -> channels it is unsubscribed from all of
        self.gdpr_blocklist: set[str] = set()  # e-mails a GDPR delete named (HubSpot blocks their re-creation)
        self.list_membership_max = MAX_MEMBERSHIP_IDS
        self.calls: Counter[str] = Counter()
        self.writes: list[dict[str, Any]] = []
        self.random = random.Random(f"hubspot-{seed}")  # result shuffling
        self._next_id = _FIRST_ID

    @property
    def api_calls(self) -> int:
        """Total API calls received (every route, whatever the answer)."""
        return sum(self.calls.values())

    def now_ms(self) -> int:
        """The sandbox clock in epoch milliseconds."""
        return int(self.clock() * 1000)

    def new_id(self) -> int:
        """The next record id (ids increase across all object types)."""
        self._next_id += 1
        return self._next_id - 1

    def table(self, object_type: str) -> Table:
        """The table of an object type (ValueError for types the sandbox does not have)."""
        try:
            return self.tables[object_type]
        except KeyError:
            raise ValueError(f"unknown object type {object_type!r}; expected one of {OBJECT_TYPES}") from None

    # ---- test hooks: direct state changes, no HTTP, not counted ----------------------------------------------

    def put(self, object_type: str, properties: dict[str, str], *, id: str | None = None,
            at: datetime | None = None) -> str:
        """Create or update a record as if changed in HubSpot's UI at ``at`` (default: now); returns its id.

        No validation; ``None`` removes a property; ``createdate`` (if given) sets the creation time.
        The modification time of the record becomes ``at``.
        """
        with self.lock:
            table = self.table(object_type)
            at_ms = int(at.timestamp() * 1000) if at is not None else self.now_ms()
            record_id = int(id) if id is not None else self.new_id()
            self._next_id = max(self._next_id, record_id + 1)
            record = table.rows.get(record_id)
            created = properties.get("createdate")
            created_ms = parse_instant(created) if created else None
            values = {k: v for k, v in properties.items()
                      if k not in ("hs_object_id", "createdate", MODIFIED_PROPERTY[object_type])}
            if record is None:
                record = Record(record_id, {}, created_ms or at_ms, at_ms)
                _assign(record, values)
                table.insert(record)
            else:
                old_email = record.props.get("email")
                _assign(record, values)
                record.updated_ms = at_ms
                if created_ms is not None:
                    record.created_ms = created_ms
                table.changed(record, old_email)
            return str(record_id)

    def archive(self, object_type: str, id: str, *, at: datetime | None = None) -> None:
        """Archive (delete) a record as if deleted in HubSpot's UI."""
        with self.lock:
            table = self.table(object_type)
            record = table.get(int(id))
            if record is None:
                raise KeyError(f"no live {object_type} record {id}")
            table.archive(record, int(at.timestamp() * 1000) if at is not None else self.now_ms())

    def associate(self, deal_id: str, contact_id: str) -> None:
        """Associate a deal with a contact (both directions)."""
        with self.lock:
            self.associations.add("deals", int(deal_id), "contacts", int(contact_id))

    def get(self, object_type: str, id: str) -> dict[str, Any]:
        """The stored record with all its properties (live or archived); KeyError when unknown."""
        with self.lock:
            record = self.table(object_type).rows.get(int(id))
            if record is None:
                raise KeyError(f"no {object_type} record {id}")
            return render(record, object_type, None, ())

    def records(self, object_type: str, *, archived: bool = False) -> list[dict[str, Any]]:
        """Every live (or archived) record of a type, in id order, with all properties."""
        with self.lock:
            table = self.table(object_type)
            return [render(table.rows[i], object_type, None, ())
                    for i in (table.archived if archived else table.live)]

    def add_property(self, object_type: str, name: str, *, type: str = "string",
                     options: tuple[str, ...] = ()) -> None:
        """Define a custom property (portals add their own; writes to undefined properties are refused)."""
        with self.lock:
            kind = "enumeration" if options else type
            self.schema[object_type][name] = PropertyDef(name, kind, "select" if options else "text", options,
                                                         custom=True)

    def add_validation_rule(self, object_type: str, required: str, *, when: tuple[str, str] | None = None,
                            on_create: bool = False) -> None:
        """Make ``required`` required, as an admin would; API writes obey it from version 2026-09.

        ``when=(property, value)``: only while that property has that value; ``on_create``: only
        when creating a record.
        """
        with self.lock:
            self.table(object_type)
            self.validation_rules.setdefault(object_type, []).append(ValidationRule(required, when, on_create))

    # ---- seeding ---------------------------------------------------------------------------------------------

    @classmethod
    def seeded(cls, contacts: int = 0, deals: int = 0, *, seed: int = 42, **kwargs: Any) -> HubSpotSandbox:
        """A sandbox with synthetic contacts and deals (deterministic for a seed and a clock).

        Ids grow with creation time; creation times spread over the past 400 days and the last
        modification of every record falls within the past 30 days (after its creation).
        """
        sandbox = cls(seed=seed, **kwargs)
        sandbox._seed(contacts, deals, seed)
        return sandbox

    def _seed(self, contacts: int, deals: int, seed: int) -> None:
        rand = random.Random(f"hubspot-seed-{seed}").random  # bare random() draws: seeding stays fast
        now = self.now_ms()
        stages = _Weighted([stage for stage, _ in _SEED_STAGES], [weight for _, weight in _SEED_STAGES])
        deal_stages = _Weighted(DEAL_STAGES, _SEED_DEAL_STAGES)
        seeded: list[tuple[int, str, str]] = []  # (id, company, currency) for deals to point at
        with self.lock:
            table = self.tables["contacts"]
            for index, person in enumerate(people(contacts, seed)):
                created, updated = _seed_times(rand, now, index, contacts)
                record = Record(self.new_id(), {
                    "email": person.email, "firstname": person.first_name, "lastname": person.last_name,
                    "phone": person.phone, "city": person.city, "country": person.country,
                    "company": person.company, "jobtitle": person.job_title, "lifecyclestage": stages.draw(rand),
                    "hs_lead_status": LEAD_STATUSES[int(rand() * len(LEAD_STATUSES))]}, created, updated)
                table.insert(record)
                seeded.append((record.id, person.company, _CURRENCIES[person.country_code]))
            table = self.tables["deals"]
            for index in range(deals):
                created, updated = _seed_times(rand, now, index, deals)
                contact_id, company, currency = seeded[int(rand() * len(seeded))] if seeded else (None, "Acme", "USD")
                record = Record(self.new_id(), {
                    "dealname": f"{company} - {_PLANS[int(rand() * len(_PLANS))]}",
                    "amount": f"{200 + int(rand() * 49_800)}.{('00', '50', '99')[int(rand() * 3)]}",
                    "dealstage": deal_stages.draw(rand),
                    "closedate": _iso_seconds(created + (1 + int(rand() * 89)) * _DAY_MS),
                    "deal_currency_code": currency, "pipeline": "default"}, created, updated)
                table.insert(record)
                if contact_id is not None:
                    self.associations.add("deals", record.id, "contacts", contact_id)


class _Weighted:
    """Draws from options with weights, one ``random()`` per draw."""

    def __init__(self, options: Sequence[str], weights: Sequence[int]):
        self.options, self.cumulative = tuple(options), list(accumulate(weights))

    def draw(self, rand: Callable[[], float]) -> str:
        return self.options[bisect.bisect(self.cumulative, rand() * self.cumulative[-1])]


def _assign(record: Record, values: dict[str, Any]) -> None:
    for name, value in values.items():
        if value is None:
            record.props.pop(name, None)
        else:
            record.props[name] = str(value)


def _seed_times(rand: Callable[[], float], now: int, index: int, count: int) -> tuple[int, int]:
    """(created, updated) in ms: creation grows with the index over 400 days, updates in the last 30."""
    span = 400 * _DAY_MS
    created = now - span + (index * (span - _DAY_MS)) // max(count, 1) + int(rand() * 60_000)
    updated = now - int(rand() * 30 * _DAY_MS)
    if updated < created:
        updated = created + int(rand() * (now - created))
    return created, updated


def _iso_seconds(ms: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ms // 1000))
