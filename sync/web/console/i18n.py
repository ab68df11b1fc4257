"""English and Arabic: the locale of a console request, its direction, and locale-aware formatting.

Messages live in a gettext catalogue (``translations/<lang>/LC_MESSAGES/messages.po``, compiled to
``.mo`` beside it and shipped in the package); templates use ``_()`` / ``ngettext()``. To add or
change a message: ``pybabel extract -F sync/web/console/babel.cfg -o /tmp/messages.pot .``, then
``pybabel update -i /tmp/messages.pot -d sync/web/console/translations``, translate, and
``pybabel compile -d sync/web/console/translations`` (``tests/console/test_catalogue.py`` fails
while a message is untranslated or the ``.mo`` is stale). Stage names are configuration and are
shown as configured, never translated here.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from babel.dates import format_timedelta
from flask import Flask, request, session
from flask_babel import (
    Babel,
    format_currency,
    format_date,
    format_datetime,
    format_decimal,
    format_percent,
    get_locale,
)

from sync.reports.attribution import NO_CURRENCY
from sync.web.console.blueprint import HERE

LANGUAGES = {"en": "English", "ar": "العربية"}
RTL = frozenset({"ar"})
DEFAULT = "en"


def select_locale() -> str:
    """The language chosen in this session, else the browser's preferred one we have, else English."""
    chosen = session.get("lang")
    if chosen in LANGUAGES:
        return chosen
    return request.accept_languages.best_match(list(LANGUAGES)) or DEFAULT


def direction() -> str:
    """``rtl`` for right-to-left languages, else ``ltr``."""
    return "rtl" if str(get_locale()) in RTL else "ltr"


def number(value: Any, digits: int | None = None) -> str:
    """A number as the locale writes it (grouping, digits); ``—`` for none."""
    if value is None:
        return "—"
    if digits is not None:
        return format_decimal(value, format=f"#,##0.{'0' * digits}" if digits else "#,##0")
    return format_decimal(value)


def percent(value: Any) -> str:
    """A share (0–1) as the locale writes a percentage; ``—`` for none."""
    return "—" if value is None else format_percent(value, format="#,##0.0%")


def when(value: Any, style: str = "medium") -> str:
    """A time as the locale writes it; ISO text is parsed; ``—`` for none."""
    if value is None or value == "":
        return "—"
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    return format_datetime(value, style)


def day(value: date | datetime | None) -> str:
    """A calendar day as the locale writes it; ``—`` for none."""
    return "—" if value is None else format_date(value, "medium")


def duration(seconds: float | None) -> str:
    """Seconds as the locale's two largest units (``3h 30m``, ``3 س 30 د``); ``—`` for none."""
    if seconds is None:
        return "—"
    whole = round(seconds)

    def unit(amount: int) -> str:
        return format_timedelta(timedelta(seconds=amount), threshold=1, format="narrow", locale=get_locale())

    for size, smaller in ((86400, 3600), (3600, 60), (60, 1)):
        if whole >= size:
            rest = (whole % size) // smaller * smaller
            return unit(whole // size * size) + (f" {unit(rest)}" if rest else "")
    return unit(whole)


def money(values: dict[str, float] | None) -> str:
    """Amounts per currency as the locale writes them (``€150.00``); no currency (XXX) as a bare number."""
    if not values:
        return "—"
    return ", ".join(number(amount, 2) if currency == NO_CURRENCY else format_currency(amount, currency)
                     for currency, amount in values.items())


def install(app: Flask) -> None:
    """Flask-Babel on ``app`` with the console's catalogue, and the formatting filters templates use."""
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(HERE / "translations"))
    Babel(app, locale_selector=select_locale)
    app.jinja_env.filters.update(number=number, percent=percent, when=when, day=day, duration=duration, money=money)
    app.jinja_env.globals.update(LANGUAGES=LANGUAGES, text_direction=direction)
