"""Deterministic synthetic people for the sandboxes: names, e-mails, E.164 phones, cities, companies.

``people(n, seed)`` yields the same ``n`` people for the same seed, one at a time, from a single
seeded ``random.Random`` (no global randomness); a longer run starts with the shorter run's
people. Every e-mail is unique within one call and lives under a reserved example domain
(``example.com``/``.net``/``.org`` or a company's ``*.example``), so synthetic data can never
reach a real mailbox. Phones are valid mobile numbers of the person's country, in E.164.
"""

from __future__ import annotations

import bisect
import random
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import accumulate
from typing import Any


@dataclass(frozen=True)
class Person:
    """One synthetic person."""

    first_name: str
    last_name: str
    email: str
    phone: str  # E.164, e.g. +14155550123
    city: str
    country: str  # English country name, e.g. "United States"
    country_code: str  # ISO 3166-1 alpha-2, e.g. "US"
    company: str
    job_title: str


@dataclass(frozen=True)
class _Country:
    code: str
    name: str
    # (city, mobile prefixes after the country code) — the subscriber digits follow
    cities: tuple[tuple[str, tuple[str, ...]], ...]
    subscriber_digits: int
    first_names: tuple[str, ...]
    last_names: tuple[str, ...]
    company_suffixes: tuple[str, ...]


def _words(text: str) -> tuple[str, ...]:
    return tuple(word.strip() for word in text.split(","))


_EN_FIRST = _words("James,Mary,John,Patricia,Robert,Jennifer,Michael,Linda,William,Elizabeth,David,Susan,Joseph,"
                   "Jessica,Thomas,Sarah,Emily,Oliver,Amelia,Harry,Olivia,George,Isla,Jack,Ava,Noah,Sophie,Chloe,"
                   "Daniel,Grace,Liam,Mia,Ethan,Zoe,Lucas,Hannah")
_EN_LAST = _words("Smith,Johnson,Williams,Brown,Jones,Miller,Davis,Wilson,Taylor,Anderson,Thomas,Moore,Martin,"
                  "Jackson,Thompson,White,Harris,Clark,Lewis,Walker,Hall,Allen,Young,King,Wright,Scott,Green,"
                  "Baker,Adams,Evans,Roberts,Turner,Campbell,Parker,Collins,Murphy,O'Brien")
_ES_FIRST = _words("Ana,Ana María,José Luis,Juan Carlos,Lucía,Carmen,Javier,Sofía,Diego,Valentina,Alejandro,"
                   "Camila,Pablo,Elena,Miguel Ángel,Laura,Carlos,Isabel,Fernando,Paula,Andrés,Marta,Raúl,Daniela,"
                   "Jorge,Gabriela,Luis,Mariana,Sergio,Ximena")
_ES_LAST = _words("García,Fernández,González,Rodríguez,López,Martínez,Sánchez,Pérez,Gómez,Martín,Jiménez,Ruiz,"
                  "Hernández,Díaz,Moreno,Muñoz,Álvarez,Romero,Navarro,Torres,Domínguez,Vázquez,Ramos,Gil,Ramírez,"
                  "Flores,Castillo,Ortiz,Morales,Cruz,Reyes,Núñez")
_AE_FIRST = _words("Mohammed,Ahmed,Fatima,Aisha,Omar,Khalid,Layla,Yousef,Mariam,Hassan,Noor,Sara,Ali,Reem,Rashid,"
                   "Priya,Arjun,Rahul,Anjali,Maria,Joseph")
_AE_LAST = _words("Al Mansoori,Al Hashimi,Al Nuaimi,Al Suwaidi,Al Marri,Khan,Sharma,Patel,Nair,Haddad,Saleh,"
                  "Rahman,Hussain,Santos,Fernandes,Menon,Qureshi,Aziz,Kapoor")
_GB_MOBILE = ("7400", "7411", "7501", "7712", "7723", "7810", "7835", "7900", "7944", "7966")
_AE_MOBILE = ("50", "52", "54", "55", "56", "58")

