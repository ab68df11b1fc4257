"""``lifesync contacts forget IDENTITY``: asks first (unless --yes), prints the counts, audited as the shell user."""

from __future__ import annotations

import json

from click.testing import CliRunner
from sqlalchemy import select
from support.audiences import make_contacts

from sync.cli.main import main
from sync.store import model


def test_forget_asks_then_erases_and_prints_the_counts(store, database_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", database_url)
    ana, ben = make_contacts(store, [{"email": "ana@example.com"}, {"email": "ben@example.com"}])
    runner = CliRunner()
    declined = runner.invoke(main, ["contacts", "forget", "email:ANA@example.com"], input="n\n")
    assert declined.exit_code == 1 and f"Erase contact {ana}" in declined.output
    with store.transaction() as s:
        assert s.get(model.Contact, ana) is not None
    done = runner.invoke(main, ["contacts", "forget", "email:ana@example.com", "--yes"])
    assert done.exit_code == 0, done.output
    printed = json.loads(done.stdout)
    assert printed["contact_id"] == ana and printed["counts"]["identities"] == 1 and printed["actor"].startswith("cli:")
    with store.transaction() as s:
        assert s.get(model.Contact, ana) is None and s.get(model.Contact, ben) is not None
        assert s.scalars(select(model.AuditEntry.via).where(model.AuditEntry.action == "contact.forget")).all() == [
            "cli"]
    gone = runner.invoke(main, ["contacts", "forget", "email:ana@example.com", "--yes"])
    assert gone.exit_code == 1 and "no contact holds the identity email" in gone.output
    assert "ana@example.com" not in gone.output
    bad = runner.invoke(main, ["contacts", "forget", "nonsense", "--yes"])
    assert bad.exit_code == 1 and "KIND:VALUE" in bad.output
