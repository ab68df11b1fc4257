"""The lifesync error tree.

Every error carries a user-facing message that says what to fix; internal detail (ids,
vendor bodies) goes in attributes, never personal data.

    LifesyncError
    ├── ConfigError            a config or mapping file is invalid (holds every ConfigIssue)
    ├── SettingsError          an environment variable is missing or malformed
    ├── RecordError            one record cannot be processed (goes to the dead-letter table)
    │   ├── MappingError       a field could not be read or transformed
    │   └── ReconcileError     the patch contradicts the configuration (unknown stage, ...)
    └── SyncError              talking to an external system failed (connectors, later)
        ├── AuthError          credentials rejected; refresh then retry once
        ├── RateLimited        429 or a quota header; wait then retry
        ├── TransientError     5xx, timeouts, connection resets; retry with backoff
        ├── PermanentError     the request can never succeed as sent; dead letter
        └── ValidationError    the vendor rejected the payload's content; dead letter
"""

from __future__ import annotations

from dataclasses import dataclass


class LifesyncError(Exception):
    """Base of every error lifesync raises on purpose."""


@dataclass(frozen=True)
class ConfigIssue:
    """One problem in one configuration file: where it is and what was expected."""

    file: str
    path: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        key = f" {self.path}:" if self.path else ""
        return f"{where}:{key} {self.message}"


class ConfigError(LifesyncError):
    """One or more configuration files are invalid; ``issues`` lists every problem."""

    def __init__(self, issues: list[ConfigIssue]):
        self.issues = list(issues)
        super().__init__("\n".join(str(i) for i in self.issues) or "invalid configuration")


class SettingsError(LifesyncError):
    """An environment setting is missing or malformed."""


class RecordError(LifesyncError):
    """A single record cannot be processed; it is dead-lettered with this message."""


class MappingError(RecordError):
    """A mapping could not read or transform a field of a record."""

    def __init__(self, message: str, *, mapping: str = "", field: str = "", record_id: str = ""):
        self.mapping, self.field, self.record_id = mapping, field, record_id
        where = ", ".join(
            p for p in (f"mapping {mapping}" if mapping else "", f"field {field}" if field else "",
                        f"record {record_id}" if record_id else "") if p
        )
        super().__init__(f"{where}: {message}" if where else message)


class ReconcileError(RecordError):
    """A patch contradicts the configuration (e.g. names a stage that is not configured)."""


class SyncError(LifesyncError):
    """Talking to an external system failed."""


class AuthError(SyncError):
    """Credentials were rejected."""


class RateLimited(SyncError):
    """The system asked us to slow down."""

    def __init__(self, message: str, retry_after: float | None = None):
        self.retry_after = retry_after
        super().__init__(message)


class TransientError(SyncError):
    """A failure worth retrying."""


class PermanentError(SyncError):
    """A failure that retrying cannot fix."""


class ValidationError(PermanentError):
    """The external system rejected the payload's content."""
