"""``/api/segments``: segments with their sizes, members, sizes over time, preview before saving, edits.

Thin over ``sync.segments.service`` (the CLI's ``lifesync segments`` and the console call the
same). Reading is a viewer's; an edit is an operator's and is a configuration revision of
``segments/<key>.yaml`` (validated with the whole configuration, 422 listing every issue with
file, line and key, 409 on a stale ``base_revision``, audit-logged by ``sync.config.revisions``);
a run of the evaluation is an operator's, audited. Brand-scoped like the reports: a token limited
to brands sees, previews and edits only its brands' segments (``sync.access.brands``).
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask.views import MethodView

from sync.errors import ConfigError, Invalid
from sync.segments import service
from sync.segments.conditions import Segment
from sync.segments.parse import KEY, KEY_HINT
from sync.web.api.auth import requires
from sync.web.api.blueprint import Blueprint
from sync.web.api.brand_access import asking, scoped_brand
from sync.web.api.config import refused, revisions
from sync.web.api.context import config, principal, store
from sync.web.api.schemas import PageArgs, decode_cursor, encode_cursor, list_schema, page_schema

blp = Blueprint("segments", __name__, description="Segments: sizes, members, sizes over time, preview, edits")

F = ma.fields
KEY_RULE = F.String(required=True, validate=ma.validate.Regexp(KEY, error=f"use {KEY_HINT}"))


class SegmentSummarySchema(ma.Schema):
    """A segment as listed."""

    key = F.String(required=True)
    label = F.String(required=True)
    brand = F.String(required=True)
    description = F.String(required=True)
    time_based = F.Boolean(required=True, metadata={"description": "membership changes with time alone (kept by "
                                                                     "the scheduled full evaluation)"})
    destinations = F.List(F.String(), required=True)
    size = F.Integer(allow_none=True, required=True, metadata={"description": "null: not evaluated since it "
                                                                               "last changed"})
    evaluated_at = F.AwareDateTime(allow_none=True, required=True)
    full_at = F.AwareDateTime(allow_none=True, required=True)


class SegmentDetailSchema(SegmentSummarySchema):
    """A segment with its document (text and revision, for an edit's ``base_revision``)."""

    document = F.String(required=True, metadata={"description": "segments/<key>.yaml"})
    revision_id = F.Integer(allow_none=True, required=True)
    text = F.String(required=True)


class SegmentMemberSchema(ma.Schema):
    """A contact in a segment."""

    id = F.Integer(required=True)
    name = F.String(required=True)
    stage = F.String(allow_none=True, required=True, metadata={"description": "in the segment's brand"})
    entered_at = F.AwareDateTime(metadata={"description": "when this stay began"})


class SegmentPreviewArgs(ma.Schema):
    """A segment's text, not saved."""

    key = KEY_RULE
    text = F.String(required=True, validate=ma.validate.Length(max=1_000_000))
    sample = F.Integer(load_default=service.SAMPLE, validate=ma.validate.Range(0, 100))


class SegmentPreviewSchema(ma.Schema):
    """The size and a sample the text would give now."""

    key = F.String(required=True)
    size = F.Integer(required=True)
    sample = F.List(F.Nested(SegmentMemberSchema), required=True)
    time_based = F.Boolean(required=True)


class SegmentEditArgs(ma.Schema):
    """A new text for the segment's file."""

    text = F.String(required=True, validate=ma.validate.Length(max=1_000_000))
    base_revision = F.Integer(required=True, allow_none=True, metadata={
        "description": "the revision_id the edit was made from (null: the baseline file or a new segment)"})
    comment = F.String(load_default="", validate=ma.validate.Length(max=2000))


class SegmentEditResultSchema(ma.Schema):
    """The revision stored (null: the text was already active)."""

    revision_id = F.Integer(allow_none=True, required=True)


class SegmentSizesArgs(ma.Schema):
    days = F.Integer(load_default=30, validate=ma.validate.Range(1, 366))


SizePoint = ma.Schema.from_dict({"day": F.String(required=True), "size": F.Integer(required=True)}, name="SizePoint")


class SegmentEvaluateArgs(ma.Schema):
    """Which evaluation to run now."""

    key = F.String(load_default=None, metadata={"description": "one segment (needs full); omitted: every segment"})
    full = F.Boolean(load_default=False, metadata={"description": "every contact (else: the queued changes)"})


class SegmentChangeSchema(ma.Schema):
    segment = F.String(required=True)
    entered = F.Integer(required=True)
    left = F.Integer(required=True)
    size = F.Integer(allow_none=True)


EvaluateResult = ma.Schema.from_dict({"changes": F.List(F.Nested(SegmentChangeSchema), required=True),
                                      "contacts": F.Integer(load_default=0)}, name="SegmentEvaluation")
SegmentList = list_schema(SegmentSummarySchema, "SegmentList")
SizeList = list_schema(SizePoint, "SizeList")
MemberPage = page_schema(SegmentMemberSchema, "MemberPage")


def visible_segments(segments: tuple[Segment, ...] | list[Segment]) -> list[Segment]:
    """The segments this token may see (a token limited to brands: its brands' only)."""
    brands = asking().brands
    return [s for s in segments if brands is None or s.brand in brands]


def scoped_segment(key: str) -> Segment:
    """The configured segment ``key`` (404 naming only the segments the token sees), within its brands (403)."""
    segment = service.find(config(), key, visible_segments(config().segments))
    scoped_brand(config(), segment.brand)
    return segment


def trial_in_scope(key: str, text: str) -> Segment:
    """The segment ``text`` would be (422 with every issue), within the token's brands (403)."""
    try:
        segment = service.trial_segment(revisions(), key, text)
    except ConfigError as exc:
        raise refused(exc) from None
    scoped_brand(config(), segment.brand)
    return segment


@blp.route("/segments")
class Segments(MethodView):
    @requires("viewer", brand_scoped=True)
    @blp.response(200, SegmentList)
    def get(self) -> Any:
        """Every segment the token may see, with its size and last evaluation."""
        return {"items": service.summaries(store(), visible_segments(config().segments))}


@blp.route("/segments/preview")
class SegmentPreview(MethodView):
    @requires("viewer", brand_scoped=True)
    @blp.arguments(SegmentPreviewArgs)
    @blp.response(200, SegmentPreviewSchema)
    def post(self, body: dict) -> Any:
        """Size and a sample of a segment's text now, judged as saving it would judge it; nothing is saved."""
        return service.preview(store(), trial_in_scope(body["key"], body["text"]), sample=body["sample"]).as_dict()


@blp.route("/segments/evaluate")
class SegmentEvaluate(MethodView):
    @requires("operator")
    @blp.arguments(SegmentEvaluateArgs)
    @blp.response(200, EvaluateResult)
    def post(self, body: dict) -> Any:
        """Bring membership up to date now: the queued changes, or (full) every contact (audited)."""
        return service.run_evaluation(store(), config(), principal(), body["key"], body["full"])


@blp.route("/segments/<key>")
class OneSegment(MethodView):
    @requires("viewer", brand_scoped=True)
    @blp.response(200, SegmentDetailSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    def get(self, key: str) -> Any:
        """One segment with its file's active text and revision."""
        segment = scoped_segment(key)
        doc = revisions().read(service.document_of(key))
        return {**service.summaries(store(), [segment])[0], "document": doc.name, "revision_id": doc.revision_id,
                "text": doc.text}

    @requires("operator", brand_scoped=True)
    @blp.arguments(SegmentEditArgs)
    @blp.response(200, SegmentEditResultSchema)
    @blp.alt_response(409, response="CONFLICT")
    def put(self, edit: dict, key: str) -> Any:
        """Save the segment's text as a revision of segments/<key>.yaml (a new key makes a new segment)."""
        name = service.document_of(key)
        current = config().segment(key)
        if current is not None:
            scoped_brand(config(), current.brand)  # its brand now, and (below) the brand it would have
        trial_in_scope(key, edit["text"])
        try:
            stored = revisions().propose(name, edit["text"], principal(), edit["comment"], edit["base_revision"])
        except ConfigError as exc:
            raise refused(exc) from None
        return {"revision_id": stored.id if stored is not None else None}


@blp.route("/segments/<key>/members")
class SegmentMembers(MethodView):
    @requires("viewer", brand_scoped=True)
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, MemberPage)
    @blp.alt_response(404, response="NOT_FOUND")
    def get(self, args: dict, key: str) -> Any:
        """One page of the current members, by contact id."""
        after = decode_cursor(args["cursor"])
        if after is not None and (not isinstance(after, int) or isinstance(after, bool)):
            raise Invalid("not a cursor of this list", {"cursor": "use `next` of the previous page"})
        rows, more = service.members_page(store(), scoped_segment(key), after, args["limit"])
        return {"items": rows, "next": encode_cursor(more) if more is not None else None}


@blp.route("/segments/<key>/sizes")
class SegmentSizes(MethodView):
    @requires("viewer", brand_scoped=True)
    @blp.arguments(SegmentSizesArgs, location="query")
    @blp.response(200, SizeList)
    @blp.alt_response(404, response="NOT_FOUND")
    def get(self, args: dict, key: str) -> Any:
        """The segment's size at the end of each of the last ``days`` UTC days."""
        segment = scoped_segment(key)
        return {"items": [{"day": d, "size": n} for d, n in service.sizes_over_time(store(), segment.key,
                                                                                    args["days"])]}
