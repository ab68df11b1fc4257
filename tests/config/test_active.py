"""The active configuration follows revisions without a restart (issue 18, item 4): one process, then two."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from sync.config import BUNDLED_CONFIG_DIR
from sync.config.active import ActiveConfig
from sync.config.revisions import Revisions
from sync.errors import ConfigError
from sync.ingest.pipeline import ingest
from sync.store.model import ConfigRevision, Contact, Identity

ROOT = Path(__file__).resolve().parents[2]
CONTACTS = "mappings/hubspot_contacts.yaml"
FIRST_NAME = "first_name: {path: properties.firstname, transforms: [strip], direction: both}"
UPPER = "first_name: {path: properties.firstname, transforms: [strip, upper], direction: both}"
RECORD = json.loads((ROOT / "tests" / "fixtures" / "hubspot" / "contact.json").read_text())


def _record(n: int) -> dict:
    return {**RECORD, "id": str(n), "properties": {**RECORD["properties"], "email": f"person{n}@example.com",
                                                   "hs_object_id": str(n), "phone": None, "mobilephone": None}}


def _transforms(config) -> list[str]:
    return [t.name for t in dict(config.mappings[("hubspot", "contacts")].fields)["first_name"].transforms]


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_an_edit_is_picked_up_at_the_next_check_and_only_then(store):
    clock = Clock()
    active = ActiveConfig(store, None, refresh=2.0, clock=clock)
    first = active.get()
    assert active.get() is first and _transforms(first) == ["strip"]  # cached, not reloaded
    revisions = Revisions(store, None)
    revisions.propose(CONTACTS, revisions.read(CONTACTS).text.replace(FIRST_NAME, UPPER), "ops")
    clock.now = 1.9
    assert active.get() is first  # within the refresh interval: no query at all
    clock.now = 2.0
    assert _transforms(active.get()) == ["strip", "upper"]
    rebuilt = active.get()
    clock.now = 10.0
    assert active.get() is rebuilt  # checked again, nothing new: the same object, not rebuilt


def test_a_database_that_does_not_answer_keeps_the_configuration_loaded(store, monkeypatch):
    clock = Clock()
    active = ActiveConfig(store, None, clock=clock)
    first = active.get()

    def down():
        raise OperationalError("SELECT max(id)", {}, Exception("connection refused"))

    monkeypatch.setattr(active.revisions, "latest_id", down)
    clock.now = 5.0
    assert active.get() is first
    fresh = ActiveConfig(store, None, clock=clock)
    monkeypatch.setattr(fresh.revisions, "latest_id", down)
    with pytest.raises(OperationalError):  # nothing loaded yet: nothing to fall back on
        fresh.get()


def test_a_revision_that_stopped_loading_never_replaces_the_good_configuration(store, tmp_path):
    """A baseline file changed on disk so a stored revision contradicts it: the process keeps what it had."""
    (tmp_path / "mappings").mkdir()
    clock = Clock()
    active = ActiveConfig(store, tmp_path, clock=clock)
    revisions = Revisions(store, tmp_path)
    revisions.propose(CONTACTS, revisions.read(CONTACTS).text.replace(FIRST_NAME, UPPER), "ops")
    good = active.get()
    lifecycle = (BUNDLED_CONFIG_DIR / "lifecycle.yaml").read_text()
    (tmp_path / "lifecycle.yaml").write_text(lifecycle.replace("Customer", "Client"))  # mappings still say Customer
    with store.transaction() as session:  # a new revision id, as any edit elsewhere would make
        row = session.get(ConfigRevision, revisions.read(CONTACTS).revision_id)
        session.add(ConfigRevision(document=row.document, seq=row.seq + 1, parent_id=row.id, text=row.text,
                                   sha256=row.sha256, author="ops", comment=""))
    with pytest.raises(ConfigError):
        revisions.active_config()
    clock.now = 5.0
    assert active.get() is good


def _first_name(store, record_id: str) -> str:
    with store.transaction() as session:
        contact = session.scalars(select(Contact).join(Identity, Identity.contact_id == Contact.id)
                                  .where(Identity.kind == "hubspot", Identity.value == record_id)).one()
        return contact.attributes["first_name"]["value"]


def test_a_mapping_edit_changes_what_ingest_produces_and_a_rollback_restores_it(store):
    active = ActiveConfig(store, None, refresh=0)
    revisions = Revisions(store, None)
    ingest("hubspot", "contacts", [_record(1)], store=store, config=active.get())
    edit = revisions.propose(CONTACTS, revisions.read(CONTACTS).text.replace(FIRST_NAME, UPPER), "ops")
    ingest("hubspot", "contacts", [_record(2)], store=store, config=active.get())
    revisions.rollback(CONTACTS, None, "ops", base_revision=edit.id)
    ingest("hubspot", "contacts", [_record(3)], store=store, config=active.get())
    assert [_first_name(store, str(n)) for n in (1, 2, 3)] == ["Ana María", "ANA MARÍA", "Ana María"]


WORKER = """
import json, sys
from jobs import tasks
from sync.mappings.engine import apply

for line in sys.stdin:
    _, _, config = tasks.context()  # what every job function starts with
    patch = apply(config.mappings[("hubspot", "contacts")], json.loads(line))
    print(dict(patch.fields)["first_name"], flush=True)
"""


class Worker:
    def __init__(self, database_url: str):
        env = {k: v for k, v in os.environ.items() if k != "LIFESYNC_CONFIG_DIR"}
        env["DATABASE_URL"] = database_url
        self.proc = subprocess.Popen([sys.executable, "-c", WORKER], cwd=ROOT, env=env, text=True,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE)

    def first_name(self) -> str:
        self.proc.stdin.write(json.dumps(_record(7)) + "\n")
        self.proc.stdin.flush()
        return self.proc.stdout.readline().strip()

    def until(self, expected: str, attempts: int = 120) -> str:
        """Ask until the worker answers ``expected`` (or give up): the refresh comes within seconds."""
        for _ in range(attempts):
            if (got := self.first_name()) == expected:
                return got
            time.sleep(0.25)
        return got

    def stop(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=30)
        self.proc.stdout.close()


def test_two_worker_processes_pick_up_an_edit_and_its_rollback_without_restart(store, database_url):
    workers = [Worker(database_url), Worker(database_url)]
    try:
        assert [w.first_name() for w in workers] == ["Ana María", "Ana María"]
        pids = [w.proc.pid for w in workers]
        revisions = Revisions(store, None)
        edit = revisions.propose(CONTACTS, revisions.read(CONTACTS).text.replace(FIRST_NAME, UPPER), "ops",
                                 base_revision=None)
        assert [w.until("ANA MARÍA") for w in workers] == ["ANA MARÍA", "ANA MARÍA"]
        revisions.rollback(CONTACTS, None, "ops", base_revision=edit.id)
        assert [w.until("Ana María") for w in workers] == ["Ana María", "Ana María"]
        assert [w.proc.pid for w in workers] == pids and all(w.proc.poll() is None for w in workers)
    finally:
        for w in workers:
            w.stop()
