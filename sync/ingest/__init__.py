"""Records in, canonical state out: the inbox, the pipeline, dead letters.

- ``inbox`` — webhook events persisted before they are acknowledged, drained in batches;
- ``pipeline`` — map → reconcile → persist, one transaction per batch (``ingest``);
- ``isolation`` — a batch's reconcile and writes, one bad record dead-lettered, the rest committed
  (used by the pipeline and replay);
- ``storable`` — what a record may keep: values checked against the columns they fill;
- ``persist`` — load a batch's contacts into a workspace, write back what changed (and the
  outbox rows the change queues, in the same transaction);
- ``deadletter`` — what could not be processed, why, and replaying it;
- ``deadletter_groups`` — dead letters triaged: grouped by cause, listed, replayed or dismissed
  by group or id (the ops API's and CLI's service functions, audited);
- ``deadletter_counts`` — the trigger-kept counts per group, and first/last seen by index probes;
- ``automation`` — stale leads to a lost stage, first-response times;
- ``gcpolicy`` — garbage-collector settings for bulk work.

May import: store, config, mappings, reconcile, outbox, crm.plan (write-back planning), access (audit),
quality.issues (refused values written with their records),
``sync.connectors.events``; never web, cli or jobs.
"""
