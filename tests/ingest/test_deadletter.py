"""Dead letters: listed as a table or JSON, replayed through the pipeline or re-run as jobs."""

from __future__ import annotations

import json

import pytest
from conftest import REDIS_TEST_URL
from redis import Redis
from sqlalchemy import select
from support.payloads import whatsapp_value

from jobs.queues import MAINTENANCE, queue
from sync.config import BUNDLED_CONFIG_DIR, load_config
from sync.ingest.deadletter import list_open, record_job_failure, replay
from sync.ingest.pipeline import ingest
from sync.store import model


@pytest.fixture
def junk_config(tmp_path):
    """A project whose junk_values wrongly include a real wa_id: its messages fail to reconcile."""
    text = (BUNDLED_CONFIG_DIR / "lifecycle.yaml").read_text()
    (tmp_path / "lifecycle.yaml").write_text(text.replace('junk_values: ["null",', 'junk_values: ["447911123456", '
                                                                                  '"+447911123456", "null",'))
    return load_config(tmp_path)


def bad_timestamp() -> dict:
    value = whatsapp_value("message_text.json")
    value["messages"][0].update(id="wamid.BAD", timestamp="yesterday")
    value["contacts"][0]["wa_id"] = value["messages"][0]["from"] = "5215500001111"
    return value


def seed(store, junk_config) -> tuple[int, int]:
    """One reconcile dead letter (fixable) and one mapping dead letter (not fixable); their ids."""
    ingest("whatsapp", "message", [whatsapp_value("message_text.json")], store=store, config=junk_config)
    ingest("whatsapp", "message", [bad_timestamp()], store=store, config=junk_config)
    rows = list_open(store)
    assert [(r["stage"], r["source"], r["object"]) for r in rows] == [
        ("reconcile", "whatsapp", "message"), ("mapping", "whatsapp", "message")]
    return rows[0]["id"], rows[1]["id"]


def test_replay_runs_records_through_the_pipeline(store, junk_config):
    fixable, broken = seed(store, junk_config)
    result = replay(store, load_config(None))  # the junk_values mistake is fixed
    assert result.replayed == [fixable]
    assert list(result.failed) == [broken] and "field modified_at" in result.failed[broken]
    with store.transaction() as s:
        fixed = s.get(model.DeadLetter, fixable)
        assert (fixed.status, fixed.replayed_at is not None) == ("replayed", True)
        assert s.get(model.DeadLetter, broken).status == "open"
        [contact] = s.scalars(select(model.Contact)).all()
        assert contact.stage == "New Lead"
    again = replay(store, load_config(None))  # replayed letters are not replayed twice
    assert again.replayed == [] and list(again.failed) == [broken]


def test_a_record_that_still_fails_stays_open_with_the_new_reason(store, junk_config):
    fixable, _ = seed(store, junk_config)
    result = replay(store, junk_config, [fixable, 999])
    assert result.replayed == [] and result.not_open == [999]
    [row] = [r for r in list_open(store) if r["id"] == fixable]
    assert "no usable identity" in row["reason"]
    with store.transaction() as s:
        assert s.scalars(select(model.Contact)).all() == []


def test_cli_lists_open_dead_letters_as_table_and_json(cli, store, junk_config):
    fixable, broken = seed(store, junk_config)
    table = cli("deadletter", "list")
    assert table.exit_code == 0
    header, *lines = table.output.splitlines()
    assert header.split() == ["id", "stage", "source/object", "record", "id", "reason", "created", "at"]
    assert [line.split()[:3] for line in lines] == [[str(fixable), "reconcile", "whatsapp/message"],
                                                    [str(broken), "mapping", "whatsapp/message"]]
    rows = json.loads(cli("deadletter", "list", "--json").output)
    wamid = whatsapp_value("message_text.json")["messages"][0]["id"]
    assert [(r["id"], r["record_id"]) for r in rows] == [(fixable, wamid), (broken, "wamid.BAD")]
    assert set(rows[0]) == {"id", "stage", "source", "object", "record_id", "reason", "created_at"}


def test_cli_replay(cli, store, junk_config):
    fixable, broken = seed(store, junk_config)
    res = cli("deadletter", "replay", str(fixable))
    assert (res.exit_code, json.loads(res.output)["replayed"]) == (0, [fixable])
    res = cli("deadletter", "replay", "--all")
    assert res.exit_code == 1 and list(json.loads(res.output)["failed"]) == [str(broken)]
    assert cli("deadletter", "list").output.startswith("id")
    res = cli("deadletter", "replay")
    assert res.exit_code == 1 and "give the ids of the dead letters to replay, a --group, or --all" in res.output


def test_job_dead_letters_run_again_without_redis(cli, store):
    good = record_job_failure(store, queue="maintenance", func="jobs.tasks.sweep_inbox", args=[], kwargs={},
                              job_id="j1", reason="OperationalError (details in the worker log)")
    evil = record_job_failure(store, queue="maintenance", func="os.system", args=["rm -rf /"], kwargs={},
                              job_id="j2", reason="x")
    res = cli("deadletter", "replay", "--all")
    out = json.loads(res.output)
    assert out["replayed"] == [good]
    assert out["failed"] == {str(evil): "could not re-enqueue: ValueError (details in the worker log)"}


def test_job_dead_letters_are_re_enqueued_with_redis(cli, store, monkeypatch):
    redis = Redis.from_url(REDIS_TEST_URL)
    redis.flushdb()
    monkeypatch.setenv("REDIS_URL", REDIS_TEST_URL)
    letter = record_job_failure(store, queue="maintenance", func="jobs.tasks.sweep_inbox", args=[],
                                kwargs={"older_than_seconds": 60}, job_id="j1", reason="TransientError: 503")
    res = cli("deadletter", "replay", str(letter))
    assert json.loads(res.output)["replayed"] == [letter]
    [job] = queue(MAINTENANCE, redis).get_jobs()
    assert (job.func_name, job.kwargs, job.retries_left) == ("jobs.tasks.sweep_inbox", {"older_than_seconds": 60}, 3)
    redis.flushdb()
