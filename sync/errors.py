"""The lifesync error tree.

Every error carries a user-facing message that says what to fix; internal detail (ids,
vendor bodies) goes in declared attributes, never personal data.

    LifesyncError
    ├── ConfigError            a config or mapping file is invalid (holds every ConfigIssue)
    ├── SettingsError          an environment variable is missing or malformed (variable)
    ├── RequestError           an ops request (API, console, CLI) cannot be done as asked (status)
    │   ├── NotFound           what it names does not exist (404)
    │   │   └── RevisionError  a config revision cannot be made: unknown document or revision (document)
    │   │       └── RevisionConflict  the document changed since the edit's base revision (base, latest; 409)
    │   ├── Conflict           it contradicts the current state (409)
    │   └── Invalid            its input is wrong; ``errors`` says where (422)
    ├── RecordError            one record cannot be processed (goes to the dead-letter table)
    │   ├── MappingError       a field could not be read or transformed (mapping, field, record_id)
    │   └── ReconcileError     the patch contradicts the configuration (unknown stage, ...)
    └── SyncError              talking to an external system failed; context: status, retry_after,
        │                      vendor_code, vendor_message, and for batch refusals bisect, located
        ├── AuthError          credentials rejected; refresh then retry once
        ├── RateLimited        429 or a quota header; wait then retry (sent: False when paused before sending)
        ├── TransientError     5xx, timeouts, connection resets; retry with backoff
        └── PermanentError     the request can never succeed as sent; dead letter
            └── ValidationError  the vendor rejected the payload's content; dead letter

``SyncError``'s context is filled in by the HTTP layer (``sync.http.errors.classify``) from the
response: the HTTP ``status``, the seconds a ``Retry-After`` (or the vendor) asked to wait, and the
vendor's own error code and message (redacted). A batch refusal (the ad networks) also says
whether it is about one event's content (``bisect``: split the batch to find it) and which
events the vendor named (``located``: {index in the batch: message}).
"""

from __future__ import annotations

from collections.abc import Mapping
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
    """An environment setting is missing or malformed; ``variable`` names it when one is to blame."""

    def __init__(self, message: str, *, variable: str | None = None):
        super().__init__(message)
        self.variable = variable


class RequestError(LifesyncError):
    """An ops request cannot be done as asked; ``status`` is the HTTP status the API answers with."""

    status = 400

    def __init__(self, message: str, errors: Mapping[str, object] | None = None):
        self.message = message
        self.errors = dict(errors or {})
        super().__init__(message)

    def __str__(self) -> str:
        details = "; ".join(f"{where}: {what}" for where, what in self.errors.items())
        return f"{self.message} ({details})" if details else self.message


class NotFound(RequestError):
    """What the request names does not exist."""

    status = 404


class Conflict(RequestError):
    """The request contradicts the current state (e.g. an edit based on a revision that is no longer the latest)."""

    status = 409


class Invalid(RequestError):
    """The request's input is wrong; ``errors`` maps each field to what was expected."""

    status = 422


class RevisionError(NotFound):
    """A configuration revision cannot be read or made; ``document`` names the document when one is to blame."""

    def __init__(self, message: str, *, document: str = ""):
        super().__init__(message)
        self.document = document


class RevisionConflict(RevisionError, Conflict):
    """An edit was based on revision ``base`` (None: the baseline file) but the document is now at ``latest``."""

    status = 409

    def __init__(self, document: str, base: int | None, latest: int | None):
        def name(rev: int | None) -> str:
            return "the baseline file" if rev is None else f"revision {rev}"

        super().__init__(f"{document} changed since the edit began: it was based on {name(base)}, the document "
                         f"is now at {name(latest)}; read it again and reapply the change", document=document)
        self.base, self.latest = base, latest


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
    """Talking to an external system failed.

    The context is keyword-only and optional, so ``SyncError("message")`` still works:
    ``status`` (HTTP status, None when no answer came), ``retry_after`` (seconds to wait before
    trying again, when known), ``vendor_code`` and ``vendor_message`` (the vendor's own code and
    explanation, redacted), ``bisect`` (a batch refusal about one event's content) and ``located``
    ({index in the batch: the vendor's message} for the events it named).
    """

    def __init__(self, message: str, *, status: int | None = None, retry_after: float | None = None,
                 vendor_code: str = "", vendor_message: str = "", bisect: bool = False,
                 located: Mapping[int, str] | None = None):
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after
        self.vendor_code = vendor_code
        self.vendor_message = vendor_message
        self.bisect = bisect
        self.located: dict[int, str] = dict(located or {})


class AuthError(SyncError):
    """Credentials were rejected."""


class RateLimited(SyncError):
    """The system asked us to slow down.

    ``sent`` is False on a subclass whose request was never sent (paused before sending), so
    nothing failed and no attempt is counted.
    """

    sent: bool = True

    def __init__(self, message: str, retry_after: float | None = None, *, status: int | None = None,
                 vendor_code: str = "", vendor_message: str = "", bisect: bool = False,
                 located: Mapping[int, str] | None = None):
        super().__init__(message, status=status, retry_after=retry_after, vendor_code=vendor_code,
                         vendor_message=vendor_message, bisect=bisect, located=located)


class TransientError(SyncError):
    """A failure worth retrying."""


class PermanentError(SyncError):
    """A failure that retrying cannot fix."""


class ValidationError(PermanentError):
    """The external system rejected the payload's content."""
