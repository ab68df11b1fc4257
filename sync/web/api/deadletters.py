"""``/api/dead-letters``: dead letters grouped by cause; list, read, replay and dismiss them.

Thin over ``sync.ingest.deadletter_groups`` (the CLI's ``lifesync deadletter`` calls the same);
the console's dead-letter pages call this module's ``group_page``, ``letter_page``, ``replay`` and
``dismiss`` with input read by its schemas.
Reading is a viewer's; replaying and dismissing an operator's. A token limited to brands reads
and acts on its brands' letters only (``sync.access.brands.visible``): another brand's letter is
404, its groups and counts are left out. A letter's payload may hold personal data: the detail
shows it, nothing here logs it.
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask.views import MethodView
from webargs.fields import DelimitedList

from sync.errors import Invalid
from sync.ingest import deadletter_groups as service
from sync.ingest.deadletter_groups import GroupKey, LetterFilter, Selection
from sync.outbox.effects import Effects
from sync.web.api.auth import requires
from sync.web.api.blueprint import Blueprint
from sync.web.api.brand_access import visible_brands
from sync.web.api.context import config, enqueue_job, principal, settings, store
from sync.web.api.schemas import PageArgs, decode_cursor, encode_cursor, page_schema, row_id

blp = Blueprint("dead-letters", __name__, description="What could not be processed, grouped by cause")

STATUS_CHOICES = (*service.STATUSES, "any")
MAX_GROUP_LIMIT = 5000


class DeadLetterSchema(ma.Schema):
    """A dead letter as listed (without its payload)."""

    id = ma.fields.Integer(required=True)
    group = ma.fields.String(required=True, metadata={"description": "the id of its group"})
    stage = ma.fields.String(required=True, metadata={"description": "mapping, reconcile, dispatch or job"})
    source = ma.fields.String(required=True, metadata={"description": "the source, destination, or queue"})
    object = ma.fields.String(required=True)
    record_id = ma.fields.String(allow_none=True)
    reason = ma.fields.String(required=True)
    reason_class = ma.fields.String(required=True, metadata={"description": "the reason without ids and values"})
    status = ma.fields.String(required=True, metadata={"description": "open, replayed or dismissed"})
    created_at = ma.fields.AwareDateTime(required=True)
    replayed_at = ma.fields.AwareDateTime(allow_none=True)
    dismissed_at = ma.fields.AwareDateTime(allow_none=True)
    dismissed_by = ma.fields.String(allow_none=True)
    note = ma.fields.String(allow_none=True, metadata={"description": "why it was dismissed"})
    brand = ma.fields.String(allow_none=True, metadata={"description": "a record's brand, which a replay lands it "
                                                                        "in (null: the default brand)"})


class DeadLetterDetailSchema(DeadLetterSchema):
    """A dead letter with its payload: the record, job or outbox item it holds."""

    payload = ma.fields.Raw(allow_none=True, metadata={"description": "may hold personal data"})


class GroupSchema(ma.Schema):
    """The letters of one cause."""

    group = ma.fields.String(required=True, metadata={"description": "pass it back to list, replay or dismiss"})
    stage = ma.fields.String(required=True)
    source = ma.fields.String(required=True)
    reason_class = ma.fields.String(required=True)
    count = ma.fields.Integer(required=True)
    first_seen = ma.fields.AwareDateTime(required=True)
    last_seen = ma.fields.AwareDateTime(required=True)
    sample = ma.fields.Nested(DeadLetterSchema, required=True, metadata={"description": "its newest letter"})


class FilterArgs(PageArgs):
    """Which letters."""

    status = ma.fields.String(load_default="open", validate=ma.validate.OneOf(STATUS_CHOICES),
                              metadata={"description": "open (the default), replayed, dismissed, or any"})
    stage = ma.fields.String(validate=ma.validate.Length(1, 32))
    source = ma.fields.String(validate=ma.validate.Length(1, 32), metadata={"description": "source or destination"})
    since = ma.fields.AwareDateTime(metadata={"description": "created at or after"})


class LetterArgs(FilterArgs):
    """Which letters, by group or ids too."""

    group = ma.fields.String(validate=ma.validate.Length(1, 2000))
    ids = DelimitedList(row_id(), validate=ma.validate.Length(1, service.MAX_IDS),
                        metadata={"description": "comma-separated ids"})


class _Selection(ma.Schema):
    ids = ma.fields.List(row_id(), validate=ma.validate.Length(1, service.MAX_IDS))
    group = ma.fields.String(validate=ma.validate.Length(1, 2000))
    limit = ma.fields.Integer(load_default=1000, validate=ma.validate.Range(1, MAX_GROUP_LIMIT),
                              metadata={"description": "of a group's open letters, at most this many this call"})

    @ma.validates_schema
    def _one(self, data: dict, **_: Any) -> None:
        if ("ids" in data) == ("group" in data):
            raise ma.ValidationError("name the dead letters by `ids` or by `group`, not both", "_schema")


class ReplayBody(_Selection):
    """The letters to replay."""


class DismissBody(_Selection):
    """The letters to dismiss, and why."""

    note = ma.fields.String(required=True, validate=ma.validate.Length(1, service.NOTE_CHARS))


class ReplayResultSchema(ma.Schema):
    """What a replay did."""

    replayed = ma.fields.List(ma.fields.Integer(), required=True, metadata={"description": "no longer open"})
    failed = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.String(), required=True,
                            metadata={"description": "id → the reason it still fails (it stays open)"})
    not_open = ma.fields.List(ma.fields.Integer(), required=True, metadata={"description": "unknown or not open"})
    enqueued = ma.fields.List(ma.fields.Integer(), required=True, metadata={"description": "jobs queued again"})
    remaining = ma.fields.Integer(required=True, metadata={"description": "open letters left in the group"})


class DismissResultSchema(ma.Schema):
    """What a dismissal did."""

    dismissed = ma.fields.List(ma.fields.Integer(), required=True)
    not_open = ma.fields.List(ma.fields.Integer(), required=True)
    remaining = ma.fields.Integer(required=True, metadata={"description": "open letters left in the group"})


def _filter(args: dict) -> LetterFilter:
    status = args.get("status", "open")
    group = args.get("group")
    return LetterFilter(status=None if status == "any" else status, stage=args.get("stage"),
                        source=args.get("source"), since=args.get("since"),
                        group=GroupKey.parse(group) if group is not None else None, ids=args.get("ids"),
                        brands=visible_brands(config()))


def _selection(body: dict) -> Selection:
    group = body.get("group")
    return Selection(ids=body.get("ids"), group=GroupKey.parse(group) if group is not None else None,
                     limit=body["limit"], brands=visible_brands(config()))


def group_selection(key: GroupKey) -> Selection:
    """The open letters of group ``key`` this request may act on (the console counts them before acting)."""
    return Selection(group=key, brands=visible_brands(config()))


def letter(letter_id: int) -> dict[str, Any]:
    """A letter with its payload, when this request may read its brand (else 404)."""
    return service.letter(store(), letter_id, visible_brands(config()))


def group_page(args: dict) -> dict[str, Any]:
    """A page of groups for loaded ``FilterArgs``: ``{items, next}`` (the console shows the same)."""
    args = dict(args)
    after = decode_cursor(args.pop("cursor", None))
    limit = args.pop("limit")
    found = service.groups(store(), _filter(args), limit + 1, after)
    more = len(found) > limit
    return {"items": found[:limit], "next": encode_cursor(found[limit - 1]["position"]) if more else None}


def letter_page(args: dict) -> dict[str, Any]:
    """A page of letters, newest first, for loaded ``LetterArgs``: ``{items, next}``."""
    args = dict(args)
    before_id = decode_cursor(args.pop("cursor", None))
    if before_id is not None and not isinstance(before_id, int):
        raise Invalid("the cursor is not one this list gave", {"cursor": "the `next` of a previous page"})
    limit = args.pop("limit")
    found = service.letters(store(), _filter(args), limit + 1, before_id)
    more = len(found) > limit
    return {"items": found[:limit], "next": encode_cursor(found[limit - 1]["id"]) if more else None}


def replay(body: dict) -> dict[str, Any]:
    """Replay the letters a loaded ``ReplayBody`` names, as the request's principal."""
    return service.replay_selection(store(), config(), principal(), _selection(body),
                                    enqueue_job=enqueue_job(), effects=Effects.of(settings(), config()))


