"""``csv``: an audience written to a CSV file, for any tool without a destination of its own.

Each sync appends one line per change — ``action`` (``add`` / ``remove``), ``contact_id``,
the configured columns, ``at`` (UTC) — so the file is the audience's history and a reader
replays it to get the current members. Options of the segment file's entry:

- ``path``: the file, under ``LIFESYNC_AUDIENCE_CSV_DIR`` (default ``audiences/``), default
  ``<destination name>.csv`` there; a path leaving that directory (absolute, ``..``) is refused,
  as segment files are edited by operators through the API;
- ``columns``: comma-separated, from ``email, phone, first_name, last_name, country, zip`` and
  ``identity:<kind>`` (e.g. ``identity:hubspot``); default ``email,phone``. A member with none
  of them is skipped (unmatchable). The values are written as stored — plain e-mails and
  phones — and kept as the member's keys (``audience_members``), so a removal writes exactly
  what the addition wrote (text a spreadsheet would run as a formula is written with a leading
  ``'``, ``sync.reports.csv_cells``): choose the columns the receiving tool needs and nothing more;
- ``purpose``: the consent purpose members need (default ``marketing_messages``).

``forget`` drops every line of an erased person from the file (``sync.privacy.erasure`` calls it
on any destination that has it, after the removal).
"""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

import requests

from sync.errors import SettingsError
from sync.reports.csv_cells import formula_safe
from sync.segments.destinations.base import (
    Audience,
    AudienceDestinationConfig,
    AudienceMember,
    Entry,
    MemberResult,
    Unmatchable,
)
from sync.settings import Settings

VALUES = ("email", "phone", "first_name", "last_name", "country", "zip")
DEFAULT_COLUMNS = "email,phone"
PURPOSES = ("marketing_messages", "marketing_email", "ad_user_data")  # privacy.yaml's default purposes that fit a file
OPTIONS = ("path", "columns", "purpose", "connection")


class CsvDestination:
    """Appends each batch's changes to one CSV file (no network)."""

    kind: ClassVar[str] = "csv"
    max_batch: ClassVar[int] = 10_000
    purpose: str = "marketing_messages"

    def __init__(self, config: AudienceDestinationConfig, session: requests.Session | None = None):
        self.config = config
        self.path = Path(config.options["path"])
        self.columns = [c.strip() for c in config.options.get("columns", DEFAULT_COLUMNS).split(",") if c.strip()]
        self.purpose = config.options.get("purpose", "marketing_messages")

    @classmethod
    def from_settings(cls, name: str, options: Mapping[str, str], settings: Settings) -> AudienceDestinationConfig:
        """The file and columns of ``options``; ``SettingsError`` naming the destination and the option."""
        unknown = sorted(set(options) - set(OPTIONS))
        if unknown:
            raise SettingsError(f"audience destination {name!r} (csv): unknown option(s) {unknown}; "
                                f"expected some of {list(OPTIONS)}")
        columns = [c.strip() for c in str(options.get("columns", DEFAULT_COLUMNS)).split(",") if c.strip()]
        bad = [c for c in columns if c not in VALUES and not (c.startswith("identity:") and len(c) > 9)]
        if not columns or bad:
            raise SettingsError(f"audience destination {name!r} (csv): columns {bad or columns!r} not allowed; "
                                f"expected a comma-separated list of {list(VALUES)} or identity:<kind>")
        purpose = str(options.get("purpose", "marketing_messages"))
        if purpose not in PURPOSES:
            raise SettingsError(f"audience destination {name!r} (csv): purpose {purpose!r}; expected one of "
                                f"{list(PURPOSES)}")
        folder = Path(settings.connection_setting("audience", "csv_dir") or "audiences")
        raw = str(options.get("path") or f"{name}.csv")
        if "\x00" in raw:
            raise SettingsError(f"audience destination {name!r} (csv): path may not contain NUL")
        path = folder / raw
        if Path(raw).is_absolute() or not path.resolve().is_relative_to(folder.resolve()):
            # a segment file is an operator's edit: it may not name a file elsewhere on the server
            raise SettingsError(f"audience destination {name!r} (csv): path {raw[:200]!r} leaves "
                                f"LIFESYNC_AUDIENCE_CSV_DIR; expected a file name under it, e.g. {name}.csv")
        return AudienceDestinationConfig(name=name, kind=cls.kind, base_url=path.resolve().as_uri(), api_version="1",
                                         options={"path": str(path), "columns": ",".join(columns),
                                                  "purpose": purpose})

    def keys(self, member: AudienceMember) -> dict[str, Any]:
        """The contact id and the configured columns' values (the first e-mail / phone)."""
        values: dict[str, Any] = {}
        for column in self.columns:
            if column.startswith("identity:"):
                value = member.identity(column.split(":", 1)[1])
            elif column in ("email", "phone"):
                found = member.emails if column == "email" else member.phones
                value = found[0] if found else None
            else:
                value = getattr(member, column)
            values[column] = value
        if not any(v not in (None, "") for v in values.values()):
            raise Unmatchable(f"no {' or '.join(self.columns)} to write")
        return {"contact_id": member.contact_id, **values}

    def ensure(self, audience: Audience) -> str:
        """The file (created with its header line when missing); its path is the remote id."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if not self.path.exists():
            with self.path.open("w", newline="", encoding="utf-8") as out:
                csv.writer(out).writerow(["action", "contact_id", *self.columns, "at"])
        return str(self.path)

    def add(self, remote_id: str, entries: Sequence[Entry]) -> list[MemberResult]:
        """Append an ``add`` line per entry."""
        return self._write(remote_id, "add", entries)

    def remove(self, remote_id: str, entries: Sequence[Entry]) -> list[MemberResult]:
        """Append a ``remove`` line per entry (the keys the addition wrote)."""
        return self._write(remote_id, "remove", entries)

    def _write(self, remote_id: str, action: str, entries: Sequence[Entry]) -> list[MemberResult]:
        at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        with Path(remote_id).open("a", newline="", encoding="utf-8") as out:
            write = csv.writer(out).writerow
            for e in entries:
                write([action, e.keys.get("contact_id", e.contact_id), *(_cell(e.keys.get(c)) for c in self.columns),
                       at])
        return [MemberResult(e.contact_id, "done") for e in entries]


    def forget(self, remote_id: str, contact_ids: Sequence[int]) -> int:
        """Rewrite the file without any line of ``contact_ids`` (an erased person: ``sync.privacy.erasure``).

        The file is the audience's history, so its removal line still holds the person's values;
        this drops every line of theirs. Returns the lines dropped.
        """
        path = Path(remote_id)
        if not path.exists():
            return 0
        gone = {str(c) for c in contact_ids}
        with path.open(newline="", encoding="utf-8") as src:
            rows = list(csv.reader(src))
        kept = [r for n, r in enumerate(rows) if n == 0 or len(r) < 2 or r[1] not in gone]
        temp = path.with_name(path.name + ".forget")
        with temp.open("w", newline="", encoding="utf-8") as out:
            csv.writer(out).writerows(kept)
        temp.replace(path)
        return len(rows) - len(kept)


def _cell(value: Any) -> Any:
    """A key's value as its cell: none empty, text never a formula."""
    if value is None:
        return ""
    return formula_safe(value) if isinstance(value, str) else value


DESTINATION = CsvDestination
