"""The transactional outbox: effects written with the change that caused them, and their delivery.

- ``rows`` — every outbox row shape and idempotency key format (stage, crm, conversion);
- ``effects`` — what a batch's changes must queue, decided once per process from settings;
- ``targets`` — which systems hear about stages (respond.io) and which CRMs are written to;
- ``deliveries`` — the bookkeeping every dispatcher shares: attempts, backoff, dead letters;
- ``stage_dispatch`` — sending stage write-backs item by item through a target's sender.

The CRM and ad-network dispatchers live with their concern (``sync.crm.push``,
``sync.attribution.dispatch``) and record their outcomes through ``deliveries``.
May import: store, reconcile, http (redaction), settings, errors; crm.plan and the
attribution configuration (for ``effects``); never web, cli or jobs.
"""
