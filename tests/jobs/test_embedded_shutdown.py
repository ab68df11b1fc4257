"""Embedded mode: SIGTERM while the worker's main thread is inside a store call still stops `lifesync serve`."""

from __future__ import annotations

import signal
import threading

from conftest import REDIS_TEST_URL
from rq import SimpleWorker
from rq.worker import WorkerStatus

from jobs import connection as embedded
from jobs.worker import EmbeddedWorker, make_worker
from sync.settings import Settings


def test_a_warm_shutdown_request_makes_no_store_call_from_the_signal_handler(database_url):
    worker = make_worker(Settings.from_env({"DATABASE_URL": database_url}))
    assert isinstance(worker, EmbeddedWorker)
    worker.set_state(WorkerStatus.BUSY)  # a job is running
    lock = embedded._embedded_server.lock
    rescued = threading.Event()

    def rescue() -> None:  # without the fix the handler waits on the lock: free it, and say so
        rescued.set()
        lock.release()

    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    lock.acquire()  # the interrupted main thread was inside a store call
    timer = threading.Timer(5, rescue)
    timer.start()
    try:
        worker.request_stop(signal.SIGTERM, None)  # what SIGTERM runs, in this (the main) thread
    finally:
        timer.cancel()
        if not rescued.is_set():
            lock.release()
        for sig, handler in saved.items():
            signal.signal(sig, handler)
    assert not rescued.is_set(), "the shutdown handler waited for the store's lock"
    assert worker._stop_requested  # the job in progress finishes, then the worker stops


def test_with_real_redis_the_worker_is_rqs_simple_worker_not_the_embedded_one(database_url):
    worker = make_worker(Settings.from_env({"DATABASE_URL": database_url, "REDIS_URL": REDIS_TEST_URL}))
    assert isinstance(worker, SimpleWorker) and not isinstance(worker, EmbeddedWorker)
