"""Lookup tables for ad-network hashing: state/province and country names to 2-letter codes.

Country names come from the locale data that ships with `phonenumbers` (already a dependency),
in the Latin-script languages our contacts most often write them in, plus common aliases and
ISO alpha-3 codes. Keys are "squashed": lowercase with every non-alphanumeric removed, so
`New York`, `new-york` and `NEW YORK` share one key.
"""

from __future__ import annotations

import re
from functools import cache

import phonenumbers
from phonenumbers.geodata.locale import LOCALE_DATA

_NOT_ALNUM = re.compile(r"[\W_]+")

# US states, DC and territories (ANSI codes), then Canadian provinces; no code collides.
STATES: dict[str, str] = {
    "alabama": "al", "alaska": "ak", "arizona": "az", "arkansas": "ar", "california": "ca",
    "colorado": "co", "connecticut": "ct", "delaware": "de", "florida": "fl", "georgia": "ga",
    "hawaii": "hi", "idaho": "id", "illinois": "il", "indiana": "in", "iowa": "ia",
    "kansas": "ks", "kentucky": "ky", "louisiana": "la", "maine": "me", "maryland": "md",
    "massachusetts": "ma", "michigan": "mi", "minnesota": "mn", "mississippi": "ms",
    "missouri": "mo", "montana": "mt", "nebraska": "ne", "nevada": "nv", "new hampshire": "nh",
    "new jersey": "nj", "new mexico": "nm", "new york": "ny", "north carolina": "nc",
    "north dakota": "nd", "ohio": "oh", "oklahoma": "ok", "oregon": "or", "pennsylvania": "pa",
    "rhode island": "ri", "south carolina": "sc", "south dakota": "sd", "tennessee": "tn",
    "texas": "tx", "utah": "ut", "vermont": "vt", "virginia": "va", "washington": "wa",
    "west virginia": "wv", "wisconsin": "wi", "wyoming": "wy", "district of columbia": "dc",
    "washington dc": "dc", "washington d.c.": "dc", "puerto rico": "pr", "guam": "gu",
    "us virgin islands": "vi", "american samoa": "as", "northern mariana islands": "mp",
    "alberta": "ab", "british columbia": "bc", "manitoba": "mb", "new brunswick": "nb",
    "newfoundland and labrador": "nl", "newfoundland": "nl", "nova scotia": "ns",
    "northwest territories": "nt", "nunavut": "nu", "ontario": "on", "prince edward island": "pe",
    "quebec": "qc", "québec": "qc", "saskatchewan": "sk", "yukon": "yt",
}

COUNTRY_ALIASES: dict[str, str] = {
    "usa": "us", "us of a": "us", "america": "us", "united states of america": "us",
    "u.s.": "us", "u.s.a.": "us", "uk": "gb", "u.k.": "gb", "great britain": "gb",
    "britain": "gb", "england": "gb", "scotland": "gb", "wales": "gb", "northern ireland": "gb",
    "united kingdom of great britain and northern ireland": "gb", "holland": "nl",
    "the netherlands": "nl", "czech republic": "cz", "czechia": "cz", "russia": "ru",
    "south korea": "kr", "korea": "kr", "republic of korea": "kr", "north korea": "kp",
    "ivory coast": "ci", "uae": "ae", "emirates": "ae", "turkey": "tr", "türkiye": "tr",
    "turkiye": "tr", "vietnam": "vn", "viet nam": "vn", "deutschland": "de", "españa": "es",
    "brasil": "br", "méxico": "mx", "méjico": "mx", "schweiz": "ch", "suisse": "ch",
    "österreich": "at", "belgië": "be", "belgique": "be", "polska": "pl", "italia": "it",
    "nederland": "nl", "sverige": "se", "norge": "no", "danmark": "dk", "suomi": "fi",
    "éire": "ie", "hellas": "gr", "ellada": "gr", "bharat": "in", "nippon": "jp", "nihon": "jp",
    # ISO 3166-1 alpha-3 codes seen in CRM exports.
    "gbr": "gb", "deu": "de", "fra": "fr", "esp": "es", "ita": "it", "nld": "nl", "bel": "be",
    "che": "ch", "aut": "at", "prt": "pt", "irl": "ie", "swe": "se", "nor": "no", "dnk": "dk",
    "fin": "fi", "pol": "pl", "can": "ca", "mex": "mx", "bra": "br", "arg": "ar", "col": "co",
    "chl": "cl", "per": "pe", "aus": "au", "nzl": "nz", "ind": "in", "chn": "cn", "jpn": "jp",
    "kor": "kr", "sgp": "sg", "idn": "id", "phl": "ph", "tha": "th", "vnm": "vn", "mys": "my",
    "zaf": "za", "nga": "ng", "ken": "ke", "egy": "eg", "are": "ae", "sau": "sa", "isr": "il",
    "tur": "tr", "rus": "ru", "ukr": "ua",
}

# Latin-script locales whose names we index, most trusted first (first writer wins a key).
_LANGUAGES = ("en", "de", "fr", "es", "it", "nl", "pt", "sv", "pl", "id", "ms")
_MAX_INDIRECTIONS = 4


def squash(text: str) -> str:
    """Lowercase `text` and drop everything that is not a letter or digit."""
    return _NOT_ALNUM.sub("", text.casefold())


def _locale_name(names: dict[str, str], language: str) -> str | None:
    """Resolve one locale entry, following the data's `*xx` "same as language xx" pointers."""
    name = names.get(language)
    for _ in range(_MAX_INDIRECTIONS):
        if name is None or not name.startswith("*"):
            return name
        name = names.get(name[1:])
    return None


@cache
def region_codes() -> frozenset[str]:
    """Every 2-letter ISO region code phonenumbers knows, lowercase."""
    known = set(phonenumbers.SUPPORTED_REGIONS) | {code for code in LOCALE_DATA if len(code) == 2}
    return frozenset(code.lower() for code in known if code.isalpha())


@cache
def country_index() -> dict[str, str]:
    """Squashed country name or alias → lowercase ISO 3166-1 alpha-2 code."""
    index: dict[str, str] = {}
    for alias, code in COUNTRY_ALIASES.items():
        index.setdefault(squash(alias), code)
    for language in _LANGUAGES:
        for region, names in LOCALE_DATA.items():
            name = _locale_name(names, language) if len(region) == 2 and region.isalpha() else None
            if name:
                index.setdefault(squash(name), region.lower())
    return index


@cache
def state_index() -> dict[str, str]:
    """Squashed US state / Canadian province name → lowercase 2-letter code."""
    return {squash(name): code for name, code in STATES.items()}


def country_code(text: str) -> str | None:
    """Lowercase ISO alpha-2 code for a country code, name or alias; None when unknown (hashing, privacy regions)."""
    key = squash(text)
    if key in country_index():
        return country_index()[key]
    return key if len(key) == 2 and key in region_codes() else None


def state_code(text: str) -> str | None:
    """Lowercase 2-letter code of a known US state / Canadian province name, else its lowercase alphanumerics."""
    key = squash(text)
    return state_index().get(key, key) or None
