"""The Salesforce sandbox's objects: fields, types, read-only and required flags, ids and timestamps.

Only the objects lifesync uses exist: the four it syncs (Lead, Contact, Opportunity, Account),
each with the standard fields the connector reads plus the ``Lifesync_Id__c`` external-id field
on Lead and Contact, and Campaign with CampaignMember (audience destinations). Ids follow
Salesforce's shape: a 3-character key prefix, 12 more characters (15, case sensitive) and a
3-character case-folding checksum (18, what the API returns).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sync.sandbox.salesforce.soql import Column, Entity

API_VERSIONS = ("58.0", "59.0", "60.0", "61.0", "62.0")
LEAD_STATUSES = ("Open - Not Contacted", "Working - Contacted", "Closed - Converted", "Closed - Not Converted")
CONVERTED_STATUS = "Closed - Converted"
# (stage, IsClosed, IsWon) in Salesforce's default OpportunityStage order
OPPORTUNITY_STAGES = (
    ("Prospecting", False, False), ("Qualification", False, False), ("Needs Analysis", False, False),
    ("Value Proposition", False, False), ("Id. Decision Makers", False, False),
    ("Perception Analysis", False, False), ("Proposal/Price Quote", False, False),
    ("Negotiation/Review", False, False), ("Closed Won", True, True), ("Closed Lost", True, False),
)
STAGE_FLAGS = {name: (closed, won) for name, closed, won in OPPORTUNITY_STAGES}
CURRENCIES = ("USD", "EUR", "GBP", "CAD", "AUD", "BRL", "MXN", "INR")
CAMPAIGN_MEMBER_STATUSES = ("Sent", "Responded")  # a new campaign's default member statuses
LEAD_SOURCES = ("Web", "Phone Inquiry", "Partner Referral", "Purchased List", "Other")
OWNER_ID = "0055g00000AbCdEAAZ"  # the integration user every record belongs to
ORG_ID = "00D5g00000LfSyNEAV"

_SOQL_KIND = {"id": "id", "reference": "id", "string": "string", "picklist": "string", "email": "string",
              "phone": "string", "boolean": "boolean", "datetime": "datetime", "date": "date",
              "currency": "number"}


@dataclass(frozen=True)
class Field:
    """One field of an object as the API describes it."""

    name: str
    type: str  # id reference string picklist email phone boolean datetime date currency
    length: int = 0
    required: bool = False  # on create
    readonly: bool = False
    external_id: bool = False
    reference_to: str | None = None
    relationship: str | None = None
    values: tuple[str, ...] = ()  # restricted picklist values (empty: unrestricted)
    label: str = ""


def _f(name: str, type_: str = "string", length: int = 0, **kw: object) -> Field:
    label = kw.pop("label", None) or _label(name)
    return Field(name, type_, length, label=str(label), **kw)  # type: ignore[arg-type]


def _label(name: str) -> str:
    words, current = [], ""
    for ch in name.removesuffix("__c").replace("_", " "):
        if ch.isupper() and current and not current[-1].isupper() and current[-1] != " ":
            words.append(current)
            current = ""
        current += ch
    words.append(current)
    return " ".join(w.strip() for w in words if w.strip())


_SYSTEM = (
    _f("Id", "id", 18, readonly=True), _f("IsDeleted", "boolean", readonly=True),
    _f("CreatedDate", "datetime", readonly=True), _f("LastModifiedDate", "datetime", readonly=True),
    _f("SystemModstamp", "datetime", readonly=True),
    _f("OwnerId", "reference", 18, reference_to="User"),
)
_PERSON = (
    _f("FirstName", length=40), _f("LastName", length=80, required=True), _f("Name", length=121, readonly=True),
    _f("Email", "email", 80), _f("Phone", "phone", 40), _f("MobilePhone", "phone", 40), _f("Title", length=128),
    _f("LeadSource", "picklist", 255),
    # consent: the e-mail opt-out flag, and the person's Individual (data-privacy preferences; API 42.0+)
    _f("HasOptedOutOfEmail", "boolean"),
    _f("IndividualId", "reference", 18, reference_to="Individual", relationship="Individual"),
)
_LIFESYNC_ID = _f("Lifesync_Id__c", length=255, external_id=True)

OBJECTS: dict[str, tuple[str, tuple[Field, ...]]] = {
    "Lead": ("00Q", (*_SYSTEM, *_PERSON,
                     _f("Company", length=255, required=True), _f("City", length=40), _f("State", length=80),
                     _f("PostalCode", length=20), _f("Country", length=80),
                     _f("Status", "picklist", 255, values=LEAD_STATUSES),
                     _f("IsConverted", "boolean", readonly=True),
                     _f("ConvertedContactId", "reference", 18, readonly=True, reference_to="Contact",
                        relationship="ConvertedContact"),
                     _f("ConvertedAccountId", "reference", 18, readonly=True, reference_to="Account",
                        relationship="ConvertedAccount"),
                     _f("ConvertedOpportunityId", "reference", 18, readonly=True, reference_to="Opportunity",
                        relationship="ConvertedOpportunity"),
                     _f("ConvertedDate", "date", readonly=True), _LIFESYNC_ID)),
    "Contact": ("003", (*_SYSTEM, *_PERSON,
                        _f("MailingCity", length=40), _f("MailingState", length=80),
                        _f("MailingPostalCode", length=20), _f("MailingCountry", length=80),
                        _f("AccountId", "reference", 18, reference_to="Account", relationship="Account"),
                        _LIFESYNC_ID)),
    "Opportunity": ("006", (*_SYSTEM,
                            _f("Name", length=120, required=True),
                            _f("StageName", "picklist", 255, required=True,
                               values=tuple(s for s, _, _ in OPPORTUNITY_STAGES)),
                            _f("IsClosed", "boolean", readonly=True), _f("IsWon", "boolean", readonly=True),
                            _f("Amount", "currency"), _f("CloseDate", "date", required=True),
                            _f("ContactId", "reference", 18, reference_to="Contact", relationship="Contact"),
                            _f("AccountId", "reference", 18, reference_to="Account", relationship="Account"),
                            _f("CurrencyIsoCode", "picklist", 3, values=CURRENCIES),
                            _f("LeadSource", "picklist", 255))),
    "Individual": ("0PK", (*_SYSTEM, _f("FirstName", length=40), _f("LastName", length=80, required=True),
                           _f("HasOptedOutTracking", "boolean"), _f("HasOptedOutProcessing", "boolean"),
                           _f("HasOptedOutProfiling", "boolean"), _f("HasOptedOutSolicit", "boolean"))),
    "Account": ("001", (*_SYSTEM, _f("Name", length=255, required=True), _f("Phone", "phone", 40),
                        _f("BillingCity", length=40), _f("BillingCountry", length=80))),
    "Campaign": ("701", (*_SYSTEM, _f("Name", length=80, required=True), _f("IsActive", "boolean"),
                         _f("Type", "picklist", 255), _f("Status", "picklist", 255),
                         _f("Description", length=32000))),
    # ContactId or LeadId (one of them; with both only ContactId is kept); one member per campaign and person
    "CampaignMember": ("00v", (*_SYSTEM,
                               _f("CampaignId", "reference", 18, required=True, reference_to="Campaign",
                                  relationship="Campaign"),
                               _f("ContactId", "reference", 18, reference_to="Contact", relationship="Contact"),
                               _f("LeadId", "reference", 18, reference_to="Lead", relationship="Lead"),
                               _f("Status", "picklist", 255, values=CAMPAIGN_MEMBER_STATUSES),
                               _f("HasResponded", "boolean", readonly=True))),
}
PREFIXES = {prefix: name for name, (prefix, _) in OBJECTS.items()}
FIELDS: dict[str, dict[str, Field]] = {name: {f.name: f for f in fields} for name, (_, fields) in OBJECTS.items()}
LOWER_FIELDS = {name: {k.lower(): f for k, f in fields.items()} for name, fields in FIELDS.items()}
OBJECT_NAMES = {name.lower(): name for name in OBJECTS}


def catalog() -> dict[str, Entity]:
    """The objects as the SOQL binder sees them (lower-case names → columns and relationships)."""
    result = {}
    for name, fields in FIELDS.items():
        columns = {f.name.lower(): Column(f.name, _SOQL_KIND[f.type]) for f in fields.values()}
        relationships = {f.relationship.lower(): (f.relationship, f.name, f.reference_to)
                         for f in fields.values() if f.relationship and f.reference_to}
        result[name.lower()] = Entity(name, columns, relationships)
    return result


def describe(sobject: str) -> dict:
    """A trimmed ``/sobjects/{Obj}/describe`` body: the fields with their types and flags."""
    prefix, fields = OBJECTS[sobject]
    return {"name": sobject, "keyPrefix": prefix, "queryable": True, "createable": True, "updateable": True,
            "fields": [{"name": f.name, "label": f.label, "type": f.type, "length": f.length,
                        "createable": not f.readonly, "updateable": not f.readonly,
                        "nillable": not f.required and f.type != "boolean", "externalId": f.external_id,
                        "referenceTo": [f.reference_to] if f.reference_to else [],
                        "relationshipName": f.relationship,
                        "picklistValues": [{"value": v, "label": v, "active": True} for v in f.values]}
                       for f in fields]}


# --- ids ---------------------------------------------------------------------------------------

_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"  # ASCII order: ids sort by age
_CHECKSUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"


def make_id(prefix: str, counter: int) -> str:
    """The 18-character id of the ``counter``-th record with this key prefix."""
    digits = ""
    for _ in range(9):
        counter, rem = divmod(counter, 62)
        digits = _BASE62[rem] + digits
    return to18(f"{prefix}5g0{digits}")


def to18(id15: str) -> str:
    """Append Salesforce's checksum: one character per 5-character chunk, encoding which are upper case."""
    suffix = ""
    for chunk in (id15[0:5], id15[5:10], id15[10:15]):
        bits = sum(1 << i for i, ch in enumerate(chunk) if "A" <= ch <= "Z")
        suffix += _CHECKSUM[bits]
    return id15 + suffix


