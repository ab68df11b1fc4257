"""The ``csv`` audience destination: settings read and checked, add/remove lines appended, through the engine."""

from __future__ import annotations

import csv

import pytest
from support.audiences import change_email, make_contacts

from sync.errors import SettingsError
from sync.segments import destinations
from sync.segments.audiences.engine import open_destination, sync_audience
from sync.segments.destinations.base import Audience, AudienceMember, DestinationEntry, Entry, Unmatchable
from sync.settings import Settings

SEGMENT = Audience("lapsed", "Lapsed customers")


def _settings(tmp_path) -> Settings:
    return Settings.from_env({"LIFESYNC_AUDIENCE_CSV_DIR": str(tmp_path / "out")})


def _lines(path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as f:
        return [row[:-1] for row in csv.reader(f)]  # without the time column


def test_csv_is_a_registered_kind_and_its_file_defaults_under_the_directory_setting(tmp_path):
    assert destinations.kind("csv").kind == "csv"
    config = destinations.kind("csv").from_settings("csv-lapsed", {}, _settings(tmp_path))
    assert config.options["path"] == str(tmp_path / "out" / "csv-lapsed.csv")
    assert config.options["columns"] == "email,phone"
    nested = destinations.kind("csv").from_settings("csv-x", {"path": "team/x.csv"}, _settings(tmp_path))
    assert nested.options["path"] == str(tmp_path / "out" / "team" / "x.csv")


@pytest.mark.parametrize(("options", "message"), [
    ({"columns": "email,password"}, "audience destination 'csv-x' (csv): columns ['password'] not allowed"),
    ({"colour": "red"}, "audience destination 'csv-x' (csv): unknown option(s) ['colour']"),
    ({"purpose": "sales"}, "audience destination 'csv-x' (csv): purpose 'sales'; expected one of"),
    ({"path": "/etc/cron.d/x"}, "audience destination 'csv-x' (csv): path '/etc/cron.d/x' leaves "
                                "LIFESYNC_AUDIENCE_CSV_DIR"),
    ({"path": "sub/../../x.csv"}, "audience destination 'csv-x' (csv): path 'sub/../../x.csv' leaves"),
])
def test_bad_options_name_the_destination_and_what_is_expected(tmp_path, options, message):
    with pytest.raises(SettingsError) as err:
        destinations.kind("csv").from_settings("csv-x", options, _settings(tmp_path))
    assert str(err.value).startswith(message)


def test_keys_are_the_chosen_columns_and_a_member_without_any_is_unmatchable(tmp_path):
    entry = DestinationEntry("csv-x", "csv", {"columns": "email,identity:hubspot"})
    dest = open_destination(entry, _settings(tmp_path))
    member = AudienceMember(7, emails=("a@example.com", "b@example.com"), identities=(("hubspot", "501"),))
    assert dest.keys(member) == {"contact_id": 7, "email": "a@example.com", "identity:hubspot": "501"}
    with pytest.raises(Unmatchable, match="no email or identity:hubspot to write"):
        dest.keys(AudienceMember(8, phones=("+447911123456",)))


def test_the_engine_writes_adds_and_exactly_the_added_keys_on_removal(store, tmp_path):
    ids = make_contacts(store, [{"email": f"p{i}@example.com"} for i in range(3)])
    entry = DestinationEntry("csv-lapsed", "csv", {"columns": "email", "path": "lapsed.csv"})
    settings = _settings(tmp_path)
    first = sync_audience(store, SEGMENT, entry, ids, settings=settings)
    path = tmp_path / "out" / "lapsed.csv"
    assert first.added == 3 and _lines(path) == [["action", "contact_id", "email"],
                                                   *[["add", str(i), f"p{n}@example.com"] for n, i in enumerate(ids)]]
    change_email(store, ids[1], "moved@example.com")
    second = sync_audience(store, SEGMENT, entry, [ids[1], ids[2]], settings=settings)
    assert (second.added, second.removed, second.unchanged) == (1, 2, 1)
    assert _lines(path)[4:] == [["remove", str(ids[0]), "p0@example.com"], ["remove", str(ids[1]), "p1@example.com"],
                                ["add", str(ids[1]), "moved@example.com"]]


def test_text_a_spreadsheet_would_run_as_a_formula_is_written_as_text_phones_as_they_are(tmp_path):
    entry = DestinationEntry("csv-x", "csv", {"columns": "first_name,last_name,phone,email", "path": "x.csv"})
    dest = open_destination(entry, _settings(tmp_path))
    member = AudienceMember(7, emails=("@sum(a1)@example.com",), phones=("+447911123456",),
                            first_name='=HYPERLINK("http://evil.example","x")', last_name="-2+3")
    remote = dest.ensure(SEGMENT)
    dest.add(remote, [Entry(7, dest.keys(member))])
    assert _lines(remote)[1] == ["add", "7", "'=HYPERLINK(\"http://evil.example\",\"x\")", "'-2+3", "+447911123456",
                                 "'@sum(a1)@example.com"]
