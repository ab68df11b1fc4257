"""Mappings and rules: the configuration documents, edited as revisions, checked as typed, previewed, rolled back.

Every action calls what the ops API's routes call (``sync.web.api.config`` and
``sync.web.api.preview``): ``Revisions`` to read, save (``propose``), list history, diff and roll
back; ``validated`` (the revision trial, so the very checks saving runs) while typing; and
``previewed`` for the effect of an unsaved text on a pasted record or a contact's last record
(arriving on a connection, or for a brand, whose stages it shows).
Roles match the API's: reading, checking and previewing need ``viewer``; saving and rolling
back need ``operator``.

Forms work without JavaScript (each button re-renders the page with its answer); with it,
``static/mappings.js`` turns the text area into a CodeMirror editor whose lint markers come
from the check endpoint, and htmx swaps the preview in place.
"""

from __future__ import annotations

from typing import Any

from flask import redirect, render_template, request, url_for
from flask_babel import gettext as _

from sync.config.revisions import Document
from sync.connectors import jsonread
from sync.errors import ConfigError, RequestError
from sync.web.api.config import EditSchema, RollbackSchema, refused, revisions
from sync.web.api.context import config, principal
from sync.web.api.preview import PreviewSchema, ValidateSchema, previewed, validated
from sync.web.console.blueprint import bp, page
from sync.web.console.errors import N_
from sync.web.console.forms import load, refusal

BASELINE = "baseline"
# a form carrying a whole document (EditSchema allows 1,000,000 characters; url-encoding may triple each byte)
DOCUMENT_FORM_BYTES = 12 * 1_000_000
HISTORY_DIFFS = 50  # newest revisions shown with their diff
MAPPING = N_("Mapping")
KINDS = {"lifecycle.yaml": N_("Lifecycle stages"), "conversions.yaml": N_("Conversion rules")}
ORIGINS = {"revision": N_("edited here"), "file": N_("project file"), "bundled": N_("bundled default"),
           "none": N_("not set yet")}


@bp.before_app_request
def _room_for_a_document() -> None:
    """Forms that carry a document's text may be as large as a document (the app's limit is the webhooks')."""
    if request.endpoint in _TEXT_FORMS:
        request.max_content_length = max(request.max_content_length or 0, DOCUMENT_FORM_BYTES)
        request.max_form_memory_size = max(request.max_form_memory_size or 0, DOCUMENT_FORM_BYTES)


def kind(name: str) -> str:
    """What a document configures, translated."""
    return _(KINDS.get(name, MAPPING))


def _fragment() -> bool:
    return bool(request.headers.get("HX-Request"))


def _form(*keys: str) -> dict[str, str]:
    """The form's values; a document's text with the line breaks it had (browsers send a textarea's as CR LF)."""
    form = {key: request.form.get(key, "") for key in keys}
    if "text" in form:
        form["text"] = form["text"].replace("\r\n", "\n")
    return form


def _done(arg: str) -> str | None:
    """What a redirect after a save or rollback says was stored: a revision id, "same" (nothing new) or None."""
    value = request.args.get(arg, "")
    return value if value == "same" or (value.isdigit() and len(value) < 19) else None


def _revision_field(value: str) -> str | None:
    """A form's revision: "" (the baseline file) is None; anything else is left to the API's schema."""
    return value.strip() or None


def origin(document: Document) -> str:
    """Where a document's active text comes from, translated."""
    return _(ORIGINS.get(document.origin, document.origin))


@bp.route("/mappings")
@page("viewer")
def mappings() -> Any:
    """Every configuration document, with where its active text comes from."""
    return render_template("console/mappings.html", documents=revisions().list_documents(), kind=kind,
                           origin=origin)


def _editor(document: Document, status: int = 200, **values: Any) -> Any:
    values.setdefault("text", document.text)
    values.setdefault("base_revision", document.revision_id)
    values.setdefault("errors", {})
    values.setdefault("form", {})
    values.setdefault("issues", None)
    active = config()
    choices = [] if document.name.startswith("mappings/") else sorted(active.mappings)
    return render_template("console/mappings_edit.html", document=document, kind=kind(document.name),
                           origin=origin(document), sources=choices, saved=_done("saved"),
                           brands=active.brands, **values), status


@bp.route("/mappings/edit/<path:name>")
@page("viewer")
def mappings_edit(name: str) -> Any:
    """One document in the editor (read-only for a viewer), with its check and preview."""
    return _editor(revisions().read(name))


@bp.route("/mappings/edit/<path:name>", methods=["POST"])
@page("operator")
def mappings_save(name: str) -> Any:
    """Save the text as a new revision (validated as the API's edit), then show it."""
    document = revisions().read(name)
    form = _form("text", "base_revision", "comment")
    values, errors = load(EditSchema(), {**form, "base_revision": _revision_field(form["base_revision"])})
    again = {"text": form["text"], "base_revision": form["base_revision"], "form": form}
    if values is None:
        return _editor(document, 422, errors=errors, **again)
    try:
        stored = revisions().propose(document.name, values["text"], principal(), values["comment"],
                                     values["base_revision"])
    except ConfigError as exc:
        return _editor(document, 422, issues=refused(exc).errors["issues"], **again)
    except RequestError as exc:  # a stale base (409), a comment that cannot be stored
        return _editor(document, exc.status, errors=refusal(exc), **again)
    return redirect(url_for("console.mappings_edit", name=document.name,
                            saved=stored.id if stored is not None else "same"))


