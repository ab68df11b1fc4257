"""Bulk API 2.0 query jobs for the Salesforce sandbox: create, poll, read CSV results by locator.

A job runs its query when it is created (one snapshot, like a REST query) but reports
``InProgress`` on its first poll and ``JobComplete`` after, so a client has to poll. Results are
RFC 4180 CSV with every value quoted (as Salesforce writes them), relationship columns named
``Account.Name``, nulls as empty strings and datetimes in ``2026-11-27T10:00:00.000Z`` form.
Locators are opaque (base64 of the next offset, as Salesforce's look); ``Sforce-Locator`` is the
string ``null`` on the last page.
"""

from __future__ import annotations

import base64
import binascii
import csv
import io
import random
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sync.sandbox.salesforce.query import QueryEngine
from sync.sandbox.salesforce.records import ApiError
from sync.sandbox.salesforce.schema import OWNER_ID, format_datetime
from sync.sandbox.salesforce.soql import Query
from sync.sandbox.salesforce.soql_eval import Row

DEFAULT_MAX_RECORDS = 50_000


@dataclass
class QueryJob:
    """One Bulk API 2.0 query job."""

    id: str
    operation: str
    query: Query
    created: datetime
    version: str
    rows: list[Row]
    polls: int = 0
    state: str = "UploadComplete"
    extra: dict[str, Any] = field(default_factory=dict)

    def info(self) -> dict[str, Any]:
        """The job-info body."""
        body = {"id": self.id, "operation": self.operation, "object": self.query.sobject,
                "createdById": OWNER_ID, "createdDate": format_datetime(self.created),
                "systemModstamp": format_datetime(self.created), "state": self.state,
                "concurrencyMode": "Parallel", "contentType": "CSV", "apiVersion": float(self.version[1:]),
                "lineEnding": "LF", "columnDelimiter": "COMMA"}
        body.update(self.extra)
        return body


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return format_datetime(value).replace("+0000", "Z")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def encode_locator(offset: int) -> str:
    """The opaque locator of the page starting at ``offset``."""
    return base64.b64encode(str(offset).encode()).decode().rstrip("=")


def decode_locator(locator: str) -> int:
    """The offset a locator stands for; ``ApiError`` when it is not one of ours."""
    try:
        text = base64.b64decode(locator + "=" * (-len(locator) % 4), validate=True).decode()
        return int(text)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ApiError(400, "INVALIDLOCATOR", f"Invalid locator: {locator}") from None


class BulkQueries:
    """The query jobs of one sandbox; the caller holds the lock."""

    def __init__(self, engine: QueryEngine, rng: random.Random) -> None:
        self.engine, self.rng = engine, rng
        self.jobs: dict[str, QueryJob] = {}

    def create(self, body: Any, version: str) -> dict[str, Any]:
        """``POST /jobs/query``: validate, run the query, answer the job info (UploadComplete)."""
        if not isinstance(body, dict) or not isinstance(body.get("query"), str):
            raise ApiError(400, "INVALIDJOB", "The query job needs a 'query' string")
        operation = body.get("operation", "query")
        if operation not in ("query", "queryAll"):
            raise ApiError(400, "INVALIDJOB", f"Invalid operation: {operation}; use query or queryAll")
        query = self.engine.compile(body["query"])
        if query.count:
            raise ApiError(400, "INVALIDJOB", "Bulk API 2.0 does not support aggregate queries such as COUNT()")
        rows = self.engine.snapshot(query, include_deleted=operation == "queryAll")
        job_id = "7505g0000" + "".join(self.rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ23456789") for _ in range(6))
        job = QueryJob(job_id + "AAA", operation, query, self.engine.store.now(), version, rows)
        self.jobs[job.id] = job
        return job.info()

    def job(self, job_id: str) -> QueryJob:
        """A job by id, or Salesforce's 404."""
        job = self.jobs.get(job_id)
        if job is None:
            raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")
        return job

    def poll(self, job_id: str) -> dict[str, Any]:
        """``GET /jobs/query/{id}``: InProgress on the first poll, JobComplete afterwards."""
        job = self.job(job_id)
        if job.state in ("UploadComplete", "InProgress"):
            job.polls += 1
            job.state = "InProgress" if job.polls == 1 else "JobComplete"
        if job.state == "JobComplete":
            job.extra = {"numberRecordsProcessed": len(job.rows), "retries": 0, "totalProcessingTime": 42,
                         "jobType": "V2Query"}
        return job.info()

    def abort(self, job_id: str) -> dict[str, Any]:
        """``PATCH /jobs/query/{id}`` with ``{"state": "Aborted"}``."""
        job = self.job(job_id)
        if job.state == "JobComplete":
            raise ApiError(400, "INVALIDJOB", "Job is already complete and cannot be aborted")
        job.state = "Aborted"
        return job.info()

    def delete(self, job_id: str) -> None:
        """``DELETE /jobs/query/{id}``."""
        self.job(job_id)
        del self.jobs[job_id]

    def results(self, job_id: str, version: str, *, locator: str | None, max_records: str | None,
                ) -> tuple[str, dict[str, str]]:
        """``GET /jobs/query/{id}/results``: one page of CSV and its ``Sforce-*`` headers."""
        job = self.job(job_id)
        if version != job.version:
            raise ApiError(409, "INVALIDJOB", f"Use API version {job.version} to read this job's results")
        if job.state != "JobComplete":
            raise ApiError(400, "INVALIDJOB", f"Job {job_id} is not complete (state {job.state})")
        limit = DEFAULT_MAX_RECORDS
        if max_records is not None:
            if not max_records.isdigit() or int(max_records) < 1:
                raise ApiError(400, "INVALIDJOB", f"maxRecords must be a positive integer, not {max_records}")
            limit = int(max_records)
        start = decode_locator(locator) if locator else 0
        if start > len(job.rows):
            raise ApiError(400, "INVALIDLOCATOR", f"Invalid locator: {locator}")
        rows = job.rows[start:start + limit]
        buffer = io.StringIO()
        writer = csv.writer(buffer, quoting=csv.QUOTE_ALL, lineterminator="\n")
        writer.writerow([ref.path for ref in job.query.fields])
        for row in rows:
            writer.writerow([_csv_value(self.engine.get(row, ref)) for ref in job.query.fields])
        end = start + len(rows)
        headers = {"Sforce-Locator": encode_locator(end) if end < len(job.rows) else "null",
                   "Sforce-NumberOfRecords": str(len(rows))}
        return buffer.getvalue(), headers
