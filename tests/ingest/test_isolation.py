"""Per-record isolation of a batch's writes (issue 17, part 4): a record that cannot be stored, or that the
database refuses, is one dead letter with its reason; the rest of its batch lands; replaying it while it is still
bad keeps it a dead letter with the reason.

Run on SQLite (which enforces no VARCHAR length) and on PostgreSQL (which refuses long values and NULs). The
database refusals no check foresees are made by a trigger, on both.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select, text

from sync.cli.main import main
from sync.config import load_config
from sync.ingest.deadletter import replay
from sync.ingest.pipeline import ingest
from sync.store import model

CONFIG = load_config(None)
CONTACT = json.loads((Path(__file__).resolve().parents[1] / "fixtures" / "hubspot" / "contact.json").read_text())
LONG_EMAIL = "a" * 288 + "@example.com"  # 300 characters: identities.value holds 255


def contact(n: int, email: str | None = None, **properties: str) -> dict:
    return {**CONTACT, "id": str(1000 + n),
            "properties": {**CONTACT["properties"], "email": email or f"p{n}@example.com", **properties}}


def count(store, entity) -> int:
    with store.transaction() as s:
        return s.scalar(select(func.count()).select_from(entity))


def letters(store) -> list[tuple[int, str | None, str, str]]:
    d = model.DeadLetter
    with store.transaction() as s:
        return [tuple(r) for r in s.execute(select(d.id, d.record_id, d.reason, d.status).order_by(d.id))]


def test_lifesync_ingest_of_1201_records_with_a_bad_one_at_700_lands_1200_and_dead_letters_it(
        store, database_url, monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.delenv("LIFESYNC_CONFIG_DIR", raising=False)
    records = [contact(n, LONG_EMAIL if n == 699 else None) for n in range(1201)]
    path = tmp_path / "contacts.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    res = CliRunner().invoke(main, ["ingest", "hubspot", "contacts", str(path)])
    assert res.exception is None or isinstance(res.exception, SystemExit), res.exception
    counts = json.loads(res.output[:res.output.rindex("}") + 1])
    assert (counts["records"], counts["created"], counts["dead_lettered"]) == (1201, 1200, 1), res.output
    assert count(store, model.Contact) == 1200
    [(_, record_id, reason, status)] = letters(store)
    assert (record_id, status) == ("1699", "open")
    assert reason == ("hubspot contacts record 1699: email identity is 300 characters long; "
                      "its column (identities.value) holds at most 255")


def test_a_nul_in_an_id_is_a_dead_letter_whose_record_id_the_database_can_hold(store):
    bad = contact(1)
    bad["id"] = "12\x0034"
    result = ingest("hubspot", "contacts", [contact(0), bad, contact(2)], store=store, config=CONFIG)
    assert (result.created, result.dead_lettered) == (2, 1)
    [(_, record_id, reason, _)] = letters(store)
    assert record_id == "12\ufffd34"
    assert reason == ("hubspot contacts record 12\ufffd34: record id holds a NUL character, "
                      "which the database cannot store")


@pytest.fixture
def refusing(store):
    """A trigger refusing any identity ``refuse@example.com``: a database refusal no check foresees."""
    if store.dialect == "postgresql":
        create = ["CREATE FUNCTION lifesync_test_refuse() RETURNS trigger AS $$ BEGIN "
                  "IF NEW.value = 'refuse@example.com' THEN RAISE EXCEPTION 'refused by a test trigger'; END IF; "
                  "RETURN NEW; END $$ LANGUAGE plpgsql",
                  "CREATE TRIGGER lifesync_test_refuse BEFORE INSERT ON identities FOR EACH ROW "
                  "EXECUTE FUNCTION lifesync_test_refuse()"]
        drop = ["DROP TRIGGER IF EXISTS lifesync_test_refuse ON identities",
                "DROP FUNCTION IF EXISTS lifesync_test_refuse()"]
    else:
        create = ["CREATE TRIGGER lifesync_test_refuse BEFORE INSERT ON identities "
                  "WHEN NEW.value = 'refuse@example.com' BEGIN SELECT RAISE(ABORT, 'refused by a test trigger'); END"]
        drop = ["DROP TRIGGER IF EXISTS lifesync_test_refuse"]

    def run(statements: list[str]) -> None:
        with store.engine.begin() as conn:
            # read the schema first: SQLite checks CREATE TRIGGER's name against the connection's cached schema
            # and, unlike CREATE TABLE, does not reload it on a clash, so a pooled connection that last saw the
            # previous test's trigger refused to create it again ("already exists") after another dropped it
            conn.execute(text("SELECT count(*) FROM sqlite_master" if store.dialect == "sqlite" else "SELECT 1"))
            for sql in statements:
                conn.execute(text(sql))

    run(drop)
    run(create)
    yield lambda: run(drop)
    run(drop)


def test_a_record_the_database_refuses_is_found_by_halving_and_the_rest_of_the_batch_commits(store, refusing):
    records = [contact(n, "refuse@example.com" if n == 37 else None) for n in range(100)]
    result = ingest("hubspot", "contacts", records, store=store, config=CONFIG, batch_size=100)
    assert (result.records, result.created, result.dead_lettered) == (100, 99, 1)
    assert count(store, model.Contact) == 99
    [(_, record_id, reason, _)] = letters(store)
    assert record_id == "1037"
    assert reason.startswith("hubspot contacts record 1037: the database refused it (")
    assert "refuse@example.com" not in reason  # the database's words, never the value


def test_replaying_a_dead_letter_that_is_still_bad_keeps_it_open_with_its_reason_and_replays_the_rest(
        store, refusing):
    ingest("hubspot", "contacts", [contact(0, LONG_EMAIL), contact(1, "refuse@example.com"), contact(2)],
           store=store, config=CONFIG)
    (long_id, _, long_reason, _), (refused_id, _, refused_reason, _) = letters(store)
    assert "300 characters long" in long_reason and "the database refused it" in refused_reason

    outcome = replay(store, CONFIG)  # both still bad
    assert outcome.replayed == [] and outcome.failed == {long_id: long_reason, refused_id: refused_reason}
    assert [(i, s) for i, _, _, s in letters(store)] == [(long_id, "open"), (refused_id, "open")]

    refusing()  # the database takes it now: it replays, the other stays open with its reason
    outcome = replay(store, CONFIG)
    assert outcome.replayed == [refused_id] and outcome.failed == {long_id: long_reason}
    assert [(i, r, s) for i, _, r, s in letters(store)] == [(long_id, long_reason, "open"),
                                                              (refused_id, refused_reason, "replayed")]
    assert count(store, model.Contact) == 2