@bp.route("/mappings/check/<path:name>", methods=["POST"])
@page("viewer")
def mappings_check(name: str) -> Any:
    """Every issue the configuration would have with this text: the checks saving it runs; nothing is stored."""
    document = revisions().read(name)
    form = _form("text", "base_revision", "comment", "record", "contact_id", "mapping")
    text = form["text"]
    values, errors = load(ValidateSchema(), {"documents": {document.name: text}})
    if values is None:
        found = {"valid": False, "issues": [{"file": document.name, "line": None, "path": "",
                                             "message": " ".join(errors.values())}]}
    else:
        found = validated(values["documents"])
    if _fragment():
        return render_template("console/mappings_issues.html", issues=found["issues"], document=document)
    return _editor(document, 200, text=text, issues=found["issues"], form=form, base_revision=form["base_revision"])


def _preview_body(document: Document, form: dict[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """The API's preview body from the editor's form (the record pasted as JSON), and form errors."""
    body: dict[str, Any] = {"document": document.name, "text": form.get("text", "")}
    errors: dict[str, str] = {}
    if not document.name.startswith("mappings/"):
        source, _sep, obj = form.get("mapping", "").partition("/")
        body.update(source=source, object=obj)
    if form.get("record", "").strip():
        try:
            body["record"] = jsonread.loads(form["record"])
        except jsonread.JsonInputError as exc:
            errors["record"] = _("This is not JSON: %(why)s", why=str(exc))
    elif form.get("contact_id", "").strip():
        body["contact_id"] = form["contact_id"].strip()
    else:
        errors["record"] = _("Paste a record, or give a contact whose last record to use.")
    for key in ("brand", "connection"):  # whose record it is: the API's preview reads them (sync.web.api.preview)
        if form.get(key, "").strip():
            body[key] = form[key].strip()
    return body, errors


@bp.route("/mappings/preview/<path:name>", methods=["POST"])
@page("viewer")
def mappings_preview(name: str) -> Any:
    """What one record would change with this text, computed by the real pipeline; nothing is written."""
    document = revisions().read(name)
    form = _form("text", "record", "contact_id", "mapping", "brand", "connection", "base_revision", "comment")
    body, errors = _preview_body(document, form)
    result, issues, status = None, None, 200
    if not errors:
        values, errors = load(PreviewSchema(), body)
        if values is not None:
            try:
                result = previewed(values)
            except RequestError as exc:
                errors, status = refusal(exc), exc.status
                issues = exc.errors.get("issues")
    if errors and not issues:
        status = 422 if status == 200 else status
    if _fragment():
        return render_template("console/mappings_preview.html", result=result, errors=errors, issues=issues,
                               document=document, brands=config().brands), status
    return _editor(document, status, text=form["text"], base_revision=form["base_revision"], form=form,
                   result=result, errors=errors, issues=issues, previewed=True)


@bp.route("/mappings/history/<path:name>")
@page("viewer")
def mappings_history(name: str) -> Any:
    """A document's revisions, newest first, each with its diff from the one it replaced."""
    document = revisions().read(name)
    found = revisions().history(document.name)
    diffs = {rev.id: revisions().diff(rev.parent_id, rev.id) for rev in found[:HISTORY_DIFFS]}
    return render_template("console/mappings_history.html", document=document, history=found, diffs=diffs,
                           kind=kind(document.name), rolled=_done("rolled"))


def _target(value: str) -> int | str | None:
    """The rollback target a form names: a revision id, or the baseline (None); "" when it names neither."""
    if value == BASELINE:
        return None
    return int(value) if value.isdigit() and len(value) < 19 else ""


@bp.route("/mappings/rollback/<path:name>")
@page("operator")
def mappings_rollback(name: str) -> Any:
    """Confirm a rollback: what making that version current again would undo."""
    document = revisions().read(name)
    target = _target(request.args.get("to", ""))
    if target == "" or document.revision_id is None:
        return redirect(url_for("console.mappings_history", name=document.name))
    return _confirm(document, target)


def _confirm(document: Document, target: int | None, status: int = 200, **values: Any) -> Any:
    chosen = revisions().revision(target) if target is not None else None
    if chosen is not None and chosen.document != document.name:
        return redirect(url_for("console.mappings_history", name=document.name))
    undone = revisions().diff(target, document.revision_id) if document.revision_id is not None else ""
    values.setdefault("errors", {})
    values.setdefault("issues", None)
    values.setdefault("form", {})
    return render_template("console/mappings_rollback.html", document=document, target=target, chosen=chosen,
                           undone=undone, baseline=BASELINE, kind=kind(document.name), **values), status


@bp.route("/mappings/rollback/<path:name>", methods=["POST"])
@page("operator")
def mappings_rollback_do(name: str) -> Any:
    """Make an earlier revision (or the baseline file) current again: a new revision, validated like any edit."""
    document = revisions().read(name)
    form = {key: request.form.get(key, "") for key in ("to", "base_revision", "comment")}
    target = _target(form["to"])
    data = {"revision": target, "base_revision": _revision_field(form["base_revision"]), "comment": form["comment"]}
    if target == "":
        return redirect(url_for("console.mappings_history", name=document.name))
    values, errors = load(RollbackSchema(), data)
    if values is None:
        return _confirm(document, target, 422, errors=errors, form=form)
    try:
        stored = revisions().rollback(document.name, values["revision"], principal(), values["comment"],
                                      values["base_revision"])
    except ConfigError as exc:
        return _confirm(document, values["revision"], 422, issues=refused(exc).errors["issues"], form=form)
    except RequestError as exc:
        return _confirm(document, values["revision"], exc.status, errors=refusal(exc), form=form)
    return redirect(url_for("console.mappings_history", name=document.name,
                            rolled=stored.id if stored is not None else "same"))


_TEXT_FORMS = frozenset(f"console.{view.__name__}" for view in (mappings_save, mappings_check, mappings_preview))
