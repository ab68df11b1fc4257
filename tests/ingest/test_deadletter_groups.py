"""Dead letters triaged: one group per cause, filters and pages, replay and dismissal by group or id, audited."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select
from support import dead_letters
from support.dead_letters import seed

from sync.access.audit import AuditFilter, entries
from sync.access.roles import Principal
from sync.config import load_config
from sync.errors import Invalid, NotFound
from sync.ingest.deadletter import list_open, record_job_failure, replay
from sync.ingest.deadletter_groups import (
    GroupKey,
    LetterFilter,
    Selection,
    dismiss,
    groups,
    letter,
    letters,
    replay_selection,
)
from sync.ingest.inbox import quarantine
from sync.outbox.deliveries import dead_letter, record_attempts
from sync.store import model

OPERATOR = Principal(name="ops-anna", role="operator")


@pytest.fixture
def junk_config(tmp_path):
    return dead_letters.junk_config(tmp_path)


def group_of(store, stage: str) -> GroupKey:
    [g] = [g for g in groups(store, LetterFilter(stage=stage))]
    return GroupKey.parse(g["group"])


def test_letters_of_one_cause_are_one_group_whatever_their_ids_and_values(store, junk_config):
    ids = seed(store, junk_config, reconcile=3, mapping=2)
    found = groups(store, LetterFilter())
    assert [(g["stage"], g["source"], g["count"]) for g in found] == [("reconcile", "whatsapp", 3),
                                                                      ("mapping", "whatsapp", 2)]
    reconcile, mapping = found
    assert "record …: no usable identity" in reconcile["reason_class"]
    assert "4479111" not in reconcile["reason_class"] and "never" not in mapping["reason_class"]
    assert reconcile["sample"]["id"] == max(ids["reconcile"])  # the newest
    assert reconcile["first_seen"] <= reconcile["last_seen"]
    with store.sessions() as s:  # the reasons themselves keep their ids
        reasons = set(s.scalars(select(model.DeadLetter.reason).where(model.DeadLetter.stage == "reconcile")))
    assert len(reasons) == 3


def test_every_writer_stores_the_class(store):
    """Core inserts of many rows (dispatch), the ORM (quarantine, jobs), and a refreshed reason all classify."""
    now = model.utcnow()
    with store.transaction() as s:
        record_attempts(s, [], [], [dead_letter("meta", "conversion", n, f"HTTP 400: pixel {n} unknown", now)
                                    for n in (7, 8)])
        s.add(model.RawEvent(source="whatsapp", object="message", event_key="k-1", body=b'{"id": "x-1"}',
                             status="received"))
    with store.sessions() as s:
        event_id = s.scalar(select(model.RawEvent.id))
    quarantine(store, event_id, ValueError("jane@example.com"))
    job = record_job_failure(store, queue="q", func="jobs.tasks.sync_crm", args=[], kwargs={}, job_id="j",
                             reason="TransientError: timed out after 30 s", schedule="hourly")
    record_job_failure(store, queue="q", func="jobs.tasks.sync_crm", args=[], kwargs={}, job_id="j2",
                       reason="AuthError: token 1234 rejected", schedule="hourly")  # refreshes the one letter
    with store.sessions() as s:
        classes = dict(s.execute(select(model.DeadLetter.stage, model.DeadLetter.reason_class)
                                 .order_by(model.DeadLetter.id)).all())
        rows = s.execute(select(model.DeadLetter.reason_class).where(model.DeadLetter.stage == "dispatch")).all()
    assert {r[0] for r in rows} == {"HTTP 400: pixel # unknown"}
    assert classes["reconcile"] == "ValueError (details in the worker log)"
    assert classes["job"] == "AuthError: token # rejected"
    assert letter(store, job)["reason_class"] == "AuthError: token # rejected"


def test_filters_and_keyset_pages(store, junk_config):
    ids = seed(store, junk_config, reconcile=3, mapping=2)
    assert [g["stage"] for g in groups(store, LetterFilter(stage="mapping"))] == ["mapping"]
    assert groups(store, LetterFilter(source="hubspot")) == []
    assert groups(store, LetterFilter(since=model.utcnow() + timedelta(minutes=1))) == []
    first = groups(store, LetterFilter(), limit=1)
    rest = groups(store, LetterFilter(), limit=5, after=first[0]["position"])
    assert [g["stage"] for g in first + rest] == ["reconcile", "mapping"]
    key = group_of(store, "reconcile")
    page1 = letters(store, LetterFilter(group=key), limit=2)
    page2 = letters(store, LetterFilter(group=key), limit=2, before_id=page1[-1]["id"])
    assert [r["id"] for r in page1 + page2] == sorted(ids["reconcile"], reverse=True)
    assert {r["group"] for r in page1} == {key.encode()}
    assert [r["id"] for r in letters(store, LetterFilter(ids=ids["mapping"] + [999999]))] == sorted(
        ids["mapping"], reverse=True)
    with pytest.raises(Invalid):
        letters(store, LetterFilter(status="lost"))
    with pytest.raises(Invalid):
        groups(store, LetterFilter(), after=["x"])


def test_a_group_id_round_trips_and_a_foreign_one_is_invalid():
    key = GroupKey("reconcile", "hubspot", "record …: ünïcode 'x'")
    assert GroupKey.parse(key.encode()) == key
    for bad in ("", "not-base64!", "WzEsMiwzXQ", key.encode()[:-3]):  # the last: [1,2,3] / cut short
        with pytest.raises(Invalid):
            GroupKey.parse(bad)


def test_replaying_a_group_replays_only_that_groups_letters(store, junk_config):
    ids = seed(store, junk_config, reconcile=3, mapping=2)
    job = record_job_failure(store, queue="maintenance", func="jobs.tasks.sweep_inbox", args=[], kwargs={},
                             job_id="j1", reason="TransientError: 503")
    queued: list[dict] = []
    out = replay_selection(store, load_config(None), OPERATOR, Selection(group=group_of(store, "reconcile")),
                           enqueue_job=queued.append)
    assert sorted(out["replayed"]) == sorted(ids["reconcile"])
    assert (out["failed"], out["not_open"], out["enqueued"], out["remaining"], queued) == ({}, [], [], 0, [])
    open_now = {r["id"] for r in list_open(store)}
    assert open_now == {*ids["mapping"], job}
    with store.sessions() as s:
        assert len(s.scalars(select(model.Contact)).all()) == 3
    again = replay_selection(store, load_config(None), OPERATOR, Selection(group=group_of(store, "job")),
                             enqueue_job=queued.append)
    assert (again["replayed"], again["enqueued"]) == ([job], [job])
    assert [q["func"] for q in queued] == ["jobs.tasks.sweep_inbox"]
    [audited, *_] = entries(store, AuditFilter(action="dead_letter.replay"))
    assert (audited.actor, audited.role, audited.after) == ("ops-anna", "operator", {"replayed": [job], "open": []})


def test_replaying_letters_that_still_fail_keeps_them_open_with_the_new_reason(store, junk_config):
    ids = seed(store, junk_config, reconcile=2, mapping=2)
    out = replay_selection(store, junk_config, OPERATOR, Selection(ids=ids["mapping"] + [999999]))
    assert out["replayed"] == [] and out["not_open"] == [999999]
    assert sorted(int(k) for k in out["failed"]) == sorted(ids["mapping"])
    assert all("field" in reason for reason in out["failed"].values())
    limited = replay_selection(store, junk_config, OPERATOR, Selection(group=group_of(store, "reconcile"), limit=1))
    assert (len(limited["failed"]), limited["remaining"]) == (1, 2)  # still failing: both stay open


def test_replay_and_dismiss_refuse_what_names_nothing(store, junk_config):
    seed(store, junk_config, reconcile=1, mapping=1)
    nowhere = GroupKey("reconcile", "hubspot", "nothing like it")
    with pytest.raises(NotFound):
        replay_selection(store, junk_config, OPERATOR, Selection(ids=[999998, 999999]))
    with pytest.raises(NotFound):
        replay_selection(store, junk_config, OPERATOR, Selection(group=nowhere))
    with pytest.raises(NotFound):
        dismiss(store, OPERATOR, Selection(group=nowhere), "gone")
    with pytest.raises(Invalid):
        Selection(ids=[1], group=nowhere)
    with pytest.raises(Invalid):
        Selection()
    with pytest.raises(Invalid):
        Selection(ids=list(range(1001)))
    with pytest.raises(Invalid):
        dismiss(store, OPERATOR, Selection(group=group_of(store, "mapping")), "   ")


def test_dismissed_letters_stop_counting_as_open_and_are_audited(store, junk_config):
    ids = seed(store, junk_config, reconcile=3, mapping=2)
    key = group_of(store, "reconcile")
    out = dismiss(store, OPERATOR, Selection(group=key), "known junk numbers; fixed upstream")
    assert (sorted(out["dismissed"]), out["not_open"], out["remaining"]) == (sorted(ids["reconcile"]), [], 0)
    assert {r["id"] for r in list_open(store)} == set(ids["mapping"])
    assert [g["stage"] for g in groups(store, LetterFilter())] == ["mapping"]
    [gone] = groups(store, LetterFilter(status="dismissed"))
    assert (gone["group"], gone["count"]) == (key.encode(), 3)
    shown = letter(store, ids["reconcile"][0])
    assert (shown["status"], shown["dismissed_by"], shown["note"]) == ("dismissed", "ops-anna",
                                                                       "known junk numbers; fixed upstream")
    assert shown["dismissed_at"] is not None
    [entry] = entries(store, AuditFilter(action="dead_letter.dismiss"))
    assert (entry.actor, entry.role, entry.target_type) == ("ops-anna", "operator", "dead_letters")
    assert entry.before["status"] == "open" and entry.after["status"] == "dismissed"
    assert "status: open → dismissed" in entry.summary
    again = dismiss(store, OPERATOR, Selection(ids=[ids["reconcile"][0], ids["mapping"][0]]), "dup")
    assert (again["dismissed"], again["not_open"]) == ([ids["mapping"][0]], [ids["reconcile"][0]])
    assert replay(store, load_config(None), ids["reconcile"]).not_open == sorted(ids["reconcile"])


def test_cli_groups_replay_and_dismiss_by_group(cli, store, junk_config):
    ids = seed(store, junk_config, reconcile=2, mapping=2)
    lines = cli("deadletter", "groups").output.splitlines()
    assert [line.split()[:3] for line in lines[::2]] == [["2", "mapping", "whatsapp"], ["2", "reconcile", "whatsapp"]]
    listed = json.loads(cli("deadletter", "groups", "--json", "--stage", "mapping").output)
    [mapping] = listed
    assert (mapping["count"], "position" not in mapping) == (2, True)
    res = cli("deadletter", "dismiss", "--group", mapping["group"], "--note", "bad test data")
    assert (res.exit_code, sorted(json.loads(res.output)["dismissed"])) == (0, sorted(ids["mapping"]))
    assert "no dismissed dead letters" not in cli("deadletter", "groups", "--status", "dismissed").output
    reconcile = group_of(store, "reconcile").encode()
    res = cli("deadletter", "replay", "--group", reconcile)  # the CLI's config (bundled) has no junk mistake
    assert (res.exit_code, sorted(json.loads(res.output)["replayed"])) == (0, sorted(ids["reconcile"]))
    assert list_open(store) == []
    [entry, *_] = entries(store, AuditFilter(action="dead_letter.dismiss"))
    assert entry.actor.startswith("cli:") and entry.via == "cli"


def test_cli_refuses_what_the_service_refuses(cli, store):
    res = cli("deadletter", "dismiss", "999999", "--note", "x")
    assert res.exit_code == 1 and "no dead letter with id 999999" in res.output
    res = cli("deadletter", "replay", "--group", "nonsense")
    assert res.exit_code == 1 and "the group is not one this API gave" in res.output
    res = cli("deadletter", "dismiss", "1", "--group", "x", "--note", "x")
    assert res.exit_code == 1 and "ids of the dead letters to dismiss, or a --group" in res.output
    assert "no open dead letters" in cli("deadletter", "groups").output


def _live(store, since=None) -> dict:
    """Letters per (status, stage, source, reason class), counted from the letters themselves."""
    from sqlalchemy import func

    d = model.DeadLetter
    key = (d.status, d.stage, d.source, d.reason_class)
    with store.sessions() as s:
        query = select(*key, func.count()).group_by(*key)
        return {tuple(r[:4]): r[4] for r in s.execute(query if since is None else query.where(d.created_at >= since))}


def _kept(store, table, *extra) -> dict:
    """The kept counts of ``table`` summed per key (its key columns and ``extra`` ones)."""
    from sqlalchemy import func

    key = (table.status, table.stage, table.source, table.reason_class, *extra)
    with store.sessions() as s:
        return {tuple(r[:-1]): r[-1] for r in s.execute(select(*key, func.sum(table.n)).group_by(*key)) if r[-1]}


def _by_day(store) -> dict:
    """Letters per key and UTC day of ``created_at``, from the letters themselves."""
    d = model.DeadLetter
    found: dict = {}
    with store.sessions() as s:
        rows = s.execute(select(d.status, d.stage, d.source, d.reason_class, d.created_at)).all()
    for *key, at in rows:
        found[(*key, at.date())] = found.get((*key, at.date()), 0) + 1
    return found


def _grouped(store, status, since) -> dict:
    return {(g["stage"], g["source"], g["reason_class"]): g["count"]
            for g in groups(store, LetterFilter(status=status, since=since), limit=100)}


def _direct(store, status, since) -> dict:
    found: dict = {}
    for (st, *group), n in _live(store, since).items():
        if status is None or st == status:
            found[tuple(group)] = found.get(tuple(group), 0) + n
    return found


def test_the_kept_counts_follow_every_change_and_survive_folding(store, junk_config):
    from sqlalchemy import delete, func

    from sync.ingest.deadletter_counts import compact

    d, c = model.DeadLetter, model.DeadLetterCount
    ids = seed(store, junk_config, reconcile=3, mapping=2)
    for reason in ("TransientError: 503", "AuthError: token 7 rejected"):  # the second re-reasons the first
        record_job_failure(store, queue="q", func="jobs.tasks.sync_crm", args=[], kwargs={}, job_id="j",
                           reason=reason, schedule="hourly")
    assert _kept(store, c) == _live(store) and len(_live(store)) == 3
    dismiss(store, OPERATOR, Selection(ids=ids["mapping"][:1]), "noise")
    replay_selection(store, load_config(None), OPERATOR, Selection(ids=ids["reconcile"][:2]))
    with store.transaction() as s:
        s.execute(delete(d).where(d.id == ids["reconcile"][2]))
    assert _kept(store, c) == _live(store) and len(_live(store)) == 4
    assert compact(store, threshold=0)
    groups_now = len(_live(store))
    with store.sessions() as s:
        assert s.scalar(select(func.count()).select_from(c)) == groups_now
    assert _kept(store, c) == _live(store)
    assert not compact(store)  # a handful of rows: nothing to fold
    assert [(g["stage"], g["count"]) for g in groups(store, LetterFilter())] == [("job", 1), ("mapping", 1)]


def test_the_counts_per_day_agree_with_the_letters_since_any_moment(store, junk_config):
    """Letters on several days, moved in time, replayed, dismissed, deleted: ``since`` counts as the letters do."""
    from sqlalchemy import delete, func, update

    from sync.ingest.deadletter_counts import compact

    d, days = model.DeadLetter, model.DeadLetterDayCount
    ids = seed(store, junk_config, reconcile=4, mapping=3)
    today = model.utcnow().replace(hour=0, minute=0, second=0, microsecond=0)
    moments = [today - timedelta(days=3, hours=-5), today - timedelta(days=2, hours=-1), today - timedelta(days=2),
               today - timedelta(microseconds=1), today + timedelta(days=1, hours=2)]
    with store.transaction() as s:
        for n, at in enumerate(moments * 2):
            s.add(d(stage="dispatch", source="meta" if n % 2 else "google", object="conversion", record_id=str(n),
                    reason=f"HTTP 400: pixel {n} unknown", payload={}, status="open", created_at=at))
        s.execute(update(d).where(d.id == ids["mapping"][0]).values(created_at=today - timedelta(days=2, hours=-7)))
        s.execute(update(d).where(d.id == ids["reconcile"][0]).values(created_at=moments[0]))
    dismiss(store, OPERATOR, Selection(ids=ids["mapping"][1:2]), "noise")
    replay_selection(store, load_config(None), OPERATOR, Selection(ids=ids["reconcile"][1:3]))
    with store.transaction() as s:
        s.execute(delete(d).where(d.id == ids["reconcile"][3]))

    def agree() -> None:
        assert _kept(store, days, days.day) == _by_day(store)
        for since in [*moments, today, today - timedelta(days=2, hours=-3), today - timedelta(days=30),
                      today + timedelta(days=5)]:
            for status in ("open", "replayed", "dismissed", None):
                assert _grouped(store, status, since) == _direct(store, status, since), (since, status)

    agree()
    assert _grouped(store, "open", moments[2])  # not trivially empty
    assert compact(store, threshold=0)
    with store.sessions() as s:  # one row a key and day, none pending
        rows, pending = (s.scalar(select(func.count()).select_from(days).where(*where))
                         for where in ((), (days.pending,)))
    assert (rows, pending) == (len(_by_day(store)), 0)
    agree()
    dismiss(store, OPERATOR, Selection(ids=ids["mapping"][2:]), "noise too")  # after a fold: pending again
    agree()
    assert compact(store, threshold=0)
    agree()
