"""The Salesforce sandbox's records: validation, writes, soft deletes, lead conversion, rollback.

Rows are plain dicts that are never mutated once stored: a write stores a new dict. A query
snapshot can therefore keep references to the rows it matched and still page through the values
they had when the query ran, and an all-or-none collection rolls back by putting old dicts back.
The caller (``SalesforceSandbox``) holds the lock.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any

from sync.sandbox.salesforce.schema import (
    CONVERTED_STATUS,
    FIELDS,
    LOWER_FIELDS,
    OBJECTS,
    OWNER_ID,
    STAGE_FLAGS,
    Field,
    format_value,
    from_epoch,
    make_id,
    normalize_id,
    object_of,
    parse_datetime,
)

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$")
_CONVERT_TO_CONTACT = {"FirstName": "FirstName", "LastName": "LastName", "Email": "Email", "Phone": "Phone",
                       "MobilePhone": "MobilePhone", "Title": "Title", "LeadSource": "LeadSource",
                       "City": "MailingCity", "State": "MailingState", "PostalCode": "MailingPostalCode",
                       "Country": "MailingCountry", "Lifesync_Id__c": "Lifesync_Id__c"}


class ApiError(Exception):
    """A refusal in Salesforce's shape: HTTP status, errorCode, message and the fields concerned."""

    def __init__(self, status: int, code: str, message: str, fields: list[str] | None = None,
                 body: Any = None, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.fields = fields or []
        self.override_body = body  # e.g. the 300 answer's list of matching record URLs
        self.headers = dict(headers or {})

    def body(self) -> Any:
        """The JSON body: Salesforce's error array unless an explicit body was given."""
        if self.override_body is not None:
            return self.override_body
        return [{"message": self.message, "errorCode": self.code, "fields": self.fields}]

    def result_error(self) -> dict[str, Any]:
        """The error as one entry of a collection result's ``errors`` list."""
        return {"statusCode": self.code, "message": self.message, "fields": self.fields}


def _bad(code: str, message: str, fields: list[str] | None = None) -> ApiError:
    return ApiError(400, code, message, fields)


class RecordStore:
    """Every object's rows, the external-id index, the delete log and the log of API writes."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.rows: dict[str, dict[str, dict[str, Any]]] = {name: {} for name in OBJECTS}
        self.counters = dict.fromkeys(OBJECTS, 0)
        self.deleted_log: dict[str, list[tuple[str, datetime]]] = {name: [] for name in OBJECTS}
        self.ext_index: dict[tuple[str, str], dict[str, set[str]]] = {
            (name, f.name): {} for name, fields in FIELDS.items() for f in fields.values() if f.external_id}
        self.writes: list[dict[str, Any]] = []
        self._journal: list[tuple[str, str, dict[str, Any] | None]] | None = None

    def now(self) -> datetime:
        """The clock as a Salesforce timestamp (whole seconds)."""
        return from_epoch(self.clock())

    # --- reading --------------------------------------------------------------------------

    def row(self, sobject: str, record_id: str, *, deleted: bool = False) -> dict[str, Any] | None:
        """The stored row (None when missing, or deleted unless ``deleted``)."""
        row = self.rows[sobject].get(normalize_id(record_id) or "")
        if row is None or (row["IsDeleted"] and not deleted):
            return None
        return row

    def require(self, sobject: str, record_id: str) -> dict[str, Any]:
        """The live row, or the 404 Salesforce answers for a missing or deleted record."""
        full = normalize_id(record_id)
        row = self.rows[sobject].get(full or "")
        if row is None:
            raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")
        if row["IsDeleted"]:
            raise ApiError(404, "ENTITY_IS_DELETED", "entity is deleted")
        return row

    def match_external(self, sobject: str, field: str, value: str) -> list[str]:
        """Ids of live records whose external-id ``field`` equals ``value``, oldest first."""
        return sorted(self.ext_index[(sobject, field)].get(value, ()))

    # --- low level ------------------------------------------------------------------------

    def _put(self, sobject: str, row: dict[str, Any]) -> None:
        old = self.rows[sobject].get(row["Id"])
        if self._journal is not None:
            self._journal.append((sobject, row["Id"], old))
        self._reindex(sobject, old, row)
        self.rows[sobject][row["Id"]] = row

    def _reindex(self, sobject: str, old: dict[str, Any] | None, new: dict[str, Any] | None) -> None:
        for (name, field), index in self.ext_index.items():
            if name != sobject:
                continue
            for row, add in ((old, False), (new, True)):
                value = row.get(field) if row is not None and not row["IsDeleted"] else None
                if value is None:
                    continue
                ids = index.setdefault(value, set())
                (ids.add if add else ids.discard)(row["Id"])

    def begin(self) -> int:
        """Start journaling writes (for an all-or-none collection); returns the write-log mark."""
        self._journal = []
        return len(self.writes)

    def commit(self) -> None:
        """Stop journaling and keep the writes."""
        self._journal = None

    def rollback(self, mark: int) -> None:
        """Put back every row written since ``begin`` and forget their write-log entries."""
        journal, self._journal = self._journal or [], None
        for sobject, record_id, old in reversed(journal):
            current = self.rows[sobject].get(record_id)
            self._reindex(sobject, current, old)
            if old is None:
                self.rows[sobject].pop(record_id, None)
            else:
                self.rows[sobject][record_id] = old
        del self.writes[mark:]

    # --- validation -----------------------------------------------------------------------

    def coerce(self, sobject: str, fields: Mapping[str, Any], *, creating: bool, api: bool) -> dict[str, Any]:
        """Check names, writability and values as Salesforce does; returns canonical names → stored values.

        Test hooks (``api=False``) may set read-only fields and skip required ones.
        """
        known = LOWER_FIELDS[sobject]
        resolved: dict[str, tuple[Field, Any]] = {}
        for name, value in fields.items():
            if name == "attributes":
                continue
            field = known.get(name.lower())
            if field is None:
                raise _bad("INVALID_FIELD", f"No such column '{name}' on sobject of type {sobject}", [name])
            resolved[field.name] = (field, value)
        if api:
            readonly = [n for n, (f, _) in resolved.items() if f.readonly]
            if readonly:
                raise _bad("INVALID_FIELD_FOR_INSERT_UPDATE", f"Unable to create/update fields: "
                           f"{', '.join(readonly)}. Please check the security settings of this field and verify "
                           "that it is read/write for your profile or permission set.", readonly)
        values = {name: self._value(sobject, field, value) for name, (field, value) in resolved.items()}
        if api:
            required = [f.name for f in FIELDS[sobject].values() if f.required
                        and (values.get(f.name) in (None, "") if (creating or f.name in values) else False)]
            if required:
                raise _bad("REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(required)}]",
                           required)
        return values

    def _value(self, sobject: str, field: Field, value: Any) -> Any:
        if value is None or value == "":
            return False if field.type == "boolean" else None
        if isinstance(value, dict | list):
            raise _bad("JSON_PARSER_ERROR", f"Cannot deserialize instance of {field.type} from a JSON "
                       f"{type(value).__name__} for field {field.name}", [field.name])
        kind = field.type
        if kind in ("string", "picklist", "email", "phone"):
            if not isinstance(value, str):
                value = str(value).lower() if isinstance(value, bool) else str(value)
            if field.length and len(value) > field.length:
                raise _bad("STRING_TOO_LONG", f"{field.label}: data value too large: {value[:40]} "
                           f"(max length={field.length})", [field.name])
            if kind == "email" and value and not _EMAIL.match(value):
                raise _bad("INVALID_EMAIL_ADDRESS", f"{field.label}: invalid email address: {value}", [field.name])
            if field.values and value not in field.values:
                raise _bad("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                           f"{field.label}: bad value for restricted picklist field: {value}", [field.name])
            return value
        if kind == "boolean":
            if not isinstance(value, bool):
                raise _bad("JSON_PARSER_ERROR", f"Cannot deserialize instance of boolean from VALUE_STRING "
                           f"value {value} or request may be missing a required field", [field.name])
            return value
        if kind == "currency":
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise _bad("JSON_PARSER_ERROR", f"Cannot deserialize instance of currency from VALUE_STRING "
                           f"value {value} or request may be missing a required field", [field.name])
            return float(value)
        if kind in ("date", "datetime"):
            return self._temporal(field, value)
        return self._reference(field, value)

    @staticmethod
    def _temporal(field: Field, value: Any) -> date | datetime:
        try:
            if field.type == "date":
                if not _DATE.match(str(value)):
                    raise ValueError(value)
                return date.fromisoformat(str(value)[:10])
            return parse_datetime(str(value))
        except ValueError:
            raise _bad("JSON_PARSER_ERROR", f"Cannot deserialize instance of {field.type} from VALUE_STRING "
                       f"value {value} or request may be missing a required field", [field.name]) from None

    def _reference(self, field: Field, value: Any) -> str:
        full = normalize_id(value) if isinstance(value, str) else None
        if full is None or (field.reference_to != "User" and object_of(full) != field.reference_to):
            raise _bad("MALFORMED_ID", f"{field.label}: id value of incorrect type: {value}", [field.name])
        if field.reference_to == "User":
            if not full.startswith("005"):
                raise _bad("MALFORMED_ID", f"{field.label}: id value of incorrect type: {value}", [field.name])
            return full
        if self.row(field.reference_to or "", full) is None:
            raise _bad("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", [field.name])
        return full

    # --- writes ---------------------------------------------------------------------------

    def _finish(self, sobject: str, row: dict[str, Any]) -> dict[str, Any]:
        """Recompute derived, read-only fields."""
        if sobject in ("Lead", "Contact"):
            row["Name"] = " ".join(p for p in (row.get("FirstName"), row.get("LastName")) if p) or None
        if sobject == "Opportunity":
            row["IsClosed"], row["IsWon"] = STAGE_FLAGS.get(row.get("StageName") or "", (False, False))
        if sobject == "CampaignMember":
            row["HasResponded"] = row.get("Status") == "Responded"
        return row

    def _log(self, op: str, sobject: str, record_id: str, values: Mapping[str, Any], client: str | None,
             at: datetime) -> None:
        self.writes.append({"op": op, "sobject": sobject, "id": record_id, "client": client, "at": at,
                            "fields": {k: format_value(v) for k, v in values.items()}})

    def create(self, sobject: str, fields: Mapping[str, Any], *, at: datetime | None = None,
               client: str | None = None, api: bool = True, op: str = "create") -> str:
        """Validate and store a new record; returns its 18-character id."""
        values = self.coerce(sobject, fields, creating=True, api=api)
        if sobject == "CampaignMember":
            values = self._new_member(values)
        at = at or self.now()
        record_id = self.load(sobject, values, at, client=client)
        if api:
            self._log(op, sobject, record_id, values, client, at)
        return record_id

    def _new_member(self, values: dict[str, Any]) -> dict[str, Any]:
        """A campaign member names a contact or a lead (ContactId wins) who is not yet a member of the campaign."""
        person = "ContactId" if values.get("ContactId") else "LeadId" if values.get("LeadId") else None
        if person is None:
            raise _bad("REQUIRED_FIELD_MISSING", "Required fields are missing: [ContactId or LeadId]",
                       ["ContactId", "LeadId"])
        for row in self.rows["CampaignMember"].values():
            if not row["IsDeleted"] and row["CampaignId"] == values["CampaignId"] and row[person] == values[person]:
                raise _bad("DUPLICATE_VALUE", "Already a campaign member.", [person])
        kept = dict(values)
        if person == "ContactId":
            kept["LeadId"] = None
        kept["Status"] = kept.get("Status") or "Sent"
        return kept

    def load(self, sobject: str, values: Mapping[str, Any], at: datetime, *, client: str | None = None) -> str:
        """Store a new record from already-checked values (canonical names, stored types): seeding's fast path."""
        self.counters[sobject] += 1
        record_id = make_id(OBJECTS[sobject][0], self.counters[sobject])
        row: dict[str, Any] = dict.fromkeys(FIELDS[sobject])
        row.update({"IsDeleted": False, "OwnerId": OWNER_ID})
        if sobject == "Lead":
            row.update({"IsConverted": False, "Status": "Open - Not Contacted"})
        if sobject == "Opportunity":
            row["CurrencyIsoCode"] = "USD"
        row.update(values)
        row.update({"Id": record_id, "CreatedDate": values.get("CreatedDate") or at,
                    "LastModifiedDate": at, "SystemModstamp": at, "LastModifiedByClient": client})
        self._put(sobject, self._finish(sobject, row))
        return record_id

    def update(self, sobject: str, record_id: str, fields: Mapping[str, Any], *, at: datetime | None = None,
               client: str | None = None, api: bool = True, op: str = "update") -> str:
        """Validate and apply changes to a live record (refusing converted leads through the API)."""
        old = self.require(sobject, record_id)
        if api and sobject == "Lead" and old["IsConverted"]:
            raise _bad("CANNOT_UPDATE_CONVERTED_LEAD", "cannot reference converted lead")
        values = self.coerce(sobject, fields, creating=False, api=api)
        at = at or self.now()
        row = {**old, **values, "LastModifiedDate": at, "SystemModstamp": at, "LastModifiedByClient": client}
        self._put(sobject, self._finish(sobject, row))
        if api:
            self._log(op, sobject, old["Id"], values, client, at)
        return old["Id"]

    def upsert(self, sobject: str, field_name: str, value: str, fields: Mapping[str, Any], *,
               client: str | None, url: Callable[[str, str], str], at: datetime | None = None) -> tuple[str, bool]:
        """Create or update by external id; ``(id, created)``; several matches → the 300 answer."""
        field = LOWER_FIELDS[sobject].get(field_name.lower())
        if field is None or not field.external_id:
            raise ApiError(404, "NOT_FOUND", f"Provided external ID field does not exist or is not accessible: "
                           f"{field_name}")
        body = {k: v for k, v in fields.items() if k.lower() != field.name.lower()}
        sent = next((v for k, v in fields.items() if k.lower() == field.name.lower()), value)
        if sent is not None and str(sent) != value:
            raise _bad("INVALID_FIELD", f"The value of {field.name} in the request body ({sent}) does not match "
                       f"the value in the URL ({value})", [field.name])
        matches = self.match_external(sobject, field.name, value)
        if len(matches) > 1:
            raise ApiError(300, "MULTIPLE_CHOICES", f"{field.label}: more than one record found for external id "
                           f"field: {matches}", body=[url(sobject, m) for m in matches])
        if matches:
            return self.update(sobject, matches[0], body, client=client, op="upsert", at=at), False
        return self.create(sobject, {**body, field.name: value}, client=client, op="upsert", at=at), True

    def delete(self, sobject: str, record_id: str, *, at: datetime | None = None, client: str | None = None,
               api: bool = True) -> None:
        """Soft delete: IsDeleted true, modstamps bumped, an entry in the delete log."""
        old = self.require(sobject, record_id)
        at = at or self.now()
        self._put(sobject, {**old, "IsDeleted": True, "LastModifiedDate": at, "SystemModstamp": at,
                            "LastModifiedByClient": client})
        self.deleted_log[sobject].append((old["Id"], at))
        if api:
            self._log("delete", sobject, old["Id"], {}, client, at)

    def convert_lead(self, lead_id: str, *, at: datetime | None = None) -> str:
        """Convert a lead: link the live contact with its e-mail or create one (and an account)."""
        lead = self.require("Lead", lead_id)
        if lead["IsConverted"]:
            raise ValueError(f"lead {lead['Id']} is already converted")
        at = at or self.now()
        email = (lead.get("Email") or "").casefold()
        contact = next((r for r in self.rows["Contact"].values()
                        if email and not r["IsDeleted"] and (r.get("Email") or "").casefold() == email), None)
        account_id = contact.get("AccountId") if contact else None
        if not account_id:
            name = lead.get("Company") or lead.get("Name") or "Converted lead"
            account_id = self.create("Account", {"Name": name}, at=at, api=False)
        if contact is None:
            values = {dst: lead.get(src) for src, dst in _CONVERT_TO_CONTACT.items() if lead.get(src) is not None}
            contact_id = self.create("Contact", {**values, "AccountId": account_id}, at=at, api=False)
        else:
            contact_id = contact["Id"]
            if not contact.get("AccountId"):
                self.update("Contact", contact_id, {"AccountId": account_id}, at=at, api=False)
        self.update("Lead", lead["Id"], {"IsConverted": True, "ConvertedContactId": contact_id,
                                         "ConvertedAccountId": account_id, "ConvertedDate": at.date().isoformat(),
                                         "Status": CONVERTED_STATUS}, at=at, api=False)
        return contact_id

    def updated_ids(self, sobject: str, start: datetime, end: datetime) -> list[str]:
        """Live records whose SystemModstamp is in [start, end)."""
        return sorted(r["Id"] for r in self.rows[sobject].values()
                      if not r["IsDeleted"] and start <= r["SystemModstamp"] < end)
