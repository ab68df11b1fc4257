"""Job functions for worker tests: they fail the ways real jobs do (imported by rq by name)."""

from __future__ import annotations

from sync.errors import PermanentError, TransientError

attempts: dict[str, int] = {}


def permanent(contact_email: str) -> None:
    raise PermanentError("the vendor rejected the request as sent (HTTP 400)")


def bug(contact_email: str) -> None:
    raise ValueError(f"unexpected value for {contact_email}")  # personal data in a foreign message


def transient(key: str) -> None:
    attempts[key] = attempts.get(key, 0) + 1
    raise TransientError("upstream answered 503")


def flaky(key: str) -> str:
    attempts[key] = attempts.get(key, 0) + 1
    if attempts[key] < 2:
        raise TransientError("upstream answered 503")
    return "ok"


def stopped_at_quota(connection: str) -> dict:
    """A CRM sync's report whose run stopped at its API budget (``sync.crm.pull``)."""
    return {connection: {"source": "hubspot", "objects": {"contact": {"pages": 3, "stopped": "quota"}}}}
