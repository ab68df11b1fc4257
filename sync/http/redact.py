"""Redaction of secrets and personal data, in one place, for log lines and error messages.

``redact(text)`` is the one function: it blanks bearer/basic credentials, secret query
parameters (``access_token``, ``refresh_token``, ``client_secret``, ``hapikey``, ...),
e-mail addresses (plain and percent-encoded) and phone numbers (``+`` international or
``(555) 123-4567``-style; bare digit runs are left alone so record ids and timestamps stay
readable), the secret of a Salesforce outbound-message path (``/webhooks/salesforce/<conn>/<secret>``),
what was typed to look a contact up (``q`` and ``identity`` of ``/api/contacts`` and ``/console/contacts``)
and every configured secret's value. ``redact_url`` and ``redact_headers`` apply it to URLs and
header mappings, ``RedactingFilter`` to every record of a logger or handler.

``redact_logs(secrets)`` is the one redaction point of a process: it makes ``redact`` blank
those values (``Settings.secret_values()``: every setting naming a token, secret, key or
password, of every connection) and puts a ``RedactingFilter`` on every handler of the root
logger and of the given loggers (gunicorn's error and access logs), so urllib3's DEBUG
request lines, werkzeug's and gunicorn's access logs and lifesync's own lines all pass
through it. A value shorter than ``MIN_SECRET`` characters is not matched by value (it would
blank ordinary words); the parameter, header and path rules still catch it where it travels.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

MASK = "[redacted]"
SECRET_PARAMS = frozenset({
    "access_token", "refresh_token", "client_secret", "hapikey", "api_key", "apikey", "token",
    "password", "secret", "assertion", "signature", "id_token", "session_id", "appsecret_proof", "verify_token",
})
MIN_SECRET = 6
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
# The outbound-message secret rides in the path: /webhooks/salesforce/<connection>/<secret>
_PATH_SECRET = re.compile(r"(/webhooks/salesforce/[^/\s?#\"']+/)[^/\s?#\"']+")
# A contact look-up's query (``/api/contacts?q=...``, the console's search as you type, and the console page's
# address as a Referer) holds what was typed to find a person: a name, part of a phone or an e-mail.
_LOOKUP = re.compile(r"(/(?:api|console)/contacts\?)([^\s\"'#]*)")
_LOOKUP_TEXT = re.compile(r"(^|&)(q|identity)=[^&]*")
_PHONE = re.compile(r"(?:\+|%2[Bb])\d[\d\s().-]{5,}\d|\(\d{3}\)\s?\d{3}[\s.-]\d{4}|\b\d{3}[.-]\d{3}[.-]\d{4}\b")


def redact(text: str) -> str:
    """``text`` with credentials, secret parameters, e-mail addresses and phone numbers blanked."""
    if not text:
        return text
    if _configured is not None:
        text = _configured.sub(MASK, text)
    text = _PATH_SECRET.sub(lambda m: f"{m.group(1)}{MASK}", text)
    text = _LOOKUP.sub(lambda m: m.group(1) + _LOOKUP_TEXT.sub(rf"\1\2={MASK}", m.group(2)), text)
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


_configured: re.Pattern[str] | None = None  # the configured secrets' values, longest first (``redact_logs``)
_EXCEPTIONS = logging.Formatter()


_secrets: set[str] = set()


def redact_secrets(secrets: Iterable[str]) -> None:
    """Make ``redact`` blank these values too (and their percent-encoded forms) wherever they appear.

    Additive for the life of the process: a secret once configured stays blanked.
    """
    _secrets.update(_forms(secrets))
    _compile()


@contextmanager
def secrets_redacted(secrets: Iterable[str]) -> Iterator[None]:
    """``redact_secrets`` for the block (the demo's sandbox credentials): afterwards only those known before stay."""
    added = _forms(secrets) - _secrets
    _secrets.update(added)
    _compile()
    try:
        yield
    finally:
        _secrets.difference_update(added)
        _compile()


def _forms(secrets: Iterable[str]) -> set[str]:
    return {form for value in secrets if value and len(value) >= MIN_SECRET
            for form in (value, quote(value, safe=""), quote(value, safe="/"))}


def _compile() -> None:
    global _configured
    _configured = (re.compile("|".join(re.escape(v) for v in sorted(_secrets, key=len, reverse=True)))
                   if _secrets else None)


def redact_logs(secrets: Iterable[str], *loggers: logging.Logger) -> None:
    """Redact every line of the root logger's handlers (and of ``loggers``' handlers), ``secrets`` included."""
    redact_secrets(secrets)
    for logger in (logging.getLogger(), *loggers):
        for handler in logger.handlers:
            if not any(isinstance(f, RedactingFilter) for f in handler.filters):
                handler.addFilter(RedactingFilter())


class RedactingFilter(logging.Filter):
    """A logging filter that renders each record's message (and traceback) and redacts it."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Replace the record's message with its redacted rendering; never drops a record."""
        record.msg = redact(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = _EXCEPTIONS.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True
