"""Errors on console pages: a page in the person's language (a fragment for htmx requests), never JSON."""

from __future__ import annotations

from typing import Any

from flask import g, render_template, request
from flask_babel import gettext as _


def N_(text: str) -> str:  # gettext's conventional name for "mark for the catalogue"
    """Mark a message for the catalogue; it is translated where it is shown."""
    return text


HEADINGS = {
    400: N_("The request could not be used"),
    401: N_("Please sign in"),
    403: N_("Not allowed"),
    404: N_("Not found"),
    405: N_("Not allowed this way"),
    409: N_("In conflict with the current state"),
    413: N_("Too large"),
    422: N_("Please check what you entered"),
    429: N_("Too many attempts"),
    503: N_("Unavailable for now"),
}


def heading(status: int) -> str:
    """The translated heading of an error page."""
    text = HEADINGS.get(status)
    return _(text) if text else _("Something went wrong")


def error_page(status: int, message: str, headers: dict[str, str] | None = None) -> Any:
    """Render an error for a console request."""
    template = "console/error_fragment.html" if request.headers.get("HX-Request") else "console/error.html"
    g.setdefault("principal", None)
    body = render_template(template, status=status, heading=heading(status), message=message)
    return body, status, headers or {}
