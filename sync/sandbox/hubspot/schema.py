"""The sandbox portal's object types and properties, and HubSpot's rules for property values.

Values sent through the API must be JSON strings; enumerations accept only their options;
e-mails must look like e-mails; numbers and dates must parse; read-only properties refuse
writes; a property the portal does not define is refused (HubSpot's PROPERTY_DOESNT_EXIST).
``lifecyclestage`` only moves forward: a backward value is silently kept at the later stage
(``backward="ignore"``, what portals do) unless it was cleared first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sync.sandbox.hubspot.errors import invalid_property

OBJECT_TYPES = ("contacts", "deals", "companies")
SINGULAR = {"contacts": "CONTACT", "deals": "DEAL", "companies": "COMPANY"}
MODIFIED_PROPERTY = {"contacts": "lastmodifieddate", "deals": "hs_lastmodifieddate", "companies": "hs_lastmodifieddate"}
# Returned on every record whatever ``properties`` asks for.
ALWAYS = {t: ("hs_object_id", "createdate", MODIFIED_PROPERTY[t]) for t in OBJECT_TYPES}
DEFAULT_PROPERTIES = {
    "contacts": ("createdate", "email", "firstname", "hs_object_id", "lastmodifieddate", "lastname"),
    "deals": ("amount", "closedate", "createdate", "dealname", "dealstage", "hs_lastmodifieddate", "hs_object_id",
              "pipeline"),
    "companies": ("createdate", "domain", "hs_lastmodifieddate", "hs_object_id", "name"),
}
LIFECYCLE_STAGES = ("subscriber", "lead", "marketingqualifiedlead", "salesqualifiedlead", "opportunity", "customer",
                    "evangelist", "other")
LEAD_STATUSES = ("NEW", "OPEN", "IN_PROGRESS", "OPEN_DEAL", "UNQUALIFIED", "ATTEMPTED_TO_CONTACT", "CONNECTED",
                 "BAD_TIMING")
DEAL_STAGES = ("appointmentscheduled", "qualifiedtobuy", "presentationscheduled", "decisionmakerboughtin",
               "contractsent", "closedwon", "closedlost")
_LABELS = {
    "subscriber": "Subscriber", "lead": "Lead", "marketingqualifiedlead": "Marketing Qualified Lead",
    "salesqualifiedlead": "Sales Qualified Lead", "opportunity": "Opportunity", "customer": "Customer",
    "evangelist": "Evangelist", "other": "Other", "appointmentscheduled": "Appointment Scheduled",
    "qualifiedtobuy": "Qualified To Buy", "presentationscheduled": "Presentation Scheduled",
    "decisionmakerboughtin": "Decision Maker Bought-In", "contractsent": "Contract Sent",
    "closedwon": "Closed Won", "closedlost": "Closed Lost",
}
_EMAIL = re.compile(r"^[^@\s]+@[^@\s.]+(\.[^@\s.]+)+$")
_TEXT = ("email", "firstname", "lastname", "phone", "mobilephone", "city", "state", "zip", "country", "company",
         "jobtitle", "website", "address", "hs_language", "hubspot_owner_id")


@dataclass(frozen=True)
class PropertyDef:
    """One property of an object type."""

    name: str
    type: str = "string"  # string | number | datetime | enumeration | bool
    field_type: str = "text"
    options: tuple[str, ...] = ()
    read_only: bool = False
    labels: dict[str, str] = field(default_factory=dict, compare=False)
    custom: bool = False  # defined by the portal (add_property), not by HubSpot

    def describe(self, object_type: str) -> dict[str, Any]:
        """The property as the Properties API returns it.

        ``description`` and the three ``modificationMetadata`` flags are always present, as in
        HubSpot's answers (tests/fixtures/hubspot_api/lifecyclestage_property.json) and as the
        ``Property`` model of HubSpot's own SDK (hubspot-api-client) requires.
        """
        body: dict[str, Any] = {
            "name": self.name, "label": self.name.replace("_", " ").title(), "type": self.type,
            "fieldType": self.field_type, "description": "", "groupName": f"{SINGULAR[object_type].lower()}information",
            "options": [{"label": self.labels.get(value, _LABELS.get(value, value.replace("_", " ").title())),
                         "value": value, "displayOrder": order, "hidden": False}
                        for order, value in enumerate(self.options)],
            "hasUniqueValue": self.name == "email",
            "modificationMetadata": {"archivable": True, "readOnlyDefinition": not self.custom,
                                     "readOnlyValue": self.read_only},
        }
        if not self.custom:
            body["hubspotDefined"] = True
        return body


# consent: "Unsubscribed from all email" (set by HubSpot's subscription tools, read only through the CRM API)
# and the GDPR legal basis (a multiple checkbox; its option values as portals show them)
LEGAL_BASES = ("Legitimate interest – prospect/lead", "Legitimate interest – existing customer",
               "Legitimate interest - other", "Performance of a contract", "Freely given consent from contact",
               "Not applicable")
CONSENT_PROPERTIES = (
    PropertyDef("hs_email_optout", "bool", "booleancheckbox", ("true", "false"), read_only=True,
                labels={"true": "Yes", "false": "No"}),
    PropertyDef("hs_legal_basis", "enumeration", "checkbox", LEGAL_BASES, labels={b: b for b in LEGAL_BASES}),
)


def _enum(name: str, options: tuple[str, ...]) -> PropertyDef:
    return PropertyDef(name, "enumeration", "select" if name != "dealstage" else "radio", options)


def _schema() -> dict[str, dict[str, PropertyDef]]:
    common = [PropertyDef("hs_object_id", "number", read_only=True),
              PropertyDef("createdate", "datetime", "date", read_only=True)]
    contacts = [*common, *(PropertyDef(name) for name in _TEXT), PropertyDef("lastmodifieddate", "datetime", "date",
                read_only=True), _enum("lifecyclestage", LIFECYCLE_STAGES), _enum("hs_lead_status", LEAD_STATUSES),
                *CONSENT_PROPERTIES]
    deals = [*common, PropertyDef("dealname"), PropertyDef("amount", "number", "number"),
             _enum("dealstage", DEAL_STAGES), PropertyDef("closedate", "datetime", "date"),
             PropertyDef("deal_currency_code"), PropertyDef("pipeline"), PropertyDef("hubspot_owner_id"),
             PropertyDef("description"), PropertyDef("hs_lastmodifieddate", "datetime", "date", read_only=True)]
    companies = [*common, PropertyDef("name"), PropertyDef("domain"), PropertyDef("city"), PropertyDef("country"),
                 PropertyDef("industry"), PropertyDef("hs_lastmodifieddate", "datetime", "date", read_only=True)]
    return {t: {p.name: p for p in props} for t, props in
            (("contacts", contacts), ("deals", deals), ("companies", companies))}


def default_schema() -> dict[str, dict[str, PropertyDef]]:
    """A fresh copy of the portal's properties (a sandbox may add its own)."""
    return _schema()


