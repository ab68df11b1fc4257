"""``alerts.yaml``: the alert rules ``lifesync alerts check`` and the ``check_alerts`` job evaluate.

    rules:
      inbox-lag:                  # the rule's name (in notifications and incidents)
        kind: inbox_lag           # one of KINDS
        threshold: 300            # what the kind compares against (seconds, letters, runs)
        window: 3600              # optional, seconds looked back (dead_letters_growing, credentials_rejected)
        enabled: true             # optional

Kinds and their ``threshold``: ``dead_letters_growing`` (open dead letters created within
``window``, at least this many), ``inbox_lag`` (the oldest unprocessed webhook event has
waited this many seconds), ``credentials_rejected`` (a vendor refused credentials within
``window``: a scheduled run or a delivery failed with ``AuthError``; threshold unused),
``quota_spent`` (a scheduled run's last run stopped at its API budget or failed
rate-limited; threshold unused), ``sync_failing`` (a scheduled entry failed this many runs
in a row). A project directory's ``alerts.yaml`` replaces the bundled one as a whole.
Validation reports every problem with file, key path and line, like schedule.yaml.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from marshmallow import fields, validate

from sync.config.bundled import BUNDLED_CONFIG_DIR, issues_of, load_effective
from sync.config.schema_fields import MappingOf, Strict, one_of, text_field
from sync.config.yamlload import validated
from sync.errors import ConfigIssue

ALERTS_FILE = "alerts.yaml"
KINDS = ("dead_letters_growing", "inbox_lag", "credentials_rejected", "quota_spent", "sync_failing")
DEFAULT_THRESHOLD = {"dead_letters_growing": 1, "inbox_lag": 300, "credentials_rejected": 1, "quota_spent": 1,
                     "sync_failing": 3}
DEFAULT_WINDOW = 3600


@dataclass(frozen=True)
class AlertRule:
    """One rule: fire ``kind`` past ``threshold`` (looking back ``window`` seconds where the kind does)."""

    name: str
    kind: str
    threshold: float
    window: int = DEFAULT_WINDOW
    enabled: bool = True


class _RuleSchema(Strict):
    kind = text_field(required=True, validate=one_of(KINDS, "kind"))
    threshold = fields.Float(load_default=None, allow_nan=False, validate=validate.Range(
        min=0, max=1e9, error="expected a number between 0 and 1000000000"),
        error_messages={"invalid": "expected a number"})
    window = fields.Integer(strict=True, load_default=DEFAULT_WINDOW, validate=validate.Range(
        min=60, max=30 * 86400, error="expected seconds between 60 and 2592000 (30 days)"),
        error_messages={"invalid": "expected a whole number of seconds"})
    enabled = fields.Boolean(load_default=True, truthy={True}, falsy={False},
                             error_messages={"invalid": "expected true or false"})


class AlertsSchema(Strict):
    """The whole alerts.yaml file."""

    rules = MappingOf(fields.Nested(_RuleSchema, error_messages={
        "null": "expected settings such as {{kind: inbox_lag, threshold: 300}}"}), required=True)


def parse_alerts(data: Any, file: str, lines: Mapping[str, int]) -> tuple[AlertRule, ...]:
    """Validate alerts.yaml data; raise ConfigError listing every issue."""
    loaded = validated(AlertsSchema(), data, file, lines, "rules")
    return tuple(AlertRule(name=name, kind=spec["kind"], window=spec["window"], enabled=spec["enabled"],
                           threshold=DEFAULT_THRESHOLD[spec["kind"]] if spec["threshold"] is None
                           else spec["threshold"]) for name, spec in loaded["rules"].items())


def load_alerts(project_dir: Path | None, bundled_dir: Path | None = None) -> tuple[AlertRule, ...]:
    """The effective rules (every one, enabled or not); raises ConfigError."""
    return load_effective(ALERTS_FILE, project_dir, bundled_dir or BUNDLED_CONFIG_DIR, parse_alerts, ())


def alerts_issues(project_dir: Path | None, bundled_dir: Path) -> list[ConfigIssue]:
    """Every problem in the effective alerts.yaml ([] when valid or absent)."""
    return issues_of(lambda: load_alerts(project_dir, bundled_dir))
