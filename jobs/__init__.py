"""rq shell around ``sync``: queues, job functions (thin), schedules, worker entry points."""
