"""Bulk API 2.0 query jobs for large full syncs, and their CSV results in the REST record shape.

A job is created with ``POST /jobs/query`` (operation ``queryAll``, so deleted rows arrive
with ``IsDeleted = true``), polled with ``GET /jobs/query/{id}`` at a growing interval
(1 s, 2 s, 4 s ... capped at 30 s, through the injected sleep) until ``JobComplete``, then
read page by page: ``GET /jobs/query/{id}/results?maxRecords=&locator=`` answers CSV and the
``Sforce-Locator`` header of the next page (the text ``null`` after the last one). The
puller keeps the job id and the next locator in its cursor, so a crash resumes at the next
page instead of re-running the job.

CSV carries only text, so ``parse_csv`` rebuilds what the REST API returns from the
object's describe: ``Account.Name`` columns become ``{"Account": {"Name": ...}}`` (``None``
when every column of the relationship is empty, as REST gives ``"Account": null``), empty
cells become ``None``, booleans ``True``/``False``, integers ``int``, doubles / currency /
percent ``float``, datetimes ``2026-03-01T10:15:02.000+0000``. Bulk API 2.0 refuses
``ORDER BY``: the job reads the whole window and the cursor advances only when it is done.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sync.connectors.salesforce.client import SalesforceClient
from sync.errors import PermanentError, TransientError
from sync.http import redact

NO_MORE = "null"  # Sforce-Locator after the last page
INTEGER_TYPES = frozenset({"int", "long"})
FLOAT_TYPES = frozenset({"double", "currency", "percent"})


@dataclass(frozen=True)
class ResultPage:
    """One page of a job's results and the locator of the next page (None after the last)."""

    records: list[dict[str, Any]]
    next_locator: str | None


class BulkQuery:
    """Runs Bulk API 2.0 query jobs through a ``SalesforceClient``."""

    def __init__(self, client: SalesforceClient, *, sleep: Callable[[float], None], page_size: int = 10_000,
                 first_poll: float = 1.0, max_poll: float = 30.0, max_wait: float = 3600.0):
        self.client, self.sleep, self.page_size = client, sleep, page_size
        self.first_poll, self.max_poll, self.max_wait = first_poll, max_poll, max_wait

    def create(self, soql: str) -> str:
        """Start a ``queryAll`` job for ``soql``; its id."""
        body = {"operation": "queryAll", "query": soql, "contentType": "CSV", "columnDelimiter": "COMMA",
                "lineEnding": "LF"}
        job = self.client.request("POST", self.client.data_path("jobs/query"), json=body).json()
        return str(job["id"])

    def wait(self, job_id: str) -> None:
        """Poll until the job is complete; PermanentError when it failed, TransientError after ``max_wait``."""
        waited, interval = 0.0, self.first_poll
        while True:
            job = self.client.get_json(self.client.data_path(f"jobs/query/{job_id}"))
            state = job.get("state")
            if state == "JobComplete":
                return
            if state in ("Failed", "Aborted"):
                reason = redact(str(job.get("errorMessage") or "no reason given"))
                raise PermanentError(f"Salesforce bulk query job {job_id} ended {state}: {reason}")
            if waited >= self.max_wait:
                raise TransientError(f"Salesforce bulk query job {job_id} still {state} after {waited:.0f}s; "
                                     "the next run resumes it")
            self.sleep(interval)
            waited += interval
            interval = min(interval * 2, self.max_poll)

    def results(self, obj: str, job_id: str, locator: str | None) -> ResultPage:
        """The page of results at ``locator`` (the first page when None), parsed into REST-shaped records."""
        params: dict[str, Any] = {"maxRecords": self.page_size}
        if locator:
            params["locator"] = locator
        response = self.client.request("GET", self.client.data_path(f"jobs/query/{job_id}/results"),
                                       params=params, headers={"Accept": "text/csv"})
        text = response.content.decode("utf-8-sig")
        header = next(csv.reader(io.StringIO(text)), [])
        records = parse_csv(text, self.column_types(header, obj))
        following = (response.headers.get("Sforce-Locator") or "").strip()
        return ResultPage(records, None if following in ("", NO_MORE) else following)

    def column_types(self, columns: list[str], obj: str) -> dict[str, str]:
        """Salesforce field type of each CSV column (relationship columns through the parent's describe)."""
        return {column: self.client.field_type(obj, column) or "string" for column in columns}


def convert(value: str, kind: str) -> Any:
    """One CSV cell as REST would give it (see the module docstring)."""
    if value == "":
        return None
    if kind == "boolean":
        return value.lower() == "true"
    try:
        if kind in INTEGER_TYPES:
            return int(value)
        if kind in FLOAT_TYPES:
            return float(value)
    except ValueError:
        return value
    if kind == "datetime" and value.endswith("Z"):
        return value[:-1] + "+0000"
    return value


def parse_csv(text: str, types: dict[str, str]) -> list[dict[str, Any]]:
    """Records of a Bulk API 2.0 CSV result, nested and typed like REST query records."""
    rows = csv.reader(io.StringIO(text))
    header = next(rows, None)
    if not header:
        return []
    paths = [column.split(".") for column in header]
    kinds = [types.get(column, "string") for column in header]
    records = []
    for row in rows:
        if not row:
            continue
        record: dict[str, Any] = {}
        for path, kind, cell in zip(paths, kinds, row, strict=False):
            target = record
            for step in path[:-1]:
                target = target.setdefault(step, {})
            target[path[-1]] = convert(cell, kind)
        records.append(_null_empty_parents(record))
    return records


def _null_empty_parents(record: dict[str, Any]) -> dict[str, Any]:
    """``{"Account": {"Name": None}}`` → ``{"Account": None}``: REST gives null for a missing parent."""
    for key, value in record.items():
        if isinstance(value, dict):
            value = _null_empty_parents(value)
            record[key] = None if all(v is None for v in value.values()) else value
    return record
