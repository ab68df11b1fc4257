"""``/api/segments/<key>/sync``: sync a segment's audiences now (queued, audit-logged) or dry; read their state.

- ``POST`` (operator) queues the ``sync_audiences`` job for the segment (every destination, or
  ``destination``), once: a second request while it waits queues nothing (``queued: false``).
  ``dry_run: true`` computes the counts now instead, without calling a destination or writing.
- ``GET`` (viewer): per destination, the remote audience id, the last sync's time, counts and
  error, and the members by state (added, pending_add, pending_remove, skipped, failed).

Both call ``sync.segments.audiences`` (``run``, ``status``): what ``lifesync segments sync`` runs.
Brand-scoped like the segment routes: a token limited to brands reaches only its brands' segments
(another brand's is a 403).
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask.views import MethodView

from sync.segments.audiences.run import configured_segments, find_segment, request_sync, sync_segments
from sync.segments.audiences.status import audience_status
from sync.web.api.auth import requires
from sync.web.api.blueprint import Blueprint
from sync.web.api.brand_access import scoped_brand
from sync.web.api.context import config, jobs, principal, settings, store
from sync.web.api.segments import visible_segments

blp = Blueprint("audiences", __name__, description="Segments' audiences at their destinations")

COUNTS = ("added", "removed", "unchanged", "skipped", "failed", "retrying", "deferred", "requests")


class AudienceSyncArgs(ma.Schema):
    """What to sync."""

    destination = ma.fields.String(load_default=None, allow_none=True, validate=ma.validate.Length(1, 64),
                                   metadata={"description": "only this destination (its name in the segment)"})
    dry_run = ma.fields.Boolean(load_default=False,
                                metadata={"description": "count the changes now; call no destination, write nothing"})


class AudienceSyncCountsSchema(ma.Schema):
    """What a sync of one destination did (or, dry, would do)."""

    destination = ma.fields.String(required=True)
    segment = ma.fields.String(required=True)
    dry_run = ma.fields.Boolean(required=True)
    error = ma.fields.String(allow_none=True, required=True)
    added = ma.fields.Integer(required=True)
    removed = ma.fields.Integer(required=True)
    unchanged = ma.fields.Integer(required=True)
    skipped = ma.fields.Integer(required=True, metadata={"description": "left out: no consent or no usable key"})
    failed = ma.fields.Integer(required=True)
    retrying = ma.fields.Integer(required=True)
    deferred = ma.fields.Integer(required=True, metadata={"description": "waiting for their retry time"})
    requests = ma.fields.Integer(required=True)


class AudienceSyncAnswerSchema(ma.Schema):
    """A queued sync (``job_id``, ``queued``, ``task``), or a dry run's counts (``results``)."""

    job_id = ma.fields.String()
    queued = ma.fields.Boolean()
    task = ma.fields.String()
    results = ma.fields.List(ma.fields.Nested(AudienceSyncCountsSchema))


class AudienceMembersSchema(ma.Schema):
    """Members by state at one destination."""

    added = ma.fields.Integer(required=True)
    pending_add = ma.fields.Integer(required=True)
    pending_remove = ma.fields.Integer(required=True)
    skipped = ma.fields.Integer(required=True)
    failed = ma.fields.Integer(required=True)


class AudienceSchema(ma.Schema):
    """One destination's audience of the segment."""

    destination = ma.fields.String(required=True)
    kind = ma.fields.String(required=True)
    brand = ma.fields.String(required=True)
    remote_id = ma.fields.String(allow_none=True, required=True)
    synced_at = ma.fields.AwareDateTime(allow_none=True, required=True)
    last_sync = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer(), required=True)
    error = ma.fields.String(allow_none=True, required=True)
    members = ma.fields.Nested(AudienceMembersSchema, required=True)


class AudienceStatusSchema(ma.Schema):
    """The segment's audiences."""

    segment = ma.fields.String(required=True)
    items = ma.fields.List(ma.fields.Nested(AudienceSchema), required=True)


def _segments() -> list[Any]:
    return configured_segments(config())


def _segment(key: str) -> Any:
    """The segment ``key`` (404 naming the ones this token sees), when this token may see its brand (else 403)."""
    segments = _segments()
    if not any(s.key == key for s in segments):
        find_segment(visible_segments(segments), key)  # NotFound: other brands' segment keys are not named
    segment = find_segment(segments, key)
    scoped_brand(config(), getattr(segment, "brand", None) or "default")
    return segment


@blp.route("/segments/<key>/sync")
class SegmentSync(MethodView):
    """A segment's audiences."""

    @requires("viewer", brand_scoped=True)
    @blp.response(200, AudienceStatusSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    def get(self, key: str) -> Any:
        """Per destination: remote id, last sync (time, counts, error), members by state."""
        segment = _segment(key)
        return {"segment": segment.key, "items": audience_status(store(), segment.key)}

    @requires("operator", brand_scoped=True)
    @blp.arguments(AudienceSyncArgs)
    @blp.response(202, AudienceSyncAnswerSchema)
    @blp.alt_response(200, schema=AudienceSyncAnswerSchema, description="a dry run's counts")
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.alt_response(503, response="SERVICE_UNAVAILABLE")
    def post(self, args: dict[str, Any], key: str) -> Any:
        """Queue the segment's audience sync (audit-logged), or with `dry_run` count its changes now."""
        _segment(key)
        if args["dry_run"]:
            results = sync_segments(store(), settings(), _segments(), key=key, destination=args["destination"],
                                    dry_run=True, privacy=config().privacy)
            return {"results": [r.as_dict() for r in results]}, 200
        return request_sync(store(), _segments(), principal(), key, args["destination"], jobs().enqueue)

