"""Ground truth of the synthetic business: who each person is, how they came, how far they got.

Person *k* is drawn from its own ``random.Random`` seeded with ``(seed, k)``: the same whatever
``count`` is, streamable one at a time. E-mails stay unique through a fixed-size bitmap of
addresses handed out (memory does not grow with ``count``); the ads are drawn once per seed.
"""

from __future__ import annotations

import hashlib
import random
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from itertools import accumulate

DEFAULT_NOW = datetime(2026, 11, 1, tzinfo=UTC)
ACTIVE_STAGES = ("New Lead", "Hot Lead", "Payment", "Customer")
LOST_STAGES = ("Cold Lead", "Unqualified", "Lost to competitor")
SYSTEMS = ("hubspot", "salesforce", "whatsapp", "respondio")


@dataclass(frozen=True)
class City:
    """A city with its state/province, postal-code stem, phone prefixes and alternative spellings."""

    name: str
    state: str
    zip_stem: str | None
    dial_prefixes: tuple[str, ...]
    variants: tuple[str, ...] = ()


@dataclass(frozen=True)
class Country:
    """Names, cities and phone numbering of one country."""

    code: str
    dial: str
    trunk: str
    groups: tuple[int, ...]
    language: str
    currency: str
    names: tuple[str, ...]
    first_names: tuple[str, ...]
    last_names: tuple[str, ...]
    cities: tuple[City, ...]
    company_suffixes: tuple[str, ...]
    tld: str
    free_mail: tuple[str, ...]


def _split(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(","))


_EN_FIRST = _split("James,Mary,John,Patricia,Robert,Jennifer,Michael,Linda,William,Elizabeth,David,Susan,"
                   "Joseph,Jessica,Thomas,Sarah,Emily,Oliver,Amelia,Harry,Olivia,George,Isla,Jack,Ava,"
                   "Noah,Sophie,Mary Ann,Mary Jane,Anne Marie,Chloe,Daniel,Grace,Liam")
_EN_LAST = _split("Smith,Johnson,Williams,Brown,Jones,Miller,Davis,Wilson,Taylor,Anderson,Thomas,Moore,"
                  "Martin,Jackson,Thompson,White,Harris,Clark,Lewis,Walker,Hall,Allen,Young,King,Wright,"
                  "Scott,Green,Baker,Adams,Evans,Roberts,Turner,Campbell,Parker,Collins,Murphy,O'Brien")
_ES_FIRST = _split("Ana,Ana María,María José,José Luis,Juan Carlos,Lucía,Carmen,Javier,Sofía,Diego,"
                   "Valentina,Alejandro,Camila,Pablo,Elena,Miguel Ángel,Laura,Carlos,Isabel,Fernando,"
                   "Paula,Andrés,Marta,Raúl,Daniela,Jorge,Gabriela,Luis,Mariana,Sergio,Ximena,Rodrigo")
_ES_LAST = _split("García,Fernández,González,Rodríguez,López,Martínez,Sánchez,Pérez,Gómez,Martín,"
                  "Jiménez,Ruiz,Hernández,Díaz,Moreno,Muñoz,Álvarez,Romero,Navarro,Torres,Domínguez,"
                  "Vázquez,Ramos,Gil,Ramírez,Flores,Castillo,Ortiz,Morales,Cruz,Reyes,Mendoza,Núñez")
_AE_FIRST = _split("Mohammed,Ahmed,Fatima,Aisha,Omar,Khalid,Layla,Yousef,Mariam,Hassan,Noor,Sara,Ali,"
                   "Hamdan,Reem,Rashid,Priya,Arjun,Rahul,Anjali,Maria,Joseph,Fatima Zahra,Abdul Rahman")
_AE_LAST = _split("Al Mansoori,Al Hashimi,Al Nuaimi,Al Suwaidi,Al Marri,Khan,Sharma,Patel,Nair,Haddad,"
                  "Saleh,Rahman,Hussain,Santos,Reyes,Fernandes,Menon,Qureshi,Aziz,Kapoor")
_MOBILE_GB = ("7400", "7411", "7501", "7712", "7723", "7810", "7835", "7900", "7944", "7966")
_MOBILE_AE = ("50", "52", "54", "55", "56", "58")
_WORDS = _split("Blue,River,Nova,Summit,Atlas,Cedar,Orbit,Pixel,Harbor,Golden,Silver,Bright,Iron,Maple,"
                "Falcon,Lumen,Vertex,Coral,Nimbus,Quartz,Sierra,Delta,Oasis,Polar")
