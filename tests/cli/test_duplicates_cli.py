"""``lifesync duplicates``: scan, list, show, preview then merge, merges, unmerge — and clear refusals."""

from __future__ import annotations

import json

from support.cli import cli_fixture
from support.duplicates import hubspot_twins

from sync.config import load_config

cli = cli_fixture()  # refusals end as exit codes, which the tests assert


def test_review_a_pair_merge_it_and_undo_it_from_the_shell(cli, store):
    [(a, b)] = hubspot_twins(store, load_config(None).lifecycle, 1)
    assert json.loads(cli("duplicates", "scan").stdout) == {"closed": 0, "found": 1, "opened": 1}
    [pair] = json.loads(cli("duplicates", "list").stdout)
    assert (pair["contact_a"], pair["contact_b"]) == (a, b)
    assert [c["id"] for c in json.loads(cli("duplicates", "show", str(pair["id"])).stdout)["contacts"]] == [a, b]
    preview = cli("duplicates", "merge", str(pair["id"]))
    assert preview.exit_code == 0 and "preview only" in preview.output
    assert json.loads(cli("duplicates", "list").stdout) == [pair]  # nothing merged yet
    done = json.loads(cli("duplicates", "merge", str(pair["id"]), "--yes").stdout)
    assert (done["kept"], done["merged"]) == (a, b)
    [logged] = json.loads(cli("duplicates", "merges", "--contact", str(a)).stdout)
    assert logged["undoable"] and logged["actor"].startswith("cli:")
    undone = json.loads(cli("duplicates", "unmerge", str(done["merge_id"])).stdout)
    assert (undone["kept"], undone["restored"]) == (a, b)
    again = cli("duplicates", "unmerge", str(done["merge_id"]))
    assert again.exit_code == 1 and "already undone" in again.output
    missing = cli("duplicates", "dismiss", "424242")
    assert missing.exit_code == 1 and "no suspected duplicate pair 424242" in missing.output
