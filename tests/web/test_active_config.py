"""The web app follows configuration revisions: request handlers' ``current_config()`` is the active one."""

from __future__ import annotations

from sync.config.revisions import Revisions
from sync.settings import Settings
from sync.web.app import create_app, current_config

CONTACTS = "mappings/hubspot_contacts.yaml"
FIRST_NAME = "first_name: {path: properties.firstname, transforms: [strip], direction: both}"
UPPER = "first_name: {path: properties.firstname, transforms: [strip, upper], direction: both}"


def _transforms(config) -> list[str]:
    return [t.name for t in dict(config.mappings[("hubspot", "contacts")].fields)["first_name"].transforms]


def test_an_app_built_without_a_config_uses_the_newest_revision(store, database_url):
    app = create_app(Settings.from_env({"DATABASE_URL": database_url}), store=store, enqueue=lambda ids: None)
    app.extensions["lifesync"]["configs"].refresh = 0  # check at every call instead of every 2 s
    with app.app_context():
        assert _transforms(current_config()) == ["strip"]
        revisions = Revisions(store, None)
        revisions.propose(CONTACTS, revisions.read(CONTACTS).text.replace(FIRST_NAME, UPPER), "ops")
        assert _transforms(current_config()) == ["strip", "upper"]


def test_an_app_given_a_config_keeps_it(store, database_url):
    revisions = Revisions(store, None)
    given = revisions.active_config()
    app = create_app(Settings.from_env({"DATABASE_URL": database_url}), store=store, config=given,
                     enqueue=lambda ids: None)
    revisions.propose(CONTACTS, revisions.read(CONTACTS).text.replace(FIRST_NAME, UPPER), "ops")
    with app.app_context():
        assert current_config() is given
