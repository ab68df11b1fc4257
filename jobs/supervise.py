"""Keep ``lifesync worker`` and ``lifesync scheduler`` running through Redis and PostgreSQL outages.

rq's worker loop survives Redis going away only while it waits for a job: any Redis call
elsewhere (finishing a job, its heartbeat, the suspension check between jobs, registering
its death) ends ``Worker.work`` with "found an unhandled exception, quitting", and rq's cron
scheduler lets the ``ConnectionError`` out of ``CronScheduler.start``. Without a process
supervisor a Redis restart stopped every worker for good.

``run_supervised`` runs such a loop again after it ends on an outage, waiting between tries
with capped exponential backoff (1, 2, 4 … 30 s) until the service answers, and logs one line
per attempt. A loop that ends because it was asked to (SIGTERM, Ctrl-C) ends the process; so
does a stop signal during a wait. A process supervisor (``deploy/``) still restarts a process
that exits for any other reason.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from typing import Any

import psycopg
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import OperationalError

from sync.http.redact import redact

log = logging.getLogger(__name__)

OUTAGES: tuple[type[BaseException], ...] = (RedisConnectionError, RedisTimeoutError, OperationalError,
                                            psycopg.OperationalError)
FIRST_WAIT, MAX_WAIT = 1.0, 30.0


def describe(exc: BaseException) -> str:
    """One line naming an outage (no credentials: URLs and tokens redacted)."""
    return redact(f"{type(exc).__name__}: {exc}".splitlines()[0])[:300]


def run_supervised(run_once: Callable[[], bool], name: str, ping: Callable[[], Any], *,
                   first: float = FIRST_WAIT, cap: float = MAX_WAIT,
                   clock: Callable[[], float] = time.monotonic) -> None:
    """Call ``run_once`` until it returns True (it stopped on request), reconnecting after outages.

    ``run_once`` returns False, or raises one of ``OUTAGES``, when its loop died; ``ping``
    raises one of ``OUTAGES`` while the service is still away. A loop that had run for longer
    than ``cap`` starts again from the shortest wait.
    """
    stop = threading.Event()
    wait, attempt = first, 0
    while True:
        started = clock()
        try:
            if run_once():
                return
            reason = "its loop ended on an error (logged above)"
        except OUTAGES as exc:
            reason = describe(exc)
        if clock() - started > cap:
            wait, attempt = first, 0
        while True:
            attempt += 1
            log.warning("%s: %s; reconnecting in %g s (attempt %d)", name, reason, wait, attempt)
            if _wait_or_stop(stop, wait):
                log.info("%s: stop requested while reconnecting", name)
                return
            wait = min(wait * 2, cap)
            try:
                ping()
            except OUTAGES as exc:
                reason = describe(exc)
                continue
            log.warning("%s: reconnected after %d attempt(s)", name, attempt)
            break


def _wait_or_stop(stop: threading.Event, seconds: float) -> bool:
    """Wait ``seconds``; True when SIGTERM or SIGINT came meanwhile (the loop's own handlers are not running)."""
    if threading.current_thread() is not threading.main_thread():
        return stop.wait(seconds)
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        return stop.wait(seconds)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
