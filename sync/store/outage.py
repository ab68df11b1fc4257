"""The database errors that mean "not now": unreachable, restarting, locked, out of connections.

One list, so that every shell answers them alike: the web app with 503 and ``Retry-After`` (one
log line, no traceback: a PostgreSQL outage would otherwise write a traceback per request), jobs
by retrying. They come wrapped by SQLAlchemy, or raw from the inbox's driver-level fast paths
(psycopg's libpq layer, sqlite3).
"""

from __future__ import annotations

import sqlite3

import psycopg
from sqlalchemy import exc as sa

UNAVAILABLE: tuple[type[BaseException], ...] = (
    sa.OperationalError, sa.InterfaceError, sa.TimeoutError, sa.DisconnectionError,
    psycopg.OperationalError, psycopg.InterfaceError, sqlite3.OperationalError,
)
RETRY_AFTER_SECONDS = 5  # what a sender is asked to wait before delivering again


def is_unavailable(exc: BaseException) -> bool:
    """True when ``exc`` says the database cannot serve now (and a retry later may succeed)."""
    return isinstance(exc, UNAVAILABLE)


def summary(exc: BaseException) -> str:
    """One line naming the error: its type and the first line of the driver's message."""
    inner = getattr(exc, "orig", None) or exc
    first = str(inner).strip().splitlines()[0] if str(inner).strip() else ""
    return f"{type(inner).__name__}: {first}"[:300]
