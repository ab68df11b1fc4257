"""One package or module per external system, and what they share.

- ``events`` — ``InboundEvent``, what every webhook splitter hands the inbox (imports nothing);
- ``jsonread`` — bounded reading of untrusted JSON (webhook bodies, ingest files);
- ``signatures`` — a presented signature compared with the expected one, as bytes in constant time;
- ``crm`` — the protocols a CRM connector implements (``Puller``, ``Pusher``, pages, results);
- ``lazy`` — package exports imported on first use (the CRM packages' ``__init__``);
- ``hubspot/``, ``salesforce/`` — CRM connectors (auth, pull, push) and their webhooks
  (HubSpot webhooks, Salesforce Outbound Messages);
- ``respondio/`` — webhooks, API client, stage write-back;
- ``meta/`` — WhatsApp Cloud API, Messenger and Instagram webhooks and Meta's signature;
- ``tiktok``, ``twilio``, ``generic`` — the other webhook senders.

Webhook splitters (signature checks and payload → events) import only ``events``,
``jsonread``, ``signatures`` and the standard library, so they load without a database driver.
Connectors may import http, settings, errors, config and mappings — never store internals, ingest, web, cli or jobs.
The exceptions are the ops-facing modules over every connection: ``checks`` (one cheap call each),
``health`` (each connection's health, read from ``sync_runs``, ``raw_events`` and ``deliveries``) and
``operations`` (queue a sync, run a check; audit-logged).
"""
