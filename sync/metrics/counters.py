"""Process-local counters: what only the process that did it knows.

Each is incremented at the one shared place its event passes through — the webhooks
blueprint (``sync.web.webhooks.blueprint``), the HTTP client every connector is built on
(``sync.http.retry``), the CRM pull loop (``sync.crm.pull``) — never per connector.

lifesync runs as several processes (gunicorn web workers, rq workers, a scheduler). With
``PROMETHEUS_MULTIPROC_DIR`` set (to an empty directory, the same one for every process of a
machine, wiped when they all start: prometheus_client's multiprocess mode), the counters are
kept in files there and ``/metrics`` sums every process of the machine; without it, a
``/metrics`` answer holds only the counters of the web process that served it. Counters of
workers on other machines need that machine's own multiprocess directory and exporter;
figures the database knows (``sync.metrics.database``) need neither.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter

REGISTRY = CollectorRegistry(auto_describe=True)  # this process's counters (single-process mode)

WEBHOOKS_ACCEPTED = Counter(
    "lifesync_webhooks_accepted", "Webhook deliveries accepted (stored, or a redelivery of a stored one)",
    ["receiver"], registry=REGISTRY)
WEBHOOKS_REJECTED = Counter(
    "lifesync_webhooks_rejected", "Webhook deliveries refused, by why (signature, payload, too_large, ...)",
    ["receiver", "reason"], registry=REGISTRY)
API_CALLS = Counter(
    "lifesync_api_calls", "Requests sent to vendor APIs, by how they were classified (ok, retry, rate_limited, "
    "auth, fail)", ["vendor", "outcome"], registry=REGISTRY)
RATE_LIMIT_WAITS = Counter(
    "lifesync_rate_limit_waits", "Waits a rate limit imposed: budget (our token bucket) or retry_after (a 429)",
    ["vendor", "kind"], registry=REGISTRY)
RATE_LIMIT_WAIT_SECONDS = Counter(
    "lifesync_rate_limit_wait_seconds", "Seconds spent waiting on rate limits", ["vendor", "kind"],
    registry=REGISTRY)
RECORDS_PULLED = Counter(
    "lifesync_records_pulled", "Records a CRM sync pulled and ingested", ["connector", "object"], registry=REGISTRY)
QUOTA_STOPS = Counter(
    "lifesync_sync_quota_stops", "CRM sync runs that stopped at their share of the API quota", ["connector"],
    registry=REGISTRY)

REJECTION_REASONS = {400: "payload", 401: "signature", 403: "forbidden", 404: "not_configured", 405: "method",
                     413: "too_large", 415: "media_type", 429: "throttled", 503: "unavailable"}


def rejection_reason(status: int) -> str:
    """The ``reason`` label of a refused webhook delivery's status code."""
    return REJECTION_REASONS.get(status, "error" if status >= 500 else f"http_{status}")


def rate_limit_wait(vendor: str, kind: str, seconds: float) -> None:
    """Count one wait of ``seconds`` a rate limit imposed (``kind``: budget or retry_after)."""
    if seconds > 0:
        RATE_LIMIT_WAITS.labels(vendor, kind).inc()
        RATE_LIMIT_WAIT_SECONDS.labels(vendor, kind).inc(seconds)