_NOUNS = _split("Labs,Logistics,Foods,Studio,Health,Motors,Capital,Media,Systems,Retail,Travel,Fitness,"
                "Dental,Realty,Energy,Learning,Design,Partners,Clinic,Works")

COUNTRIES: dict[str, Country] = {c.code: c for c in (
    Country("US", "1", "", (3, 3, 4), "en", "USD", ("United States", "USA", "US", "United States of America"),
            _EN_FIRST, _EN_LAST, (
                City("New York", "NY", "100", ("212", "917", "646"), ("NYC", "New York City", "new york")),
                City("San Francisco", "CA", "941", ("415", "628"), ("SF", "San Fransisco")),
                City("Chicago", "IL", "606", ("312", "773")),
                City("Austin", "TX", "787", ("512", "737")),
                City("Miami", "FL", "331", ("305", "786"), ("Miami Beach",)),
                City("Seattle", "WA", "981", ("206", "425")),
                City("Boston", "MA", "021", ("617", "857")),
                City("Denver", "CO", "802", ("303", "720")),
            ), ("Inc.", "LLC", "Corp."), ".com", ("gmail.com", "yahoo.com", "outlook.com", "icloud.com")),
    Country("GB", "44", "0", (4, 6), "en", "GBP", ("United Kingdom", "UK", "GB", "England"),
            _EN_FIRST, _EN_LAST, (
                City("London", "Greater London", "EC1", _MOBILE_GB, ("london", "City of London")),
                City("Manchester", "Greater Manchester", "M1", _MOBILE_GB),
                City("Birmingham", "West Midlands", "B2", _MOBILE_GB),
                City("Leeds", "West Yorkshire", "LS1", _MOBILE_GB),
                City("Edinburgh", "Scotland", "EH1", _MOBILE_GB, ("Edinburgh, Scotland",)),
            ), ("Ltd", "Ltd.", "plc"), ".co.uk", ("gmail.com", "hotmail.co.uk", "outlook.com", "btinternet.com")),
    Country("ES", "34", "", (3, 2, 2, 2), "es", "EUR", ("Spain", "España", "ES"),
            _ES_FIRST, _ES_LAST, (
                City("Madrid", "Madrid", "280", ("6",)),
                City("Barcelona", "Barcelona", "080", ("6",), ("BCN", "barcelona")),
                City("Valencia", "Valencia", "460", ("6",), ("València",)),
                City("Sevilla", "Sevilla", "410", ("6",), ("Seville",)),
                City("Málaga", "Málaga", "290", ("6",), ("Malaga",)),
            ), ("S.L.", "S.A."), ".es", ("gmail.com", "hotmail.es", "yahoo.es", "outlook.es")),
    Country("MX", "52", "", (2, 4, 4), "es", "MXN", ("Mexico", "México", "MX"),
            _ES_FIRST, _ES_LAST, (
                City("Ciudad de México", "CDMX", "06", ("55",), ("CDMX", "Mexico City", "Ciudad de Mexico")),
                City("Guadalajara", "Jalisco", "44", ("33",), ("GDL",)),
                City("Zapopan", "Jalisco", "45", ("33",)),
                City("Monterrey", "Nuevo León", "64", ("81",), ("MTY", "Monterrey, N.L.")),
            ), ("S.A. de C.V.", "S. de R.L."), ".com.mx", ("gmail.com", "hotmail.com", "yahoo.com.mx")),
    Country("AE", "971", "0", (2, 3, 4), "ar", "AED", ("United Arab Emirates", "UAE", "AE"),
            _AE_FIRST, _AE_LAST, (
                City("Dubai", "Dubai", None, _MOBILE_AE, ("Dubai Marina", "DXB")),
                City("Abu Dhabi", "Abu Dhabi", None, _MOBILE_AE, ("AbuDhabi",)),
                City("Sharjah", "Sharjah", None, _MOBILE_AE),
            ), ("LLC", "FZE", "FZ-LLC"), ".ae", ("gmail.com", "hotmail.com", "yahoo.com", "outlook.com")),
)}
JOB_TITLES = _split("Marketing Manager,Head of Marketing,CEO,Founder,Co-Founder,Head of Sales,Sales Manager,"
                    "Operations Manager,Office Manager,Account Executive,Software Engineer,Product Manager,CFO,"
                    "Consultant,Owner,Director of Marketing,HR Manager,Sales Representative,General Manager")
