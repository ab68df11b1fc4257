"""What every console page's frame needs: who is signed in, the navigation, the language and direction."""

from __future__ import annotations

from typing import Any

from flask import Flask, g, request
from flask_babel import get_locale

from sync.web.console.i18n import direction
from sync.web.console.nav import sections
from sync.web.console.sessions import in_console, key_problem


def install(app: Flask) -> None:
    """Give console templates their frame's values."""

    @app.context_processor
    def _frame() -> dict[str, Any]:
        if not in_console(request.path):
            return {}
        principal = g.get("principal")
        unsigned = {"csrf_token": lambda: ""} if key_problem(app) else {}  # no key: no session, no forms to sign
        return {**unsigned,
            "principal": principal,
            "nav": sections(principal, app),
            "lang": str(get_locale()),
            "dir": direction(),
            "may": (lambda role: principal is not None and principal.may(role)),
        }
