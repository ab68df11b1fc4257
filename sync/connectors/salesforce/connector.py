"""``SalesforceConnector``: the Puller and Pusher of one Salesforce connection, composed from small parts.

    auth.SalesforceAuth     JWT bearer or refresh-token sessions, kept in the TokenStore
    client.SalesforceClient the org's instance URL, error codes, quota, call options on writes
    soql                    field lists from the mappings, windows, literals
    pull.ChangePuller       incremental / full pulls with resumable cursors (REST or bulk)
    bulk.BulkQuery          Bulk API 2.0 query jobs and their CSV results
    push.push               sObject Collections updates and upserts

Settings (``SalesforceSettings``: ``LIFESYNC_SALESFORCE_*``, ``__<CONNECTION>`` for named
connections) are read and checked when the connector is made, so a missing credential or a
malformed number fails before any request. One connector is one run: the quota share is
measured from the org's usage at its first call.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from redis import Redis

from sync.connectors.crm import Page, PushItem, PushResult, SyncStats
from sync.connectors.salesforce.auth import SYSTEM, SalesforceAuth, TokenStore
from sync.connectors.salesforce.bulk import BulkQuery
from sync.connectors.salesforce.client import Quota, SalesforceClient
from sync.connectors.salesforce.pull import ChangePuller, check_quota, quota_spent
from sync.connectors.salesforce.push import MAX_BATCH, push
from sync.connectors.salesforce.settings import SalesforceSettings
from sync.connectors.salesforce.soql import mapping_fields
from sync.http import SALESFORCE_DAILY, TokenBucket
from sync.settings import Settings

OBJECTS = ["Lead", "Contact", "Opportunity"]  # leads first: a converted lead points at its contact


def bundled_fields(settings: Settings) -> dict[str, list[str]]:
    """SOQL fields per object from the effective Salesforce mapping files (project overrides included)."""
    from sync.config.loader import resolve_files  # lazy: only when no field list was given
    from sync.mappings import load_mapping

    out: dict[str, list[str]] = {}
    for path in resolve_files(settings.config_dir).mappings:
        mapping = load_mapping(path)
        if mapping.source == SYSTEM:
            out[mapping.object] = mapping_fields(mapping)
    return out


class SalesforceConnector:
    """Pulls Lead / Contact / Opportunity changes and pushes Lead / Contact updates for one connection."""

    source = SYSTEM
    max_batch = MAX_BATCH

    def __init__(self, settings: Settings, connection: str = "default", *, redis: Redis | None = None,
                 tokens: TokenStore | None = None, fields: Mapping[str, Sequence[str]] | None = None,
                 sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.time):
        conf = SalesforceSettings.of(settings, connection)
        self.settings, self.connection, self.clock = settings, connection, clock
        self.stats = SyncStats()
        self.auth = SalesforceAuth(settings, connection, tokens=tokens, clock=clock, sleep=sleep)
        limiter = TokenBucket(redis, f"salesforce:{connection}", SALESFORCE_DAILY, clock=clock, sleep=sleep) \
            if redis is not None else None
        self.client = SalesforceClient(self.auth, api_version=conf.api_version, stats=self.stats,
                                       quota=Quota(share=conf.quota_share), limiter=limiter, sleep=sleep)
        self.external_id_field = conf.external_id_field
        self._fields = {k: list(v) for k, v in fields.items()} if fields is not None else None
        self.puller = ChangePuller(
            self.client, BulkQuery(self.client, sleep=sleep), self.fields, stats=self.stats,
            overlap=conf.overlap_seconds, bulk_threshold=conf.bulk_threshold)

    def __repr__(self) -> str:
        return f"SalesforceConnector(connection={self.connection!r})"

    def objects(self) -> list[str]:
        """``["Lead", "Contact", "Opportunity"]``."""
        return list(OBJECTS)

    def fields(self, obj: str) -> list[str]:
        """The mapping fields the pull selects for ``obj`` (the base fields are always added)."""
        if self._fields is None:
            self._fields = bundled_fields(self.settings)
        return list(self._fields.get(obj, ()))

    def pull(self, obj: str, cursor: dict[str, Any], *, full: bool = False,
             now: datetime | None = None) -> Iterator[Page]:
        """Pages of ``obj`` changed since ``cursor`` (see ``sync.connectors.salesforce.pull``)."""
        if obj not in OBJECTS:
            raise ValueError(f"Salesforce pulls {', '.join(OBJECTS)}, not {obj!r}")
        return self.puller.pull(obj, cursor, full=full, now=now or datetime.fromtimestamp(self.clock(), UTC))

    def push(self, obj: str, items: list[PushItem]) -> list[PushResult]:
        """Update or upsert ``items`` of Lead / Contact; one result per item (see ``...salesforce.push``).

        Raises QuotaReached, without a call, once the run used its share of the org's daily
        limit (pulls and pushes of one run share it): the write-back's rest waits for the next run.
        A batch of updates and upserts (two requests) spent half-way returns the upserts
        ``deferred``: the run never goes a call past its share.
        """
        then = f"the {obj} write-back resumes on the next run"
        check_quota(self.client.quota, then)
        return push(self.client, obj, items, external_id_field=self.external_id_field,
                    may_send=lambda: quota_spent(self.client.quota, then))
