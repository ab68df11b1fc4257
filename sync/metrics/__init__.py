"""What ``/metrics`` exposes (Prometheus text format).

- ``database``: ``DatabaseCollector`` — figures the database knows, read at scrape time with
  bounded, indexed queries (inbox backlog and lag, events drained lately, deliveries per
  network, open dead letters, scheduled runs failing), so every process and machine agrees
- ``counters``: process-local counters for what only a process sees (webhook requests accepted
  and rejected, vendor API calls, rate-limit waits, records pulled), shared between the
  processes of one machine through ``PROMETHEUS_MULTIPROC_DIR`` when it is set
- ``exposition``: ``render(store)`` — both, as the text a scraper reads
"""
