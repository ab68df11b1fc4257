"""Salesforce Outbound Messages: safe SOAP parsing, authentication, inbox events, the Ack.

A workflow rule or flow POSTs a SOAP 1.1 ``notifications`` call (``OrganizationId``,
``ActionId``, ``SessionId``, ``EnterpriseUrl``, ``PartnerUrl`` and at most 100
``Notification {Id, sObject}``) and retries with backoff for up to 24 hours until it gets a
``notificationsResponse`` with ``Ack`` true. Delivery is at least once, out of order, and
carries the record's latest values only.

Salesforce does not sign the message, so a delivery is authenticated by a shared secret
(checked first, in constant time) and then by its ``OrganizationId`` (an allow-list,
compared on the 15-character case-sensitive form). The XML is parsed with expat directly:
a document with a DTD is refused outright, so no entity (internal or external) can ever be
declared or expanded.

Each notification's sObject becomes a REST-shaped record, ``{"attributes": {"type":
"Lead"}, "Id": …, <field>: <value>}`` — text as sent, ``true``/``false`` as booleans, empty
or ``xsi:nil`` elements as None — stored under its type as object (``Lead``, ``Contact``,
``Opportunity`` have mappings; any other type is stored and, having no mapping, ends
``dead`` with that reason when processed). The inbox key is the notification Id. The
``SessionId`` is a live API session when "Send Session ID" is ticked: it is never stored.
The outbound message should select ``SystemModstamp`` (the mappings' modification time).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from xml.etree.ElementTree import Element, TreeBuilder
from xml.parsers import expat

from sync.connectors.events import InboundEvent
from sync.connectors.signatures import matches

SOURCE = "salesforce"
MAX_NOTIFICATIONS = 100
SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
OUTBOUND = "http://soap.sforce.com/2005/09/outbound"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
_TYPE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")

ACK = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    f'<soapenv:Envelope xmlns:soapenv="{SOAP_ENV}"><soapenv:Body>'
    f'<notificationsResponse xmlns="{OUTBOUND}"><Ack>true</Ack></notificationsResponse>'
    "</soapenv:Body></soapenv:Envelope>"
)


class PayloadError(ValueError):
    """The body is not a well-formed, DTD-free Outbound Message; the message says what is wrong."""


@dataclass(frozen=True)
class Notification:
    """One notification: its Id, the sObject type and the REST-shaped record."""

    id: str
    type: str
    record: dict[str, Any]


@dataclass(frozen=True)
class OutboundMessage:
    """A parsed ``notifications`` call (without its SessionId)."""

    organization_id: str
    action_id: str
    notifications: tuple[Notification, ...]


def secret_matches(expected: str, given: str | None) -> bool:
    """True when the shared secret given (URL path or basic-auth password) is the expected one."""
    return matches(expected, given)


def org_allowed(organization_id: str, allowed: str | Iterable[str]) -> bool:
    """True when the 15-character form of the org id is in the allow-list (ids, or their comma-separated text)."""
    ids = {part.strip()[:15] for part in (allowed.split(",") if isinstance(allowed, str) else allowed) if part.strip()}
    return len(organization_id) in (15, 18) and organization_id[:15] in ids


def _refuse_dtd(*_: Any) -> None:
    raise PayloadError("XML with a DTD or entity declarations is refused")


def _name(tag: str) -> str:
    return "{" + tag if "}" in tag else tag


def parse_xml(body: bytes) -> Element:
    """The element tree of untrusted XML; PayloadError for malformed XML or any DTD."""
    builder = TreeBuilder()
    parser = expat.ParserCreate(namespace_separator="}")
    parser.StartDoctypeDeclHandler = _refuse_dtd
    parser.EntityDeclHandler = _refuse_dtd
    parser.ExternalEntityRefHandler = _refuse_dtd
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartElementHandler = lambda tag, attrs: builder.start(_name(tag), {_name(k): v for k, v in attrs.items()})
    parser.EndElementHandler = lambda tag: builder.end(_name(tag))
    parser.CharacterDataHandler = builder.data
    try:
        parser.Parse(body, True)
    except expat.ExpatError as exc:
        raise PayloadError(f"body is not well-formed XML ({expat.errors.messages[exc.code]} "
                           f"at line {exc.lineno} column {exc.offset})") from None
    return builder.close()


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _value(element: Element) -> Any:
    if element.get(f"{{{XSI}}}nil") == "true":
        return None
    if len(element):  # a related record, e.g. Account on a Contact
        return _fields(element)
    text = element.text or ""
    if not text.strip():
        return None
    return {"true": True, "false": False}.get(text, text)


def _fields(element: Element) -> dict[str, Any]:
    record: dict[str, Any] = {}
    sf_type = (element.get(f"{{{XSI}}}type") or "").rpartition(":")[2]
    if sf_type:
        record["attributes"] = {"type": sf_type}
    for child in element:
        record[_local(child.tag)] = _value(child)
    return record


def _text(parent: Element, name: str, where: str) -> str:
    found = parent.find(f"{{{OUTBOUND}}}{name}")
    if found is None or not (found.text or "").strip():
        raise PayloadError(f"{where} has no {name}")
    return found.text.strip()


def parse(body: bytes) -> OutboundMessage:
    """The Outbound Message in a SOAP body; raises PayloadError naming what is wrong."""
    root = parse_xml(body)
    if root.tag != f"{{{SOAP_ENV}}}Envelope":
        raise PayloadError("expected a SOAP 1.1 Envelope")
    call = root.find(f"{{{SOAP_ENV}}}Body/{{{OUTBOUND}}}notifications")
    if call is None:
        raise PayloadError(f"expected a notifications call (namespace {OUTBOUND}) in the SOAP Body")
    items = call.findall(f"{{{OUTBOUND}}}Notification")
    if not items:
        raise PayloadError("notifications holds no Notification")
    if len(items) > MAX_NOTIFICATIONS:
        raise PayloadError(f"at most {MAX_NOTIFICATIONS} notifications per message, got {len(items)}")
    notifications = []
    for n, item in enumerate(items):
        where = f"Notification[{n}]"
        sobject = item.find(f"{{{OUTBOUND}}}sObject")
        if sobject is None:
            raise PayloadError(f"{where} has no sObject")
        record = _fields(sobject)
        sf_type = record.get("attributes", {}).get("type", "")
        if not _TYPE.match(sf_type):
            raise PayloadError(f'{where}.sObject needs an xsi:type such as "sf:Lead"')
        notifications.append(Notification(_text(item, "Id", where), sf_type, record))
    return OutboundMessage(_text(call, "OrganizationId", "notifications"),
                           _text(call, "ActionId", "notifications"), tuple(notifications))


def events(message: OutboundMessage, connection: str = "default") -> list[InboundEvent]:
    """One inbox event per notification, keyed by the notification Id."""
    return [InboundEvent(SOURCE, n.type, f"outbound:{n.id}", n.record, connection)
            for n in message.notifications]
