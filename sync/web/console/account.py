"""Sign in with an API token, sign out, and choose the language."""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from sync.access.tokens import authenticate
from sync.web.console.blueprint import bp, page
from sync.web.console.guard import local_target
from sync.web.console.i18n import LANGUAGES
from sync.web.console.sessions import sign_in as start_session
from sync.web.console.sessions import sign_out as end_session

MAX_TOKEN_CHARS = 200


@bp.route("/sign-in", methods=["GET", "POST"])
def sign_in() -> Any:
    """The sign-in form; a valid token starts a session and goes on to where the person was going."""
    target = local_target(request.values.get("next"), url_for("console.home"))
    error = None
    if request.method == "POST":
        ext = current_app.extensions["lifesync"]
        client = request.remote_addr or "unknown"
        wait = ext["auth_attempts"].blocked(client)
        if wait:
            abort(429, description="too many failed attempts from this client; try again later", retry_after=wait)
        presented = request.form.get("token", "").strip()[:MAX_TOKEN_CHARS]
        principal = authenticate(ext["store"], presented, ext["settings"].connection_setting("ops", "token"),
                                 via="console")
        if principal is not None:
            start_session(presented, principal)
            current_app.logger.info("console: %s signed in", principal.name)
            return redirect(target)
        ext["auth_attempts"].failed(client)
        current_app.logger.info("console: refused a sign-in from %s", client)
        error = _("That token is not valid: it may be mistyped, revoked or expired.")
    status = 401 if error else 200
    return render_template("console/sign_in.html", target=target, error=error), status


@bp.route("/sign-out", methods=["POST"])
@page("viewer", brand_scoped=True)
def sign_out() -> Any:
    """End the session."""
    end_session()
    return redirect(url_for("console.sign_in"))


@bp.route("/language", methods=["POST"])
def language() -> Any:
    """Switch the language of this session, then back to the page the switch was on."""
    chosen = request.form.get("lang", "")
    if chosen not in LANGUAGES:
        abort(400, description=f"language must be one of {', '.join(LANGUAGES)}")
    session["lang"] = chosen
    return redirect(local_target(request.form.get("next"), url_for("console.home")))


@bp.route("")
@bp.route("/")
@page("viewer", brand_scoped=True)
def home() -> Any:
    """The console's front door: the overview."""
    from sync.web.console.nav import sections

    found = sections(g.principal, current_app)
    return redirect(url_for(found[0].endpoint if found else "console.sign_in"))
