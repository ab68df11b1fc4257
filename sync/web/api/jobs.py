"""``GET /api/jobs``: queue depths, the running, queued, failed and scheduled jobs, and the schedule.

The queues are read through the job system the process wired in (``jobs.web.RqJobs``: rq's
registries, on Redis or the embedded store); the schedule is ``schedule.yaml`` with each cron
entry's next run.
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask.views import MethodView

from sync.config.schedule import load_schedule, next_run_at
from sync.store.model import utcnow
from sync.web.api.auth import requires
from sync.web.api.blueprint import Blueprint
from sync.web.api.context import jobs, settings
from sync.web.api.schemas import MAX_LIMIT

blp = Blueprint("jobs", __name__, description="Queues, jobs and the schedule")


class QueueSchema(ma.Schema):
    """One queue's depth and registries."""

    name = ma.fields.String(required=True)
    queued = ma.fields.Integer(required=True)
    running = ma.fields.Integer(required=True)
    failed = ma.fields.Integer(required=True)
    scheduled = ma.fields.Integer(required=True, metadata={"description": "retries waiting for their time"})
    deferred = ma.fields.Integer(required=True)


class JobSchema(ma.Schema):
    """One job (never its arguments)."""

    id = ma.fields.String(required=True)
    func = ma.fields.String(required=True)
    queue = ma.fields.String(required=True)
    status = ma.fields.String(required=True)
    schedule = ma.fields.String(allow_none=True, required=True, metadata={"description": "the schedule entry"})
    enqueued_at = ma.fields.AwareDateTime(allow_none=True, required=True)
    started_at = ma.fields.AwareDateTime(allow_none=True, required=True)
    ended_at = ma.fields.AwareDateTime(allow_none=True, required=True)
    scheduled_for = ma.fields.AwareDateTime(allow_none=True, required=True)
    retries_left = ma.fields.Integer(allow_none=True, required=True)
    error = ma.fields.String(allow_none=True, required=True, metadata={"description": "a failed job's error"})


class ScheduleEntrySchema(ma.Schema):
    """One schedule.yaml entry."""

    name = ma.fields.String(required=True)
    task = ma.fields.String(required=True)
    queue = ma.fields.String(required=True)
    every = ma.fields.Integer(allow_none=True, required=True)
    cron = ma.fields.String(allow_none=True, required=True)
    enabled = ma.fields.Boolean(required=True)
    next_run_at = ma.fields.AwareDateTime(allow_none=True, required=True,
                                          metadata={"description": "a cron entry's next run"})


class JobsSchema(ma.Schema):
    """The job system's state."""

    queues = ma.fields.List(ma.fields.Nested(QueueSchema), required=True)
    queued = ma.fields.List(ma.fields.Nested(JobSchema), required=True)
    running = ma.fields.List(ma.fields.Nested(JobSchema), required=True)
    failed = ma.fields.List(ma.fields.Nested(JobSchema), required=True, metadata={"description": "newest first"})
    scheduled = ma.fields.List(ma.fields.Nested(JobSchema), required=True)
    schedule = ma.fields.List(ma.fields.Nested(ScheduleEntrySchema), required=True)


class JobsArgs(ma.Schema):
    """How many jobs of each list."""

    limit = ma.fields.Integer(load_default=50, validate=ma.validate.Range(1, MAX_LIMIT))


@blp.route("/jobs")
class Jobs(MethodView):
    """The queues."""

    @requires("viewer")
    @blp.arguments(JobsArgs, location="query")
    @blp.response(200, JobsSchema)
    @blp.alt_response(503, response="SERVICE_UNAVAILABLE")
    def get(self, args: dict[str, Any]) -> Any:
        """Queue depths; queued, running, failed and scheduled jobs (`limit` of each); the schedule."""
        now = utcnow()
        schedule = [{"name": e.name, "task": e.task, "queue": e.queue, "every": e.every, "cron": e.cron,
                     "enabled": e.enabled, "next_run_at": next_run_at(e, now) if e.enabled else None}
                    for e in load_schedule(settings().config_dir)]
        return {**jobs().overview(args["limit"]), "schedule": schedule}
