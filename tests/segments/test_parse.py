"""Segment files: every issue in one run, each with its file, key and line; config check and revisions cover them."""

from pathlib import Path

import pytest

from sync.config import check_config, load_config
from sync.config.revisions import Revisions
from sync.errors import ConfigError
from sync.segments.conditions import DestinationEntry, Segment

BAD = """\
label: Lapsed
brand: lumen
match: some
conditions:
  - stage: Hot Leed
  - in_stage_for: {more_than: 2 weeks}
  - field: {name: country, gt: high}
  - any:
      - has_identity: [whatsapp, "Bad Kind"]
      - colour: red
  - purchases: {count: {gte: many}, last: {within: 60}}
  - consent: {ad_user_data: yes please}
destinations:
  - {name: meta-a, kind: carrier_pigeon}
  - {name: meta-a, kind: csv}
"""


def project(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return tmp_path


def test_every_issue_of_a_segment_file_in_one_run_with_its_line(tmp_path):
    issues = check_config(project(tmp_path, {"segments/lapsed.yaml": BAD}))
    mine = [(i.line, i.path, i.message) for i in issues if i.file.endswith("segments/lapsed.yaml")]
    by_line = {line: (path, message) for line, path, message in mine}
    assert by_line[2][0] == "brand" and "unknown brand 'lumen'" in by_line[2][1]
    assert by_line[3][0] == "match"
    assert by_line[5] == ("conditions[0].stage", "unknown active stage 'Hot Leed'; the segment's lifecycle has: "
                                                 "New Lead, Hot Lead, Payment, Customer, Repeat Customer")
    assert by_line[6][0] == "conditions[1].in_stage_for.more_than" and "14d" in by_line[6][1]
    assert by_line[7] == ("conditions[2].field.gt", "expected a number")
    assert by_line[9][0] == "conditions[3].any[0].has_identity" and "'Bad Kind'" in by_line[9][1]
    assert by_line[10][0] == "conditions[3].any[1].colour" and "unknown condition 'colour'" in by_line[10][1]
    assert {p for line, p, _ in mine if line == 11} == {"conditions[4].purchases.count.gte",
                                                         "conditions[4].purchases.last.within"}
    assert by_line[12][0] == "conditions[5].consent.ad_user_data"
    assert by_line[14][0] == "destinations[0].kind" and "carrier_pigeon" in by_line[14][1]
    assert len(mine) == 11  # the second meta-a is no duplicate: the first was refused


def test_a_destination_name_is_unique_across_segment_files(tmp_path):
    one = "label: A\nconditions: [{stage: Customer}]\ndestinations:\n  - {name: shared, kind: csv}\n"
    issues = check_config(project(tmp_path, {"segments/a.yaml": one, "segments/b.yaml": one}))
    clash = [i for i in issues if i.file.endswith("segments/b.yaml")]
    assert [(i.line, i.path) for i in clash] == [(4, "destinations[0].name")]
    assert "already segment a's" in clash[0].message


def test_file_names_yml_and_bad_keys_are_refused(tmp_path):
    text = "label: A\nconditions: [{stage: Customer}]\n"
    issues = check_config(project(tmp_path, {"segments/Big Spenders.yaml": text, "segments/x.yml": text}))
    messages = {Path(i.file).name: i.message for i in issues}
    assert "cannot name a segment" in messages["Big Spenders.yaml"]
    assert "must end in .yaml" in messages["x.yml"]


def test_a_valid_file_loads_into_a_segment_with_its_destinations(tmp_path):
    text = ("label: ' Big spenders '\nbrand: default\nmatch: any\nconditions:\n  - purchases: {total: {gte: 500}}\n"
            "  - phase: loyalty\ndestinations:\n  - {name: big-csv, kind: csv, path: exports, header: true}\n")
    config = load_config(project(tmp_path, {"segments/big.yaml": text}))
    big = config.segment("big")
    assert isinstance(big, Segment) and big.label == "Big spenders" and not big.time_based
    assert big.destinations == (DestinationEntry("big-csv", "csv", {"path": "exports", "header": "true"}),)
    assert {s.key for s in config.segments} >= {"big", "hot-leads-ctwa", "lapsed-customers"}  # bundled ones too


def test_segments_are_revisable_documents(store, tmp_path):
    revisions = Revisions(store, None)
    assert "segments/lapsed-customers.yaml" in revisions.documents()
    good = "label: VIP\nconditions: [{purchases: {count: {gte: 3}}}]\n"
    revisions.propose("segments/vip.yaml", good, "ana")
    assert revisions.active_config().segment("vip").label == "VIP"
    with pytest.raises(ConfigError) as err:
        revisions.propose("segments/vip.yaml", "label: VIP\nconditions: [{stage: Nope}]\n", "ana")
    assert [(i.file, i.line) for i in err.value.issues] == [("segments/vip.yaml (proposed)", 2)]


OUT_OF_RANGE = """\
label: Far
conditions:
  - last_inbound: {within: 999999w}
  - in_stage_for: {more_than: 36526d}
  - purchases: {last: {older_than: 5300w}}
"""


def test_durations_past_a_hundred_years_are_refused_not_a_datetime_overflow(tmp_path):
    issues = check_config(project(tmp_path, {"segments/far.yaml": OUT_OF_RANGE}))
    mine = {(i.line, i.path): i.message for i in issues if i.file.endswith("segments/far.yaml")}
    assert set(mine) == {(3, "conditions[0].last_inbound.within"), (4, "conditions[1].in_stage_for.more_than"),
                         (5, "conditions[2].purchases.last.older_than")}
    assert all("at most 100 years" in m for m in mine.values())
    fine = "label: Near\nconditions: [{in_stage_for: {more_than: 36525d}}, {last_inbound: {within: 5200w}}]\n"
    assert not [i for i in check_config(project(tmp_path, {"segments/near.yaml": fine}))
                if i.file.endswith("segments/near.yaml")]


NOT_FINITE = """\
label: Odd
conditions:
  - field: {name: score, gt: .nan}
  - field: {name: score, in: [1, .inf]}
  - purchases: {total: {lte: -.inf}}
  - field: {name: score, lt: %s}
""" % ("9" * 400)


def test_numbers_that_are_not_finite_are_refused(tmp_path):
    issues = check_config(project(tmp_path, {"segments/odd.yaml": NOT_FINITE}))
    mine = {(i.line, i.path) for i in issues if i.file.endswith("segments/odd.yaml")}
    assert mine == {(3, "conditions[0].field.gt"), (4, "conditions[1].field.in"),
                    (5, "conditions[2].purchases.total.lte"), (6, "conditions[3].field.lt")}
