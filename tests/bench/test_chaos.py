"""bench/chaos.py's options and its verdict on figures (the scenarios themselves take minutes: bench only)."""

from __future__ import annotations

import pytest

from bench.chaos import parse_args
from bench.chaos_figures import SCENARIOS, problems, render, verdict


def result(**over):
    base = {"faults": [{"killed the lease holder": True, "resumed": 15.3}], "settled": 2.0,
            "webhooks": {"sent": 10, "acknowledged": 10, "stored": 10, "processed": 10, "lost": 0, "duplicated": 0},
            "contacts": {"made": 10, "duplicated": 0},
            "deliveries": {"meta": {"held": 10, "lost": 0, "duplicated": 0, "re-sent": 0,
                                    "lifesync recorded": {"sent": 10}}},
            "processes at the end": {"web": 1, "workers": 2, "workers wanted": 2, "scheduler": 1,
                                     "tracebacks logged": 0}}
    base.update(over)
    return base


def test_defaults_run_every_scenario():
    args = parse_args([])
    assert args.scenarios == SCENARIOS
    assert (args.kills, args.workers, args.limit) == (3, 2, 120.0)


def test_scenarios_are_chosen_by_name():
    assert parse_args(["--scenario", "storm, drain-kill"]).scenarios == ("storm", "drain-kill")


@pytest.mark.parametrize("argv", [["--scenario", "drain-kil"], ["--rate", "0"], ["--workers", "0"], ["--kills", "-1"]])
def test_bad_options_are_refused(argv, capsys):
    with pytest.raises(SystemExit) as exit_:
        parse_args(argv)
    assert exit_.value.code == 2
    assert ": error: " in capsys.readouterr().err


def test_figures_that_meet_the_target():
    assert problems(result()) == []
    text = render("drain-kill", result())
    assert "fault 1: killed the lease holder True; resumed 15.3" in text
    assert text.endswith("target met")
    assert verdict({"drain-kill": result()}).splitlines()[1].split() == ["drain-kill", "0", "0", "15.3", "met"]


def test_each_miss_is_named():
    bad = result(faults=[{"resumed": 31.0}, {"resumed": None}, {"error": "no drain_inbox job got under way"},
                         {"killed the lease holder": False, "resumed": 2.0}],
                 settled=None, contacts={"made": 11, "duplicated": 1},
                 deliveries={"meta": {"held": 9, "lost": 1, "duplicated": 0, "re-sent": 2, "lifesync recorded": {}}})
    bad["processes at the end"]["workers"] = 1
    assert problems(bad) == ["resumed after 31.0 s (> 30)", "processing did not resume",
                             "no drain_inbox job got under way",
                             "no kill hit the lease holder (the scenario did not test a drain's death)",
                             "processes at the end: 1 of 2 workers, 1 scheduler",
                             "did not settle (events or conversions still waiting)", "contacts: 1 duplicated",
                             "meta: 1 lost"]
    assert "TARGET MISSED" in render("drain-kill", bad)
    assert verdict({"drain-kill": bad}).splitlines()[1].split() == ["drain-kill", "1", "1", "never", "MISSED"]


def test_kills_must_hit_a_lease_holder_at_least_once():
    missed = {"killed the lease holder": False, "resumed": 2.0}
    assert problems(result(faults=[missed, {"killed the lease holder": True, "resumed": 14.0}])) == []
    assert problems(result(faults=[missed])) == [
        "no kill hit the lease holder (the scenario did not test a drain's death)"]


def test_a_429_storm_has_no_resume_target_but_must_resume():
    assert problems(result(faults=[{"network": "meta", "429s served": 1, "resumed": 61.0}])) == []
    assert problems(result(faults=[{"network": "meta", "429s served": 1, "resumed": None}])) == [
        "processing did not resume"]
