"""``lifesync config export|import|history|diff|rollback`` and ``config check`` over revisions."""

from __future__ import annotations

from click.testing import CliRunner
from sqlalchemy import func, select
from support.cli import cli_fixture

from sync.cli.main import main
from sync.config import BUNDLED_CONFIG_DIR
from sync.config.revisions import Revisions
from sync.store.model import ConfigRevision

CONTACTS = "mappings/hubspot_contacts.yaml"
FIRST_NAME = "first_name: {path: properties.firstname, transforms: [strip], direction: both}"
UPPER = "first_name: {path: properties.firstname, transforms: [strip, upper], direction: both}"


cli = cli_fixture(catch_exceptions=False, prefix=["config"])


def _count(store) -> int:
    with store.transaction() as session:
        return session.scalar(select(func.count()).select_from(ConfigRevision))


def test_export_then_import_of_unchanged_files_stores_nothing_and_one_edit_one_revision(cli, store, tmp_path):
    res = cli("export", str(tmp_path / "cfg"))
    assert res.exit_code == 0, res.output
    exported = sorted(p.relative_to(tmp_path / "cfg").as_posix() for p in (tmp_path / "cfg").rglob("*.yaml"))
    assert exported == sorted(d.name for d in Revisions(store, None).list_documents())
    assert (tmp_path / "cfg" / CONTACTS).read_text() == (BUNDLED_CONFIG_DIR / CONTACTS).read_text()
    res = cli("import", str(tmp_path / "cfg"))
    assert res.exit_code == 0 and "0 document(s) changed" in res.output and _count(store) == 0
    path = tmp_path / "cfg" / CONTACTS
    path.write_text(path.read_text().replace(FIRST_NAME, UPPER))
    res = cli("import", str(tmp_path / "cfg"), "--author", "alice", "--comment", "capitals")
    assert res.exit_code == 0, res.output
    [rev] = Revisions(store, None).history(CONTACTS)
    assert (rev.author, rev.comment, _count(store)) == ("alice", "capitals", 1)
    res = cli("export", str(tmp_path / "again"))  # the active configuration: the revision, not the file
    assert (tmp_path / "again" / CONTACTS).read_text() == path.read_text()
    assert cli("import", str(tmp_path / "again")).exit_code == 0 and _count(store) == 1


def test_an_invalid_import_is_refused_naming_file_and_line_and_stores_nothing(cli, store, tmp_path):
    cli("export", str(tmp_path))
    (tmp_path / "lifecycle.yaml").write_text((tmp_path / "lifecycle.yaml").read_text() + "# fine\n")
    path = tmp_path / CONTACTS
    path.write_text(path.read_text().replace("object: contacts", "objet: contacts"))
    res = CliRunner().invoke(main, ["config", "import", str(tmp_path)])
    assert res.exit_code == 1
    assert f"{CONTACTS} (proposed):4: objet: unknown key" in res.stderr and "nothing stored" in res.stderr
    assert _count(store) == 0  # the valid lifecycle edit is not stored either: all or nothing


def test_import_judges_the_files_together(cli, store, tmp_path):
    """A stage renamed in lifecycle.yaml and in the mappings (and segments) that name it: valid only as one change."""
    cli("export", str(tmp_path))
    changed = 0
    for path in [tmp_path / "lifecycle.yaml", *sorted((tmp_path / "mappings").glob("*.yaml")),
                 *sorted((tmp_path / "segments").glob("*.yaml")), tmp_path / "conversions.yaml"]:
        text = path.read_text()
        if "Customer" in text:
            path.write_text(text.replace("Customer", "Client"))
            changed += 1
    res = cli("import", str(tmp_path))
    assert res.exit_code == 0, res.output
    assert _count(store) == changed > 2
    assert "Client" in Revisions(store, None).active_config().lifecycle.active_names


def test_history_diff_rollback_and_check_from_the_shell(cli, store):
    revisions = Revisions(store, None)
    edit = revisions.propose(CONTACTS, revisions.read(CONTACTS).text.replace(FIRST_NAME, UPPER), "alice", "caps")
    res = cli("history", CONTACTS)
    assert res.output.splitlines()[0].startswith(f"{edit.id}\t") and "alice" in res.output
    assert f"active: revision {edit.id}" in res.output
    assert f"+  {UPPER}" in cli("diff", "baseline", str(edit.id)).output
    res = cli("rollback", CONTACTS, "baseline", "--author", "bob")
    assert res.exit_code == 0 and revisions.read(CONTACTS).text == (BUNDLED_CONFIG_DIR / CONTACTS).read_text()
    assert [r.author for r in revisions.history(CONTACTS)] == ["bob", "alice"]
    res = cli("rollback", CONTACTS, "latest")
    assert res.exit_code == 2 and "neither a revision id nor 'baseline'" in res.output
    res = cli("history", "nope.yaml")
    assert res.exit_code == 1 and "is no configuration document" in res.output
    res = cli("check")
    assert res.exit_code == 0 and "configuration OK" in res.output


def test_config_check_checks_the_revisions_too(cli, store, tmp_path, monkeypatch):
    (tmp_path / "mappings").mkdir()
    monkeypatch.setenv("LIFESYNC_CONFIG_DIR", str(tmp_path))
    revisions = Revisions(store, tmp_path)
    edit = revisions.propose(CONTACTS, revisions.read(CONTACTS).text.replace(FIRST_NAME, UPPER), "alice")
    lifecycle = (BUNDLED_CONFIG_DIR / "lifecycle.yaml").read_text()
    (tmp_path / "lifecycle.yaml").write_text(lifecycle.replace("Customer", "Client"))  # contradicts the revision
    res = CliRunner().invoke(main, ["config", "check"])
    assert res.exit_code == 1
    assert f"{CONTACTS} (revision {edit.id}):" in res.stderr and "'Customer'" in res.stderr


def test_config_check_without_a_database_checks_the_files_and_says_so(cli, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://postgres@127.0.0.1:9/none?connect_timeout=2")
    res = cli("check", "--on", "2026-12-06")
    assert res.exit_code == 0 and "configuration OK (1 warning(s))" in res.output
    assert "revisions were not checked, only the files" in res.stderr
