"""A deterministic synthetic business for ``lifesync demo`` and benchmarks.

``generate_business(seed)`` draws people (``sync.demo.people``) and the records HubSpot,
Salesforce, WhatsApp and respond.io hold about them, each in the vendor's own shape
(``sync.demo.records`` builds the CRM ones, this module the messaging ones). The same seed
gives byte-identical records; nothing reads the clock (``now`` defaults to 2026-11-01Z).

Who is where (share of all people; everyone is in at least one system): HubSpot 55%,
Salesforce 45%, both CRMs 30%, WhatsApp 25%, respond.io 15%. Salesforce people below Payment
are Leads (80%) or Contacts; those at Payment or beyond are Contacts, 40% of them converted
Leads whose ConvertedContactId points at the Contact. Half of the WhatsApp people came from
one of 18 click-to-WhatsApp ads in 6 campaigns; 10% of those clicks carry no ctwa_clid.
Furthest stage: New Lead 36%, Hot Lead 30%, Payment 10%, Customer 24%; 26% of non-customers
(≈20% of all) end lost: Cold Lead ≈69%, Unqualified ≈18%, Lost to competitor ≈13%. People who
reached Payment have a HubSpot deal / Salesforce Opportunity.

Mess, per record:

- e-mail: 1.5% junk (``"null"``, ``"n/a"``, ``"-1"``, ``"000000000"``, ``""``), 1% invalid
  (``"ana@"``, ``"not-an-email"``, no TLD, ``@@``), 3% missing; of the rest 12% re-cased
  (``"Ana.Lopez@Gmail.com"``, upper case) and 6% padded with spaces. respond.io: 45% none.
- phone: 2% junk, 7% missing; HubSpot / Salesforce styles: E.164 35/20%, national 25/40%
  (``"(415) 555-0134"``, ``"07400 123456"``, ``"(55) 1234 5678"``), ``+cc`` and spaces 15/10%,
  dashes 8/15%, ``00`` prefix 7/10%, bare digits with country code 10/5%; in phone 55%,
  mobile 25%, both 20% (each formatted on its own). WhatsApp wa_id is clean; respond.io phone
  is clean E.164 or (5%) missing.
- names: compound first names ("Ana María") cut to "Ana" in 20% HubSpot / 50% Salesforce /
  30% respond.io records; accents dropped 10% / 25% / 10%; two Spanish surnames cut to one
  20% / 40%; respond.io holds the whole name in firstName (lastName "") 20%, lower case 5%.
- job title other than the truth 20% HubSpot / 25% Salesforce, missing 8%; city spelled
  otherwise ("NYC", "CDMX") 8%, another city 6%, missing 4%; country spelled each system's
  way ("United States", "USA", "US"); UAE postal codes missing or ``"00000"``.
- HubSpot duplicates: 3% of HubSpot people have a second, later contact whose e-mail is the
  first one's in another case. Opportunity Amount differs from the HubSpot deal's 10%.
- created/modified times are drawn per system, so "newest wins" survivorship has work to do.

Stage vocabularies: HubSpot lifecyclestage New Lead→subscriber|lead, Hot Lead→
marketingqualifiedlead|salesqualifiedlead, Payment→opportunity, Customer→customer|evangelist,
Lost to competitor→other; hs_lead_status NEW, IN_PROGRESS|CONNECTED, OPEN_DEAL, Cold Lead→
ATTEMPTED_TO_CONTACT, Unqualified→UNQUALIFIED. dealstage Payment→presentationscheduled|
decisionmakerboughtin|contractsent, Customer→closedwon, lost→closedlost; StageName Needs
Analysis|Proposal/Price Quote|Negotiation/Review, Closed Won, Closed Lost. Lead Status Open -
Not Contacted, Working - Contacted, Closed - Converted, lost→Closed - Not Converted.
respond.io lifecycle: the stage name, as a string or as ``{"id", "name"}``.
"""

from __future__ import annotations

import base64
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sync.demo.people import (
    ACTIVE_STAGES,
    COUNTRIES,
    DEFAULT_NOW,
    LOST_STAGES,
    SYSTEMS,
    AdClick,
    Person,
    as_utc,
    people,
    seeded,
)
from sync.demo.records import (
    JUNK_VALUES,
    hubspot_contact,
    hubspot_deal,
    hubspot_time,
    messy_email,
    messy_first,
    offset,
    recase,
    salesforce_contact,
    salesforce_lead,
    salesforce_opportunity,
)