_CAMPAIGNS = _split("Spring Promo,Free Consultation,Webinar Signup,Summer Offer,Retargeting Q3,Black Friday")
_HEADLINES = _split("Chat with us on WhatsApp,Get a quote in minutes,Talk to an expert today")
_ADSETS = ("Broad 25-54 | Advantage+ placements", "Lookalike 1% customers | WhatsApp Status")
_FORMATS = ("Image", "Video 15s", "Carousel")
_B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_AD_WEIGHTS = tuple(accumulate(3 + (n * 7) % 5 for n in range(18)))  # some ads get more clicks
_BODIES = _split("Tap to message us. We reply in minutes.,Limited places this month - ask us how.,"
                 "Send us a message and get 10% off your first order.")


@dataclass(frozen=True)
class Ad:
    """One click-to-WhatsApp ad of a Meta campaign."""

    campaign_id: str
    campaign_name: str
    adset_id: str
    ad_id: str
    headline: str
    body: str
    source_url: str
    image_url: str
    name: str = ""  # the ad's name in Ads Manager (what the Marketing API answers)
    adset_name: str = ""


@dataclass(frozen=True)
class AdClick:
    """A click on a click-to-WhatsApp ad; ``ctwa_clid`` is None for ads shown in WhatsApp Status."""

    ad: Ad
    ctwa_clid: str | None
    clicked_at: datetime


@dataclass(frozen=True)
class Person:
    """One real person of the business, as the truth every system holds a version of."""

    key: int
    first_name: str
    last_name: str
    email: str
    phone_e164: str
    country: str
    city: str
    company: str
    job_title: str
    stage_path: tuple[str, ...]
    lost_stage: str | None
    channel: str
    ad: AdClick | None
    systems: tuple[str, ...]
    salesforce_kind: str | None
    created_at: datetime
    state: str
    postal_code: str | None
    company_domain: str

    @property
    def stage(self) -> str:
        """The current stage: the lost stage if any, else the furthest active stage."""
        return self.lost_stage or self.stage_path[-1]

    def reached(self, stage: str) -> bool:
        """Whether the person ever reached ``stage`` (an active stage)."""
        return stage in self.stage_path


def seeded(seed: int, *parts: object) -> random.Random:
    """A private random generator for one (seed, purpose…) — independent of every other one."""
    return random.Random(":".join(["lifesync-demo", str(seed), *map(str, parts)]))


@lru_cache(maxsize=4096)
def ascii_fold(text: str) -> str:
    """Drop accents: ``"María"`` → ``"Maria"``."""
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def _digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choices("0123456789", k=n))


def ad_catalogue(seed: int) -> tuple[Ad, ...]:
    """Six campaigns of three ads in two ad sets each, with Meta-style 18-digit ids and Ads Manager names."""
    rng = seeded(seed, "ads")
    ads = []
    for name in _CAMPAIGNS:
        campaign_id, adset_id = "1202" + _digits(rng, 14), "1202" + _digits(rng, 14)
        # the second ad set's id from its own generator: the ids and URLs drawn above stay what they were
        adsets = ((adset_id, _ADSETS[0]), ("1202" + _digits(seeded(seed, "adset", name), 14), _ADSETS[1]))
        for n, (headline, body) in enumerate(zip(_HEADLINES, _BODIES)):
            ad_id = "1202" + _digits(rng, 14)
            set_id, set_name = adsets[n % 2]
            ads.append(Ad(campaign_id, f"{name} | Click to WhatsApp | Leads", set_id, ad_id,
                          f"{name}: {headline}", body,
                          "https://fb.me/" + "".join(rng.choices(_B64URL[:62], k=9)),
                          f"https://scontent.xx.fbcdn.net/v/t45.1600-4/{_digits(rng, 9)}_{ad_id}_n.jpg",
                          f"{headline} | {_FORMATS[n]}", f"{name} | {set_name}"))
    return tuple(ads)


def _stages(rng: random.Random) -> tuple[tuple[str, ...], str | None]:
    r = rng.random()
    path = ACTIVE_STAGES[:1 + sum(r >= edge for edge in (0.36, 0.66, 0.76))]
    lost = len(path) < 4 and rng.random() < 0.26
    weights = {"New Lead": (70, 30, 0), "Hot Lead": (75, 10, 15), "Payment": (50, 0, 50)}.get(path[-1])
    return path, rng.choices(LOST_STAGES, weights)[0] if lost else None


def _systems(rng: random.Random, path: tuple[str, ...]) -> tuple[tuple[str, ...], str | None]:
    r = rng.random()
    hubspot, salesforce = r < 0.55, 0.25 <= r < 0.70
    if hubspot or salesforce:
        whatsapp, respondio = rng.random() < 0.05, rng.random() < 0.02
    else:  # messaging-only people: 55% WhatsApp only, 28% respond.io only, 17% both
        r = rng.random()
        whatsapp, respondio = r < 0.55 or r >= 0.83, r >= 0.55
    systems = tuple(s for s, on in zip(SYSTEMS, (hubspot, salesforce, whatsapp, respondio)) if on)
    r = rng.random()
    kind = ("converted" if r < 0.4 else "contact") if "Payment" in path else "lead" if r < 0.8 else "contact"
    return systems, kind if salesforce else None


