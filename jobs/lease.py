"""Leases: locks that follow their holder, for the inbox drain, the dispatchers and the CRM syncs.

A lease is a Redis key holding its holder's token, with a short time to live (``TTL``, 15 s)
that a heartbeat thread renews every ``RENEW_EVERY`` (5 s) while the holder's work runs. A
holder that dies (``kill -9``, a lost machine) stops renewing, so its lease lapses within
``TTL`` and the next run — or a drain waiting for its turn — takes over then, not minutes later.

Why a heartbeat thread rather than renewal between batches: one batch may legitimately take
longer than a short lease (a CRM page behind a rate-limit wait, an upload retried with
backoff), so renewing only between batches would force long leases again — which is what let a
dead holder's lock outlive it by minutes. The thread renews while the process lives, whatever
the work is doing; a holder that is alive but hung is ended by its job's timeout.

Fencing: every acquisition draws the next number of a counter that only grows
(``<key>:fence``), and the key holds that number and a random nonce. A holder whose lease
lapsed must not commit over its successor, so ``Lease.ensure`` refuses (``LeaseLost``) once
the heartbeat found the key gone or someone else's, once the last successful renewal is older
than the lease (the process was frozen, or cut off from Redis: the key may have lapsed unseen),
or when Redis now holds another token. ``held`` hooks ``ensure`` onto every database commit the
holder's thread makes, so the protected work needs no change: a lapsed holder's next commit is
refused before it reaches the database and the run ends. What is left, as with any lock kept
outside the database: a holder frozen between that check and the database applying its commit
can land that one commit after the lapse. The protected work is idempotent at the database
(inbox events are taken by status, CRM pages are upserts with their cursor, outbox rows carry
stable event ids), so that costs repeated work, not wrong data; fencing inside the database
(the token stored with the rows) would close it and needs a schema change.

``LeaseLost`` derives from ``BaseException``, as asyncio's ``CancelledError`` does: it cancels
the work, it is not the work's error, so the per-record isolation of the code it interrupts
(``except Exception``: dead-letter this record, go on) must not catch it.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress

from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy import event
from sqlalchemy.engine import Engine

log = logging.getLogger(__name__)

TTL = 15.0  # seconds a dead holder's lease outlives it
RENEW_EVERY = 5.0  # seconds between renewals: two may fail (a Redis blip) before the lease lapses
POLL = 0.1  # seconds between a waiting holder's tries

# KEYS: lease, fence counter; ARGV: nonce, ttl ms → the fencing number, or nil when held by another
_ACQUIRE = """
if redis.call('exists', KEYS[1]) == 1 then return nil end
local n = redis.call('incr', KEYS[2])
redis.call('set', KEYS[1], n .. ':' .. ARGV[1], 'PX', ARGV[2])
return n
"""
# KEYS: lease; ARGV: token, ttl ms → 1 when still ours (and extended), 0 when gone or another's
_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end
return 0
"""
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""


class LeaseLost(BaseException):
    """The holder's lease lapsed or was taken over: it must stop before committing anything more."""


class Lease:
    """One holding of ``key``: renewed by a heartbeat thread until released."""

    def __init__(self, redis: Redis, key: str, fence: int, token: str, *, ttl: float, renew_every: float,
                 sent_at: float, clock: Callable[[], float] = time.monotonic):
        self.redis, self.key, self.fence, self.token = redis, key, fence, token
        self.ttl, self.renew_every, self.clock = ttl, renew_every, clock
        self.valid_until = sent_at + ttl  # counted from before the acquisition was sent, as Redis counts later
        self.lost: str | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._heartbeat, name=f"lease {key}", daemon=True)

    def start(self) -> None:
        """Start renewing."""
        self._thread.start()

    def _heartbeat(self) -> None:
        while not self._stop.wait(self.renew_every):
            sent = self.clock()
            try:
                ours = self.redis.eval(_RENEW, 1, self.key, self.token, int(self.ttl * 1000))
            except RedisError as exc:  # a blip: the lease holds until valid_until; try again
                log.warning("lease %s: renewal failed (%s); it lapses in %.0f s unless renewed", self.key,
                            type(exc).__name__, max(self.valid_until - self.clock(), 0))
                continue
            if not ours:
                self.lost = "it lapsed and is gone or held by another run"
                log.warning("lease %s (fence %s): %s; this run stops at its next commit", self.key, self.fence,
                            self.lost)
                return
            self.valid_until = sent + self.ttl

    def ensure(self) -> None:
        """Raise ``LeaseLost`` unless this lease is certainly still held (see the module docstring)."""
        if self.lost is None and self.clock() >= self.valid_until:
            self.lost = f"not renewed for over {self.ttl:g} s"
        if self.lost is None:
            try:
                if (self.redis.get(self.key) or b"").decode() != self.token:
                    self.lost = "another run holds it now"
            except RedisError:  # unreachable: nobody else can take it either; valid_until decides
                pass
        if self.lost is not None:
            raise LeaseLost(f"lease {self.key} (fence {self.fence}) lost: {self.lost}")

    def release(self) -> None:
        """Stop renewing and delete the key if it is still ours (never someone else's)."""
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(self.renew_every + 1)
        with suppress(RedisError):  # unreachable: the key lapses on its own within TTL
            self.redis.eval(_RELEASE, 1, self.key, self.token)


def try_acquire(redis: Redis, key: str, ttl: float | None = None, renew_every: float | None = None) -> Lease | None:
    """A renewed lease on ``key`` (default ``TTL``, renewed every ``RENEW_EVERY``), or None when another's is live."""
    ttl, renew_every = ttl or TTL, renew_every or RENEW_EVERY
    nonce, sent_at = uuid.uuid4().hex, time.monotonic()
    fence = redis.eval(_ACQUIRE, 2, key, f"{key}:fence", nonce, int(ttl * 1000))
    if fence is None:
        return None
    lease = Lease(redis, key, int(fence), f"{int(fence)}:{nonce}", ttl=ttl, renew_every=renew_every, sent_at=sent_at)
    lease.start()
    return lease


def acquire(redis: Redis, key: str, wait: float, ttl: float | None = None, renew_every: float | None = None,
            poll: float = POLL) -> Lease | None:
    """``try_acquire``, trying every ``poll`` seconds for up to ``wait``: a lapsed lease is taken at once."""
    deadline = time.monotonic() + wait
    while True:
        lease = try_acquire(redis, key, ttl, renew_every)
        if lease is not None or time.monotonic() >= deadline:
            return lease
        time.sleep(poll)


_held = threading.local()  # the leases this thread holds: every commit it makes checks them


def _check_commit(_connection: object) -> None:
    for lease in getattr(_held, "leases", ()):
        lease.ensure()


_hook_installed = threading.Lock()


def _install_commit_hook() -> None:
    with _hook_installed:
        if not event.contains(Engine, "commit", _check_commit):
            event.listen(Engine, "commit", _check_commit)


@contextmanager
def held(lease: Lease) -> Iterator[Lease]:
    """Fence the block: every database commit of this thread first checks that ``lease`` is held; released after."""
    _install_commit_hook()
    leases = _held.__dict__.setdefault("leases", [])
    leases.append(lease)
    try:
        yield lease
    finally:
        leases.remove(lease)
        lease.release()
