"""`lifesync sync hubspot` past records the database cannot take: each is a dead letter with its reason, the rest
land, the cursor moves on, and the next run does not fail (issue 17, part 4).

Run on SQLite (which enforces no VARCHAR length) and on PostgreSQL (which refuses long values and NULs).
"""

from __future__ import annotations

import pytest
from sqlalchemy import select
from support.crm import count, identities, run, settings_for

from sync.crm.pull import load_cursor
from sync.sandbox.hubspot.sandbox import HubSpotSandbox
from sync.sandbox.server import SandboxServer
from sync.store import model

LONG_EMAIL = "a" * 288 + "@example.com"  # 300 characters: no identities.value (255) holds it


@pytest.fixture
def hubspot(store, database_url):
    sandbox = HubSpotSandbox.seeded(contacts=150, rate_per_10s=None, search_per_second=None)
    server = SandboxServer(hubspot=sandbox).start()
    yield sandbox, settings_for(server, database_url)
    server.stop()


def open_letters(store) -> list[tuple[str | None, str]]:
    d = model.DeadLetter
    with store.transaction() as s:
        return [tuple(r) for r in s.execute(select(d.record_id, d.reason).where(d.status == "open").order_by(d.id))]


def test_a_contact_with_a_300_character_email_and_one_with_a_nul_are_dead_letters_and_the_rest_sync(hubspot, store):
    sandbox, settings = hubspot
    long_id = sandbox.put("contacts", {"email": LONG_EMAIL, "firstname": "Long"})
    nul_id = sandbox.put("contacts", {"email": "nul@example.com", "firstname": "Ana\x00Maria"})
    report = run("hubspot", settings, store, objects=["contacts"], push=False)
    counts = report["objects"]["contacts"]
    assert (counts["records"], counts["created"], counts["dead_lettered"]) == (152, 150, 2)
    assert count(store, model.Contact) == 150
    assert LONG_EMAIL not in identities(store, "email") and "nul@example.com" not in identities(store, "email")
    letters = dict(open_letters(store))
    assert letters.keys() == {long_id, nul_id}
    assert letters[long_id] == (f"hubspot contacts record {long_id}: email identity is 300 characters long; "
                                "its column (identities.value) holds at most 255")
    assert letters[nul_id] == (f"hubspot contacts record {nul_id}: field first_name holds a NUL character, "
                               "which the database cannot store")
    cursor = load_cursor(store, "hubspot", "default", "contacts")
    assert cursor  # moved past the bad records

    later = sandbox.put("contacts", {"email": "later@example.com", "firstname": "Later"})
    again = run("hubspot", settings, store, objects=["contacts"], push=False)  # does not fail
    assert "later@example.com" in identities(store, "email") and count(store, model.Contact) == 151
    assert load_cursor(store, "hubspot", "default", "contacts") != cursor
    assert later not in dict(open_letters(store))
    assert again["objects"]["contacts"]["created"] == 1
    assert dict(open_letters(store)) == letters  # the window's re-read refreshes the two letters, adds none
