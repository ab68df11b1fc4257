"""``schedule.yaml``: which jobs lifesync runs on its own, and when.

    jobs:
      inbox-sweep:
        task: sweep_inbox        # one of TASKS
        every: 60                # seconds; or
        # cron: "0 * * * *"      # a cron expression (minute hour day month weekday, scheduler's local time)
        queue: maintenance       # optional, default maintenance
        timeout: 600             # optional, seconds a run may take (default 600)
        enabled: true            # optional

A project directory's ``schedule.yaml`` replaces the bundled one as a whole. Validation
reports every problem with file, key path and line, like lifecycle.yaml.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from croniter import croniter
from marshmallow import ValidationError, fields, post_load, validate, validates_schema

from sync.config.bundled import BUNDLED_CONFIG_DIR, effective_file, issues_of, load_effective
from sync.config.schema_fields import MappingOf, Strict, one_of, text_field
from sync.config.yamlload import validated
from sync.errors import ConfigIssue

SCHEDULE_FILE = "schedule.yaml"
# names a schedule may run; jobs.schedule maps each to its job function
TASKS = ("sweep_inbox", "stale_leads", "first_response", "dispatch_pushes", "sync_hubspot", "sync_salesforce",
         "dispatch_crm_pushes", "dispatch_conversions", "resolve_ad_names", "check_alerts", "scan_duplicates",
         "segments_incremental", "segments_full", "sync_audiences", "purge_personal_data")
QUEUES = ("ingest", "sync", "dispatch", "maintenance")  # == jobs.queues.QUEUES (tested)


@dataclass(frozen=True)
class ScheduledJob:
    """One schedule entry: run ``task`` on ``queue`` every ``every`` seconds or on ``cron``."""

    name: str
    task: str
    every: int | None = None
    cron: str | None = None
    queue: str = "maintenance"
    timeout: int = 600
    enabled: bool = True


def _cron_check(value: str) -> None:
    if not croniter.is_valid(value):
        raise ValidationError(f"'{value}' is not a cron expression; expected five fields "
                              "(minute hour day month weekday), e.g. \"*/10 * * * *\"")


def _whole(low: int, high: int, what: str) -> fields.Integer:
    return fields.Integer(strict=True, load_default=None, validate=validate.Range(
        min=low, max=high, error=f"expected {what} between {low} and {high}"),
        error_messages={"invalid": f"expected a whole number of {what}"})


class _JobSchema(Strict):
    task = text_field(required=True, validate=one_of(TASKS, "task"))
    every = _whole(1, 7 * 86400, "seconds")
    cron = text_field(load_default=None, validate=_cron_check)
    queue = text_field(load_default="maintenance", validate=one_of(QUEUES, "queue"))
    timeout = _whole(1, 86400, "seconds")
    enabled = fields.Boolean(load_default=True, truthy={True}, falsy={False},
                             error_messages={"invalid": "expected true or false"})

    @validates_schema
    def _when(self, data: dict[str, Any], **kwargs: Any) -> None:
        if (data.get("every") is None) == (data.get("cron") is None):
            raise ValidationError("give exactly one of every (seconds) or cron (an expression)")

    @post_load
    def _build(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        return {**data, "timeout": data["timeout"] or 600}


class ScheduleSchema(Strict):
    """The whole schedule.yaml file."""

    jobs = MappingOf(fields.Nested(_JobSchema, error_messages={
        "null": "expected settings such as {{task: sweep_inbox, every: 60}}"}), required=True)


def schedule_path(project_dir: Path | None, bundled_dir: Path) -> Path:
    """The project's schedule.yaml when it has one, else the bundled one."""
    return effective_file(SCHEDULE_FILE, project_dir, bundled_dir)


def parse_schedule(data: Any, file: str, lines: Mapping[str, int]) -> tuple[ScheduledJob, ...]:
    """Validate schedule.yaml data; raise ConfigError listing every issue."""
    loaded = validated(ScheduleSchema(), data, file, lines, "jobs")
    return tuple(ScheduledJob(name=name, **spec) for name, spec in loaded["jobs"].items())


def load_schedule(project_dir: Path | None, bundled_dir: Path | None = None) -> tuple[ScheduledJob, ...]:
    """The effective schedule (every entry, enabled or not); raises ConfigError."""
    return load_effective(SCHEDULE_FILE, project_dir, bundled_dir or BUNDLED_CONFIG_DIR, parse_schedule, ())


def schedule_issues(project_dir: Path | None, bundled_dir: Path) -> list[ConfigIssue]:
    """Every problem in the effective schedule.yaml ([] when valid or absent)."""
    return issues_of(lambda: load_schedule(project_dir, bundled_dir))


def next_run_at(entry: ScheduledJob, now: datetime, last_started: datetime | None = None) -> datetime | None:
    """When ``entry`` runs next, if that can be known here: a cron entry's next match after ``now`` (in local
    time, as rq reads it); an interval entry's ``last_started`` plus its interval (None without a last run).
    """
    if entry.cron:
        return croniter(entry.cron, now.astimezone()).get_next(datetime)
    return last_started + timedelta(seconds=entry.every or 0) if last_started else None
