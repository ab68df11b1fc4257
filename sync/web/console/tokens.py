"""Tokens (admin): list, create (its value shown this once, limited to brands or not) and revoke API tokens.

Created by the service the API and ``lifesync tokens create --brand`` use (``sync.access.tokens``);
the brands offered are the configured ones (brands.yaml).
"""

from __future__ import annotations

from typing import Any

from flask import render_template, request
from flask_babel import gettext as _

from sync.access import tokens as token_service
from sync.access.roles import ROLES
from sync.errors import RequestError
from sync.web.api.context import config, principal, store
from sync.web.api.tokens import NewTokenSchema
from sync.web.console.blueprint import bp, page
from sync.web.console.forms import load, refusal


def _render(status: int = 200, **values: Any) -> Any:
    values.setdefault("errors", {})
    values.setdefault("form", {})
    return render_template("console/tokens.html", tokens=token_service.listed(store()), roles=ROLES,
                           brands=config().brands, **values), status


@bp.route("/tokens")
@page("admin")
def tokens() -> Any:
    """Every token, newest first, and the form to create one."""
    return _render()


@bp.route("/tokens", methods=["POST"])
@page("admin")
def tokens_create() -> Any:
    """Create a token; the page shows its value once."""
    form: dict[str, Any] = {key: request.form.get(key, "").strip() for key in ("name", "role", "expires_on")}
    form["brands"] = [b.strip() for b in request.form.getlist("brands") if b.strip()]
    data: dict[str, Any] = {"name": form["name"], "role": form["role"], "brands": form["brands"] or None}
    if form["expires_on"]:
        data["expires_at"] = f"{form['expires_on']}T23:59:59+00:00"
    values, errors = load(NewTokenSchema(), data)
    unknown = [b for b in form["brands"] if config().brands.get(b) is None]
    if unknown:
        errors["brands"] = _("Unknown brand: %(brands)s. Choose among the configured brands.",
                             brands=", ".join(unknown))
    if values is None or unknown:
        errors["expires_on"] = errors.pop("expires_at", None) or ""
        return _render(422, errors={k: v for k, v in errors.items() if v}, form=form)
    try:
        created, value = token_service.create(store(), principal(), values["name"], values["role"],
                                              values["expires_at"], values["brands"])
    except RequestError as exc:
        errors = refusal(exc)
        if "expires_at" in errors:
            errors["expires_on"] = errors.pop("expires_at")
        return _render(exc.status, errors=errors, form=form)
    return _render(201, created=created, value=value)


@bp.route("/tokens/<id:token_id>/revoke", methods=["POST"])
@page("admin")
def tokens_revoke(token_id: int) -> Any:
    """Revoke a token: it stops working at once (sessions signed in with it too)."""
    revoked = token_service.revoke(store(), principal(), token_id)
    return _render(revoked=revoked)
