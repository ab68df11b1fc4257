"""Webhook receivers: verify first, persist to the inbox, enqueue, answer fast.

Every receiver follows the same order, so a rejected delivery leaves no trace: the body
size is capped (413), the signature is checked on the raw bytes (401), the payload is
parsed and split into events (400 with the reason), and only then are the events stored
(duplicates ignored) and their processing queued.
"""

# importing the receiver modules registers their routes on bp
from sync.web.webhooks import (  # noqa: F401
    generic,
    hubspot,
    meta_pages,
    respondio,
    salesforce,
    tiktok,
    twilio,
    whatsapp,
)
from sync.web.webhooks.blueprint import bp

__all__ = ["bp"]
