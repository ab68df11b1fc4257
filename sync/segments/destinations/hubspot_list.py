"""``hubspot_list``: a segment as a static (MANUAL) HubSpot list of contacts.

Options (a segment file's destination entry)::

    connection     the HubSpot connection (default: ``default``): LIFESYNC_HUBSPOT_TOKEN[__<NAME>] or its
                   OAuth settings, LIFESYNC_HUBSPOT_BASE_URL, LIFESYNC_HUBSPOT_API_VERSION
    list_id        an existing MANUAL or SNAPSHOT list; else the list named ``lifesync: <segment label>``
                   is found, or created as MANUAL
    lists_version  the Lists API version: ``2026-03`` (default with a dated connector version),
                   ``2026-09-beta``, or ``v3`` (default when LIFESYNC_HUBSPOT_API_VERSION is ``legacy``)

HubSpot's 2026-09 reference documents the Lists API only as ``2026-09-beta``
(https://developers.hubspot.com/docs/api-reference/2026-09-beta/crm/lists/…); the newest GA lists
path is ``2026-03`` (supported until about 2027-09-30), so that is the default until a GA 2026-09
lists path ships — then set ``lists_version`` (the sandbox serves each of them).

Members are HubSpot contact record ids (the ``hubspot`` identity the HubSpot mapping records);
a contact without one is ``Unmatchable``. ``PUT /crm/lists/{v}/{listId}/memberships/add`` (and
``…/remove``) take a JSON array of ids; HubSpot ignores ids already in (or not in) the list and
names the ones that match no record in ``recordIdsMissing``: those fail when adding (no such
contact) and are done when removing. HubSpot publishes no maximum of ids per call: ``max_batch``
is 10,000 (UNCONFIRMED), as the sandbox enforces. Calls go through the HubSpot connector's
client (token or OAuth refresh, retries, Retry-After, error table).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar
from urllib.parse import quote

import requests

from sync.connectors.hubspot.connector import HubSpotConnector
from sync.connectors.hubspot.endpoints import LEGACY
from sync.connectors.hubspot.settings import HubSpotSettings
from sync.errors import PermanentError, SettingsError, SyncError
from sync.segments.destinations.base import (
    Audience,
    AudienceDestinationConfig,
    AudienceMember,
    Entry,
    MemberResult,
    Unmatchable,
)
from sync.segments.destinations.connection import (
    check_options,
    connection_env,
    connection_of,
    connection_settings,
    option,
    outcome,
)
from sync.settings import Settings

OPTIONS = frozenset({"connection", "list_id", "lists_version"})
LISTS_VERSIONS = ("2026-03", "2026-09-beta", "v3")
DATED_DEFAULT = "2026-03"  # the newest GA Lists API version (2026-09 lists are documented as 2026-09-beta)
CONTACTS = "0-1"
NAME_PREFIX = "lifesync: "
MAX_IDS = 10_000  # record ids per memberships call: HubSpot documents no maximum (UNCONFIRMED)
NO_RECORD = "HubSpot has no contact with this record id (recordIdsMissing)"


def lists_version(name: str, options: Mapping[str, str], api_version: str) -> str:
    """The Lists API version: the option, else ``v3`` for the legacy connector, else ``DATED_DEFAULT``."""
    chosen = option(name, options, "lists_version") or ("v3" if api_version == LEGACY else DATED_DEFAULT)
    if chosen not in LISTS_VERSIONS:
        raise SettingsError(f"audience destination {name!r} (hubspot_list): lists_version must be one of "
                            f"{', '.join(LISTS_VERSIONS)}, got {chosen!r}")
    return chosen


class HubSpotList:
    """Keeps a MANUAL HubSpot contact list equal to a segment."""

    kind: ClassVar[str] = "hubspot_list"
    max_batch: ClassVar[int] = MAX_IDS
    purpose: ClassVar[str] = "marketing_messages"

    def __init__(self, config: AudienceDestinationConfig, session: requests.Session | None = None):
        # the connector's own client (its session, auth and retries): ``session`` is not used
        self.config = config
        settings = connection_settings(config.credentials)
        self.api = HubSpotConnector(settings, connection_of(config.name, config.options)).api
        self.root = "/crm/v3/lists" if config.api_version == "v3" else f"/crm/lists/{config.api_version}"

    @classmethod
    def from_settings(cls, name: str, options: Mapping[str, str], settings: Settings) -> AudienceDestinationConfig:
        """The config of destination ``name``: the connection's credentials, host and Lists API version."""
        check_options(name, cls.kind, options, OPTIONS)
        connection = connection_of(name, options)
        conf = HubSpotSettings.of(settings, connection)
        if not (conf.token or conf.refresh_token):
            token, refresh = (HubSpotSettings.variable(v, connection) for v in ("token", "refresh_token"))
            raise SettingsError(f"audience destination {name!r} ({cls.kind}) needs {token} (or the OAuth settings "
                                f"with {refresh})", variable=token)
        list_id = option(name, options, "list_id")
        if list_id is not None and not list_id.isdigit():
            raise SettingsError(f"audience destination {name!r} ({cls.kind}): list_id must be a HubSpot list id "
                                f"(digits), got {list_id!r}")
        return AudienceDestinationConfig(name=name, kind=cls.kind, base_url=conf.base_url,
                                         api_version=lists_version(name, options, conf.api_version),
                                         credentials=connection_env(HubSpotSettings, settings, connection),
                                         options=dict(options))

    def keys(self, member: AudienceMember) -> dict[str, Any]:
        """``{"record_id": "<HubSpot contact id>"}`` from the ``hubspot`` identity."""
        record_id = next((v for k, v in member.identities if k == "hubspot" and str(v).isdigit()), None)
        if record_id is None:
            raise Unmatchable("a HubSpot list holds HubSpot contacts: the contact has no HubSpot record id")
        return {"record_id": str(record_id)}

    def ensure(self, audience: Audience) -> str:
        """The ``list_id`` option, else the id stored last time, else the list ``lifesync: <label>`` (found or made)."""
        configured = option(self.config.name, self.config.options, "list_id") or audience.remote_id
        if configured:
            return configured
        name = f"{NAME_PREFIX}{audience.label}"
        try:
            found = self.api.get(f"{self.root}/object-type-id/{CONTACTS}/name/{quote(name, safe='')}")
        except SyncError as exc:
            if exc.status != 404:
                raise
            found = self.api.post(self.root, {"name": name, "objectTypeId": CONTACTS,
                                              "processingType": "MANUAL"})[1]
        listing = found.get("list") or {}
        if listing.get("processingType") == "DYNAMIC":
            raise PermanentError(f"HubSpot list {name!r} is DYNAMIC (filters decide its members); rename it or set "
                                 f"list_id to a MANUAL list for audience destination {self.config.name!r}")
        if not listing.get("listId"):
            raise PermanentError(f"HubSpot answered no listId for the list {name!r}")
        return str(listing["listId"])

    def add(self, remote_id: str, entries: Sequence[Entry]) -> list[MemberResult]:
        """Add the entries' contacts to the list (one call); ids HubSpot reports missing fail."""
        return self._change(remote_id, entries, "add")

    def remove(self, remote_id: str, entries: Sequence[Entry]) -> list[MemberResult]:
        """Remove the entries' contacts from the list (one call); a missing record is already out of it."""
        return self._change(remote_id, entries, "remove")

    def _change(self, remote_id: str, entries: Sequence[Entry], operation: str) -> list[MemberResult]:
        if not entries:
            return []
        ids = [str(e.keys.get("record_id") or "") for e in entries]
        try:
            answer = self.api.put(f"{self.root}/{remote_id}/memberships/{operation}", list(dict.fromkeys(ids)))
        except SyncError as exc:
            return outcome(entries, exc)
        missing = {str(v) for v in answer.get("recordIdsMissing") or []}
        if operation == "remove":
            return [MemberResult(e.contact_id, "done") for e in entries]
        return [MemberResult(e.contact_id, "failed", NO_RECORD) if i in missing else MemberResult(e.contact_id, "done")
                for e, i in zip(entries, ids, strict=True)]


DESTINATION = HubSpotList

__all__ = ["DESTINATION", "HubSpotList"]
