"""Contacts: search as you type with filters and keyset pages, a contact's page (timeline and fields), and
erasure ("Forget this person": admins, a confirmation page first; ``sync.privacy.erasure.forget``, as
``POST /api/contacts/<id>/forget``).

The list is ``GET /api/contacts``'s page (:func:`sync.web.api.contacts.contact_page`, its query read
with the API's :class:`ContactSearchArgs`); the contact page is ``GET /api/contacts/<id>``'s document
(:func:`sync.web.api.contacts.contact_document`) laid out as its stage in each brand, one timeline
(``?brand=`` keeps one brand's stage changes and conversions) and a field table.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import render_template, request
from flask_babel import gettext as _

from sync.config.types import DEFAULT_BRAND, PHASES
from sync.errors import RequestError
from sync.privacy.erasure import forget
from sync.web.api.contacts import ContactSearchArgs, contact_document, contact_page
from sync.web.api.context import config, principal, settings, store
from sync.web.console.blueprint import bp, page
from sync.web.console.forms import load, refusal


def _chosen() -> dict[str, str]:
    """The query's filters as typed (a GET form sends every field; an empty one is not a filter)."""
    return {name: value for name, value in request.args.items() if value.strip() and name != "cursor"}


@bp.route("/contacts")
@page("viewer", brand_scoped=True)
def contacts() -> Any:
    """Contacts matching the filters, newest first; an htmx request gets the results region alone."""
    chosen = _chosen()
    cursor = request.args.get("cursor", "").strip()
    values, errors = load(ContactSearchArgs(), {**chosen, **({"cursor": cursor} if cursor else {})})
    found: dict[str, Any] = {"items": [], "next": None}
    if values is not None:
        try:
            found = contact_page(values)
        except RequestError as exc:
            errors = refusal(exc)
    partial = request.headers.get("HX-Request") and not request.headers.get("HX-History-Restore-Request")
    template = "console/contacts_results.html" if partial else "console/contacts.html"
    lifecycle = config().lifecycle
    return render_template(template, found=found, chosen=chosen, errors=errors, paged=bool(cursor),
                           stages=lifecycle.active_names, lost_stages=lifecycle.lost_names, phases=PHASES), \
        422 if errors else 200


@bp.route("/contacts/<id:contact_id>")
@page("viewer", brand_scoped=True)
def contacts_detail(contact_id: int) -> Any:
    """One contact: its stage per brand, one timeline (newest first) and every field's candidates, winner and rule."""
    doc = contact_document(contact_id)  # NotFound: the console's 404 page
    names = {s["brand"]: s["name"] for s in doc["stages"]}
    chosen = request.args.get("brand", "").strip()
    if chosen and chosen not in names:
        errors = {"brand": _("This contact has no stage in brand %(brand)s; choose one of: %(brands)s.",
                             brand=chosen, brands=", ".join(names.values()))}
        return render_template("console/contact.html", contact=doc, timeline=timeline(doc), brand_names=names,
                               chosen_brand="", errors=errors, several=config().brands.several), 422
    return render_template("console/contact.html", contact=doc, timeline=timeline(doc, chosen or None),
                           brand_names=names, chosen_brand=chosen, errors={}, several=config().brands.several)


@bp.route("/contacts/<id:contact_id>/forget")
@page("admin")
def contacts_forget_confirm(contact_id: int) -> Any:
    """What forgetting the person does, and the confirmation (nothing is erased by this page)."""
    doc = contact_document(contact_id)  # NotFound: the console's 404 page
    return render_template("console/contact_forget.html", contact=doc, erasure=None)


@bp.route("/contacts/<id:contact_id>/forget", methods=["POST"])
@page("admin")
def contacts_forget(contact_id: int) -> Any:
    """Erase the person (confirmed on the page before); the counts are shown."""
    upstream = request.form.get("upstream") == "on"
    erasure = forget(store(), config(), settings(), contact_id, principal(), upstream=upstream)
    return render_template("console/contact_forget.html", contact=None, erasure=erasure)


def _at(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _histories(doc: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """The stage history of each brand listed in ``doc["stages"]`` (the brands the reader sees)."""
    own = {DEFAULT_BRAND: doc["stage_history"], **{b: v["stage_history"] for b, v in doc.get("brands", {}).items()}}
    return {s["brand"]: own.get(s["brand"], []) for s in doc["stages"]}


def timeline(doc: dict[str, Any], brand: str | None = None) -> list[dict[str, Any]]:
    """Everything that happened to the contact, newest first (undated entries last): ``{kind, at, entry, brand}``.

    Stage changes and conversions carry their brand; ``brand`` keeps only that brand's of them
    (messages, ad touches and merges are the person's, shown whatever the brand).
    """
    def ours(key: str) -> bool:
        return brand is None or key == brand

    entries = [
        *({"kind": "stage", "at": _at(t["at"]), "entry": t, "brand": key}
          for key, history in _histories(doc).items() if ours(key) for t in history),
        *({"kind": "message", "at": _at(a["occurred_at"]), "entry": a, "brand": None} for a in doc["activities"]),
        *({"kind": "touchpoint", "at": _at(t["occurred_at"]), "entry": t, "brand": None} for t in doc["touchpoints"]),
        *({"kind": "conversion", "at": _at(c["occurred_at"]), "entry": c, "brand": c.get("brand", DEFAULT_BRAND)}
          for c in doc["conversions"] if ours(c.get("brand", DEFAULT_BRAND))),
        *({"kind": "merge", "at": _at(m["at"]), "entry": m, "brand": None} for m in doc["merges"]),
    ]
    dated = sorted((e for e in entries if e["at"] is not None), key=lambda e: e["at"], reverse=True)
    return dated + [e for e in entries if e["at"] is None]
