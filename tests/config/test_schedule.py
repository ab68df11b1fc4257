"""schedule.yaml validation: every error names file, key path and line; the bundled file is valid."""

from pathlib import Path

import pytest

from jobs.queues import QUEUES
from jobs.schedule import TASKS as JOB_FUNCTIONS
from sync.config import BUNDLED_CONFIG_DIR, check_config
from sync.config.schedule import QUEUES as SCHEDULE_QUEUES
from sync.config.schedule import TASKS, ScheduledJob, load_schedule
from sync.errors import ConfigError

HEAD = "jobs:\n  sweep:\n"  # entries' keys start at line 3


def load(tmp_path: Path, text: str):
    (tmp_path / "schedule.yaml").write_text(text, encoding="utf-8")
    return load_schedule(tmp_path, tmp_path / "nothing-bundled")


INVALID = {
    "unknown key": (HEAD + "    task: sweep_inbox\n    every: 60\n    colour: red\n",
                    "jobs.sweep.colour", 5,
                    "unknown key; expected one of: task, every, cron, queue, timeout, enabled"),
    "unknown task": (HEAD + "    task: sweep_everything\n    every: 60\n", "jobs.sweep.task", 3,
                     "unknown task 'sweep_everything'; expected one of: sweep_inbox, stale_leads, first_response, "
     "dispatch_pushes, sync_hubspot, sync_salesforce, dispatch_crm_pushes, dispatch_conversions, "
                     "resolve_ad_names, check_alerts, scan_duplicates, segments_incremental, segments_full, "
                     "sync_audiences, purge_personal_data"),
    "both every and cron": (HEAD + "    task: sweep_inbox\n    every: 60\n    cron: '* * * * *'\n",
                            "jobs.sweep", 2, "give exactly one of every (seconds) or cron (an expression)"),
    "neither every nor cron": (HEAD + "    task: sweep_inbox\n", "jobs.sweep", 2,
                               "give exactly one of every (seconds) or cron (an expression)"),
    "bad cron": (HEAD + "    task: sweep_inbox\n    cron: '61 * * * *'\n", "jobs.sweep.cron", 4,
                 "'61 * * * *' is not a cron expression; expected five fields (minute hour day month weekday), "
                 "e.g. \"*/10 * * * *\""),
    "every zero": (HEAD + "    task: sweep_inbox\n    every: 0\n", "jobs.sweep.every", 4,
                   "expected seconds between 1 and 604800"),
    "every as text": (HEAD + "    task: sweep_inbox\n    every: '60'\n", "jobs.sweep.every", 4,
                      "expected a whole number of seconds"),
    "unknown queue": (HEAD + "    task: sweep_inbox\n    every: 60\n    queue: urgent\n", "jobs.sweep.queue", 5,
                      "unknown queue 'urgent'; expected one of: ingest, sync, dispatch, maintenance"),
    "enabled not a bool": (HEAD + "    task: sweep_inbox\n    every: 60\n    enabled: yes\n",
                           "jobs.sweep.enabled", 5, "expected true or false"),
    "entry not a mapping": ("jobs:\n  sweep: every minute\n", "jobs.sweep", 2,
                            "expected a mapping with keys: task, every, cron, queue, timeout, enabled"),
    "no jobs key": ("job:\n  sweep: {task: sweep_inbox, every: 60}\n", "job", 1,
                    "unknown key; expected one of: jobs"),
    "empty file": ("", "", 1, "file is empty; expected a jobs: mapping"),
}


@pytest.mark.parametrize(("text", "path", "line", "message"), INVALID.values(), ids=INVALID.keys())
def test_invalid_schedule(tmp_path, text, path, line, message):
    with pytest.raises(ConfigError) as exc:
        load(tmp_path, text)
    issues = [(i.file, i.path, i.line, i.message) for i in exc.value.issues]
    assert (str(tmp_path / "schedule.yaml"), path, line, message) in issues


def test_every_problem_is_reported_at_once(tmp_path):
    with pytest.raises(ConfigError) as exc:
        load(tmp_path, "jobs:\n  a: {task: nope, every: 60}\n  b: {task: sweep_inbox, cron: 'x'}\n")
    assert [(i.path, i.line) for i in exc.value.issues] == [("jobs.a.task", 2), ("jobs.b.cron", 3)]


def test_valid_schedule_loads_into_typed_entries(tmp_path):
    entries = load(tmp_path, "jobs:\n  sweep: {task: sweep_inbox, every: 30, queue: ingest, enabled: false}\n"
                             "  cold: {task: stale_leads, cron: '0 * * * *', timeout: 120}\n")
    assert entries == (
        ScheduledJob(name="sweep", task="sweep_inbox", every=30, queue="ingest", enabled=False),
        ScheduledJob(name="cold", task="stale_leads", cron="0 * * * *", timeout=120),
    )


def test_bundled_schedule_runs_the_three_jobs():
    by_task = {e.task: e for e in load_schedule(None)}
    assert by_task["sweep_inbox"].every == 15  # one drain lease: a killed drain's events wait no longer
    assert by_task["stale_leads"].cron == "0 * * * *"
    assert by_task["first_response"].cron == "*/10 * * * *"


def test_config_check_reports_schedule_errors_of_the_project_dir(tmp_path):
    (tmp_path / "schedule.yaml").write_text("jobs:\n  sweep: {task: sweep_inbox, every: -5}\n")
    issues = check_config(tmp_path, BUNDLED_CONFIG_DIR)
    assert [(i.path, i.line) for i in issues] == [("jobs.sweep.every", 2)]
    assert check_config(None, BUNDLED_CONFIG_DIR) == []


def test_schedule_names_match_the_job_layer():
    assert set(TASKS) == set(JOB_FUNCTIONS)
    assert SCHEDULE_QUEUES == QUEUES
