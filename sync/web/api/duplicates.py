"""``/api/duplicates`` and ``/api/merges``: the duplicate review queue, merge on purpose, dismiss, unmerge.

Thin over ``sync.quality`` (``duplicates``: the queue; ``merging``: preview and merge;
``unmerging``: undo a merge); the CLI's ``lifesync duplicates`` and the console's review pages
call the same. Reading is a viewer's (the preview writes nothing); scanning, merging,
dismissing, restoring and unmerging an operator's, each audited. Pairs and previews show the
contacts' values to whoever may read contacts; nothing here logs them.

A token limited to brands (``sync.access.brands.visible``) sees, previews, merges, dismisses and
restores only the pairs whose two contacts both dealt with its brands, and lists and undoes only
the merges whose surviving contact did; any other pair or merge is 404. Scanning reads every
contact: installation-wide, refused to it.
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask.views import MethodView

from sync.errors import Invalid
from sync.outbox.effects import Effects
from sync.quality import duplicates, merging, unmerging
from sync.web.api.auth import requires
from sync.web.api.blueprint import Blueprint
from sync.web.api.brand_access import visible_brands
from sync.web.api.context import config, principal, settings, store
from sync.web.api.schemas import PageArgs, decode_cursor, encode_cursor, page_schema, row_id

blp = Blueprint("duplicates", __name__, description="Suspected duplicates: review, merge on purpose, dismiss, unmerge")

F = ma.fields


class DuplicateEvidenceSchema(ma.Schema):
    """What two contacts share (the kind, never the value), or a merge the identity rules refused."""

    kind = F.String(required=True, metadata={"description": "email, phone, name_city, blocked or unmerged"})
    via = F.String(metadata={"description": "blocked: the identity kind the merge was refused on"})
    reason = F.String(metadata={"description": "blocked: why the identity rules refused it"})


class DuplicatePairSchema(ma.Schema):
    """A suspected pair in the queue."""

    id = F.Integer(required=True)
    contact_a = F.Integer(required=True)
    contact_b = F.Integer(required=True)
    evidence = F.List(F.Nested(DuplicateEvidenceSchema), required=True)
    status = F.String(required=True, metadata={"description": "open or dismissed"})
    found_at = F.AwareDateTime(required=True)
    dismissed_at = F.AwareDateTime(allow_none=True)
    dismissed_by = F.String(allow_none=True)


class DuplicateSideSchema(ma.Schema):
    """One contact of a pair."""

    id = F.Integer(required=True)
    stage = F.String(allow_none=True, required=True)
    lost_stage = F.String(allow_none=True, required=True)
    identities = F.List(F.String(), required=True, metadata={"description": "`kind:value`"})
    fields = F.Dict(keys=F.String(), values=F.Raw(), required=True,
                    metadata={"description": "field → {value, source}: the winning values"})


class DuplicateCompareSchema(ma.Schema):
    """One field of both contacts, side by side."""

    field = F.String(required=True)
    a = F.Raw(allow_none=True, required=True)
    b = F.Raw(allow_none=True, required=True)
    same = F.Boolean(required=True)


class DuplicatePairDetailSchema(DuplicatePairSchema):
    """A pair with the evidence side by side."""

    contacts = F.List(F.Nested(DuplicateSideSchema), required=True)
    fields = F.List(F.Nested(DuplicateCompareSchema), required=True)


class MergeStageSchema(ma.Schema):
    """A contact's stage and the transition that set it."""

    stage = F.String(allow_none=True, required=True)
    lost_stage = F.String(allow_none=True, required=True)
    source = F.String(allow_none=True, required=True)
    reason = F.String(allow_none=True, required=True)
    at = F.AwareDateTime(allow_none=True, required=True)


class MergeBothStagesSchema(ma.Schema):
    """The stages of both contacts before merging."""

    a = F.Nested(MergeStageSchema, required=True)
    b = F.Nested(MergeStageSchema, required=True)


class MergeWinnerSchema(ma.Schema):
    """One field after merging: the winner by the field's survivorship rule, and whose it was."""

    field = F.String(required=True)
    rule = F.String(required=True, metadata={"description": "the survivorship rule that chose"})
    a = F.Raw(allow_none=True, required=True)
    b = F.Raw(allow_none=True, required=True)
    winner = F.Raw(allow_none=True, required=True, metadata={"description": "{value, source}"})
    source_contact = F.String(allow_none=True, required=True, data_key="from",
                              attribute="from", metadata={"description": "a or b: whose value won"})