Record = dict[str, Any]
WA_METADATA = {"display_phone_number": "15550001111", "phone_number_id": "106540352242922"}
RESPONDIO_LIFECYCLE_IDS = {"New Lead": 2, "Hot Lead": 3, "Payment": 4, "Customer": 5, "Cold Lead": 6,
                           "Unqualified": 7, "Lost to competitor": 8}
_OPENERS = {"en": "Hello! Can I get more info on this?", "es": "¡Hola! Quiero más información.",
            "ar": "مرحبا! أريد المزيد من المعلومات"}
_TEXTS = {"en": ("Hi, how much does it cost?", "Can I book a call for tomorrow?", "Thanks!",
                 "Is this still available?", "Do you ship to my city?"),
          "es": ("Hola, ¿cuánto cuesta?", "¿Puedo agendar una llamada mañana?", "¡Gracias!",
                 "¿Sigue disponible?", "¿Hacen envíos a mi ciudad?"),
          "ar": ("كم السعر؟", "هل يمكنني حجز مكالمة غدا؟", "شكرا!", "هل ما زال متاحا؟")}
_BUDGETS = ("< 1,000", "1,000 - 5,000", "5,000 - 20,000", "> 20,000", "")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_E164 = re.compile(r"\+[1-9]\d{7,14}")


def _wamid(rng: Any, wa_id: str) -> str:
    tail = "".join(rng.choices("0123456789ABCDEF", k=20)).encode()
    raw = b"\x1c\x18" + bytes([len(wa_id)]) + wa_id.encode() + b"\x15\x02\x00\x12\x18\x14" + tail + b"\x00"
    return "wamid." + base64.b64encode(raw).decode()


def _referral(click: AdClick) -> dict[str, str]:
    ad = click.ad
    referral = {"source_url": ad.source_url, "source_id": ad.ad_id, "source_type": "ad", "headline": ad.headline,
                "body": ad.body, "media_type": "image", "image_url": ad.image_url}
    if click.ctwa_clid:
        referral["ctwa_clid"] = click.ctwa_clid
    return referral


def whatsapp_messages(seed: int, p: Person, now: datetime) -> list[dict[str, Any]]:
    """The person's 1–4 inbound messages, one webhook ``change.value`` each; the first carries the referral."""
    rng = seeded(seed, "whatsapp", p.key)
    wa_id, lang = p.phone_e164[1:], COUNTRIES[p.country].language
    full = f"{p.first_name} {p.last_name}"
    name = rng.choice((full, full, p.first_name, p.first_name.split()[0], full.lower(), f"{p.first_name} ✨"))
    at = p.created_at + (timedelta(seconds=rng.randint(5, 120)) if p.ad else timedelta(hours=rng.randint(0, 24)))
    values = []
    for i in range(rng.choices((1, 2, 3, 4), (30, 30, 25, 15))[0]):
        at += timedelta(seconds=rng.randint(20, 6 * 3600)) if i else timedelta(0)
        body = _OPENERS[lang] if i == 0 and p.ad else rng.choice(_TEXTS[lang])
        message: dict[str, Any] = {"from": wa_id, "id": _wamid(rng, wa_id), "timestamp": str(int(at.timestamp())),
                                   "type": "text", "text": {"body": body}}
        if i == 0 and p.ad:
            message["referral"] = _referral(p.ad)
        values.append({"messaging_product": "whatsapp", "metadata": dict(WA_METADATA),
                       "contacts": [{"profile": {"name": name}, "wa_id": wa_id}], "messages": [message]})
    return values


