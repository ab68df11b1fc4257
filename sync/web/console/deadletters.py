"""Dead letters: groups by cause, a group's letters, one letter; replay or dismiss a selection or a group.

Every list and action is the ops API's (``sync.web.api.deadletters``: ``group_page``,
``letter_page``, ``replay``, ``dismiss``, with its schemas reading the input), so the console
shows and does exactly what ``/api/dead-letters*`` do. Reading is a viewer's; replaying and
dismissing an operator's. A whole group is acted on only after a confirmation step (a plain form,
so it works without JavaScript). An action answers with the page it was made from, its result on
top; with htmx only the result (into an ``aria-live`` region) and the refreshed list (out of band)
are sent. A letter's payload may hold personal data: shown to who may read it, never logged.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode

from flask import render_template, request, url_for
from werkzeug.datastructures import MultiDict

from sync.errors import RequestError
from sync.ingest import deadletter_groups as service
from sync.ingest.deadletter_groups import GroupKey
from sync.web.api import deadletters as api
from sync.web.api.context import store
from sync.web.console.blueprint import bp, page
from sync.web.console.forms import load, refusal

GROUP_FILTERS = ("status", "stage", "source", "since", "cursor")
LETTER_FILTERS = ("group", *GROUP_FILTERS)
STAGES = ("mapping", "reconcile", "dispatch", "audience", "job")
FIELD_CHARS = 2000
SHOWN_FAILURES = 20  # of a replay's still-failing letters, the reasons listed


def _chosen(query: Mapping[str, str], names: tuple[str, ...]) -> dict[str, str]:
    """The filters set in ``query`` (blank ones are not set), as the form shows them."""
    return {name: value.strip()[:FIELD_CHARS] for name in names if (value := query.get(name) or "").strip()}


def _args(chosen: dict[str, str]) -> dict[str, str]:
    """The chosen filters as the API's query arguments (a date from the form is that day's start, UTC)."""
    args = dict(chosen)
    since = args.get("since", "")
    if len(since) == 10 and since[4] == "-" and since[7] == "-":
        args["since"] = f"{since}T00:00:00+00:00"
    return args


def _listed(view: str, query: Mapping[str, str]) -> dict[str, Any]:
    """What a list view shows for ``query``: its filters, their errors, a page of groups or letters."""
    names, schema, fetch = ((LETTER_FILTERS, api.LetterArgs(), api.letter_page) if view == "letters"
                            else (GROUP_FILTERS, api.FilterArgs(), api.group_page))
    chosen = _chosen(query, names)
    values, errors = load(schema, _args(chosen))
    found: dict[str, Any] = {"items": [], "next": None}
    key, open_count, status = None, None, 200
    if values is not None:
        try:
            found = fetch(values)
            if view == "letters" and "group" in chosen:
                key = GroupKey.parse(chosen["group"])
                open_count = api.group_selection(key).remaining(store())
        except RequestError as exc:
            errors, status = refusal(exc), exc.status
    elif errors:
        status = 422
    endpoint = "console.dead_letters_letters" if view == "letters" else "console.dead_letters"
    more = url_for(endpoint, **{**chosen, "cursor": found["next"]}) if found["next"] else None
    return {"view": view, "chosen": chosen, "filter_errors": errors, "page": found, "more": more, "key": key,
            "open_count": open_count, "status": status, "stages": STAGES, "statuses": api.STATUS_CHOICES,
            "back": urlencode({k: v for k, v in chosen.items() if k != "cursor" or view == "letters"})}


def _render(view: str, query: Mapping[str, str], result: dict[str, Any] | None = None,
            status: int | None = None) -> Any:
    shown = _listed(view, query)
    status = status or shown["status"]
    template = "console/dead_letters.html" if view == "groups" else "console/dead_letters_letters.html"
    if result is not None and request.headers.get("HX-Request"):
        template = "console/dead_letters_swap.html"
    return render_template(template, result=result, **shown), status


@bp.route("/dead-letters")
@page("viewer", brand_scoped=True)
def dead_letters() -> Any:
    """Groups of dead letters by cause, largest first, with filters."""
    return _render("groups", request.args)


@bp.route("/dead-letters/letters")
@page("viewer", brand_scoped=True)
def dead_letters_letters() -> Any:
    """Letters, newest first: a group's (``group``) or by stage, source, status and time."""
    return _render("letters", request.args)


@bp.route("/dead-letters/<id:letter_id>")
@page("viewer", brand_scoped=True)
def dead_letters_letter(letter_id: int) -> Any:
    """One letter with its payload."""
    found = api.letter(letter_id)
    return render_template("console/dead_letters_letter.html", letter=found)


def _origin() -> tuple[str, MultiDict]:
    """The list an action was made from (its ``view`` and ``back`` fields), to show again after it."""
    view = "letters" if request.form.get("view") == "letters" else "groups"
    back = request.form.get("back", "")[:4 * FIELD_CHARS]
    return view, MultiDict(parse_qsl(back))


def _selection() -> dict[str, Any]:
    """The letters an action names: checked ``ids``, or a ``group``; as the API's body."""
    ids = [value for value in request.form.getlist("ids") if value.strip()]
    body: dict[str, Any] = {"ids": ids} if ids else {}
    if not ids and request.form.get("group", "").strip():
        body["group"] = request.form["group"].strip()[:FIELD_CHARS]
    return body


def _act(action: str, schema: Any, run: Any, extra: dict[str, Any]) -> Any:
    view, query = _origin()
    body = {**_selection(), **extra}
    result: dict[str, Any] = {"action": action, "group": body.get("group"), "note": extra.get("note", "")}
    whole_group = "group" in body and "ids" not in body
    if whole_group and request.form.get("confirm") != "yes" and (count := _open_in(body["group"])):
        return _render(view, query, {**result, "confirm": True, "count": count})  # none open: the API says so
    values, errors = load(schema, body)
    if values is None:
        if whole_group:
            result.update(confirm=True, count=_open_in(body["group"]))
        return _render(view, query, {**result, "errors": errors}, 422)
    try:
        done = run(values)
    except RequestError as exc:
        return _render(view, query, {**result, "errors": refusal(exc)}, exc.status)
    failed = sorted(done.get("failed", {}).items(), key=lambda item: int(item[0]))
    return _render(view, query, {**result, "done": done, "failed": failed[:SHOWN_FAILURES],
                                 "more_failed": max(0, len(failed) - SHOWN_FAILURES)})


def _open_in(group: str) -> int | None:
    """Open letters of the group (None for a group id this API did not give: the action then says so)."""
    try:
        return api.group_selection(GroupKey.parse(group)).remaining(store())
    except RequestError:
        return None


@bp.route("/dead-letters/replay", methods=["POST"])
@page("operator", brand_scoped=True)
def dead_letters_replay() -> Any:
    """Replay checked letters, or a whole group's open ones once confirmed."""
    return _act("replay", api.ReplayBody(), api.replay, {})


@bp.route("/dead-letters/dismiss", methods=["POST"])
@page("operator", brand_scoped=True)
def dead_letters_dismiss() -> Any:
    """Dismiss checked letters, or a whole group's open ones once confirmed, with a note saying why."""
    note = request.form.get("note", "")[:service.NOTE_CHARS + 1]  # one more: too long is refused, not cut
    return _act("dismiss", api.DismissBody(), api.dismiss, {"note": note})

