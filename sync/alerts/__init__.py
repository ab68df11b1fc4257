"""Alert rules (``config/alerts.yaml``) evaluated into incidents, posted to a notification webhook.

- ``runs``: ``record_run`` — how each schedule.yaml entry's runs went (failures in a row, last outcome)
- ``signals``: what each rule kind finds firing now, by subject, read with bounded, indexed queries
- ``incidents``: ``evaluate`` (open and resolve incidents, notify once each) and ``list_incidents``,
  the service functions the CLI, the scheduled job and the API call
- ``notify``: ``webhook_notifier`` — Slack-compatible ``{"text": ...}`` through the shared HTTP client
"""
