"""``render(store)``: the text ``/metrics`` answers — database figures plus process counters."""

from __future__ import annotations

import os

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from sync.metrics import counters
from sync.metrics.database import DatabaseCollector
from sync.store.engine import Store

CONTENT_TYPE = CONTENT_TYPE_LATEST
MULTIPROC_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"


def render(store: Store) -> bytes:
    """The Prometheus text of ``store``'s figures and the counters.

    The counters are every local process's in multiprocess mode, this process's otherwise.
    """
    registry = CollectorRegistry(auto_describe=False)
    if os.environ.get(MULTIPROC_VARIABLE):
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(counters.REGISTRY)  # a registry collects like a collector
    registry.register(DatabaseCollector(store))
    return generate_latest(registry)