class MergePreviewSchema(ma.Schema):
    """What merging a pair does, computed by the reconcile code (nothing written)."""

    pair = F.Integer(required=True)
    kept = F.Integer(required=True, metadata={"description": "the contact that survives (the older)"})
    merged = F.Integer(required=True, metadata={"description": "the contact merged into it"})
    overrides = F.String(allow_none=True, required=True, metadata={"description": "the blocker overridden"})
    fields = F.List(F.Nested(MergeWinnerSchema), required=True)
    stage_before = F.Nested(MergeBothStagesSchema, required=True)
    stage_after = F.Nested(MergeStageSchema, required=True)
    identities = F.List(F.String(), required=True)


class MergeResultSchema(MergePreviewSchema):
    """A merge done."""

    merge_id = F.Integer(required=True, metadata={"description": "undo it with POST /api/merges/{id}/unmerge"})


class DuplicateScanResultSchema(ma.Schema):
    """What a scan found."""

    found = F.Integer(required=True)
    opened = F.Integer(required=True, metadata={"description": "pairs new in the queue"})
    closed = F.Integer(required=True, metadata={"description": "pairs no longer suspected"})


class MergeLogSchema(ma.Schema):
    """A past merge."""

    id = F.Integer(required=True)
    kept_contact_id = F.Integer(required=True)
    merged_contact_id = F.Integer(required=True)
    via = F.String(required=True)
    source = F.String(required=True)
    at = F.AwareDateTime(required=True)
    actor = F.String(allow_none=True, required=True, metadata={"description": "who merged on purpose"})
    unmerged_at = F.AwareDateTime(allow_none=True, required=True)
    unmerged_by = F.String(allow_none=True, required=True)
    undoable = F.Boolean(required=True, metadata={"description": "false: undone, or made before snapshots"})


class UnmergeResultSchema(ma.Schema):
    """A merge undone."""

    merge_id = F.Integer(required=True)
    kept = F.Integer(required=True)
    restored = F.Integer(required=True, metadata={"description": "the id of the contact given back"})
    moved = F.Dict(keys=F.String(), values=F.Integer(), required=True, metadata={"description": "rows per table"})
    identities = F.Integer(required=True)
    write_backs = F.Integer(required=True, metadata={"description": "outbox items queued"})


class DuplicatePairArgs(PageArgs):
    """Which pairs."""

    status = F.String(load_default="open", validate=ma.validate.OneOf(duplicates.STATUSES))


class MergeListArgs(PageArgs):
    """Which merges."""

    contact = row_id(metadata={"description": "only merges of this contact"})


def _after(args: dict) -> int | None:
    after = decode_cursor(args.get("cursor"))
    if after is not None and (not isinstance(after, int) or isinstance(after, bool)):
        raise Invalid("the cursor is not one this list gave", {"cursor": "the `next` of a previous page"})
    return after


def pair_page(args: dict) -> dict[str, Any]:
    """A page of the queue for loaded ``DuplicatePairArgs``: ``{items, next}`` (the console shows the same)."""
    limit = args["limit"]
    found = duplicates.pairs(store(), args["status"], limit + 1, _after(args), _brands())
    more = len(found) > limit
    return {"items": found[:limit], "next": encode_cursor(found[limit - 1]["id"]) if more else None}


def merge_page(args: dict) -> dict[str, Any]:
    """A page of past merges, newest first, for loaded ``MergeListArgs``."""
    limit = args["limit"]
    found = unmerging.merges(store(), limit + 1, _after(args), args.get("contact"), _brands())
    more = len(found) > limit
    return {"items": found[:limit], "next": encode_cursor(found[limit - 1]["id"]) if more else None}


def _effects() -> Effects:
    return Effects.of(settings(), config())


def _brands() -> tuple[str, ...] | None:
    return visible_brands(config())


def pair(pair_id: int) -> dict[str, Any]:
    """A pair with both contacts side by side."""
    return duplicates.pair_detail(store(), pair_id, _brands())


def preview(pair_id: int) -> dict[str, Any]:
    """The merge preview of a pair."""
    return merging.preview(store(), config().lifecycle, pair_id, _effects(), _brands())


def merge(pair_id: int) -> dict[str, Any]:
    """Merge a pair as the request's principal."""
    return merging.merge(store(), config().lifecycle, principal(), pair_id, _effects(), _brands())


