"""respond.io: webhooks in, stage write-back out.

- ``webhooks`` — ``X-Webhook-Signature`` and a delivery split into inbox events;
- ``client`` — the API v2 client (upsert a contact, set or clear its lifecycle);
- ``writeback`` — what a stage write-back sends and how (the sender ``sync.outbox.stage_dispatch``
  calls, named by ``sync.outbox.targets``).
"""