# Mobile prefixes follow each country's numbering plan, so ``phonenumbers`` accepts every number.
_COUNTRIES: tuple[_Country, ...] = (
    _Country("US", "United States", (
        ("New York", ("1212", "1917", "1646")), ("San Francisco", ("1415", "1628")), ("Chicago", ("1312", "1773")),
        ("Austin", ("1512", "1737")), ("Miami", ("1305", "1786")), ("Seattle", ("1206", "1425")),
        ("Boston", ("1617", "1857")), ("Denver", ("1303", "1720")),
    ), 7, _EN_FIRST, _EN_LAST, ("Inc.", "LLC", "Corp.")),
    _Country("GB", "United Kingdom", tuple((city, tuple("44" + p for p in _GB_MOBILE)) for city in (
        "London", "Manchester", "Birmingham", "Leeds", "Edinburgh")), 6, _EN_FIRST, _EN_LAST, ("Ltd", "plc")),
    _Country("ES", "Spain", tuple((city, ("346",)) for city in (
        "Madrid", "Barcelona", "Valencia", "Sevilla", "Málaga")), 8, _ES_FIRST, _ES_LAST, ("S.L.", "S.A.")),
    _Country("MX", "Mexico", (
        ("Ciudad de México", ("5255",)), ("Guadalajara", ("5233",)), ("Monterrey", ("5281",)),
    ), 8, _ES_FIRST, _ES_LAST, ("S.A. de C.V.", "S. de R.L.")),
    _Country("AE", "United Arab Emirates", tuple((city, tuple("971" + p for p in _AE_MOBILE)) for city in (
        "Dubai", "Abu Dhabi", "Sharjah")), 7, _AE_FIRST, _AE_LAST, ("LLC", "FZE", "FZ-LLC")),
)
_COUNTRY_WEIGHTS = (40, 20, 15, 15, 10)
_COMPANY_WORDS = _words("Blue,River,Nova,Summit,Atlas,Cedar,Orbit,Pixel,Harbor,Golden,Silver,Bright,Iron,Maple,"
                        "Falcon,Lumen,Vertex,Coral,Nimbus,Quartz,Sierra,Delta,Oasis,Polar")
_COMPANY_NOUNS = _words("Labs,Logistics,Foods,Studio,Health,Motors,Capital,Media,Systems,Retail,Travel,Fitness,"
                        "Dental,Realty,Energy,Learning,Design,Partners,Clinic,Works")
_JOB_TITLES = _words("Marketing Manager,Head of Marketing,CEO,Founder,Head of Sales,Sales Manager,Operations Manager,"
                     "Office Manager,Account Executive,Software Engineer,Product Manager,CFO,Consultant,Owner,"
                     "General Manager,HR Manager")
_FREE_MAIL = ("example.com", "example.net", "example.org")
_EMAIL_SHAPES = ("{f}.{l}", "{f}{l}", "{i}.{l}", "{f}_{l}", "{f}.{l}{n}")


def _ascii_slug(text: str, joiner: str = "") -> str:
    """Lower-case ASCII letters and digits of ``text`` (accents dropped), words joined by ``joiner``."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    words = ["".join(ch for ch in word if ch.isalnum()) for word in folded.split()]
    return joiner.join(word for word in words if word)


def people(n: int, seed: int = 42) -> Iterator[Person]:
    """Yield ``n`` synthetic people, the same ones for the same ``seed``; e-mails are unique."""
    rand = random.Random(seed).random  # one C call per draw: seeding 200,000 contacts stays fast

    def pick(options: tuple[Any, ...]) -> Any:
        return options[int(rand() * len(options))]

    slugs: dict[str, str] = {}  # name -> e-mail slug, computed once per distinct name
    domains: dict[str, str] = {}  # company name -> its e-mail domain
    seen: set[str] = set()
    cumulative = list(accumulate(_COUNTRY_WEIGHTS))
    for index in range(n):
        # one person's draws all come before the next person's: people(n) starts with people(m) for m < n
        country = _COUNTRIES[bisect.bisect(cumulative, rand() * cumulative[-1])]
        first, last = pick(country.first_names), pick(country.last_names)
        city, prefixes = pick(country.cities)
        size = country.subscriber_digits
        digits = str(10 ** (size - 1) + int(rand() * 9 * 10 ** (size - 1)))
        if country.code == "US":
            # NANP: an exchange starts with 2-9 and 555-01xx is fiction-only; avoid both.
            digits = str(2 + int(rand() * 8)) + digits[1:]
            if digits.startswith("555"):
                digits = "556" + digits[3:]
        company_name = f"{pick(_COMPANY_WORDS)} {pick(_COMPANY_NOUNS)}"
        company = f"{company_name} {pick(country.company_suffixes)}"
        f = slugs.get(first) or slugs.setdefault(first, _ascii_slug(first))
        lo = slugs.get(last) or slugs.setdefault(last, _ascii_slug(last))
        local = pick(_EMAIL_SHAPES).format(f=f, l=lo, i=f[:1], n=1 + int(rand() * 99))
        if rand() < 0.4:
            domain = domains.get(company_name) or domains.setdefault(
                company_name, _ascii_slug(company_name, "-") + ".example")
        else:
            domain = pick(_FREE_MAIL)
        email = f"{local}@{domain}"
        while email in seen:  # the index is unique to this person, so this settles on the first try
            email = f"{local}.{index}@{domain}"
            local = f"{local}.{index}"
        seen.add(email)
        yield Person(first, last, email, f"+{pick(prefixes)}{digits}", city, country.name, country.code,
                     company, pick(_JOB_TITLES))