def normalize_id(value: str) -> str | None:
    """The 18-character form of a 15- or 18-character id; None when it is not id-shaped."""
    if not isinstance(value, str) or len(value) not in (15, 18) or not value.isalnum() or not value.isascii():
        return None
    full = to18(value[:15])
    if len(value) == 18 and value[15:].upper() != full[15:]:
        return None
    return full


def object_of(record_id: str) -> str | None:
    """The object an id belongs to, by its key prefix."""
    return PREFIXES.get(record_id[:3])


# --- timestamps --------------------------------------------------------------------------------

def format_datetime(value: datetime) -> str:
    """Salesforce's REST format, ``2026-11-27T10:00:00.000+0000``."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}+0000"


def format_value(value: object) -> object:
    """A stored value as the REST API renders it in JSON."""
    if isinstance(value, datetime):
        return format_datetime(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def parse_datetime(text: str) -> datetime:
    """An ISO 8601 date-time (``Z``, ``+0000`` or ``+00:00``; naive means UTC) → aware UTC datetime."""
    # a '+' that was not url-encoded arrives as a space
    value = datetime.fromisoformat(re.sub(r" (\d{2}:?\d{2})$", r"+\1", text.strip()))
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def from_epoch(seconds: float) -> datetime:
    """A clock reading as Salesforce stores it: UTC, whole seconds (records share timestamps)."""
    return datetime.fromtimestamp(int(seconds), UTC)
