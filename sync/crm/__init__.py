"""One CRM connection end to end: pull what changed, plan what the CRM lacks, push it.

- ``run`` — ``sync_connection``: build a connection's connector, pull, then push (the CLI and
  the scheduled jobs both call it);
- ``pull`` — cursor-committed pulls: each page's cursor committed with its records;
- ``plan`` — write-back planning, pure: which values and stage a CRM lacks, decided where
  they change (called from ``sync.ingest.persist``);
- ``push`` — batched write-back dispatch: pending outbox rows → vendor-sized batches → deliveries;
- ``runs`` — the record of sync runs (``sync_runs``): start, end, outcome, counts, the vendor's message.

The vendors' own code (auth, endpoints, pagination) lives in ``sync.connectors.hubspot`` and
``sync.connectors.salesforce``, behind the protocols of ``sync.connectors.crm``.
May import: connectors, ingest, outbox, store, mappings, reconcile, http, settings, errors.
"""
