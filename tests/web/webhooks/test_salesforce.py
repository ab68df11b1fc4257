"""Salesforce Outbound Messages: shared secret + org allow-list, safe XML, the Ack, inbox and canonical state."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest
from sqlalchemy import func, select
from support.inbox_checks import raw_rows
from support.payloads import FIXTURES
from support.receivers import SOAP as ACK_NS
from support.signatures import basic_auth as basic
from support.webhook_app import app_with

from sync.connectors.salesforce import outbound
from sync.ingest import inbox
from sync.reconcile.patch import IdentityRef
from sync.reports.export import contacts_json, find_contact
from sync.store import model

SECRET = "sf-outbound-secret"
SALESFORCE_ENV = {
    "LIFESYNC_SALESFORCE_OUTBOUND_SECRET": SECRET,
    "LIFESYNC_SALESFORCE_ORG_IDS": "00D000000000062, 00D5g000004XyZa",
    "LIFESYNC_SALESFORCE_OUTBOUND_SECRET__EMEA": "emea-secret",
    "LIFESYNC_SALESFORCE_ORG_IDS__EMEA": "00D5g000004XyZaEAK",
    "LIFESYNC_WEBHOOK_MAX_BYTES": "262144",  # a full message of 100 notifications is tens of KB
}
ORG = "00D5g000004XyZaEAK"


@pytest.fixture
def app(store, config, enqueued, database_url):
    return app_with(store, config, enqueued, database_url, **SALESFORCE_ENV)


def message(name: str = "outbound_lead.xml") -> bytes:
    return (FIXTURES / "salesforce" / name).read_bytes()


def post(client, body: bytes | None = None, *, path="/webhooks/salesforce", password: str | None = SECRET):
    headers = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""'}
    if password is not None:
        headers |= basic(password)
    return client.post(path, data=message() if body is None else body, headers=headers)


def assert_ack(res) -> None:
    assert res.status_code == 200 and res.mimetype == "text/xml"
    root = ET.fromstring(res.data)
    assert root.findtext("soapenv:Body/om:notificationsResponse/om:Ack", namespaces=ACK_NS) == "true"


def test_a_lead_notification_is_acked_stored_and_becomes_a_contact(client, store, config, enqueued):
    res = post(client)
    assert_ack(res)
    [row] = raw_rows(store)
    assert (row.source, row.object, row.event_key) == ("salesforce", "Lead", "outbound:04l5g00000CkR7aAAF")
    record = json.loads(row.body)
    assert record["attributes"] == {"type": "Lead"} and record["Id"] == "00Q5g00000A1b2CEAR"
    assert (record["IsConverted"], record["Phone"], record["State"], record["Company"]) == \
        (False, None, None, "Smith & Daughters Ltd")
    result = inbox.process_events(store, config, enqueued[0])
    assert result.created == 1 and result.dead_lettered == 0
    with store.transaction() as s:
        [doc] = contacts_json(s, [find_contact(s, IdentityRef("salesforce_lead", "00Q5g00000A1b2CEAR"))])
    assert doc["stage"] == "Hot Lead"
    assert doc["fields"]["first_name"]["value"] == "Oliver" and doc["fields"]["company"]["value"] == \
        "Smith & Daughters Ltd"
    assert {"email:oliver.smith@example.co.uk", "phone:+447911123456"} <= set(doc["identities"])


def test_the_secret_may_be_the_last_path_segment(client, store):
    assert_ack(post(client, path=f"/webhooks/salesforce/default/{SECRET}", password=None))
    assert_ack(post(client, message("outbound_mixed.xml"), path="/webhooks/salesforce/emea/emea-secret",
                    password=None))
    assert {r.connection for r in raw_rows(store)} == {"default", "emea"}


def test_several_notifications_of_several_types(client, store, config, enqueued):
    assert_ack(post(client, message("outbound_mixed.xml")))
    rows = raw_rows(store)
    assert [r.object for r in rows] == ["Contact", "Opportunity", "Account"]
    assert all(b"notarealsessiontoken" not in r.body for r in rows)  # the SessionId is never stored
    inbox.process_events(store, config, enqueued[0])
    rows = raw_rows(store)
    assert [r.status for r in rows] == ["processed", "processed", "dead"]
    assert "no mapping for source 'salesforce' object 'Account'" in rows[2].error
    with store.transaction() as s:
        [doc] = contacts_json(s, [find_contact(s, IdentityRef("salesforce", "0035g00000XyZ12AAB"))])
    assert doc["stage"] == "Customer"
    [conversion] = [c for c in doc["conversions"] if c["kind"] == "purchase"]  # the won opportunity, once
    assert (conversion["value"], conversion["order_id"]) == (48000.0, "0065g00000Lm4NoAAJ")
    # conversions.yaml also makes conversions of the stages entered on the way (lead, qualified lead...)
    assert {c["kind"] for c in doc["conversions"]} <= {"purchase", "lead", "qualified_lead", "add_to_cart"}


DTD_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
""" + message().split(b"?>", 1)[1].replace(b"<sf:City>London", b"<sf:City>&lol2;")
EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE e [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
""" + message().split(b"?>", 1)[1].replace(b"<sf:City>London", b"<sf:City>&xxe;")
BARE_DOCTYPE = b'<?xml version="1.0"?>\n<!DOCTYPE Envelope>' + message().split(b"?>", 1)[1]


def _many(n: int) -> bytes:
    head, rest = message().split(b"<Notification>", 1)
    note, tail = rest.split(b"</Notification>", 1)
    return head + b"".join(b"<Notification>" + note.replace(b"CkR7aAAF", b"%08d" % i) + b"</Notification>"
                           for i in range(n)) + tail


@pytest.mark.parametrize(("kwargs", "status", "reason"), [
    ({"password": None, "path": "/webhooks/salesforce/default/wrong"}, 401, "shared secret"),
    ({"password": SECRET, "path": "/webhooks/salesforce/emea"}, 401, "shared secret"),  # another connection's
    ({"body": message().replace(ORG.encode(), b"00D5g000009ZzZzEAK")}, 401, "OrganizationId"),
    ({"body": message().replace(ORG.encode(), b"00D5G000004XYZAEAK")}, 401, "OrganizationId"),  # ids are cased
    ({"body": message("outbound_mixed.xml"), "path": "/webhooks/salesforce/emea", "password": "emea-secret",
      "org": "00D000000000062AAA"}, 401, "OrganizationId"),
    ({"body": DTD_ENTITY}, 400, "DTD"),
    ({"body": EXTERNAL_ENTITY}, 400, "DTD"),
    ({"body": BARE_DOCTYPE}, 400, "DTD"),
    ({"body": message().replace(b"London", b"&nbsp;")}, 400, "not well-formed XML"),  # undefined entity
    ({"body": b""}, 400, "not well-formed XML"),
    ({"body": message().replace(b"soap.sforce.com/2005/09/outbound", b"example.com/other")}, 400,
     "notifications call"),
    ({"body": message().replace(b' xsi:type="sf:Lead"', b"")}, 400, "xsi:type"),
    ({"body": message().replace(b"<Id>04l5g00000CkR7aAAF</Id>", b"")}, 400, "Notification[0] has no Id"),
    ({"body": _many(101)}, 400, "at most 100"),
])
def test_rejections_store_nothing(client, store, enqueued, kwargs, status, reason):
    kwargs = dict(kwargs)
    body = kwargs.pop("body", message())
    if "org" in kwargs:
        body = body.replace(ORG.encode(), kwargs.pop("org").encode())
    res = post(client, body, **kwargs)
    assert res.status_code == status and reason in res.json["message"]
    assert raw_rows(store) == [] and enqueued == []


def test_a_missing_secret_is_challenged_for_basic_auth(client):
    res = post(client, password=None)
    assert res.status_code == 401 and res.headers["WWW-Authenticate"].startswith("Basic")


def test_a_hundred_notifications_are_accepted(client, store):
    assert_ack(post(client, _many(100)))
    assert len(raw_rows(store)) == 100


@pytest.mark.parametrize(("org", "allowed", "ok"), [
    ("00D5g000004XyZaEAK", "00D5g000004XyZa", True),
    ("00D5g000004XyZa", "00D5g000004XyZaEAK", True),
    ("00D5g000004XyZaEAK", " 00D000000000062 ,00D5g000004XyZaEAK", True),
    ("00D5g000004XyZb", "00D5g000004XyZa", False),
    ("00d5g000004xyza", "00D5g000004XyZa", False),
    ("00D5g000004XyZaE", "00D5g000004XyZa", False),  # neither 15 nor 18 characters
    ("", "", False),
])
def test_org_allow_list(org, allowed, ok):
    assert outbound.org_allowed(org, allowed) is ok


def test_parse_keeps_text_and_types_booleans_nil_and_empty():
    msg = outbound.parse(message())
    assert (msg.organization_id, msg.action_id) == (ORG, "04k5g000000GmaPAAS")
    [note] = msg.notifications
    assert note.id == "04l5g00000CkR7aAAF" and note.type == "Lead"
    assert {k: note.record[k] for k in ("IsDeleted", "Phone", "State", "SystemModstamp", "MobilePhone")} == {
        "IsDeleted": False, "Phone": None, "State": None, "SystemModstamp": "2026-03-01T10:15:02.000Z",
        "MobilePhone": "+44 7911 123456"}


def test_ack_is_the_documented_soap_response():
    root = ET.fromstring(outbound.ACK)
    assert root.findtext("soapenv:Body/om:notificationsResponse/om:Ack", namespaces=ACK_NS) == "true"


def test_no_contact_without_processing(client, store):
    assert_ack(post(client))
    with store.transaction() as s:
        assert s.scalar(select(func.count()).select_from(model.Contact)) == 0
