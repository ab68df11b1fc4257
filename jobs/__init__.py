"""The rq shell around ``sync``: queues, thin job functions, schedules, workers, embedded mode.

- ``queues`` — queue names by concern and enqueueing; ``tasks`` — the job functions rq imports
  by name, each a thin wrapper over a ``sync`` service function;
- ``schedule`` — schedule.yaml → rq's cron scheduler; ``worker`` — worker entry points;
  ``supervise`` — worker and scheduler loops that reconnect after outages;
- ``handover`` — how stored webhook events reach a drain job; ``lease`` — locks that follow
  their holder (renewed, fencing); ``locks`` — one run per (connection, object);
  ``failures`` — retry or dead-letter a failed job;
- ``connection`` — Redis, or the embedded store; ``embedded`` — ``lifesync serve`` in one process;
- ``web`` / ``wsgi`` — the web process assembled with rq's hand-over (``gunicorn jobs.wsgi:app``).

``jobs`` imports ``sync``; nothing in ``sync`` imports ``jobs`` except the CLI that starts it.
"""
