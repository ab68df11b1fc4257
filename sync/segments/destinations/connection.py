"""What the CRM and messaging destinations share: their connection's settings, and a failed call's outcome.

A CRM or messaging destination talks through the connector lifesync already has for that
vendor (its client, auth with token refresh, rate-limit handling, retries and error table), so
it names a *connection* (``connection:`` in the segment file, ``default`` when absent) rather
than credentials of its own. ``connection_env`` copies that connection's variables (its own
``…__<NAME>`` ones, and the default's where the setting falls back) into the destination's
``credentials``; ``connection_settings`` turns them back into ``Settings`` when the destination
is built, so the connector's own ``from_settings``-style constructors make the client.

``outcome`` turns an exception a whole request raised into one ``MemberResult`` per entry:

    RateLimited, TransientError   retry (the vendor asked to slow down, or was unavailable)
    AuthError                     retry: the credentials were refused; fixing them makes the same
                                  request succeed, so nothing is dead-lettered for it
    any other SyncError           failed, with the vendor's message (already redacted)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sync.errors import AuthError, RateLimited, SettingsError, SyncError, TransientError
from sync.segments.destinations.base import Entry, MemberResult
from sync.settings import ConnectionSettings, Settings, _variables

MAX_REASON = 300


def connection_of(name: str, options: Mapping[str, str]) -> str:
    """The ``connection`` option (``default`` when absent), checked to be a connection name."""
    connection = str(options.get("connection") or "default").strip().lower()
    if not connection.replace("_", "").isalnum():
        raise SettingsError(f"audience destination {name!r}: connection must be letters, digits and _, "
                            f"got {connection!r}")
    return connection


def check_options(name: str, kind: str, options: Mapping[str, str], known: frozenset[str]) -> None:
    """``SettingsError`` naming the destination and each option it does not know."""
    unknown = sorted(set(options) - known)
    if unknown:
        raise SettingsError(f"audience destination {name!r} ({kind}): unknown option(s) {', '.join(unknown)}; "
                            f"expected {', '.join(sorted(known))}")


def connection_env(block: type[ConnectionSettings], settings: Settings, connection: str) -> dict[str, str]:
    """The variables ``block`` reads for ``connection`` (unset ones left out), under the connection's own names."""
    found: dict[str, str] = {}
    for field, spec in _variables(block).items():
        _, raw = spec.read(settings, connection)
        if raw is not None:
            found[block.variable(field, connection)] = raw
    return found


def connection_settings(credentials: Mapping[str, str]) -> Settings:
    """``Settings`` holding only ``credentials`` (what ``connection_env`` copied), for the connector's constructors."""
    return Settings.from_env(dict(credentials))


def option(name: str, options: Mapping[str, str], key: str) -> str | None:
    """The option ``key`` stripped, or None when absent or blank."""
    value = options.get(key)
    text = str(value).strip() if value is not None else ""
    return text or None


def reason_of(exc: SyncError) -> str:
    """A short reason for a member's result (the error's message, which the HTTP layer redacted)."""
    return " ".join(str(exc).split())[:MAX_REASON]


def outcome(entries: Sequence[Entry], exc: SyncError) -> list[MemberResult]:
    """One result per entry for a request that failed as a whole (see the module's table)."""
    retry = isinstance(exc, (RateLimited, TransientError, AuthError))
    return [MemberResult(e.contact_id, "retry" if retry else "failed", reason_of(exc)) for e in entries]
