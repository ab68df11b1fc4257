"""``google_customer_match``: a segment as a Google Ads Customer Match user list, through the Data Manager API v1.

The Google Ads API takes no new Customer Match adopters since 2026-04-01; the Data Manager API is
Google's path (docs/vendors/audiences-and-consent.md §2). OAuth scope
``https://www.googleapis.com/auth/datamanager``, no developer token.

* ``ensure``: the ``user_list_id`` option, else the list kept from the last sync, else a new one —
  the Data Manager API creates user lists since v1.5 (UserListService, 2026-02-17:
  ``POST /v1/accountTypes/GOOGLE_ADS/accounts/{customer}/userLists`` with ``displayName``,
  ``description`` and ``ingestedUserListInfo {uploadKeyTypes: [CONTACT_ID], contactIdInfo
  {dataSourceType: DATA_SOURCE_TYPE_FIRST_PARTY}}``; a manager logs in with the ``login-account``
  header). Its ``id`` is the ``productDestinationId`` of every upload.
* ``keys``: ``{userIdentifiers, consent?}`` — the e-mails, phones and address exactly as the
  same contact's conversions carry them (``data_manager.user_identifiers``: Google's own rules,
  those of google-ads-datamanager-util's ``Formatter``, hex SHA-256), at most 10; the member's
  ``ad_user_data`` / ``ad_personalization`` consent as ``CONSENT_GRANTED`` / ``CONSENT_DENIED``
  (left out when unknown). Nothing usable: ``Unmatchable``.
* ``add``: ``POST /v1/audienceMembers:ingest`` ``{destinations: [{operatingAccount, loginAccount?,
  productDestinationId}], audienceMembers: [{userData, consent?}], encoding: HEX,
  termsOfService: {customerMatchTermsOfServiceStatus: ACCEPTED}}``; ``remove``: ``POST
  /v1/audienceMembers:remove`` with the same members (no terms, no consent). ≤ 10,000 members a
  request (Google's limit); the IngestionService allows 300 requests a minute per Cloud project:
  429 RESOURCE_EXHAUSTED is waited out by the HTTP client as Google's ``RetryInfo`` says, then
  left to the next run (``retry``).

Google fails a request fast (one bad member refuses all of it): field violations naming
``audience_members[i]`` fail those members with Google's words and the rest are sent again
(``ad_delivery.upload``). Google asks the advertiser to accept the Customer Match terms; the
destination sends ``ACCEPTED`` only when its entry says so (``customer_match_terms: accepted``).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

import requests

from sync.attribution.delivery import VendorError, json_body
from sync.attribution.destination import NormalizeCache
from sync.attribution.networks.google import data_manager
from sync.attribution.networks.google.common import SETTINGS_PLATFORM, consent, customer_id
from sync.errors import SettingsError
from sync.http import join_url
from sync.segments.destinations import ad_delivery
from sync.segments.destinations.base import (
    Audience,
    AudienceDestinationConfig,
    AudienceMember,
    Entry,
    MemberResult,
    Unmatchable,
)
from sync.settings import Settings

KIND = "google_customer_match"
VENDOR = "Google Data Manager API (Customer Match)"
MAX_MEMBERS = 10_000  # IngestAudienceMembersRequest / RemoveAudienceMembersRequest: "at most 10000"
INGEST, REMOVE = "audienceMembers:ingest", "audienceMembers:remove"
_LOCATED = re.compile(r"(audience_members|audienceMembers)\[(\d+)\]")


class GoogleCustomerMatch(ad_delivery.AdAudience):
    """A Customer Match user list kept equal to a segment."""

    kind: ClassVar[str] = KIND
    max_batch: ClassVar[int] = MAX_MEMBERS
    vendor: ClassVar[str] = VENDOR
    actions: ClassVar[tuple[str, str]] = (INGEST, REMOVE)
    existing_option: ClassVar[str] = "user_list_id"

    def __init__(self, config: AudienceDestinationConfig, session: requests.Session | None = None, *,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.config = config
        self.client = ad_delivery.http_client(config, session, VENDOR, read_error=read_error,
                                              codes=data_manager.CODES, sleep=sleep)
        self.headers = {"Authorization": f"Bearer {config.credentials.get('access_token', '')}"}
        self.account = {"accountType": "GOOGLE_ADS", "accountId": config.options["customer_id"]}
        login = config.options.get("login_customer_id")
        self.login = {"accountType": "GOOGLE_ADS", "accountId": login} if login else None

    @classmethod
    def from_settings(cls, name: str, options: Mapping[str, str], settings: Settings) -> AudienceDestinationConfig:
        """``LIFESYNC_GOOGLE_ADS_ACCESS_TOKEN`` / ``CUSTOMER_ID`` / ``LOGIN_CUSTOMER_ID`` ``[__<CONNECTION>]``.

        The entry must say ``customer_match_terms: accepted``; ``user_list_id`` names an existing list.
        The host is ``LIFESYNC_GOOGLE_ADS_BASE_URL`` unless the connection sends conversions through
        the Ads API (``LIFESYNC_GOOGLE_ADS_TRANSPORT=ads_api``: that host is the Ads API's).
        """
        connection = ad_delivery.connection_of(name, options)
        found = ad_delivery.require(settings, name, KIND, SETTINGS_PLATFORM, ("access_token", "customer_id"),
                                    connection)
        if str(options.get("customer_match_terms") or "").strip().lower() != "accepted":
            raise SettingsError(f"audience destination {name!r} ({KIND}): Google requires the advertiser to accept "
                                "the Customer Match terms (Google Ads > Tools > Audience manager); once they are "
                                "accepted, add `customer_match_terms: accepted` to the destination entry")
        account = customer_id(found["customer_id"])
        login = customer_id(ad_delivery.read(settings, SETTINGS_PLATFORM, "login_customer_id", connection) or "")
        list_id = str(options.get("user_list_id") or "").strip()
        if not account or (list_id and not list_id.isdigit()):
            raise SettingsError(f"audience destination {name!r} ({KIND}): the customer id and user_list_id must be "
                                f"digits (got {found['customer_id']!r}, {list_id!r})")
        transport = (ad_delivery.read(settings, SETTINGS_PLATFORM, "transport", connection) or "").lower()
        base = ad_delivery.read(settings, SETTINGS_PLATFORM, "base_url", connection)
        return AudienceDestinationConfig(
            name=name, kind=KIND, credentials={"access_token": found["access_token"]},
            base_url=base if base and transport in ("", "data_manager") else data_manager.NETWORK.base_url,
            api_version=data_manager.NETWORK.api_version,
            options={"customer_id": account, **({"login_customer_id": login} if login else {}),
                     **({"user_list_id": list_id} if list_id else {})})

    def keys(self, member: AudienceMember) -> dict[str, Any]:
        """``{"userIdentifiers": [...], "consent": {...}}`` as Google's rules hash them; ``Unmatchable`` without any."""
        facts = ad_delivery.contact_facts(member)
        identifiers = data_manager.user_identifiers(facts, self.config, NormalizeCache())  # type: ignore[arg-type]
        if not identifiers:
            raise Unmatchable("Google Customer Match needs an e-mail, a phone number, or a first and last name "
                              "with country and postal code")
        keys: dict[str, Any] = {"userIdentifiers": identifiers}
        granted = consent(member.consent, "CONSENT_GRANTED", "CONSENT_DENIED")
        if granted:
            keys["consent"] = granted
        return keys

    def ensure(self, audience: Audience) -> str:
        """The list's id: the ``user_list_id`` option, the one kept, or a new Customer Match list."""
        given = self.existing(audience)
        if given:
            return given
        parent = f"accountTypes/GOOGLE_ADS/accounts/{self.config.options['customer_id']}"
        body = {"displayName": f"{audience.label} (lifesync {audience.key})",
                "description": f"lifesync segment {audience.key} (brand {audience.brand})",
                "ingestedUserListInfo": {"uploadKeyTypes": ["CONTACT_ID"],
                                         "contactIdInfo": {"dataSourceType": "DATA_SOURCE_TYPE_FIRST_PARTY"}}}
        headers = dict(self.headers)
        if self.login:
            headers["login-account"] = f"accountTypes/GOOGLE_ADS/accounts/{self.login['accountId']}"
        reply = json_body(self.client.request("POST", self._url(f"{parent}/userLists"), headers=headers, json=body))
        return self.created(reply, audience, "id")

    def _url(self, path: str) -> str:
        return join_url(self.config.base_url, f"{self.config.api_version}/{path}")

    def send(self, method: str, remote_id: str, entries: Sequence[Entry]) -> list[MemberResult]:
        """``audienceMembers:ingest`` or ``:remove`` of ``entries`` on user list ``remote_id``."""

        def post(batch: Sequence[Entry], _part: ad_delivery.Part) -> list[MemberResult]:
            body = request_body(method, self.destination(remote_id), batch)
            reply = json_body(self.client.request("POST", self._url(method), headers=self.headers, json=body))
            request_id = str(reply.get("requestId") or "") if isinstance(reply, dict) else ""
            reason = f"request {request_id}" if request_id else None
            return [MemberResult(entry.contact_id, "done", reason) for entry in batch]

        return ad_delivery.upload(entries, post, vendor=VENDOR, limit=self.max_batch)

    def destination(self, user_list_id: str) -> dict[str, Any]:
        """The ``Destination`` of the user list in the customer (through its manager, if set)."""
        found: dict[str, Any] = {"operatingAccount": dict(self.account), "productDestinationId": str(user_list_id)}
        if self.login:
            found["loginAccount"] = dict(self.login)
        return found


def request_body(method: str, destination: Mapping[str, Any], batch: Sequence[Entry]) -> dict[str, Any]:
    """The ``IngestAudienceMembersRequest`` / ``RemoveAudienceMembersRequest`` of one batch (REST JSON)."""
    members = []
    for entry in batch:
        member: dict[str, Any] = {"userData": {"userIdentifiers": list(entry.keys.get("userIdentifiers") or [])}}
        if method == INGEST and entry.keys.get("consent"):
            member["consent"] = dict(entry.keys["consent"])
        members.append(member)
    body: dict[str, Any] = {"destinations": [dict(destination)], "audienceMembers": members, "encoding": "HEX"}
    if method == INGEST:
        body["termsOfService"] = {"customerMatchTermsOfServiceStatus": "ACCEPTED"}
    return body


def read_error(response: requests.Response) -> VendorError | None:
    """Google's google.rpc.Status, its field violations located at the members they name."""
    if response.status_code < 400:
        return None
    code, message, violations = data_manager.read_status(response, _LOCATED)
    if not code:
        return None
    located: dict[int, str] = {}
    for _where, index, said in violations:
        located[index] = "; ".join(filter(None, (located.get(index), said)))
    return VendorError(code=code, message="; ".join(s for _, _, s in violations[:3]) or message, located=located)


DESTINATION = GoogleCustomerMatch
