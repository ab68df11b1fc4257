"""Who may open which console page: signed in (else to the sign-in page), the page's role (else 403),
and a CSRF token on every request that changes something (Flask-WTF; else 400).

The role check runs before the CSRF check, so a viewer that posts to an operator's form is told
403 whatever it sends. Routes without a declared role are 403 for everyone (fail closed), and a
token limited to brands opens only the pages declared brand-scoped (as in the API: ``api.auth``).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Flask, abort, current_app, g, redirect, request, url_for
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFProtect

from sync.web.api.auth import area_of, is_brand_scoped, required_role
from sync.web.console.blueprint import bp
from sync.web.console.sessions import current_principal, key_problem

PUBLIC = frozenset({"console.sign_in", "console.static", "console.language"})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
csrf = CSRFProtect()


def install(app: Flask) -> None:
    """CSRF protection (checked by :func:`_guard` for console requests only: webhooks and the API have none)."""
    app.config.update(WTF_CSRF_CHECK_DEFAULT=False, WTF_CSRF_TIME_LIMIT=None)
    csrf.init_app(app)


def local_target(target: str | None, default: str) -> str:
    """``target`` when it is a path inside the console (never another site: no open redirect), else ``default``."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/console") or "\\" in target:
        return default
    return target


@bp.before_request
def _guard() -> Any:
    problem = key_problem(current_app)
    if problem is not None and request.endpoint != "console.static":
        abort(503, description=problem)
    g.principal = current_principal()
    if request.endpoint in PUBLIC:
        _check_csrf()
        return None
    if g.principal is None:
        if request.headers.get("HX-Request"):
            abort(401, description=_("You are signed out. Sign in again."))
        return redirect(url_for("console.sign_in", next=request.full_path.rstrip("?")))
    needed = required_role(current_app, request.endpoint, request.method)
    if needed is None:
        abort(403, description=_("This page declares no role, so no one may open it."))
    if not g.principal.may(needed):
        abort(403, description=_("This needs the %(needed)s role; you are signed in as %(role)s.",
                                  needed=needed, role=g.principal.role))
    if g.principal.brands is not None and not is_brand_scoped(current_app, request.endpoint, request.method):
        abort(403, description=_("This token is limited to brands %(brands)s; %(area)s is installation-wide: "
                                 "use a token without brand limits.",
                                 brands=", ".join(g.principal.brands), area=area_of(request.path)))
    _check_csrf()
    return None


def _check_csrf() -> None:
    if request.method not in SAFE_METHODS:
        csrf.protect()  # CSRFError (400) names what is wrong: missing, expired, or not this session's
