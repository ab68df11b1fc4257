"""alerts.yaml: validated with file, key path and line, like the other config files."""

from __future__ import annotations

import pytest

from sync.config import check_config
from sync.config.alerts import DEFAULT_THRESHOLD, AlertRule, load_alerts
from sync.errors import ConfigError


def load(tmp_path, text: str):
    (tmp_path / "alerts.yaml").write_text(text)
    return load_alerts(tmp_path)


INVALID = {
    "unknown kind": ("rules:\n  a:\n    kind: disk_full\n", "rules.a.kind", 3,
                     "unknown kind 'disk_full'; expected one of: dead_letters_growing, inbox_lag, "
                     "credentials_rejected, quota_spent, sync_failing"),
    "negative threshold": ("rules:\n  a:\n    kind: inbox_lag\n    threshold: -1\n", "rules.a.threshold", 4,
                           "expected a number between 0 and 1000000000"),
    "window too short": ("rules:\n  a:\n    kind: dead_letters_growing\n    window: 5\n", "rules.a.window", 4,
                         "expected seconds between 60 and 2592000 (30 days)"),
    "unknown key": ("rules:\n  a:\n    kind: inbox_lag\n    treshold: 5\n", "rules.a.treshold", 4,
                    "unknown key; expected one of: kind, threshold, window, enabled"),
    "no rules key": ("rule:\n  a: {kind: inbox_lag}\n", "rule", 1, "unknown key; expected one of: rules"),
    "empty file": ("", "", 1, "file is empty; expected a rules: mapping"),
}


@pytest.mark.parametrize(("text", "path", "line", "message"), INVALID.values(), ids=INVALID.keys())
def test_invalid_alerts(tmp_path, text, path, line, message):
    with pytest.raises(ConfigError) as exc:
        load(tmp_path, text)
    assert (str(tmp_path / "alerts.yaml"), path, line, message) in [
        (i.file, i.path, i.line, i.message) for i in exc.value.issues]


def test_config_check_reports_alerts_issues(tmp_path):
    (tmp_path / "alerts.yaml").write_text("rules:\n  a:\n    kind: nope\n")
    assert [(i.path, i.line) for i in check_config(tmp_path) if i.file.endswith("alerts.yaml")] == [("rules.a.kind", 3)]


def test_thresholds_default_per_kind_and_a_project_file_replaces_the_bundled_one(tmp_path):
    assert load(tmp_path, "rules:\n  lag: {kind: inbox_lag}\n  fail: {kind: sync_failing, threshold: 5, "
                          "enabled: false}\n") == (
        AlertRule("lag", "inbox_lag", DEFAULT_THRESHOLD["inbox_lag"]),
        AlertRule("fail", "sync_failing", 5, enabled=False))
    assert len(load_alerts(None)) == 5  # the bundled defaults
