"""lifesync: one truth about every contact across CRMs, messaging channels and ad networks.

The library. Layers, lowest first (a package imports only from its own layer or below; the
core — everything but ``web``, ``cli``, ``sandbox`` and ``demo`` — imports neither Flask nor rq,
and nothing in ``sync`` imports ``jobs`` but ``cli``, which starts processes):

- ``settings``, ``errors``, ``utc`` — environment → typed settings; the error tree; instants.
- ``store`` — SQLAlchemy model, engine, bulk SQL, migrations, encrypted credentials.
- ``config``, ``mappings``, ``reconcile`` — validated configuration, the mapping engine, and the
  pure reconciliation core (identities, survivorship, stages, patches).
- ``http`` and ``connectors`` — the shared HTTP layer and one package or module per system.
- ``outbox``, ``attribution``, ``crm``, ``ingest`` — effects queued with the change that made
  them, conversions to ad networks, CRM sync and write-back, records in → canonical state out.
- ``reports`` — read-only lifecycle reports.
- ``web``, ``cli``, ``sandbox``, ``demo`` — the shells: HTTP, command line, vendor emulators,
  the synthetic business.
"""
