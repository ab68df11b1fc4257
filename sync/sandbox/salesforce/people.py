"""Synthetic CRM data for the Salesforce sandbox: people, companies and their deals, deterministic by seed.

A small private generator (names, e-mails, E.164 phones, cities, companies) so the sandbox needs
nothing else; ``seed_records`` loads leads, contacts (with accounts) and opportunities (each on a
seeded contact) with modification times spread over the 30 days before ``now``. Records go in
through the store's unvalidated fast path, so 20,000+ rows load in well under a second.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from sync.sandbox.salesforce.records import RecordStore
from sync.sandbox.salesforce.schema import CURRENCIES, LEAD_SOURCES, OPPORTUNITY_STAGES

FIRST = (
    "James", "Mary", "John", "Patricia", "Robert", "Jennifer", "Michael", "Linda", "William", "Elizabeth",
    "David", "Susan", "Joseph", "Jessica", "Thomas", "Sarah", "Emily", "Oliver", "Amelia", "Harry", "Olivia",
    "George", "Isla", "Jack", "Ava", "Noah", "Sophia", "Lucas", "Mia", "Leo", "Chloe", "Mateo", "Valentina",
    "Santiago", "Camila", "Ana", "Pedro", "Lucia", "Hugo", "Marta", "Luca", "Giulia", "Lea", "Finn", "Emma",
    "Jonas", "Ines",
)
LAST = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez",
    "Wilson", "Anderson", "Taylor", "Thomas", "Moore", "Jackson", "Martin", "Lee", "Walker", "Hall", "Young",
    "King", "Wright", "Lopez", "Hill", "Scott", "Green", "Adams", "Baker", "Nelson", "Carter", "Silva", "Santos",
    "Costa", "Rossi", "Russo", "Ferrari", "Muller", "Schmidt", "Fischer", "Weber", "Dubois", "Moreau", "Laurent",
    "Novak",
)
# (city, state, postal code stem, country, E.164 prefix, subscriber digits, allowed first digits)
CITIES = (
    ("New York", "NY", "100", "United States", "+1212", 7, "2345678"),
    ("Austin", "TX", "787", "United States", "+1512", 7, "2345678"),
    ("Chicago", "IL", "606", "United States", "+1312", 7, "2345678"),
    ("Seattle", "WA", "981", "United States", "+1206", 7, "2345678"),
    ("Toronto", "ON", "M5V", "Canada", "+1416", 7, "2345678"),
    ("London", "England", "EC1", "United Kingdom", "+4420", 8, "378"),
    ("Madrid", "Madrid", "280", "Spain", "+3491", 7, "2345"),
    ("Berlin", "Berlin", "101", "Germany", "+4930", 8, "2345678"),
    ("São Paulo", "SP", "010", "Brazil", "+5511", 9, "9"),
    ("Mexico City", "CDMX", "060", "Mexico", "+5255", 8, "2345"),
)
COMPANY_WORDS = (
    "Acme", "Globex", "Initech", "Umbrella", "Stark", "Wayne", "Wonka", "Hooli", "Vandelay", "Soylent", "Tyrell",
    "Cyberdyne", "Aperture", "Oscorp", "Pied", "Piper", "Massive", "Dynamic", "Gringotts", "Monarch", "Nakatomi",
)
COMPANY_SUFFIXES = ("Inc", "LLC", "Ltd", "GmbH", "SA", "Group", "Labs", "Co")
TITLES = ("CEO", "CTO", "VP Sales", "Marketing Manager", "Head of Operations", "Founder", "Buyer", None)
COMPANY_POOL = 400  # fixed, so person k is the same whatever the number of people asked for
OPEN_STATUSES = ("Open - Not Contacted", "Working - Contacted", "Closed - Not Converted")


@dataclass(frozen=True)
class SyntheticPerson:
    """One made-up person and where they work."""

    first_name: str
    last_name: str
    email: str
    phone: str
    mobile: str
    city: str
    state: str
    postal_code: str
    country: str
    company: str
    title: str | None
    lead_source: str


def synthetic_people(n: int, seed: int) -> Iterator[SyntheticPerson]:
    """``n`` people, the same ones for the same seed whatever ``n``; e-mails are unique (an index keeps them apart)."""
    pool = random.Random(f"companies-{seed}")
    companies = [f"{pool.choice(COMPANY_WORDS)} {pool.choice(COMPANY_SUFFIXES)}" for _ in range(COMPANY_POOL)]
    rng = random.Random(seed)
    for index in range(n):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        city, state, stem, country, prefix, digits, leads = rng.choice(CITIES)
        company = rng.choice(companies)
        domain = company.split()[0].lower() + ".example"
        yield SyntheticPerson(
            first_name=first, last_name=last, email=f"{first.lower()}.{last.lower()}.{index}@{domain}",
            phone=_phone(rng, prefix, digits, leads), mobile=_phone(rng, prefix, digits, leads),
            city=city, state=state, postal_code=stem + str(rng.randrange(10, 99)), country=country,
            company=company, title=rng.choice(TITLES), lead_source=rng.choice(LEAD_SOURCES))


def _phone(rng: random.Random, prefix: str, digits: int, leads: str) -> str:
    return prefix + rng.choice(leads) + "".join(rng.choice("0123456789") for _ in range(digits - 1))


def _moment(rng: random.Random, now: datetime) -> datetime:
    return now - timedelta(seconds=rng.randrange(1, 30 * 86400))


def seed_records(store: RecordStore, *, leads: int, contacts: int, opportunities: int, seed: int,
                 now: datetime) -> None:
    """Load synthetic leads, contacts with their accounts, and opportunities on those contacts."""
    rng = random.Random(seed)
    for person in synthetic_people(leads, seed):
        at = _moment(rng, now)
        store.load("Lead", {
            "FirstName": person.first_name, "LastName": person.last_name, "Email": person.email,
            "Phone": person.phone, "MobilePhone": person.mobile, "Company": person.company, "Title": person.title,
            "City": person.city, "State": person.state, "PostalCode": person.postal_code,
            "Country": person.country, "LeadSource": person.lead_source, "Status": rng.choice(OPEN_STATUSES),
            "CreatedDate": at - timedelta(days=rng.randrange(0, 60))}, at)
    accounts: dict[str, str] = {}
    contact_rows: list[tuple[str, str, datetime]] = []  # (contact id, account id, modified)
    for person in synthetic_people(contacts, seed + 1):
        at = _moment(rng, now)
        account_id = accounts.get(person.company)
        if account_id is None:
            account_id = accounts[person.company] = store.load("Account", {"Name": person.company}, at)
        contact_id = store.load("Contact", {
            "FirstName": person.first_name, "LastName": person.last_name, "Email": person.email,
            "Phone": person.phone, "MobilePhone": person.mobile, "Title": person.title,
            "MailingCity": person.city, "MailingState": person.state, "MailingPostalCode": person.postal_code,
            "MailingCountry": person.country, "LeadSource": person.lead_source, "AccountId": account_id}, at)
        contact_rows.append((contact_id, account_id, at))
    if opportunities and not contact_rows:
        raise ValueError("seeded opportunities need seeded contacts to reference")
    for _ in range(opportunities):
        contact_id, account_id, contact_at = rng.choice(contact_rows)
        stage = rng.choice(OPPORTUNITY_STAGES)[0]
        at = max(contact_at, _moment(rng, now))
        store.load("Opportunity", {
            "Name": f"{store.rows['Account'][account_id]['Name']} deal", "StageName": stage,
            "Amount": float(rng.randrange(5, 500) * 100),
            "CloseDate": (at + timedelta(days=rng.randrange(-20, 60))).date(),
            "ContactId": contact_id, "AccountId": account_id, "CurrencyIsoCode": rng.choice(CURRENCIES[:3]),
            "LeadSource": rng.choice(LEAD_SOURCES)}, at)