def respondio_contact(seed: int, p: Person, now: datetime) -> dict[str, Any]:
    """The person's respond.io contact; lifecycle is a bare name or an ``{id, name}`` object."""
    rng = seeded(seed, "respondio", p.key)
    first, last, r = messy_first(rng, p, 0.3, 0.1), p.last_name, rng.random()
    first, last = (f"{first} {last}", "") if r < 0.2 else (first.lower(), last) if r < 0.25 else (first, last)
    lag = rng.randrange(0, 600) if p.channel in ("respondio", "whatsapp") else rng.randrange(600, 86400)
    lifecycle = p.stage if rng.random() < 0.5 else {"id": RESPONDIO_LIFECYCLE_IDS[p.stage], "name": p.stage}
    tags = ["ctwa"] if p.ad and rng.random() < 0.5 else ["vip"] if p.reached("Customer") and rng.random() < 0.3 else []
    return {"id": 100_000_000 + offset(seed, "respondio", 10**8) + p.key, "firstName": first, "lastName": last,
            "phone": None if rng.random() < 0.05 else p.phone_e164,
            "email": None if rng.random() < 0.45 else messy_email(rng, p.email),
            "language": COUNTRIES[p.country].language, "countryCode": p.country,
            "custom_fields": [{"name": "Budget", "value": rng.choice(_BUDGETS)}], "status": "open",
            "tags": tags, "assignee": None, "lifecycle": lifecycle,
            "created_at": int((p.created_at + timedelta(seconds=lag)).timestamp())}


def hubspot_contacts(seed: int, p: Person, now: datetime) -> list[dict[str, Any]]:
    """The person's HubSpot contacts: one, or (3%) two whose e-mails differ only in case."""
    rng = seeded(seed, "hubspot-duplicate", p.key)
    if rng.random() >= 0.03:
        return [hubspot_contact(seed, p, now)]
    return [hubspot_contact(seed, p, now, email=p.email),
            hubspot_contact(seed, p, now, duplicate=True, email=recase(rng, p.email))]


@dataclass(frozen=True)
class Business:
    """The truth (people) and every record each system holds about them."""

    people: tuple[Person, ...]
    hubspot_contacts: list[dict[str, Any]]
    hubspot_deals: list[dict[str, Any]]
    salesforce_leads: list[dict[str, Any]]
    salesforce_contacts: list[dict[str, Any]]
    salesforce_opportunities: list[dict[str, Any]]
    whatsapp_messages: list[dict[str, Any]]
    respondio_contacts: list[dict[str, Any]]
    seed: int = 7
    now: datetime = DEFAULT_NOW

    def batches(self) -> list[tuple[str, str, list[dict[str, Any]]]]:
        """``(source, object, records)`` in ingest order: CRM people, their deals, then messaging."""
        return [("hubspot", "contacts", self.hubspot_contacts), ("hubspot", "deals", self.hubspot_deals),
                ("salesforce", "Lead", self.salesforce_leads), ("salesforce", "Contact", self.salesforce_contacts),
                ("salesforce", "Opportunity", self.salesforce_opportunities),
                ("whatsapp", "message", self.whatsapp_messages), ("respondio", "contact", self.respondio_contacts)]

    def _identity_values(self) -> Iterator[tuple[str, Any]]:
        for c in self.hubspot_contacts:
            props = c["properties"]
            yield from (("email", props["email"]), ("phone", props["phone"]), ("phone", props["mobilephone"]))
        for r in self.salesforce_leads + self.salesforce_contacts:
            yield from (("email", r["Email"]), ("phone", r["Phone"]), ("phone", r["MobilePhone"]))
        for r in self.respondio_contacts:
            yield from (("email", r["email"]), ("phone", r["phone"]))

    def summary(self) -> dict[str, Any]:
        """Counts for the demo to print: people, records, expected overlaps, stages, mess."""
        members = Counter(s for p in self.people for s in p.systems)
        clicks = [p.ad for p in self.people if p.ad]
        mess: Counter[str] = Counter()
        for kind, value in self._identity_values():
            if value is None:
                continue
            if value in JUNK_VALUES:
                mess["junk_identity_values"] += 1
            elif kind == "email":
                mess["invalid_emails"] += not _EMAIL.fullmatch(value.strip())
                mess["emails_needing_case_or_space_fix"] += value != value.strip().lower()
            else:
                mess["phones_not_e164"] += not _E164.fullmatch(value)
        crm, messaging = {"hubspot", "salesforce"}, {"whatsapp", "respondio"}
        stages = Counter(p.stage for p in self.people)
        return {
            "seed": self.seed, "now": hubspot_time(self.now), "people": len(self.people),
            "records": {f"{source}.{obj}": len(records) for source, obj, records in self.batches()},
            "people_in": {s: members[s] for s in SYSTEMS},
            "expected_overlaps": {
                "hubspot_and_salesforce": sum({"hubspot", "salesforce"} <= set(p.systems) for p in self.people),
                "crm_and_messaging": sum(bool(crm & set(p.systems) and messaging & set(p.systems))
                                         for p in self.people),
                "in_two_or_more_systems": sum(len(p.systems) > 1 for p in self.people),
            },
            "hubspot_duplicates": len(self.hubspot_contacts) - members["hubspot"],
            "salesforce_converted_leads": sum(p.salesforce_kind == "converted" for p in self.people),
            "whatsapp_from_ads": len(clicks), "ad_clicks_without_ctwa_clid": sum(not c.ctwa_clid for c in clicks),
            "campaigns": len({c.ad.campaign_id for c in clicks}), "ads": len({c.ad.ad_id for c in clicks}),
            "stages": {s: stages[s] for s in ACTIVE_STAGES + LOST_STAGES},
            "lost": sum(stages[s] for s in LOST_STAGES),
            "mess": dict(sorted(mess.items())),
        }


