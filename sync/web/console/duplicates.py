"""Duplicate review: the queue, a pair side by side, the merge preview, merging, dismissing, unmerging.

Every list and action is the ops API's (``sync.web.api.duplicates``: ``pair_page``, ``pair``,
``merge_page``, ``preview``, ``merge``, ``dismiss``, ``restore``, ``unmerge``, with its schemas
reading the input) or the same ``sync.quality`` functions the API routes call, so the console
shows and does exactly what ``/api/duplicates`` and ``/api/merges`` do, within a token's brands
too. Reading is a viewer's; scanning, merging, dismissing, restoring and unmerging an operator's.
A merge is confirmed on the preview page, which shows what it will do. Plain forms: it works without JavaScript.
"""

from __future__ import annotations

from typing import Any

from flask import render_template, request

from sync.errors import RequestError
from sync.quality import duplicates as service
from sync.web.api import duplicates as api
from sync.web.api.context import principal, store
from sync.web.console.blueprint import bp, page
from sync.web.console.forms import load, refusal


def _queue(notice: dict[str, Any] | None = None, status: int = 200) -> Any:
    chosen = {k: v.strip()[:200] for k in ("status", "cursor") if (v := request.args.get(k, "")).strip()}
    values, errors = load(api.DuplicatePairArgs(), chosen)
    found: dict[str, Any] = {"items": [], "next": None}
    if values is not None:
        try:
            found = api.pair_page(values)
        except RequestError as exc:
            errors, status = refusal(exc), exc.status
    elif errors:
        status = 422
    return render_template("console/duplicates.html", page=found, chosen=chosen, errors=errors, notice=notice,
                           scanned=service.last_scan(store())), status


@bp.route("/duplicates")
@page("viewer", brand_scoped=True)
def duplicates() -> Any:
    """The review queue: suspected pairs with their evidence (open or dismissed)."""
    return _queue()


@bp.route("/duplicates/scan", methods=["POST"])
@page("operator")
def duplicates_scan() -> Any:
    """Scan for suspected duplicates again, then show the queue."""
    return _queue({"scan": service.scan(store(), principal())})


def _pair(pair_id: int, notice: dict[str, Any] | None = None, status: int = 200) -> Any:
    return render_template("console/duplicate_pair.html", pair=api.pair(pair_id),
                           notice=notice), status


@bp.route("/duplicates/<id:pair_id>")
@page("viewer", brand_scoped=True)
def duplicates_pair(pair_id: int) -> Any:
    """One pair: both contacts side by side, the evidence, and what may be done."""
    return _pair(pair_id)


@bp.route("/duplicates/<id:pair_id>/preview")
@page("viewer", brand_scoped=True)
def duplicates_preview(pair_id: int) -> Any:
    """What merging the pair would do (computed by the reconcile code, nothing written), and the confirmation."""
    try:
        outcome, error, status = api.preview(pair_id), None, 200
    except RequestError as exc:
        outcome, error, status = None, exc.message, exc.status
    return render_template("console/duplicate_preview.html", pair_id=pair_id, outcome=outcome, error=error), status


@bp.route("/duplicates/<id:pair_id>/merge", methods=["POST"])
@page("operator", brand_scoped=True)
def duplicates_merge(pair_id: int) -> Any:
    """Merge the pair (after its preview); the merge is shown with the way to undo it."""
    try:
        done = api.merge(pair_id)
    except RequestError as exc:
        return render_template("console/duplicate_preview.html", pair_id=pair_id, outcome=None,
                               error=exc.message), exc.status
    return _merges({"merged": done})


def _status_change(pair_id: int, change: Any, key: str) -> Any:
    try:
        change(pair_id)
    except RequestError as exc:
        return _pair(pair_id, {"error": exc.message}, exc.status)
    return _pair(pair_id, {key: True})


@bp.route("/duplicates/<id:pair_id>/dismiss", methods=["POST"])
@page("operator", brand_scoped=True)
def duplicates_dismiss(pair_id: int) -> Any:
    """Dismiss the pair as "not the same person" (remembered)."""
    return _status_change(pair_id, api.dismiss, "dismissed")


@bp.route("/duplicates/<id:pair_id>/restore", methods=["POST"])
@page("operator", brand_scoped=True)
def duplicates_restore(pair_id: int) -> Any:
    """Undo a dismissal: the pair is back in the queue."""
    return _status_change(pair_id, api.restore, "restored")


def _merges(notice: dict[str, Any] | None = None, status: int = 200) -> Any:
    chosen = {k: v.strip()[:200] for k in ("contact", "cursor") if (v := request.args.get(k, "")).strip()}
    values, errors = load(api.MergeListArgs(), chosen)
    found: dict[str, Any] = {"items": [], "next": None}
    if values is not None:
        try:
            found = api.merge_page(values)
        except RequestError as exc:
            errors, status = refusal(exc), exc.status
    elif errors:
        status = 422
    return render_template("console/merges.html", page=found, chosen=chosen, errors=errors,
                           notice=notice), status


@bp.route("/merges")
@page("viewer", brand_scoped=True)
def merges() -> Any:
    """Past merges, newest first; an operator may undo one that lifesync kept a snapshot of."""
    return _merges()


@bp.route("/merges/<id:merge_id>/unmerge", methods=["POST"])
@page("operator", brand_scoped=True)
def merges_unmerge(merge_id: int) -> Any:
    """Undo a merge: both contacts restored and recomputed, CRM write-backs queued."""
    try:
        done = api.unmerge(merge_id)
    except RequestError as exc:
        return _merges({"error": exc.message}, exc.status)
    return _merges({"unmerged": done})
