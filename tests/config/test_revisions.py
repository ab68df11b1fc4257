"""Configuration as revisions (issue 18, item 4): read, propose, history, diff, rollback, on the real database."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from sync.config import BUNDLED_CONFIG_DIR, load_config
from sync.config.revisions import Revisions
from sync.errors import ConfigError, RevisionConflict, RevisionError
from sync.store.model import ConfigRevision

CONTACTS = "mappings/hubspot_contacts.yaml"
FIRST_NAME = "first_name: {path: properties.firstname, transforms: [strip], direction: both}"
UPPER = "first_name: {path: properties.firstname, transforms: [strip, upper], direction: both}"


def _count(store) -> int:
    with store.transaction() as session:
        return session.scalar(select(func.count()).select_from(ConfigRevision))


def _upper(text: str) -> str:
    assert FIRST_NAME in text
    return text.replace(FIRST_NAME, UPPER)


@pytest.fixture
def revisions(store):
    return Revisions(store, None)


def test_every_document_is_listed_with_its_baseline_origin(revisions):
    docs = {d.name: d for d in revisions.list_documents()}
    assert {"lifecycle.yaml", "conversions.yaml", CONTACTS} <= set(docs)
    assert "schedule.yaml" not in docs  # registered once when the scheduler starts: stays a file
    bundled = list((BUNDLED_CONFIG_DIR / "mappings").glob("*.yaml"))
    assert len([n for n in docs if n.startswith("mappings/")]) == len(bundled)
    contacts = revisions.read(CONTACTS)
    assert (contacts.origin, contacts.revision_id) == ("bundled", None)
    assert contacts.text == (BUNDLED_CONFIG_DIR / CONTACTS).read_text()


def test_a_project_file_is_the_baseline_of_its_document(store, tmp_path):
    (tmp_path / "mappings").mkdir()
    text = (BUNDLED_CONFIG_DIR / CONTACTS).read_text().replace(FIRST_NAME, UPPER)
    (tmp_path / CONTACTS).write_text(text)
    revisions = Revisions(store, tmp_path)
    assert (revisions.read(CONTACTS).origin, revisions.read("lifecycle.yaml").origin) == ("file", "bundled")
    assert revisions.read(CONTACTS).text == text


def test_a_valid_edit_is_stored_and_becomes_the_active_configuration(revisions, store):
    before = revisions.read(CONTACTS)
    rev = revisions.propose(CONTACTS, _upper(before.text), "ops-token", "names in capitals", base_revision=None)
    assert (rev.document, rev.seq, rev.parent_id, rev.author, rev.comment) == (
        CONTACTS, 1, None, "ops-token", "names in capitals")
    now = revisions.read(CONTACTS)
    assert (now.origin, now.revision_id, now.sha256) == ("revision", rev.id, rev.sha256)
    mapping = revisions.active_config().mappings[("hubspot", "contacts")]
    spec = dict(mapping.fields)["first_name"]
    assert [t.name for t in spec.transforms] == ["strip", "upper"]
    assert [t.name for t in dict(load_config(None).mappings[("hubspot", "contacts")].fields)["first_name"]
            .transforms] == ["strip"]  # the files are untouched
    assert revisions.check() == []


def test_an_invalid_edit_is_refused_with_file_line_and_key_and_changes_nothing(revisions, store):
    text = revisions.read(CONTACTS).text.replace("transforms: [strip, lower]", "transforms: [strip, shout]")
    with pytest.raises(ConfigError) as err:
        revisions.propose(CONTACTS, text, "ops", base_revision=None)
    [issue] = err.value.issues
    line = next(n for n, row in enumerate(text.splitlines(), 1) if "shout" in row)
    assert (issue.file, issue.line) == (f"{CONTACTS} (proposed)", line)
    assert issue.path.startswith("fields.language.transforms") and "shout" in issue.message
    assert _count(store) == 0 and revisions.read(CONTACTS).origin == "bundled"


def test_an_edit_is_judged_with_the_other_documents(revisions, store):
    """A lifecycle without a stage a mapping produces is refused, naming the mapping's file and line."""
    lifecycle = revisions.read("lifecycle.yaml").text
    assert "Customer" in lifecycle
    with pytest.raises(ConfigError) as err:
        revisions.propose("lifecycle.yaml", lifecycle.replace("Customer", "Client"), "ops")
    files = {i.file for i in err.value.issues}
    assert any(f.startswith(str(BUNDLED_CONFIG_DIR / "mappings")) for f in files), files
    assert all("lifesync-config-" not in str(i) for i in err.value.issues)  # no private directory named
    assert _count(store) == 0


