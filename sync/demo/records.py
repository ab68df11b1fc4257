"""HubSpot and Salesforce records of a person in the vendors' own shapes, and the mess helpers.

Every builder draws from its own generator seeded with (seed, system, person key), so one
system's records never shift when another's change. The rates are listed in
``sync.demo.business``.
"""

from __future__ import annotations

import hashlib
import random
from datetime import UTC, datetime, timedelta
from itertools import accumulate
from typing import Any

from sync.demo.people import COUNTRIES, JOB_TITLES, Person, ascii_fold, seeded

JUNK_VALUES = ("null", "n/a", "-1", "000000000", "")
SF_PATH = "/services/data/v60.0/sobjects"
PHONE_STYLES = ("e164", "national", "spaced", "dashed", "zerozero", "digits")
_STYLE_WEIGHTS = {"hubspot": (35, 25, 15, 8, 7, 10), "salesforce": (20, 40, 10, 15, 10, 5)}
_CITIES = {(c.code, city.name): (c, city) for c in COUNTRIES.values() for city in c.cities}
_FX = {"USD": 1.0, "GBP": 0.79, "EUR": 0.92, "MXN": 18.5, "AED": 3.67}
_PRODUCTS = ("Annual plan", "Onboarding package", "Premium subscription", "Consulting retainer")
_B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def hubspot_time(dt: datetime) -> str:
    """HubSpot's ISO form with milliseconds and Z: ``2026-03-01T10:15:00.123Z``."""
    dt = dt.astimezone(UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def salesforce_time(dt: datetime) -> str:
    """Salesforce's form: ``2026-03-01T10:15:00.000+0000``."""
    dt = dt.astimezone(UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}+0000"


def offset(seed: int, label: str, span: int) -> int:
    """A stable per-seed number below ``span`` (id bases, so seeds give different ids)."""
    return int.from_bytes(hashlib.sha256(f"{seed}:{label}".encode()).digest()[:8], "big") % span


def salesforce_id(prefix: str, number: int) -> str:
    """An 18-character Salesforce id: prefix, pod, base-62 counter and the case-check suffix."""
    digits = ""
    for _ in range(9):
        number, rest = divmod(number, 62)
        digits = _B62[rest] + digits
    base = f"{prefix}8d0{digits}"
    return base + "".join("ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"[
        sum(1 << i for i, ch in enumerate(base[j:j + 5]) if "A" <= ch <= "Z")] for j in (0, 5, 10))


def salesforce_record_id(seed: int, prefix: str, key: int) -> str:
    """The id of person ``key``'s record of the object with key prefix ``prefix`` (``00Q``, ``003``…)."""
    return salesforce_id(prefix, offset(seed, prefix, 62**8) + key)


def hubspot_contact_id(seed: int, key: int, duplicate: bool = False) -> str:
    """The HubSpot id of a person's contact (or of its duplicate)."""
    return str(10**10 + offset(seed, "hubspot-contact", 10**9) + 2 * key + duplicate)


def format_phone(e164: str, country: str, style: str) -> str:
    """Write an E.164 number of ``country`` the way people type it, in one of ``PHONE_STYLES``."""
    c = COUNTRIES[country]
    nsn = e164[1 + len(c.dial):]
    cuts = list(accumulate(c.groups))
    parts = [nsn[a:b] for a, b in zip([0, *cuts], cuts)]
    if country in ("US", "MX") and style == "national":
        head, *tail = parts
        return f"({head}) " + ("-" if country == "US" else " ").join(tail)
    return {"e164": e164, "digits": c.dial + nsn, "zerozero": f"00{c.dial} " + " ".join(parts),
            "spaced": f"+{c.dial} " + " ".join(parts), "national": c.trunk + " ".join(parts),
            "dashed": c.trunk + "-".join(parts)}[style]


def recase(rng: random.Random, email: str) -> str:
    """The same address in another case: ``Ana.Lopez@Gmail.com`` or all upper case."""
    local, _, domain = email.partition("@")
    titled = ".".join(part[:1].upper() + part[1:] for part in local.split("."))
    return rng.choice((email.upper(), f"{titled}@{domain.capitalize()}", f"{titled}@{domain}"))


def messy_email(rng: random.Random, email: str, clean: bool = False) -> str | None:
    """The person's e-mail as one system holds it; ``clean`` keeps it valid (case/spaces only)."""
    r = 1.0 if clean else rng.random()
    local, _, domain = email.partition("@")
    if r < 0.015:
        return rng.choice(JUNK_VALUES)
    if r < 0.025:
        return rng.choice((f"{local}@", "not-an-email", f"{local}@{domain.split('.')[0]}", f"{local}@@{domain}"))
    if r < 0.055:
        return None
    if rng.random() < 0.12:
        email = recase(rng, email)
    if rng.random() < 0.06:
        email = rng.choice((f" {email} ", f"{email} ", f"  {email}"))
    return email


def messy_phone(rng: random.Random, p: Person, system: str) -> str | None:
    """The person's phone as one system holds it: junk, missing, or in some local style."""
    r = rng.random()
    if r < 0.09:
        return rng.choice(JUNK_VALUES) if r < 0.02 else None
    return format_phone(p.phone_e164, p.country, rng.choices(PHONE_STYLES, _STYLE_WEIGHTS[system])[0])


def _two_phones(rng: random.Random, p: Person, system: str) -> tuple[str | None, str | None]:
    r = rng.random()
    phone = messy_phone(rng, p, system)
    return (phone, None) if r < 0.55 else (None, phone) if r < 0.8 else (phone, messy_phone(rng, p, system))


def messy_first(rng: random.Random, p: Person, shorten: float, fold: float) -> str:
    """The first name as one system holds it: maybe cut to its first part, maybe without accents."""
    first = p.first_name.split()[0] if rng.random() < shorten else p.first_name
    return ascii_fold(first) if rng.random() < fold else first


def _last(rng: random.Random, p: Person, shorten: float, fold: float) -> str:
    last = p.last_name.split()[0] if p.country in ("ES", "MX") and rng.random() < shorten else p.last_name
    return ascii_fold(last) if rng.random() < fold else last


def _title(rng: random.Random, p: Person, differ: float) -> str | None:
    r = rng.random()
    return None if r < 0.08 else rng.choice(JOB_TITLES) if r < 0.08 + differ else p.job_title


def _place(rng: random.Random, p: Person) -> tuple[str | None, str | None, str]:
    country, city = _CITIES[p.country, p.city]
    r = rng.random()
    name: str | None = p.city
    if r < 0.04:
        name = None
    elif r < 0.12 and city.variants:
        name = rng.choice(city.variants)
    elif r < 0.18:
        name = rng.choice(country.cities).name
    postal = p.postal_code or rng.choice((None, "00000"))
    return name, postal, rng.choice(country.names)


def _times(rng: random.Random, p: Person, now: datetime, first: bool) -> tuple[datetime, datetime]:
    created = p.created_at + timedelta(seconds=rng.randrange(0, 600) if first else rng.randrange(600, 86400),
                                       milliseconds=rng.randrange(1000))
    return created, created + (now - created) * rng.random() ** 2


def _hubspot_stage(rng: random.Random, p: Person) -> tuple[str, str | None]:
    if p.lost_stage == "Lost to competitor":
        return "other", "UNQUALIFIED"
    top = p.stage_path[-1]
    stage = {"New Lead": rng.choice(("subscriber", "lead", "lead")),
             "Hot Lead": rng.choice(("marketingqualifiedlead", "salesqualifiedlead")),
             "Payment": "opportunity", "Customer": "evangelist" if rng.random() < 0.05 else "customer"}[top]
    lost = {"Cold Lead": "ATTEMPTED_TO_CONTACT", "Unqualified": "UNQUALIFIED"}.get(p.lost_stage or "")
    active = {"New Lead": "NEW", "Hot Lead": rng.choice(("IN_PROGRESS", "CONNECTED")),
              "Payment": "OPEN_DEAL", "Customer": None}[top]
    return stage, lost or active


def hubspot_contact(seed: int, p: Person, now: datetime, duplicate: bool = False,
                    email: str | None = None, clean: bool = False) -> dict[str, Any]:
    """One HubSpot CRM v3 contact of ``p``; ``email`` forces the address (for duplicates)."""
    rng = seeded(seed, "hubspot", p.key, int(duplicate))
    created, modified = _times(rng, p, now, first=p.channel == "hubspot" and not duplicate)
    if duplicate:
        created = min(created + timedelta(days=rng.randint(1, 60)), now - timedelta(hours=1))
        modified = created + (now - created) * rng.random()
    phone, mobile = _two_phones(rng, p, "hubspot")
    city, postal, country = _place(rng, p)
    stage, status = ("lead", "NEW") if duplicate else _hubspot_stage(rng, p)
    language = {"GB": "en-gb", "MX": "es-mx"}.get(p.country, COUNTRIES[p.country].language)
    contact_id = hubspot_contact_id(seed, p.key, duplicate)
    props = {
        "email": email if email is not None else messy_email(rng, p.email, clean),
        "firstname": messy_first(rng, p, 0.2, 0.1), "lastname": _last(rng, p, 0.2, 0.1),
        "phone": phone, "mobilephone": mobile,
        "company": None if rng.random() < 0.05 else p.company, "jobtitle": _title(rng, p, 0.2),
        "city": city, "state": None if rng.random() < 0.1 else p.state, "zip": postal, "country": country,
        "hs_language": None if rng.random() < 0.15 else language,
        "lifecyclestage": stage, "hs_lead_status": status,
        "createdate": (created_at := hubspot_time(created)), "lastmodifieddate": (updated_at := hubspot_time(modified)),
        "hs_object_id": contact_id,
    }
    return {"id": contact_id, "properties": props, "createdAt": created_at, "updatedAt": updated_at, "archived": False}


def _deal(seed: int, p: Person, now: datetime) -> tuple[random.Random, float, datetime, datetime, datetime]:
    rng = seeded(seed, "deal", p.key)
    usd = rng.randrange(5, 200) * 100
    amount = float(round(usd * _FX[COUNTRIES[p.country].currency] / 50) * 50)
    created = p.created_at + max((now - p.created_at) * rng.uniform(0.05, 0.5), timedelta(days=2))
    closes = created + timedelta(days=rng.randint(3, 45), hours=rng.randint(0, 23))
    return rng, amount, created, min(closes, now), created + (now - created) * rng.uniform(0.5, 1.0)


def hubspot_deal(seed: int, p: Person, contact_id: str, now: datetime) -> dict[str, Any]:
    """The person's HubSpot deal (they reached Payment), associated with their contact."""
    rng, amount, created, closes, modified = _deal(seed, p, now)
    stage = "closedwon" if p.reached("Customer") else "closedlost" if p.lost_stage else rng.choice(
        ("presentationscheduled", "decisionmakerboughtin", "contractsent"))
    deal_id = str(10**10 + offset(seed, "hubspot-deal", 10**9) + p.key)
    props = {"dealname": f"{p.company} - {rng.choice(_PRODUCTS)}", "amount": f"{amount:.0f}",
             "dealstage": stage, "closedate": hubspot_time(closes), "pipeline": "default",
             "deal_currency_code": COUNTRIES[p.country].currency, "createdate": hubspot_time(created),
             "hs_lastmodifieddate": hubspot_time(modified), "hs_object_id": deal_id}
    return {"id": deal_id, "properties": props,
            "associations": {"contacts": {"results": [{"id": contact_id, "type": "deal_to_contact"}]}},
            "createdAt": hubspot_time(created), "updatedAt": hubspot_time(modified), "archived": False}


def _attributes(kind: str, record_id: str) -> dict[str, str]:
    return {"type": kind, "url": f"{SF_PATH}/{kind}/{record_id}"}


def _lead_times(seed: int, p: Person, now: datetime) -> tuple[datetime, datetime]:
    created, modified = _times(seeded(seed, "salesforce-lead", p.key), p, now, p.channel == "salesforce")
    return created, _deal(seed, p, now)[2] if p.salesforce_kind == "converted" else modified


def salesforce_lead(seed: int, p: Person, now: datetime) -> dict[str, Any]:
    """The person's Salesforce Lead (converted ones point at their Contact)."""
    rng = seeded(seed, "salesforce-lead-fields", p.key)
    created, modified = _lead_times(seed, p, now)
    converted = p.salesforce_kind == "converted"
    status = "Closed - Converted" if converted else "Closed - Not Converted" if p.lost_stage else (
        "Open - Not Contacted" if p.stage_path[-1] == "New Lead" else "Working - Contacted")
    phone, mobile = _two_phones(rng, p, "salesforce")
    city, postal, country = _place(rng, p)
    lead_id = salesforce_record_id(seed, "00Q", p.key)
    stamp = min(modified + timedelta(seconds=rng.choice((0, 0, rng.randrange(1, 3600)))), now)
    return {"attributes": _attributes("Lead", lead_id), "Id": lead_id,
            "FirstName": messy_first(rng, p, 0.5, 0.25), "LastName": _last(rng, p, 0.4, 0.25),
            "Email": messy_email(rng, p.email), "Phone": phone, "MobilePhone": mobile,
            "Company": "[not provided]" if rng.random() < 0.05 else p.company,
            "Title": _title(rng, p, 0.25), "City": city, "State": p.state, "PostalCode": postal,
            "Country": country, "Status": status, "LeadSource": _lead_source(rng, p), "IsConverted": converted,
            "ConvertedContactId": salesforce_record_id(seed, "003", p.key) if converted else None,
            "OwnerId": salesforce_record_id(seed, "005", rng.randrange(6)), "CreatedDate": salesforce_time(created),
            "LastModifiedDate": salesforce_time(modified), "SystemModstamp": salesforce_time(stamp),
            "IsDeleted": False}


def _lead_source(rng: random.Random, p: Person) -> str | None:
    source = {"whatsapp": "WhatsApp", "hubspot": "Web"}.get(p.channel)
    return None if rng.random() < 0.1 else source or rng.choice(("Web", "Phone Inquiry", "Partner Referral"))


def account_id(seed: int, company: str) -> str:
    """The Salesforce Account id of a company (people of one company share it)."""
    return salesforce_id("001", offset(seed, f"account:{company}", 62**9))


def salesforce_contact(seed: int, p: Person, now: datetime) -> dict[str, Any]:
    """The person's Salesforce Contact (created at conversion for converted Leads)."""
    rng = seeded(seed, "salesforce-contact", p.key)
    created, modified = _times(rng, p, now, p.channel == "salesforce")
    if p.salesforce_kind == "converted":
        created = _lead_times(seed, p, now)[1]
        modified = created + (now - created) * rng.random()
    phone, mobile = _two_phones(rng, p, "salesforce")
    city, postal, country = _place(rng, p)
    contact_id, account = salesforce_record_id(seed, "003", p.key), account_id(seed, p.company)
    return {"attributes": _attributes("Contact", contact_id), "Id": contact_id,
            "FirstName": messy_first(rng, p, 0.5, 0.25), "LastName": _last(rng, p, 0.4, 0.25),
            "Email": messy_email(rng, p.email), "Phone": phone, "MobilePhone": mobile,
            "Title": _title(rng, p, 0.25), "MailingCity": city, "MailingState": p.state,
            "MailingPostalCode": postal, "MailingCountry": country, "LeadSource": _lead_source(rng, p),
            "OwnerId": salesforce_record_id(seed, "005", rng.randrange(6)), "AccountId": account,
            "Account": {"attributes": _attributes("Account", account), "Name": p.company},
            "SystemModstamp": salesforce_time(modified), "IsDeleted": False}


def salesforce_opportunity(seed: int, p: Person, now: datetime) -> dict[str, Any]:
    """The person's Opportunity (they reached Payment), tied to their Contact and Account."""
    rng, amount, _, closes, modified = _deal(seed, p, now)
    won, lost = p.reached("Customer"), p.lost_stage is not None
    stage = "Closed Won" if won else "Closed Lost" if lost else rng.choice(
        ("Needs Analysis", "Proposal/Price Quote", "Negotiation/Review"))
    opp_id = salesforce_record_id(seed, "006", p.key)
    return {"attributes": _attributes("Opportunity", opp_id), "Id": opp_id,
            "Name": f"{p.company} - {rng.choice(_PRODUCTS)}", "StageName": stage,
            "IsClosed": won or lost, "IsWon": won,
            "Amount": round(amount * (0.9 if rng.random() < 0.1 else 1.0), 2),
            "CloseDate": closes.date().isoformat(), "ContactId": salesforce_record_id(seed, "003", p.key),
            "AccountId": account_id(seed, p.company),
            "SystemModstamp": salesforce_time(min(modified + timedelta(minutes=rng.randrange(90)), now)),
            "IsDeleted": False}
