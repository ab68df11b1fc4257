"""The webhooks blueprint every receiver module registers its routes on (mounted at ``/webhooks``).

Every delivery's answer passes through ``_count`` — refusals raised anywhere in a receiver
(``abort``) and the 503 of an unavailable database included — so the webhook counters of
``/metrics`` are kept here, once, for every receiver.
"""

from flask import Blueprint, Response, request

from sync.metrics.counters import WEBHOOKS_ACCEPTED, WEBHOOKS_REJECTED, rejection_reason

bp = Blueprint("webhooks", __name__)


@bp.after_request
def _count(response: Response) -> Response:
    """Count a delivery (POST) as accepted or rejected, by receiver: the route's first segment under /webhooks."""
    rule = request.url_rule
    if request.method != "POST" or rule is None:  # verification handshakes; URLs no receiver serves
        return response
    receiver = rule.rule.split("/")[2] if rule.rule.count("/") >= 2 else "unknown"
    if response.status_code < 300:
        WEBHOOKS_ACCEPTED.labels(receiver).inc()
    else:
        WEBHOOKS_REJECTED.labels(receiver, rejection_reason(response.status_code)).inc()
    return response