def parse_instant(value: str) -> int | None:
    """Epoch milliseconds of an epoch-ms string, an ISO-8601 date-time or a date (UTC midnight)."""
    text = value.strip()
    if not text:
        return None
    if text.lstrip("-").isdigit():
        return int(text)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)  # HubSpot stores date-only values as UTC midnight
    return int(moment.timestamp() * 1000)


def parse_number(value: str) -> float | None:
    """The number in a numeric property's string, or None."""
    try:
        return float(value)
    except ValueError:
        return None


def check_value(defn: PropertyDef | None, name: str, value: Any) -> dict[str, Any] | None:
    """The validation result refusing ``value`` for property ``name``, or None when it is acceptable."""
    if defn is None:
        return invalid_property(name, f'Property "{name}" does not exist', "PROPERTY_DOESNT_EXIST")
    if not isinstance(value, str):
        return invalid_property(name, f"{json_text(value)} is not a string: property values must be sent as strings",
                                "INVALID_PROPERTY_VALUE_TYPE")
    if defn.read_only:
        return invalid_property(name, f"{name} is a read only property; its value cannot be set.", "READ_ONLY_VALUE")
    if value == "":
        return None  # clearing is always allowed
    if defn.type in ("enumeration", "bool") and value not in defn.options:
        return invalid_property(name, f"{value} was not one of the allowed options: [{', '.join(defn.options)}]",
                                "INVALID_OPTION")
    if name == "email" and not _EMAIL.match(value):
        return invalid_property(name, f"Email address {value} is invalid", "INVALID_EMAIL")
    if defn.type == "number" and parse_number(value) is None:
        return invalid_property(name, f"{value} was not a valid number.", "INVALID_DOUBLE")
    if defn.type == "datetime" and parse_instant(value) is None:
        return invalid_property(name, f"{value} was not a valid date.", "INVALID_DATE")
    return None


def json_text(value: Any) -> str:
    """A JSON rendering of a rejected value, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def lifecycle_value(current: str | None, new: str, backward: str) -> str:
    """The ``lifecyclestage`` value a write leaves: forward moves apply, backward ones only after clearing."""
    if backward == "accept" or not new or current not in LIFECYCLE_STAGES:
        return new
    if LIFECYCLE_STAGES.index(new) < LIFECYCLE_STAGES.index(current):
        return current  # HubSpot keeps the later stage and still answers success
    return new
