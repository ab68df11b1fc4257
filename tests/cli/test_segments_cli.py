"""``lifesync segments``: list, preview a file, evaluate, show, members (JSON and CSV) — and clear refusals."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from support.segments import contact

from sync.cli.main import main


@pytest.fixture
def cli(store, database_url, monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", database_url)
    (tmp_path / "segments").mkdir()
    (tmp_path / "segments" / "vip.yaml").write_text("label: VIP\nconditions: [{field: {name: tier, equals: gold}}]\n")
    monkeypatch.setenv("LIFESYNC_CONFIG_DIR", str(tmp_path))
    monkeypatch.delenv("REDIS_URL", raising=False)
    runner = CliRunner()
    return lambda *args: runner.invoke(main, list(args))


def test_preview_evaluate_and_read_members_from_the_shell(cli, store, tmp_path):
    with store.transaction() as s:
        gold = contact(s, stage="Customer", fields={"tier": "gold", "first_name": "=Ana", "last_name": "Ruiz"})
        contact(s, fields={"tier": "silver"})
    listed = {row["key"]: row for row in json.loads(cli("segments", "list").stdout)}
    assert listed["vip"]["size"] is None and {"hot-leads-ctwa", "lapsed-customers"} <= set(listed)
    draft = tmp_path / "silver.yaml"
    draft.write_text("label: Silver\nconditions: [{field: {name: tier, in: [silver, gold]}}]\n")
    preview = json.loads(cli("segments", "preview", str(draft)).stdout)
    assert preview["size"] == 2 and [p["id"] for p in preview["sample"]] == [gold, gold + 1]
    done = {c["segment"]: c for c in json.loads(cli("segments", "evaluate", "--full").stdout)["changes"]}
    assert (done["vip"]["entered"], done["vip"]["size"]) == (1, 1)
    page = json.loads(cli("segments", "members", "vip").stdout)
    assert [(m["id"], m["name"], m["stage"]) for m in page["members"]] == [(gold, "=Ana Ruiz", "Customer")]
    assert page["next"] is None
    csv_out = cli("segments", "members", "vip", "--csv").stdout.splitlines()
    assert csv_out[0] == "contact_id,name,stage,entered_at" and csv_out[1].startswith(f"{gold},'=Ana Ruiz,Customer,")
    shown = json.loads(cli("segments", "show", "vip").stdout)
    assert shown["size"] == 1 and shown["sizes"][-1]["size"] == 1 and len(shown["sizes"]) == 30
    assert json.loads(cli("segments", "evaluate").stdout)["contacts"] == 0  # nothing queued


def test_refusals_are_clear_messages(cli, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("label: Bad\nconditions:\n  - stage: Nope\n")
    out = cli("segments", "preview", str(bad))
    assert out.exit_code == 1
    assert "segments/bad.yaml (proposed):3: conditions[0].stage: unknown active stage" in out.output
    missing = cli("segments", "show", "nope")
    assert missing.exit_code == 1 and "no segment 'nope'" in missing.output
    one = cli("segments", "evaluate", "vip")
    assert one.exit_code == 1 and "evaluate one segment in full" in one.output
