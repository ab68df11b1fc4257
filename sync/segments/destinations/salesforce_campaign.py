"""``salesforce_campaign``: a segment as the members of a Salesforce Campaign (CampaignMember records).

Options (a segment file's destination entry)::

    connection   the Salesforce connection (default: ``default``): LIFESYNC_SALESFORCE_* (login URL, client
                 id, JWT key or refresh token, API version) with ``__<NAME>`` for a named one
    campaign_id  an existing Campaign (15 or 18 characters, prefix 701); else the Campaign named
                 ``lifesync: <segment label>`` is found, or created (active)
    status       the members' Status (a value of the campaign's member statuses; default: the campaign's own)

Members are Contacts or Leads, by the ids the Salesforce mappings record as identities
(``salesforce`` for a Contact, ``salesforce_lead`` for a Lead; a contact with both is added by its
Contact, as Salesforce itself keeps only ContactId when given both); a contact with neither is
``Unmatchable``. Calls use the Salesforce connector's client (its login flows and session
refresh, retries, quota headers, error table) on its API version (LIFESYNC_SALESFORCE_API_VERSION)
and sObject Collections, at most 200 records per request
(https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_composite_sobjects_collections.htm):

* add: ``POST /composite/sobjects`` with ``allOrNone: false``; each record's own result says
  success, ``DUPLICATE_VALUE`` ("Already a campaign member.": done, nothing to do),
  ``UNABLE_TO_LOCK_ROW`` (retry) or another code (failed: e.g. an id of no Contact/Lead);
* remove: one SOQL query finds the batch's CampaignMember ids, then ``DELETE
  /composite/sobjects?ids=…&allOrNone=false``; a person who is not a member is already done.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import requests

from sync.connectors.salesforce.auth import SalesforceAuth
from sync.connectors.salesforce.client import SalesforceClient
from sync.connectors.salesforce.settings import SalesforceSettings
from sync.connectors.salesforce.soql import quote
from sync.errors import PermanentError, SettingsError, SyncError
from sync.http import redact
from sync.segments.destinations.base import (
    Audience,
    AudienceDestinationConfig,
    AudienceMember,
    Entry,
    MemberResult,
    Unmatchable,
)
from sync.segments.destinations.connection import (
    MAX_REASON,
    check_options,
    connection_env,
    connection_of,
    connection_settings,
    option,
    outcome,
)
from sync.settings import Settings

OPTIONS = frozenset({"connection", "campaign_id", "status"})
MAX_RECORDS = 200  # sObject Collections: records (or ids) per request
NAME_PREFIX = "lifesync: "
MAX_NAME = 80  # Campaign.Name
ALREADY = frozenset({"DUPLICATE_VALUE"})  # "Already a campaign member."
GONE = frozenset({"ENTITY_IS_DELETED", "INVALID_CROSS_REFERENCE_KEY"})
RETRY = frozenset({"UNABLE_TO_LOCK_ROW", "SERVER_UNAVAILABLE"})
_ID = re.compile(r"[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?")
PERSON = (("salesforce", "ContactId"), ("salesforce_lead", "LeadId"))  # identity kind -> CampaignMember field


def _errors(answer: Mapping[str, Any]) -> tuple[set[str], str]:
    """A collection result's error codes and a short, redacted reason."""
    errors = [e for e in answer.get("errors") or [] if isinstance(e, dict)]
    reason = "; ".join(f"{e.get('statusCode')}: {e.get('message')}" for e in errors) or "no reason given"
    return {str(e.get("statusCode") or "") for e in errors}, " ".join(redact(reason).split())[:MAX_REASON]


def _result(contact_id: int, answer: Mapping[str, Any], done_codes: frozenset[str]) -> MemberResult:
    if answer.get("success"):
        return MemberResult(contact_id, "done")
    codes, reason = _errors(answer)
    if codes and codes <= done_codes:
        return MemberResult(contact_id, "done", reason)
    return MemberResult(contact_id, "retry" if codes and codes <= RETRY else "failed", reason)


