"""Put the synthetic business's CRM records into the HubSpot and Salesforce sandboxes.

``lifesync demo`` then pulls them back through the real connectors, exactly as it would pull
a customer's portal or org. HubSpot records keep their ids and modification times. Salesforce
assigns its own ids, so references (a converted lead's contact, an opportunity's contact and
account) are rewritten to the new ids; a value the org refuses (Salesforce validates e-mail
fields; the business is deliberately messy) is left out of that record and counted, the way
an import tool reports skipped values.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from sync.sandbox.salesforce.records import ApiError

_SF_SKIP = {"attributes", "Id", "Account", "IsDeleted", "SystemModstamp", "CreatedDate", "LastModifiedDate",
            "IsClosed", "IsWon", "IsConverted", "ConvertedContactId"}


def _when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00").replace("+0000", "+00:00"))


def load_hubspot(sandbox: Any, business: Any) -> int:
    """Every HubSpot contact and deal of ``business`` into ``sandbox``; returns how many records."""
    for record in business.hubspot_contacts:
        sandbox.put("contacts", {k: v for k, v in record["properties"].items() if v is not None},
                    id=record["id"], at=_when(record["updatedAt"]))
    for record in business.hubspot_deals:
        props = {k: v for k, v in record["properties"].items() if v is not None and k != "hs_lastmodifieddate"}
        sandbox.put("deals", props, id=record["id"], at=_when(record["updatedAt"]))
        for assoc in record["associations"]["contacts"]["results"]:
            sandbox.associate(record["id"], assoc["id"])
    return len(business.hubspot_contacts) + len(business.hubspot_deals)


def _insert(sandbox: Any, sobject: str, fields: dict[str, Any], modstamp: datetime, skipped: Counter) -> str:
    """Insert, leaving out values the org refuses (one at a time, named in ``skipped``)."""
    fields = {k: v for k, v in fields.items() if v is not None}
    while True:
        try:
            return sandbox.insert(sobject, fields, modstamp=modstamp)
        except ApiError as exc:
            bad = [f for f in exc.fields if f in fields]
            if not bad:
                raise
            for name in bad:
                skipped[f"{sobject}.{name}"] += 1
                del fields[name]


def load_salesforce(sandbox: Any, business: Any) -> Counter:
    """Every Salesforce record of ``business`` into ``sandbox``; returns the values the org refused."""
    skipped: Counter = Counter()
    accounts: dict[str, str] = {}
    contact_ids: dict[str, str] = {}
    for record in business.salesforce_contacts:
        name = (record.get("Account") or {}).get("Name")
        fields = {k: v for k, v in record.items() if k not in _SF_SKIP and k != "AccountId"}
        if name:
            if name not in accounts:
                accounts[name] = sandbox.insert("Account", {"Name": name})
            fields["AccountId"] = accounts[name]
        contact_ids[record["Id"]] = _insert(sandbox, "Contact", fields, _when(record["SystemModstamp"]), skipped)
    for record in business.salesforce_leads:
        fields = {k: v for k, v in record.items() if k not in _SF_SKIP}
        converted = record.get("ConvertedContactId")
        if converted in contact_ids:
            fields.update(IsConverted=True, ConvertedContactId=contact_ids[converted])
        _insert(sandbox, "Lead", fields, _when(record["SystemModstamp"]), skipped)
    for record in business.salesforce_opportunities:
        fields = {k: v for k, v in record.items() if k not in _SF_SKIP and k not in ("ContactId", "AccountId")}
        if record.get("ContactId") in contact_ids:
            fields["ContactId"] = contact_ids[record["ContactId"]]
            contact = sandbox.get("Contact", fields["ContactId"])
            if contact.get("AccountId"):
                fields["AccountId"] = contact["AccountId"]
        _insert(sandbox, "Opportunity", fields, _when(record["SystemModstamp"]), skipped)
    return skipped
