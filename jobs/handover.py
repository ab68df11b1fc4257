"""How stored webhook events reach a drain job, with few Redis calls per request.

The inbox table is the queue: every event a receiver stored is ``received`` until a drain
job processes it. Redis only carries a nudge — "a drain job is queued" (``DRAIN_FLAG``) plus
that job — and a web process nudges at most once per ``SETTLE`` seconds, not once per
request, so a webhook costs one database round trip and, mostly, no Redis round trip.

Why no event is left behind: a web process that skips its nudge does so within ``SETTLE``
of a nudge it sent at ``t0``. That nudge found or set the flag, so a drain job clears the
flag at some ``t1 > t0``, and a drain keeps looking for ``received`` events until at least
``t1 + SETTLE``. Every event stored in the skip window was committed before ``t0 + SETTLE
< t1 + SETTLE``, so that drain's last look sees it. Drains take turns under a Redis lock
(a waiting drain clears the flag only once it holds the lock), so two never process the
same events at once. If a nudge fails or a drain job is lost, the events stay ``received``
and the sweeper (``jobs.tasks.sweep_inbox``) queues a drain for them.

The lock is a lease (``jobs.lease``): a killed drain's turn ends within ``lease.TTL`` seconds,
and a drain waiting for its turn takes it over at once; a drain whose lease lapsed under it
stops at its next commit, before processing anything more.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from redis import Redis
from redis.exceptions import LockError

from jobs import lease
from sync.ingest import inbox
from sync.store.engine import Store

DRAIN_FLAG = "lifesync:inbox:drain-queued"  # set while a drain job is queued and has not started
DRAIN_FLAG_TTL = 300  # seconds: a lost drain job does not hold back the next one for longer
DRAIN_LOCK = "lifesync:lock:inbox:drain"
SETTLE = 0.25  # seconds: a web process nudges at most this often; a drain looks this long after it starts
POLL = 0.05  # seconds between a settling drain's looks
BUDGET = 60.0  # seconds a drain job processes before it hands the rest to a successor
TURN_WAIT = BUDGET + 2 * lease.TTL  # seconds a drain waits for its turn: a running drain's budget, its last batch
JOB_TIMEOUT = int(TURN_WAIT + BUDGET) + 60  # waiting for the turn, then the budget, then the last batch

log = logging.getLogger(__name__)


def nudge(connection: Redis, *, force: bool = False) -> bool:
    """Make sure a drain job is queued; True when this call queued one.

    Without ``force`` a job is queued only when none is waiting (the flag was absent). The
    sweeper and a drain that ran out of budget force one: the flag may belong to a lost job.
    """
    if not connection.set(DRAIN_FLAG, "1", nx=not force, ex=DRAIN_FLAG_TTL):
        return False  # a drain is already waiting
    from jobs.queues import INGEST, RETRY, queue

    queue(INGEST, connection).enqueue_call("jobs.tasks.drain_inbox", retry=RETRY, result_ttl=600,
                                           failure_ttl=7 * 86400, timeout=JOB_TIMEOUT)
    return True


def drain_leftovers(connection: Redis, store: Store) -> bool:
    """Queue a drain when events are ``received`` (stored before a crash or a restart); True when one was queued.

    ``lifesync serve`` and every worker call it as they start, so those events are processed
    at once rather than when the sweeper next looks.
    """
    if not inbox.received(store, 1):
        return False
    nudge(connection, force=True)
    return True


class Nudger:
    """A web process's side: nudge after storing events, at most once per ``interval`` seconds.

    The time is taken before the nudge is sent, so the skip window ends no later than
    ``interval`` after the flag was seen set (see the module docstring). A failed nudge
    leaves the window closed: the next request tries again.
    """

    def __init__(self, connection: Redis, interval: float = SETTLE, clock: Callable[[], float] = time.monotonic):
        self.connection, self.interval, self.clock = connection, interval, clock
        self.last: float | None = None

    def __call__(self, ids: Sequence[int]) -> bool:
        """Hand over newly stored events (redeliveries bring no ids and no nudge)."""
        if not ids:
            return False
        now = self.clock()
        if self.last is not None and now - self.last < self.interval:
            return False
        self.last = None
        queued = nudge(self.connection)
        self.last = now
        return queued


@contextmanager
def drain_turn(connection: Redis, wait: float = TURN_WAIT) -> Iterator[lease.Lease]:
    """Hold the drain's lease (waiting up to ``wait`` seconds for a running drain), then clear the flag.

    Raises redis's ``LockError`` when the turn does not come in time (the job is retried).
    Every commit inside the turn is fenced by the lease (``jobs.lease.held``).
    """
    turn = lease.acquire(connection, DRAIN_LOCK, wait)
    if turn is None:
        raise LockError(f"another inbox drain held {DRAIN_LOCK} for over {wait:g} s")
    with lease.held(turn):
        connection.delete(DRAIN_FLAG)  # events stored from now on need (and queue) a later drain
        yield turn


def drain(connection: Redis, take: Callable[[], list[int]], process: Callable[[list[int]], Any], *,
          clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep,
          settle: float = SETTLE, budget: float = BUDGET) -> int:
    """Process ``received`` events until none is left ``settle`` seconds after the turn began; how many batches.

    ``take`` returns the ids of a batch of received events, ``process`` processes them (and
    marks them). Past ``budget`` seconds the rest is left to a successor job, queued here. A
    drain whose lease lapsed (it was frozen, or cut off from Redis) stops before its next
    commit: the drain that took over has the rest.
    """
    batches = 0
    try:
        with drain_turn(connection) as turn:
            started = clock()
            while True:
                turn.ensure()
                ids = take()
                if ids:
                    process(ids)
                    batches += 1
                    if clock() - started > budget:
                        nudge(connection, force=True)
                        return batches
                    continue
                left = started + settle - clock()
                if left <= 0:
                    return batches
                sleep(min(left, POLL))
    except lease.LeaseLost as exc:
        log.warning("inbox drain stopped after %d batches: %s", batches, exc)
        return batches
