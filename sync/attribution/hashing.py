"""Normalise and hash contact data the way each ad network asks.

Public API::

    normalize(rules, field, value, *, region=None) -> str | None
    hashed(rules, field, value, *, region=None) -> str | None
    should_hash(rules, field) -> bool
    wire_value(rules, field, value, *, region=None) -> str | None

`rules` is the network's `UserDataRules` (each network module declares its own, in
`sync.attribution.networks`): which fields it takes in clear, whether its phones carry a `+`,
whether Gmail dots are dropped. `field` is one of `FIELDS`; anything else is a programming
error (`ValueError`). A value that cannot be normalised gives `None`, never a guess. `hashed` is
SHA-256 of the UTF-8 normalised value as lowercase hex; a value that already is 64 hex digits
is returned (lowercased) as is, so nothing is ever hashed twice.

Rules (see shared/reference/ads.md):

* email: trim + lowercase, must look like `local@domain.tld`; with `drop_gmail_dots` (Google), every
  `.` before the `@` of a gmail.com / googlemail.com address is removed, and with `drop_gmail_plus`
  (Google) the `+tag` after the local part too (google-ads-datamanager-util's `Formatter`).
* phone: parsed with `phonenumbers`. `+…` / `00…` is international; otherwise the number is
  read in `region` (the contact's country: ISO code, name or calling code such as `44`;
  `DEFAULT_REGION` when not given) and, failing that, as digits that already start with a
  country code. Invalid → None. E.164 with `+` when `phone_plus`, else the E.164 digits without
  `+` (Meta). That form has no `+`, so it is only unambiguous read back in the number's own
  region: the contact's region wins when both readings are valid numbers.
* first_name / last_name: lowercase, punctuation and spaces removed, letters of any script kept;
  with `names_as_written` (Google's `Formatter`) only trimmed and lowercased.
* city: lowercase letters and digits only.
* state: US state / Canadian province names to their 2-letter code; any 2-letter value is kept;
  other names (states outside North America) lowercase alphanumerics only, as Meta asks.
* country: names, aliases and alpha-3 codes to ISO alpha-2 (lowercase; upper case with `country_upper`,
  Google's `region_code`); unknown → None.
* zip: lowercase without spaces or dashes; US ZIP+4 and any US zip (region US) → first 5 digits. With
  `zip_as_written` (Google's `Formatter`: Google reads postal codes itself) only trimmed.
* date_of_birth: `YYYYMMDD` from ISO (`1990-02-01`, also with a time), `YYYY/MM/DD`,
  `YYYYMMDD`, `DD.MM.YYYY`, `DD-MM-YYYY` and `MM/DD/YYYY`. Ambiguous slash dates (both parts
  ≤ 12) are month-first when the region writes dates that way (`MONTH_FIRST_REGIONS`, which
  includes the default US) and day-first elsewhere; when one part is > 12 it must be the day.
  Two-digit years and years outside 1900..this year → None.
* gender: `f` / `m` from common words in several languages; anything else → None.
* external_id: trim + lowercase.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass

import phonenumbers

from sync.attribution.geo_codes import country_code, squash, state_code

FIELDS = frozenset({
    "email", "phone", "first_name", "last_name", "city", "state", "zip", "country",
    "date_of_birth", "gender", "external_id",
})
DEFAULT_REGION = "US"
MONTH_FIRST_REGIONS = frozenset({"US", "PH", "FM", "MH", "PW", "GU", "AS", "MP", "VI", "PR", "UM"})
GMAIL_DOMAINS = frozenset({"gmail.com", "googlemail.com"})

_HEX64 = re.compile(r"[0-9a-fA-F]{64}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")
_ZIP_PLUS4 = re.compile(r"(\d{5})-?\d{4}")
_DIGITS = re.compile(r"\D+")
_GENDERS = {
    "f": "f", "female": "f", "woman": "f", "w": "f", "girl": "f", "femme": "f", "femenino": "f",
    "feminino": "f", "mujer": "f", "weiblich": "f", "frau": "f", "donna": "f", "femmina": "f",
    "vrouw": "f", "m": "m", "male": "m", "man": "m", "boy": "m", "homme": "m", "masculin": "m",
    "masculino": "m", "hombre": "m", "männlich": "m", "mann": "m", "uomo": "m", "maschio": "m",
}
_DATE_PATTERNS = (  # (regex, group order as y/m/d/a/b where a/b are day-or-month)
    (re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ].*)?"), "ymd"),
    (re.compile(r"(\d{4})[/.](\d{1,2})[/.](\d{1,2})"), "ymd"),
    (re.compile(r"(\d{4})(\d{2})(\d{2})"), "ymd"),
    (re.compile(r"(\d{1,2})[.-](\d{1,2})[.-](\d{4})"), "dmy"),
    (re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})"), "aby"),
)


@dataclass(frozen=True)
class UserDataRules:
    """How one ad network wants user data: which fields go in clear, and its own normalisation rules."""

    network: str  # the network's name (memo keys, messages)
    # fields taken as plain normalised text; everything else is hashed. Fields a network does not
    # accept are hashed too, so personal data never leaves in clear by default
    plain_fields: frozenset[str] = frozenset()
    phone_plus: bool = True  # E.164 with "+"; False: the E.164 digits only
    drop_gmail_dots: bool = False  # every "." before the @ of a gmail.com / googlemail.com address removed
    drop_gmail_plus: bool = False  # and the "+tag" of such an address (Gmail delivers user+tag@ to user@)
    names_as_written: bool = False  # names only trimmed + lowercased, punctuation and inner spaces kept
    zip_as_written: bool = False  # postal codes only trimmed (the network normalises them itself)
    country_upper: bool = False  # ISO alpha-2 country codes in upper case

    def __post_init__(self) -> None:
        unknown = self.plain_fields - FIELDS
        if unknown:
            raise ValueError(f"{self.network}: unknown user-data fields {sorted(unknown)}; expected some of "
                             f"{sorted(FIELDS)}")


def _check(field: str) -> None:
    """Reject a field name we do not know (a caller bug, not bad data)."""
    if field not in FIELDS:
        raise ValueError(f"unknown user-data field {field!r}; expected one of {sorted(FIELDS)}")


def should_hash(rules: UserDataRules, field: str) -> bool:
    """True when the network wants `field` SHA-256 hashed, False when it takes plain text."""
    _check(field)
    return field not in rules.plain_fields


def is_hashed(value: object) -> bool:
    """True for a string that already is a SHA-256 hex digest (64 hex digits)."""
    return isinstance(value, str) and _HEX64.fullmatch(value.strip()) is not None


def resolve_region(region: str | None) -> str:
    """Upper-case ISO region for a country code, name or calling code (`44`, `+44`), else the default."""
    calling_code = region.strip().removeprefix("+") if region else ""
    if calling_code.isdigit():
        code = phonenumbers.region_code_for_country_code(int(calling_code))
        return code if code != phonenumbers.UNKNOWN_REGION else DEFAULT_REGION
    code = _country(region) if region else None
    return code.upper() if code else DEFAULT_REGION


def _email(rules: UserDataRules, text: str, _region: str) -> str | None:
    """Trimmed, lowercased address; Gmail dots removed when the network asks."""
    email = text.strip().lower()
    if not _EMAIL.fullmatch(email):
        return None
    local, domain = email.rsplit("@", 1)
    if not squash(local):  # no letter or digit before the @
        return None
    if domain in GMAIL_DOMAINS:
        if rules.drop_gmail_plus:
            local = local.split("+", 1)[0]
        if rules.drop_gmail_dots:
            local = local.replace(".", "")
        if not local:
            return None
    return f"{local}@{domain}"


def _phone(rules: UserDataRules, text: str, region: str) -> str | None:
    """E.164 (with `+`, or digits only when the network wants no `+`) or None when invalid."""
    text = text.strip()
    digits = _DIGITS.sub("", text)
    if not digits:
        return None
    if text.startswith("+"):
        attempts: list[tuple[str, str | None]] = [("+" + digits, None)]
    elif text.startswith("00"):
        attempts = [("+" + digits[2:], None)]
    else:  # a national number in the contact's region, else digits already carrying a country code
        attempts = [(text, region), ("+" + digits, None)]
        code = str(phonenumbers.country_code_for_region(region) or "")
        if code and digits.startswith(code) and text.isdigit():
            # bare digits that begin with the region's own calling code: read them as already
            # international first (Meta's own format), so normalising twice changes nothing
            attempts.reverse()
    for candidate, candidate_region in attempts:
        try:
            number = phonenumbers.parse(candidate, candidate_region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
            return e164 if rules.phone_plus else e164.removeprefix("+")
    return None


def _name(rules: UserDataRules, text: str, _region: str) -> str | None:
    """Lowercase letters (any script) and digits, punctuation and spaces removed (or only trimmed, lowercased)."""
    squashed = squash(text)
    if rules.names_as_written and squashed:  # a name without a letter or digit is junk either way
        return text.strip().lower()
    return squashed or None


def _state(_rules: UserDataRules, text: str, _region: str) -> str | None:
    """2-letter code for known names, other states lowercase alphanumerics."""
    return state_code(text)


def _country(text: str) -> str | None:
    """Lowercase ISO alpha-2 code for a code, name or alias; None when unknown."""
    return country_code(text)


def _cased_country(rules: UserDataRules, text: str) -> str | None:
    """The ISO alpha-2 code, upper case when the network wants it so."""
    code = _country(text)
    return code.upper() if code and rules.country_upper else code


def _zip(rules: UserDataRules, text: str, region: str) -> str | None:
    """Lowercase, no spaces or dashes; US zips cut to their first 5 digits (or only trimmed)."""
    if rules.zip_as_written:
        return text.strip() if squash(text) else None
    compact = re.sub(r"[\s]+", "", text.lower())
    plus4 = _ZIP_PLUS4.fullmatch(compact)
    if plus4:
        return plus4.group(1)
    compact = squash(compact)
    if region == "US" and compact.isdigit():
        return compact[:5] if len(compact) >= 5 else None
    return compact or None


def _date_of_birth(_rules: UserDataRules, text: str, region: str) -> str | None:
    """`YYYYMMDD` from the common date formats, or None."""
    text = text.strip()
    for pattern, order in _DATE_PATTERNS:
        match = pattern.fullmatch(text)
        if not match:
            continue
        first, second, third = (int(part) for part in match.groups())
        if order == "ymd":
            year, month, day = first, second, third
        elif order == "dmy":
            day, month, year = first, second, third
        else:
            month_first = second > 12 or (first <= 12 and region in MONTH_FIRST_REGIONS)
            year, month, day = third, *((first, second) if month_first else (second, first))
        return _valid_date(year, month, day)
    return None


def _valid_date(year: int, month: int, day: int) -> str | None:
    """`YYYYMMDD` for a real date from 1900 up to today, else None."""
    try:
        date = dt.date(year, month, day)
    except ValueError:
        return None
    return date.strftime("%Y%m%d") if year >= 1900 and date <= dt.date.today() else None


def _gender(_rules: UserDataRules, text: str, _region: str) -> str | None:
    """`f` or `m` from a gender word."""
    return _GENDERS.get(squash(text))


def _external_id(_rules: UserDataRules, text: str, _region: str) -> str | None:
    """Trimmed, lowercased id."""
    return text.strip().lower() or None


_NORMALIZERS: dict[str, Callable[[UserDataRules, str, str], str | None]] = {
    "email": _email,
    "phone": _phone,
    "first_name": _name,
    "last_name": _name,
    "city": lambda _rules, text, _region: squash(text) or None,
    "state": _state,
    "zip": _zip,
    "country": lambda rules, text, _region: _cased_country(rules, text),
    "date_of_birth": _date_of_birth,
    "gender": _gender,
    "external_id": _external_id,
}


def normalize(rules: UserDataRules, field: str, value: str | int | None, *,
              region: str | None = None) -> str | None:
    """The value as the network wants `field` before hashing, or None when it cannot be normalised."""
    _check(field)
    if value is None or isinstance(value, bool) or not isinstance(value, str | int):
        return None
    return _NORMALIZERS[field](rules, str(value), resolve_region(region))


def hashed(rules: UserDataRules, field: str, value: str | int | None, *, region: str | None = None) -> str | None:
    """SHA-256 (lowercase hex) of the normalised value; an existing digest is returned as is."""
    _check(field)
    if is_hashed(value):
        return str(value).strip().lower()
    normalised = normalize(rules, field, value, region=region)
    return hashlib.sha256(normalised.encode("utf-8")).hexdigest() if normalised is not None else None


def wire_value(rules: UserDataRules, field: str, value: str | int | None, *,
               region: str | None = None) -> str | None:
    """What goes in the payload: hashed when `should_hash`, else the plain normalised text."""
    if should_hash(rules, field):
        return hashed(rules, field, value, region=region)
    return normalize(rules, field, value, region=region)