class SalesforceCampaign:
    """Keeps a Salesforce Campaign's members equal to a segment."""

    kind: ClassVar[str] = "salesforce_campaign"
    max_batch: ClassVar[int] = MAX_RECORDS
    purpose: ClassVar[str] = "marketing_messages"

    def __init__(self, config: AudienceDestinationConfig, session: requests.Session | None = None):
        # the connector's own client (its session, login and retries): ``session`` is not used
        self.config = config
        settings, connection = connection_settings(config.credentials), connection_of(config.name, config.options)
        self.client = SalesforceClient(SalesforceAuth(settings, connection), api_version=config.api_version)
        self.status = option(config.name, config.options, "status")

    @classmethod
    def from_settings(cls, name: str, options: Mapping[str, str], settings: Settings) -> AudienceDestinationConfig:
        """The config of destination ``name``: the connection's credentials and API version, the campaign options."""
        check_options(name, cls.kind, options, OPTIONS)
        connection = connection_of(name, options)
        conf = SalesforceSettings.of(settings, connection)
        try:
            SalesforceAuth(settings, connection)  # names the missing credential variables
        except SettingsError as exc:
            raise SettingsError(f"audience destination {name!r} ({cls.kind}): {exc}") from None
        campaign = option(name, options, "campaign_id")
        if campaign is not None and not (_ID.fullmatch(campaign) and campaign.startswith("701")):
            raise SettingsError(f"audience destination {name!r} ({cls.kind}): campaign_id must be a Campaign id "
                                f"(15 or 18 letters and digits starting 701), got {campaign!r}")
        return AudienceDestinationConfig(name=name, kind=cls.kind, base_url=conf.login_url,
                                         api_version=conf.api_version,
                                         credentials=connection_env(SalesforceSettings, settings, connection),
                                         options=dict(options))

    def keys(self, member: AudienceMember) -> dict[str, Any]:
        """``{"ContactId": id}`` from the ``salesforce`` identity, else ``{"LeadId": id}`` from ``salesforce_lead``."""
        for identity, field in PERSON:
            found = next((v for k, v in member.identities if k == identity and _ID.fullmatch(str(v))), None)
            if found:
                return {field: str(found)}
        raise Unmatchable("a Salesforce campaign holds Contacts and Leads: the contact has no Salesforce Contact "
                          "or Lead id")

    def ensure(self, audience: Audience) -> str:
        """The ``campaign_id`` option, else the id stored last time, else the Campaign ``lifesync: <label>``."""
        configured = option(self.config.name, self.config.options, "campaign_id") or audience.remote_id
        if configured:
            return configured
        name = f"{NAME_PREFIX}{audience.label}"[:MAX_NAME]
        soql = f"SELECT Id FROM Campaign WHERE Name = {quote(name)} ORDER BY CreatedDate LIMIT 1"  # noqa: S608
        for records, _ in self.client.query_pages(soql, include_deleted=False):
            if records:
                return str(records[0]["Id"])
        created = self.client.request("POST", self.client.data_path("sobjects/Campaign"),
                                      json={"Name": name, "IsActive": True}).json()
        if not isinstance(created, dict) or not created.get("id"):
            raise PermanentError(f"Salesforce answered no id for the new Campaign {name!r}")
        return str(created["id"])

    def add(self, remote_id: str, entries: Sequence[Entry]) -> list[MemberResult]:
        """Create one CampaignMember per entry (one request); an existing member is done."""
        if not entries:
            return []
        extra = {"Status": self.status} if self.status else {}
        records = [{"attributes": {"type": "CampaignMember"}, "CampaignId": remote_id, **dict(e.keys), **extra}
                   for e in entries]
        try:
            answers = self._collection("POST", json={"allOrNone": False, "records": records}, expected=len(entries))
        except SyncError as exc:
            return outcome(entries, exc)
        return [_result(e.contact_id, a, ALREADY) for e, a in zip(entries, answers, strict=True)]

    def remove(self, remote_id: str, entries: Sequence[Entry]) -> list[MemberResult]:
        """Delete the entries' CampaignMember records (a query, then one delete request); non-members are done."""
        if not entries:
            return []
        try:
            members = self._members(remote_id, entries)
            wanted = [members[key] for key in map(self._person, entries) if key in members]
            answers = self._collection("DELETE", params={"ids": ",".join(dict.fromkeys(wanted)),
                                                         "allOrNone": "false"}, expected=None) if wanted else []
        except SyncError as exc:
            return outcome(entries, exc)
        by_member = {str(a.get("id") or "")[:15]: a for a in answers if isinstance(a, dict)}
        results = []
        for entry in entries:
            member = members.get(self._person(entry))
            answer = by_member.get(member[:15]) if member else None
            results.append(MemberResult(entry.contact_id, "done") if answer is None
                           else _result(entry.contact_id, answer, GONE))
        return results

    @staticmethod
    def _person(entry: Entry) -> tuple[str, str]:
        field, value = next(iter(entry.keys.items()))
        return field, str(value)[:15]

    def _members(self, campaign_id: str, entries: Sequence[Entry]) -> dict[tuple[str, str], str]:
        """(field, 15-character person id) → CampaignMember id, for the entries' people in the campaign."""
        terms = []
        for _, field in PERSON:
            ids = [str(e.keys[field]) for e in entries if field in e.keys]
            if ids:
                terms.append(f"{field} IN ({', '.join(quote(i) for i in ids)})")
        soql = (f"SELECT Id, ContactId, LeadId FROM CampaignMember WHERE CampaignId = {quote(campaign_id)} "  # noqa: S608
                f"AND ({' OR '.join(terms)})")
        found: dict[tuple[str, str], str] = {}
        for records, _ in self.client.query_pages(soql, include_deleted=False):
            for row in records:
                field = "ContactId" if row.get("ContactId") else "LeadId"
                found[(field, str(row[field])[:15])] = str(row["Id"])
        return found

    def _collection(self, method: str, *, expected: int | None, **kwargs: Any) -> list[dict[str, Any]]:
        answers = self.client.request(method, self.client.data_path("composite/sobjects"), **kwargs).json()
        if not isinstance(answers, list) or (expected is not None and len(answers) != expected):
            raise PermanentError(f"Salesforce answered {len(answers) if isinstance(answers, list) else 'no'} results "
                                 f"for {expected} CampaignMember records")
        return answers


DESTINATION = SalesforceCampaign

__all__ = ["DESTINATION", "SalesforceCampaign"]