def test_unparseable_and_oversized_texts_are_issues_not_errors(revisions, store):
    for text in ("source: [unclosed\n", "source: hubspot\x00\n", "a: \udc80\n", "x" * (300 * 1024)):
        with pytest.raises(ConfigError) as err:
            revisions.propose(CONTACTS, text, "ops")
        assert err.value.issues and all(i.file == f"{CONTACTS} (proposed)" for i in err.value.issues)
    assert _count(store) == 0


def test_unchanged_text_stores_nothing(revisions, store):
    assert revisions.propose(CONTACTS, revisions.read(CONTACTS).text, "ops") is None
    assert _count(store) == 0


@pytest.mark.parametrize(("name", "author", "comment"), [
    ("../lifecycle.yaml", "ops", ""), ("mappings/x.yml", "ops", ""), ("schedule.yaml", "ops", ""),
    (CONTACTS, "  ", ""), (CONTACTS, "a" * 256, ""), (CONTACTS, "ops", "\x00"), (CONTACTS, "o\udc80", ""),
])
def test_bad_names_authors_and_comments_are_refused(revisions, store, name, author, comment):
    with pytest.raises(RevisionError):
        revisions.propose(name, "source: x\n", author, comment)
    assert _count(store) == 0


def test_two_edits_from_the_same_parent_the_second_is_a_conflict(revisions, store):
    base = revisions.read(CONTACTS)
    first = revisions.propose(CONTACTS, _upper(base.text), "alice", base_revision=base.revision_id)
    with pytest.raises(RevisionConflict) as err:
        revisions.propose(CONTACTS, base.text + "# bob's note\n", "bob", base_revision=base.revision_id)
    assert (err.value.base, err.value.latest) == (None, first.id)
    assert revisions.read(CONTACTS).revision_id == first.id and _count(store) == 1
    second = revisions.propose(CONTACTS, base.text + "# bob's note\n", "bob", base_revision=first.id)
    assert (second.parent_id, second.seq) == (first.id, 2)


