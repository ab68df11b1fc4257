"""Redaction of secrets and personal data, in one place, for log lines and error messages.

``redact(text)`` is the one function: it blanks bearer/basic credentials, secret query
parameters (``access_token``, ``refresh_token``, ``client_secret``, ``hapikey``, ...),
e-mail addresses (plain and percent-encoded) and phone numbers (``+`` international or
``(555) 123-4567``-style; bare digit runs are left alone so record ids and timestamps stay
readable). ``redact_url`` and ``redact_headers`` apply it to URLs and header mappings,
``RedactingFilter`` to every record of a logger.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

MASK = "[redacted]"
SECRET_PARAMS = frozenset({
    "access_token", "refresh_token", "client_secret", "hapikey", "api_key", "apikey", "token",
    "password", "secret", "assertion", "signature", "id_token", "session_id", "appsecret_proof",
})
# Only in query strings: in prose these words are too common ("code": "INVALID_EMAIL").
URL_ONLY_PARAMS = frozenset({"code", "key", "sig"})
PERSONAL_PARAMS = frozenset({"email", "phone", "phone_number", "mobile"})
SECRET_HEADERS = frozenset({
    "authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key", "x-hubspot-signature",
    "x-hubspot-signature-v3", "x-hub-signature-256",
})

_URL_PARAMS = SECRET_PARAMS | PERSONAL_PARAMS | URL_ONLY_PARAMS
_PARAM_NAMES = "|".join(sorted(SECRET_PARAMS, key=len, reverse=True))
_PARAM = re.compile(rf"(?i)(?<![\w-])({_PARAM_NAMES})([\"']?\s*[=:]\s*[\"']?)([^&\s#?\"',;}}]+)")
# A credential after Bearer/OAuth is 6+ token characters holding a digit or punctuation, or 16+ letters: a word of
# prose ("OAuth access token", "Bearer tokens") is not one, and is left readable.
_CREDENTIAL_CLASS = "A-Za-z0-9._~+/=!-"
_AUTH = re.compile(rf"(?i)\b(Bearer|OAuth)\s+(?=[{_CREDENTIAL_CLASS}]{{6}})"
                   rf"(?:[A-Za-z]*[0-9._~+/=!-][{_CREDENTIAL_CLASS}]*|[A-Za-z]{{16,}})|\b(Basic)\s+[A-Za-z0-9+/]{{16,}}={{0,2}}")
# Deliberately loose: malformed addresses in vendor errors ("bob@@example") are personal data too.
# A match can only start where a run of local-part characters starts (any later start would
# extend back to it), and the lookbehind says so: without it every position of a long run —
# a percent-encoded SOQL query in a URL — rescans the rest of the run, quadratic in its length.
# The one exception, a match that starts where the previous one ended ("a@b.c" then ".@d" in
# "a@b.c.@d"), is taken by the repeated tail: adjacent matches become one.
_EMAIL = re.compile(r"(?<![\w.%+-])[\w.%+-]+(?:@|%40)+[\w.-]*[\w-](?:[.%+][\w.%+-]*(?:@|%40)+[\w.-]*[\w-])*")
_PHONE = re.compile(r"(?:\+|%2[Bb])\d[\d\s().-]{5,}\d|\(\d{3}\)\s?\d{3}[\s.-]\d{4}|\b\d{3}[.-]\d{3}[.-]\d{4}\b")


def redact(text: str) -> str:
    """``text`` with credentials, secret parameters, e-mail addresses and phone numbers blanked."""
    if not text:
        return text
    text = _AUTH.sub(lambda m: f"{m.group(1) or m.group(2)} {MASK}", text)
    text = _PARAM.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", text)
    text = _EMAIL.sub("[email]", text)
    return _PHONE.sub("[phone]", text)


def redact_url(url: str) -> str:
    """``url`` without a userinfo password and with secret/personal query values blanked."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return redact(url)
    netloc = parts.netloc
    if "@" in netloc:
        netloc = f"{MASK}@{netloc.rsplit('@', 1)[1]}"
    query = urlencode(
        [(k, MASK if k.lower() in _URL_PARAMS else v)
         for k, v in parse_qsl(parts.query, keep_blank_values=True)],
        safe="[]",
    )
    return redact(urlunsplit((parts.scheme, netloc, parts.path, query, "")))


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """A copy of ``headers`` with credential headers masked and every other value redacted."""
    return {k: MASK if k.lower() in SECRET_HEADERS else redact(str(v)) for k, v in headers.items()}


class RedactingFilter(logging.Filter):
    """A logging filter that renders each record's message and redacts it."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Replace the record's message with its redacted rendering; never drops a record."""
        record.msg = redact(record.getMessage())
        record.args = None
        return True
