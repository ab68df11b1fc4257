"""Erasure and audiences: ``forget`` runs the audience sync of each (segment, destination) holding the person
right away — Meta's audience (its sandbox) and a CSV file no longer hold them, and no ``audience_members``
row keeps their keys."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import select
from support.audiences import Segment, make_contacts

from sync.access.roles import Principal
from sync.privacy.erasure import forget
from sync.sandbox.ads.meta import MetaSandbox
from sync.sandbox.server import SandboxServer
from sync.segments.audiences import run
from sync.segments.destinations.base import DestinationEntry
from sync.settings import Settings
from sync.store import model

ADMIN = Principal(name="cli:dpo", role="admin", via="cli")
ANA, BEN = "ana.lopez@example.com", "ben.okafor@example.org"
CONSENT = {"ad_user_data": True, "ad_personalization": True}


@pytest.fixture(scope="module")
def meta():
    sandbox = MetaSandbox(require_appsecret_proof=True)
    with SandboxServer(meta=sandbox) as server:
        yield sandbox, server.env()


def test_forget_removes_the_person_from_meta_and_csv_audiences(store, meta, monkeypatch, tmp_path):
    sandbox, env = meta
    monkeypatch.setenv("LIFESYNC_AUDIENCE_CSV_DIR", str(tmp_path))
    ana, ben = make_contacts(store, [{"email": ANA, "consent": CONSENT}, {"email": BEN, "consent": CONSENT}])
    segment = Segment("lapsed", "Lapsed customers", destinations=(
        DestinationEntry("meta-lapsed", "meta_audience", {}),
        DestinationEntry("csv-lapsed", "csv", {"columns": "email"})))
    monkeypatch.setattr(run, "configured_segments", lambda config: [segment])
    monkeypatch.setattr(run, "current_members", lambda session, key: list(session.scalars(select(model.Contact.id))))
    settings = Settings.from_env({**env, "LIFESYNC_AUDIENCE_CSV_DIR": str(tmp_path)})
    first = run.sync_segments(store, settings, [segment])
    assert [(c.destination, c.added, c.error) for c in first] == [("meta-lapsed", 2, None), ("csv-lapsed", 2, None)]
    [remote] = [a["id"] for a in sandbox.audience_book.audiences.values()]
    ana_hash = hashlib.sha256(ANA.encode()).hexdigest()

    def meta_holds(digest: str) -> bool:
        return any(digest in row.values() for row in sandbox.audience_book.audiences[remote]["rows"])

    def csv_text() -> str:
        return "".join(p.read_text() for p in tmp_path.rglob("*") if p.is_file())

    assert meta_holds(ana_hash) and ANA in csv_text()
    done = forget(store, None, settings, ana, ADMIN)
    assert done["counts"]["audiences"] == {"lapsed/csv-lapsed": "removed", "lapsed/meta-lapsed": "removed"}
    assert not meta_holds(ana_hash) and meta_holds(hashlib.sha256(BEN.encode()).hexdigest())
    assert ANA not in csv_text() and BEN in csv_text()
    with store.transaction() as s:
        assert s.scalars(select(model.AudienceMemberState.contact_id)).all() == [ben, ben]


def test_a_destination_failing_keeps_the_row_for_the_next_sync_and_says_so(store, meta, monkeypatch, tmp_path):
    _, env = meta
    [ana] = make_contacts(store, [{"email": ANA, "consent": CONSENT}])
    segment = Segment("lapsed", "Lapsed customers",
                      destinations=(DestinationEntry("meta-lapsed", "meta_audience", {}),))
    monkeypatch.setattr(run, "configured_segments", lambda config: [segment])
    monkeypatch.setattr(run, "current_members", lambda session, key: list(session.scalars(select(model.Contact.id))))
    settings = Settings.from_env(env)
    run.sync_segments(store, settings, [segment])
    broken = Settings.from_env({**env, "LIFESYNC_META_MARKETING_ACCESS_TOKEN": "revoked"})
    done = forget(store, None, broken, ana, ADMIN)
    assert done["counts"]["contacts"] == 1  # the local erasure stands
    state = done["counts"]["audiences"]["lapsed/meta-lapsed"]
    assert state.startswith("pending_remove") or state.startswith("added"), state
    with store.transaction() as s:
        keys = s.scalars(select(model.AudienceMemberState.keys)).all()
    assert keys and ANA not in str(keys)  # only the hashes Meta was given, for the retry to remove