def test_racing_edits_from_the_same_parent_store_one(store):
    """Both pass validation at once; the (document, seq) constraint lets one through, the other conflicts."""
    text = Revisions(store, None).read(CONTACTS).text
    barrier, outcomes = threading.Barrier(2), []
    results: list[object] = []

    class Racing(Revisions):
        def _store(self, *args, **kwargs):
            barrier.wait(timeout=30)
            return super()._store(*args, **kwargs)

    def edit(n: int) -> None:
        try:
            results.append(Racing(store, None).propose(CONTACTS, text + f"# edit {n}\n", f"user{n}",
                                                       base_revision=None))
        except RevisionConflict as exc:
            outcomes.append(exc)

    threads = [threading.Thread(target=edit, args=(n,)) for n in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert (len(results), len(outcomes), _count(store)) == (1, 1, 1)


def _race(store, edits):
    """Run ``edits`` [(document, text)] at once, both validated before either is stored; (stored, refusals)."""
    barrier, stored, refused = threading.Barrier(len(edits)), [], []

    class Racing(Revisions):
        first = True

        def _store(self, *args, **kwargs):
            if self.first:  # only the first attempt waits: a retry goes straight on
                self.first = False
                barrier.wait(timeout=30)
            return super()._store(*args, **kwargs)

    def edit(document: str, text: str) -> None:
        try:
            stored.append(Racing(store, None).propose(document, text, "ops", base_revision=None))
        except (RevisionConflict, ConfigError) as exc:
            refused.append(exc)

    threads = [threading.Thread(target=edit, args=pair) for pair in edits]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return stored, refused


def test_racing_edits_of_two_documents_valid_alone_but_not_together_store_one(store):
    """The loser is validated again on the winner's state: two mappings of one (source, object) are refused."""
    companies = (BUNDLED_CONFIG_DIR / CONTACTS).read_text().replace("object: contacts", "object: companies")
    stored, refused = _race(store, [("mappings/a_companies.yaml", companies),
                                    ("mappings/b_companies.yaml", companies)])
    assert (len(stored), len(refused), _count(store)) == (1, 1, 1)
    [error] = refused
    assert isinstance(error, ConfigError) and "a second mapping for hubspot companies" in str(error)
    Revisions(store, None).active_config()  # what is active still loads


def test_history_diff_and_rollback(revisions, store):
    base = revisions.read(CONTACTS).text
    one = revisions.propose(CONTACTS, _upper(base), "alice", "capitals")
    two = revisions.propose(CONTACTS, _upper(base) + "# note\n", "bob", "a note")
    assert [r.id for r in revisions.history(CONTACTS)] == [two.id, one.id]
    assert revisions.history("lifecycle.yaml") == []
    diff = revisions.diff(None, one.id)
    assert f"-  {FIRST_NAME}" in diff and f"+  {UPPER}" in diff and diff.startswith(f"--- {CONTACTS} (baseline)")
    assert revisions.diff(one.id, two.id).splitlines()[-1] == "+# note"
    back = revisions.rollback(CONTACTS, one.id, "carol")
    assert (back.text, back.parent_id, back.comment) == (one.text, two.id, f"roll back to revision {one.id}")
    assert revisions.rollback(CONTACTS, one.id, "carol") is None  # already that text
    base_again = revisions.rollback(CONTACTS, None, "carol", "undo it all")
    assert revisions.read(CONTACTS).text == base == base_again.text
    with pytest.raises(RevisionError, match=r"not lifecycle\.yaml"):
        revisions.rollback("lifecycle.yaml", one.id, "carol")
    with pytest.raises(RevisionError, match="no configuration revision 999"):
        revisions.diff(None, 999)


def test_a_new_mapping_document_can_be_proposed(revisions, store):
    text = (BUNDLED_CONFIG_DIR / CONTACTS).read_text().replace("object: contacts", "object: companies")
    rev = revisions.propose("mappings/hubspot_companies.yaml", text, "ops")
    assert revisions.read("mappings/hubspot_companies.yaml").revision_id == rev.id
    assert ("hubspot", "companies") in revisions.active_config().mappings
    with pytest.raises(RevisionError, match="no baseline file"):
        revisions.rollback("mappings/hubspot_companies.yaml", None, "ops")


def test_privacy_yaml_is_a_document_an_edit_of_which_reaches_the_active_configuration(revisions):
    """The policies are edited like the other documents (no restart): a revision changes the active privacy config,
    and a bad one is refused with its line, leaving the policies as they were."""
    before = revisions.read("privacy.yaml")
    assert before.origin == "bundled" and before.text == (BUNDLED_CONFIG_DIR / "privacy.yaml").read_text()
    assert revisions.active_config().privacy.default == "send"
    revisions.propose("privacy.yaml", before.text.replace("\ndefault: send", "\ndefault: drop"), "dpo", "strict",
                      base_revision=None)
    assert revisions.active_config().privacy.default == "drop"
    with pytest.raises(ConfigError) as refused:
        revisions.propose("privacy.yaml", "default: sometimes\n", "dpo", "typo",
                          base_revision=revisions.read("privacy.yaml").revision_id)
    [issue] = refused.value.issues
    assert issue.line == 1 and "unknown policy 'sometimes'" in issue.message
    assert revisions.active_config().privacy.default == "drop"
