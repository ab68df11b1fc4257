"""Segments: the list with sizes, one segment with a sample of its members and its size over time, and a
preview of a segment's text before saving it.

Every figure is the ops API's (``sync.web.api.segments``) through the same service
(``sync.segments.service``). Brand-scoped like the reports: a token limited to brands sees its
brands' segments only. Editing is the configuration editor's (``mappings_edit`` on
``segments/<key>.yaml``), so an edit is a revision like any other; that editor is installation-wide,
so the link is offered to tokens without brand limits. Plain forms: it works without JavaScript.
"""

from __future__ import annotations

from typing import Any

from flask import g, render_template, request
from flask_babel import gettext as _
from markupsafe import Markup

from sync.errors import ConfigError, RequestError
from sync.reports.svg import day_columns
from sync.segments import service
from sync.web.api.config import refused, revisions
from sync.web.api.context import config, store
from sync.web.api.segments import SegmentPreviewArgs, scoped_segment, trial_in_scope, visible_segments
from sync.web.console.blueprint import bp, page
from sync.web.console.forms import load, refusal

CHART_DAYS = 30
NEW = "label: New segment\nconditions:\n  - stage: Customer\n"


@bp.route("/segments")
@page("viewer", brand_scoped=True)
def segments() -> Any:
    """Every segment the token sees, with its size and when it was last evaluated."""
    return _list({"key": "", "text": NEW}, {}, None, None, 200)


def _list(form: dict[str, str], errors: dict[str, str], issues: list[dict[str, Any]] | None,
          result: dict[str, Any] | None, status: int) -> Any:
    listed = service.summaries(store(), visible_segments(config().segments))
    return render_template("console/segments.html", segments=listed, form=form, errors=errors, issues=issues,
                           result=result), status


def _detail(key: str, status: int = 200, **values: Any) -> Any:
    segment = scoped_segment(key)  # 404 unknown, 403 another brand's
    summary = service.summaries(store(), [segment])[0]
    sizes = service.sizes_over_time(store(), segment.key, CHART_DAYS)
    chart = Markup(day_columns(_("Members at the end of each day"), [(d, float(n)) for d, n in sizes],  # noqa: S704
                               fmt=lambda v: f"{v:,.0f}"))  # escaped by sync.reports.svg
    document = service.document_of(segment.key)
    values.setdefault("text", revisions().read(document).text)
    values.setdefault("errors", {})
    values.setdefault("issues", None)
    values.setdefault("result", None)
    sample, _next = service.members_page(store(), segment, None, service.SAMPLE)
    return render_template("console/segment.html", segment=segment, summary=summary, chart=chart, sizes=sizes,
                           sample=sample, document=document, editable=g.principal.brands is None,
                           **values), status


@bp.route("/segments/<key>")
@page("viewer", brand_scoped=True)
def segments_detail(key: str) -> Any:
    """One segment: size, last evaluation, size over 30 days, a sample of its members, its text to preview."""
    return _detail(key)


def _previewed() -> tuple[dict[str, str], dict[str, Any] | None, dict[str, str], list[dict[str, Any]] | None, int]:
    """The form's (key, text) previewed as the API's preview: (form, result, errors, issues, status)."""
    form = {k: request.form.get(k, "").replace("\r\n", "\n") for k in ("key", "text")}
    values, errors = load(SegmentPreviewArgs(), form)
    if values is None:
        return form, None, errors, None, 422
    try:
        return form, service.preview(store(), trial_in_scope(values["key"], values["text"])).as_dict(), {}, None, 200
    except RequestError as exc:  # the trial's issues (422), a brand the token may not see is a 403 page
        return form, None, refusal(exc), exc.errors.get("issues"), exc.status
    except ConfigError as exc:
        return form, None, {}, refused(exc).errors["issues"], 422


@bp.route("/segments/preview", methods=["POST"])
@page("viewer", brand_scoped=True)
def segments_preview() -> Any:
    """Size and a sample of a segment's text (new or changed) now; nothing is saved."""
    form, result, errors, issues, status = _previewed()
    if form["key"] and service.KEY.match(form["key"]) and config().segment(form["key"]) is not None \
            and request.form.get("from") == "detail":
        return _detail(form["key"], status, text=form["text"], result=result, errors=errors, issues=issues)
    return _list(form, errors, issues, result, status)
