"""Records in, canonical state out: the inbox, the pipeline, dead letters.

- ``inbox`` — webhook events persisted before they are acknowledged, drained in batches;
- ``pipeline`` — map → reconcile → persist, one transaction per batch (``ingest``);
- ``isolation`` — a batch's reconcile and writes, one bad record dead-lettered, the rest committed
  (used by the pipeline and replay);
- ``storable`` — what a record may keep: values checked against the columns they fill;
- ``persist`` — load a batch's contacts into a workspace, write back what changed (and the
  outbox rows the change queues, in the same transaction);
- ``deadletter`` — what could not be processed, why, and replaying it;
- ``automation`` — stale leads to a lost stage, first-response times;
- ``gcpolicy`` — garbage-collector settings for bulk work.

May import: store, config, mappings, reconcile, outbox, crm.plan (write-back planning),
``sync.connectors.events``; never web, cli or jobs.
"""