def _email(rng: random.Random, first: str, last: str, domain: str, key: int, seen: bytearray) -> str:
    f = ascii_fold(first).lower().replace("'", "").split()
    surname = ascii_fold(last).lower().replace("'", "").replace(" ", "")
    given = rng.choice(("".join(f), ".".join(f), f[0]))
    local = rng.choice((f"{given}.{surname}", f"{given[0]}{surname}", f"{given}{surname}",
                        f"{given}_{surname}", f"{given}.{surname}{rng.randint(1, 99)}",
                        f"{given}{rng.randint(70, 99)}"))
    email = f"{local}@{domain}"
    bit = int.from_bytes(hashlib.blake2b(email.encode(), digest_size=8).digest(), "big") % (len(seen) * 8)
    if seen[bit >> 3] & 1 << (bit & 7):  # maybe handed out: ".<key>" makes it unique (no base ends so)
        email = f"{local}.{key}@{domain}"
    seen[bit >> 3] |= 1 << (bit & 7)
    return email


def _person(seed: int, key: int, now: datetime, ads: tuple[Ad, ...], seen: bytearray) -> Person:
    rng = seeded(seed, "person", key)
    country = COUNTRIES[rng.choices(("US", "GB", "ES", "MX", "AE"), (30, 15, 20, 20, 15))[0]]
    city = rng.choice(country.cities)
    first, last = rng.choice(country.first_names), rng.choice(country.last_names)
    if country.language == "es" and rng.random() < 0.35:
        last = f"{last} {rng.choice(country.last_names)}"
    i, j = rng.randrange(len(_WORDS)), rng.randrange(len(_NOUNS))
    company = f"{_WORDS[i]} {_NOUNS[j]} {country.company_suffixes[(i + j) % len(country.company_suffixes)]}"
    company_domain = f"{_WORDS[i]}{_NOUNS[j]}{country.tld}".lower()
    domain = company_domain if rng.random() < 0.4 else rng.choice(country.free_mail)
    email = _email(rng, first, last, domain, key, seen)
    nsn = (prefix := rng.choice(city.dial_prefixes)) + _digits(rng, sum(country.groups) - len(prefix))
    if country.code == "US":  # exchange code must not start with 0 or 1
        nsn = nsn[:3] + str(rng.randint(2, 9)) + nsn[4:]
    postal = None if city.zip_stem is None else (
        f"{city.zip_stem} {rng.randint(1, 9)}{rng.choice('ABDEFGHJLNPQRSTUWXYZ')}{rng.choice('ABDEFHJLNPRSTUW')}"
        if country.code == "GB" else city.zip_stem + _digits(rng, 5 - len(city.zip_stem)))
    created_at = now - timedelta(seconds=rng.randrange(2 * 86400, 540 * 86400))
    path, lost = _stages(rng)
    systems, salesforce_kind = _systems(rng, path)
    ad = None
    if "whatsapp" in systems and rng.random() < 0.5:
        clid = None if rng.random() < 0.1 else "AR" + "".join(rng.choices(_B64URL, k=110))
        ad = AdClick(rng.choices(ads, cum_weights=_AD_WEIGHTS)[0], clid, created_at)
    channel = "whatsapp" if ad else rng.choice([s for s in systems if s in ("hubspot", "salesforce")] or systems)
    return Person(key, first, last, email, f"+{country.dial}{nsn}", country.code, city.name, company,
                  rng.choice(JOB_TITLES), path, lost, channel, ad, systems, salesforce_kind, created_at,
                  city.state, postal, company_domain)


def as_utc(now: datetime | None) -> datetime:
    """``now`` as an aware UTC datetime (naive means UTC); None means the fixed ``DEFAULT_NOW``."""
    return DEFAULT_NOW if now is None else now.replace(tzinfo=now.tzinfo or UTC).astimezone(UTC)


def people(seed: int = 7, count: int = 5000, now: datetime | None = None) -> Iterator[Person]:
    """Yield ``count`` people for ``seed`` one at a time; the first n are the same for any count ≥ n."""
    now = as_utc(now)
    ads, seen = ad_catalogue(seed), bytearray(1 << 21)  # 16M bits: 0.6% needless suffixes at 100k people
    for key in range(1, count + 1):
        yield _person(seed, key, now, ads, seen)