def dismiss(pair_id: int) -> dict[str, Any]:
    """Dismiss a pair as the request's principal."""
    return duplicates.dismiss(store(), principal(), pair_id, _brands())


def restore(pair_id: int) -> dict[str, Any]:
    """Undo a pair's dismissal as the request's principal."""
    return duplicates.restore(store(), principal(), pair_id, _brands())


def unmerge(merge_id: int) -> dict[str, Any]:
    """Undo a merge as the request's principal."""
    return unmerging.unmerge(store(), config().lifecycle, principal(), merge_id, _effects(), _brands())


@blp.route("/duplicates")
class Pairs(MethodView):
    """The review queue."""

    @requires("viewer", brand_scoped=True)
    @blp.arguments(DuplicatePairArgs, location="query")
    @blp.response(200, page_schema(DuplicatePairSchema, "DuplicatePairPage"))
    def get(self, args: dict) -> Any:
        """Suspected pairs (open, or dismissed), oldest first."""
        return pair_page(args)


@blp.route("/duplicates/scan")
class Scan(MethodView):
    """Find suspected duplicates again."""

    @requires("operator")
    @blp.response(200, DuplicateScanResultSchema)
    def post(self) -> Any:
        """Group contacts by normalised e-mail, phone, name + city, and blocked merges; update the queue.

        Dismissed pairs stay dismissed; pairs no longer found leave the queue.
        """
        return duplicates.scan(store(), principal())


@blp.route("/duplicates/<id:pair_id>")
class Pair(MethodView):
    """One suspected pair."""

    @requires("viewer", brand_scoped=True)
    @blp.response(200, DuplicatePairDetailSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    def get(self, pair_id: int) -> Any:
        """The pair with both contacts side by side."""
        return pair(pair_id)


@blp.route("/duplicates/<id:pair_id>/preview")
class Preview(MethodView):
    """What merging would do."""

    @requires("viewer", brand_scoped=True)
    @blp.response(200, MergePreviewSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.alt_response(409, response="CONFLICT")
    def get(self, pair_id: int) -> Any:
        """Each field's winner (value, source, rule, whose), the stage after; computed by the reconcile code."""
        return preview(pair_id)


@blp.route("/duplicates/<id:pair_id>/merge")
class Merge(MethodView):
    """Merge a pair on purpose."""

    @requires("operator", brand_scoped=True)
    @blp.response(200, MergeResultSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.alt_response(409, response="CONFLICT")
    def post(self, pair_id: int) -> Any:
        """Merge the pair as identity resolution merges (overriding a blocker), logged with who; audited."""
        return merge(pair_id)


@blp.route("/duplicates/<id:pair_id>/dismiss")
class Dismiss(MethodView):
    """Not the same person."""

    @requires("operator", brand_scoped=True)
    @blp.response(200, DuplicatePairSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.alt_response(409, response="CONFLICT")
    def post(self, pair_id: int) -> Any:
        """Dismiss the pair: it leaves the queue, and no scan brings it back."""
        return dismiss(pair_id)


@blp.route("/duplicates/<id:pair_id>/restore")
class Restore(MethodView):
    """Undo a dismissal."""

    @requires("operator", brand_scoped=True)
    @blp.response(200, DuplicatePairSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.alt_response(409, response="CONFLICT")
    def post(self, pair_id: int) -> Any:
        """Put a dismissed pair back in the queue."""
        return restore(pair_id)


@blp.route("/merges")
class Merges(MethodView):
    """Past merges."""

    @requires("viewer", brand_scoped=True)
    @blp.arguments(MergeListArgs, location="query")
    @blp.response(200, page_schema(MergeLogSchema, "MergePage"))
    def get(self, args: dict) -> Any:
        """Merges, newest first, each saying whether it can be undone."""
        return merge_page(args)


@blp.route("/merges/<id:merge_id>/unmerge")
class Unmerge(MethodView):
    """Undo a merge."""

    @requires("operator", brand_scoped=True)
    @blp.response(200, UnmergeResultSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.alt_response(409, response="CONFLICT")
    def post(self, merge_id: int) -> Any:
        """Give each contact back what it brought, recompute both, queue the CRM write-back; audited.

        A merge made before lifesync kept merge snapshots cannot be undone (409 says why).
        """
        return unmerge(merge_id)