def dismiss(body: dict) -> dict[str, Any]:
    """Dismiss the letters a loaded ``DismissBody`` names with its note, as the request's principal."""
    return service.dismiss(store(), principal(), _selection(body), body["note"])


@blp.route("/dead-letters/groups")
class Groups(MethodView):
    """Dead letters grouped by (stage, source or destination, reason class)."""

    @requires("viewer", brand_scoped=True)
    @blp.arguments(FilterArgs, location="query")
    @blp.response(200, page_schema(GroupSchema, "DeadLetterGroupPage"))
    def get(self, args: dict) -> Any:
        """Groups, largest first, with counts, first and last seen, and a sample."""
        return group_page(args)


@blp.route("/dead-letters")
class Letters(MethodView):
    """Dead letters."""

    @requires("viewer", brand_scoped=True)
    @blp.arguments(LetterArgs, location="query")
    @blp.response(200, page_schema(DeadLetterSchema, "DeadLetterPage"))
    def get(self, args: dict) -> Any:
        """Letters, newest first, by group, stage, source, status, time or ids."""
        return letter_page(args)


@blp.route("/dead-letters/<id:letter_id>")
class Letter(MethodView):
    """One dead letter."""

    @requires("viewer", brand_scoped=True)
    @blp.response(200, DeadLetterDetailSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    def get(self, letter_id: int) -> Any:
        """A letter with its payload."""
        return letter(letter_id)


@blp.route("/dead-letters/replay")
class Replay(MethodView):
    """Replay dead letters."""

    @requires("operator", brand_scoped=True)
    @blp.arguments(ReplayBody)
    @blp.response(200, ReplayResultSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    def post(self, body: dict) -> Any:
        """Replay some letters (`ids`) or a group's open ones (`group`, up to `limit` a call).

        Records are mapped and reconciled again, outbox items go back to pending, jobs are queued
        again; a letter that still fails stays open with its new reason.
        """
        return replay(body)


@blp.route("/dead-letters/dismiss")
class Dismiss(MethodView):
    """Dismiss dead letters."""

    @requires("operator", brand_scoped=True)
    @blp.arguments(DismissBody)
    @blp.response(200, DismissResultSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    def post(self, body: dict) -> Any:
        """Dismiss some letters (`ids`) or a group's open ones (`group`) with a note: they stop counting as open."""
        return dismiss(body)