def generate_business(seed: int = 7, people_count: int = 5000, now: datetime | None = None) -> Business:
    """Draw the whole business for ``seed``: the people and every system's records about them."""
    now = as_utc(now)
    folks: list[Person] = []
    hs: list[Record] = []
    deals: list[Record] = []
    leads: list[Record] = []
    contacts: list[Record] = []
    opps: list[Record] = []
    wa: list[Record] = []
    rio: list[Record] = []
    for p in people(seed, people_count, now):
        folks.append(p)
        if "hubspot" in p.systems:
            mine = hubspot_contacts(seed, p, now)
            hs.extend(mine)
            if p.reached("Payment"):
                deals.append(hubspot_deal(seed, p, mine[0]["id"], now))
        if p.salesforce_kind in ("lead", "converted"):
            leads.append(salesforce_lead(seed, p, now))
        if p.salesforce_kind in ("contact", "converted"):
            contacts.append(salesforce_contact(seed, p, now))
            if p.reached("Payment"):
                opps.append(salesforce_opportunity(seed, p, now))
        if "whatsapp" in p.systems:
            wa.extend(whatsapp_messages(seed, p, now))
        if "respondio" in p.systems:
            rio.append(respondio_contact(seed, p, now))
    return Business(tuple(folks), hs, deals, leads, contacts, opps, wa, rio, seed, now)


def hubspot_contact_stream(seed: int, count: int, now: datetime | None = None) -> Iterator[dict[str, Any]]:
    """Yield ``count`` HubSpot contacts of distinct people (unique ids and e-mails), one at a time."""
    now = as_utc(now)
    for p in people(seed, count, now):
        yield hubspot_contact(seed, p, now, clean=True)


# HubSpot's default lifecycle stages in order; a changed contact moves one step forward
_LIFECYCLE = ("subscriber", "lead", "marketingqualifiedlead", "salesqualifiedlead", "opportunity", "customer",
              "evangelist")
_STATUS_AFTER = {"NEW": "IN_PROGRESS", "IN_PROGRESS": "CONNECTED", "CONNECTED": "OPEN_DEAL"}


def hubspot_contact_changes(seed: int, count: int, now: datetime | None = None) -> Iterator[dict[str, Any]]:
    """The contacts of ``hubspot_contact_stream(seed, count, now)`` as HubSpot holds them a day later.

    Each was modified at ``now`` + 1 day (later than any time of the first stream), with a
    new job title; its lead status moves on where it can, and every third contact moves one
    lifecycle stage forward. Same ids, e-mails and phones: a re-sync of changed records
    (the steady state), not new people.
    """
    later = hubspot_time(as_utc(now) + timedelta(days=1))
    for n, contact in enumerate(hubspot_contact_stream(seed, count, now)):
        props = dict(contact["properties"])
        props["jobtitle"] = f"{props.get('jobtitle') or 'Staff'} (since {later[:10]})"
        props["hs_lead_status"] = _STATUS_AFTER.get(props.get("hs_lead_status") or "", props.get("hs_lead_status"))
        stage = props.get("lifecyclestage")
        if n % 3 == 0 and stage in _LIFECYCLE[:-1]:
            props["lifecyclestage"] = _LIFECYCLE[_LIFECYCLE.index(stage) + 1]
        props["lastmodifieddate"] = later
        yield {**contact, "properties": props, "updatedAt": later}
