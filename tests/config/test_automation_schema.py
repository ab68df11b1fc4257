"""lifecycle.yaml ``automation:``: stale-lead rules validated against the file's own stages."""

from pathlib import Path

import pytest

from sync.config import load_lifecycle
from sync.config.types import StaleLeadRule
from sync.errors import ConfigError

BASE = (
    "stages:\n"                                   # 1
    "  - {name: New Lead, phase: acquisition}\n"  # 2
    "  - {name: Hot Lead, phase: acquisition}\n"  # 3
    "lost_stages:\n"                              # 4
    "  - {name: Cold Lead}\n"                     # 5
    "automation:\n"                               # 6
    "  stale_leads:\n"                            # 7
)  # rules start at line 8


def load(tmp_path: Path, text: str):
    path = tmp_path / "lifecycle.yaml"
    path.write_text(text, encoding="utf-8")
    return load_lifecycle(path)


RULE = "  - {name: cold, from: [New Lead], after_days: 7, to: Cold Lead}\n"

INVALID = {
    "from a lost stage": ("  - {name: cold, from: [Cold Lead], after_days: 7, to: Cold Lead}\n",
                          "automation.stale_leads[0].from[0]", 8,
                          "'Cold Lead' is a lost stage; stale-lead rules start from active stages"),
    "from an unknown stage": ("  - {name: cold, from: [New Led], after_days: 7, to: Cold Lead}\n",
                              "automation.stale_leads[0].from[0]", 8,
                              "unknown stage 'New Led' (did you mean 'New Lead'?); configured stages: "
                              "New Lead, Hot Lead; lost stages: Cold Lead"),
    "to an active stage": ("  - {name: cold, from: [New Lead], after_days: 7, to: Hot Lead}\n",
                           "automation.stale_leads[0].to", 8,
                           "'Hot Lead' is an active stage; to must be a lost stage: Cold Lead"),
    "a stage in two rules": (RULE + "  - {name: again, from: [Hot Lead, New Lead], after_days: 3, to: Cold Lead}\n",
                             "automation.stale_leads[1].from[1]", 9,
                             "'New Lead' is already in stale_leads[0]; a stage can have one stale-lead rule"),
    "zero days": ("  - {name: cold, from: [New Lead], after_days: 0, to: Cold Lead}\n",
                  "automation.stale_leads[0].after_days", 8,
                  "expected a whole number of days between 1 and 3650"),
    "days as text": ("  - {name: cold, from: [New Lead], after_days: '7', to: Cold Lead}\n",
                     "automation.stale_leads[0].after_days", 8, "expected a whole number of days"),
    "missing to": ("  - {name: cold, from: [New Lead], after_days: 7}\n",
                   "automation.stale_leads[0].to", 8, "required"),
    "unknown key": ("  - {name: cold, from: [New Lead], after_days: 7, to: Cold Lead, hours: 3}\n",
                    "automation.stale_leads[0].hours", 8,
                    "unknown key; expected one of: name, from, after_days, to, activity"),
    "unknown activity": ("  - {name: cold, from: [New Lead], after_days: 7, to: Cold Lead,"
                         " activity: [inbound, Calls]}\n",
                         "automation.stale_leads[0].activity[1]", 8,
                         "unknown activity 'Calls'; expected inbound, outbound or a conversion kind such as "
                         "purchase or booking"),
    "empty activity": ("  - {name: cold, from: [New Lead], after_days: 7, to: Cold Lead, activity: []}\n",
                       "automation.stale_leads[0].activity", 8,
                       "list at least one kind of activity (inbound, outbound, purchase, ...)"),
    "empty from": ("  - {name: cold, from: [], after_days: 7, to: Cold Lead}\n",
                   "automation.stale_leads[0].from", 8, "list at least one active stage"),
}


@pytest.mark.parametrize(("rules", "path", "line", "message"), INVALID.values(), ids=INVALID.keys())
def test_invalid_automation(tmp_path, rules, path, line, message):
    with pytest.raises(ConfigError) as exc:
        load(tmp_path, BASE + rules)
    assert [(i.path, i.line, i.message) for i in exc.value.issues] == [(path, line, message)]


def test_unknown_key_under_automation(tmp_path):
    with pytest.raises(ConfigError) as exc:
        load(tmp_path, BASE.replace("  stale_leads:\n", "  stale_lead:\n") + "    []\n")
    assert [(i.path, i.line, i.message) for i in exc.value.issues] == [
        ("automation.stale_lead", 7, "unknown key; expected one of: stale_leads")]


def test_valid_rules_load(tmp_path):
    config = load(tmp_path, BASE + RULE + "  - {name: hot, from: [Hot Lead], after_days: 14, to: Cold Lead,"
                                          " activity: [inbound, outbound, purchase, outbound]}\n")
    assert config.stale_rules == (StaleLeadRule("cold", ("New Lead",), 7, "Cold Lead", ("inbound",)),
                                  StaleLeadRule("hot", ("Hot Lead",), 14, "Cold Lead",
                                                ("inbound", "outbound", "purchase")))


def test_no_automation_section_means_no_rules(tmp_path):
    assert load(tmp_path, BASE.replace("automation:\n  stale_leads:\n", "")).stale_rules == ()
