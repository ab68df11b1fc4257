"""The ``lifesync`` command line: thin commands over the library's service functions.

- ``main`` — the click group, ``run()`` (the console script), and the core commands
  (settings, config check, mappings preview, ingest, contacts, serve, worker, scheduler,
  dead letters, demo);
- ``crm`` — ``lifesync sync`` and ``lifesync sandbox``; ``attribution`` — ``lifesync dispatch``;
  ``reports`` — ``lifesync report``;
- ``context`` — what every command shares: settings with logging, the store, config, JSON out.

The one part of ``sync`` that imports ``jobs`` (lazily, to start a worker, scheduler or the
embedded server): the CLI is where processes are assembled.
"""
