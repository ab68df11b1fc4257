"""Configuration as revisions: read, edit, diff and roll back config documents, stored in the database.

The one service layer the ops API, the console and the CLI (``lifesync config ...``) call
(DESIGN §8b). Files stay the baseline (``sync.config.documents``); an edit is validated
against the whole active configuration with the checks of ``lifesync config check`` and
refused, changing nothing, with every issue's file, line and key (``ConfigError``); a valid
one is stored as a revision (whole text, sha256, author, comment, parent). Processes pick
the new active configuration up within seconds (``sync.config.active``).

Optimistic locking: ``propose`` and ``rollback`` take ``base_revision``, the revision the
edit was made from (None: the baseline file); when the document has moved on since, the edit
is refused as a ``RevisionConflict`` rather than silently overwriting the other one. Writers
take turns and store only on the state they validated (``_store``); an edit that lost a race
is validated again on the new state, where its base check refuses it.
"""

from __future__ import annotations

import difflib
import hashlib
from collections.abc import Mapping, Set
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Final

from sqlalchemy import func, select
from sqlalchemy import text as sql
from sqlalchemy.exc import IntegrityError

from sync.access import audit
from sync.access.roles import Principal
from sync.config.bundled import BUNDLED_CONFIG_DIR
from sync.config.documents import Baseline, baselines, document_name, load_texts
from sync.config.loader import Config, check_config, load_config
from sync.errors import ConfigError, ConfigIssue, RevisionConflict, RevisionError
from sync.store.engine import Store
from sync.store.model import ConfigRevision

MAX_AUTHOR = 255
MAX_COMMENT = 2000
ATTEMPTS = 5  # validations of one edit while other edits keep landing before giving up


class _Latest:
    def __repr__(self) -> str:
        return "LATEST"


LATEST: Final = _Latest()
"""``base_revision`` when the caller read and writes in one step (``config import``): no conflict check."""


@dataclass(frozen=True)
class Document:
    """A document's active text and where it comes from (``origin``: revision, file, bundled or none)."""

    name: str
    text: str
    sha256: str
    origin: str
    revision_id: int | None  # the latest revision; None: the baseline is active
    path: str | None  # the baseline file, when there is one


@dataclass(frozen=True)
class Revision:
    """One stored edit of ``document``: its whole text, who made it, when and why."""

    id: int
    document: str
    seq: int
    parent_id: int | None  # the revision it replaced; None: the baseline file
    text: str
    sha256: str
    author: str
    comment: str
    created_at: datetime


def sha256(text: str) -> str:
    """The hex SHA-256 of ``text`` as UTF-8."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _revision(row: ConfigRevision) -> Revision:
    return Revision(id=row.id, document=row.document, seq=row.seq, parent_id=row.parent_id, text=row.text,
                    sha256=row.sha256, author=row.author, comment=row.comment, created_at=row.created_at)


class Revisions:
    """The documents of one installation: the store's revisions over ``project_dir``'s (or the bundled) files."""

    def __init__(self, store: Store, project_dir: Path | None, bundled_dir: Path = BUNDLED_CONFIG_DIR):
        self.store, self.project_dir, self.bundled_dir = store, project_dir, bundled_dir

    # --- reading ---------------------------------------------------------------------------

    def latest_id(self) -> int | None:
        """The newest revision's id of any document (None: none): it changes with every edit, cheaply read."""
        with self.store.engine.connect() as conn:
            return conn.execute(select(func.max(ConfigRevision.id))).scalar()

    def _latest(self) -> dict[str, Revision]:
        newest = select(func.max(ConfigRevision.id)).group_by(ConfigRevision.document)
        with self.store.transaction() as session:
            rows = session.scalars(select(ConfigRevision).where(ConfigRevision.id.in_(newest))).all()
            return {row.document: _revision(row) for row in rows}

    def documents(self) -> dict[str, Document]:
        """Every document's active text, by name: its latest revision, else its baseline file."""
        found = baselines(self.project_dir, self.bundled_dir)
        latest = self._latest()
        out = {}
        for name in sorted(set(found) | set(latest)):
            base, rev = found.get(name), latest.get(name)
            path = str(base.path) if base is not None and base.path is not None else None
            if rev is not None:
                out[name] = Document(name, rev.text, rev.sha256, "revision", rev.id, path)
            else:
                text = base.text() if base is not None else ""
                out[name] = Document(name, text, sha256(text), base.origin if base else "none", None, path)
        return out

    def list_documents(self) -> list[Document]:
        """Every document, sorted by name (``text`` included)."""
        return list(self.documents().values())

    def read(self, document: str) -> Document:
        """One document's active text, revision id and origin; RevisionError when there is no such document."""
        found = self.documents().get(document_name(document))
        if found is None:
            raise RevisionError(f"there is no configuration document {document}; a new mapping is made by "
                                "proposing its text", document=document)
        return found

    def revision(self, revision_id: int) -> Revision:
        """One revision by id; RevisionError when there is none."""
        with self.store.transaction() as session:
            row = session.get(ConfigRevision, revision_id)
            if row is None:
                raise RevisionError(f"there is no configuration revision {revision_id}")
            return _revision(row)

    def history(self, document: str) -> list[Revision]:
        """The revisions of ``document``, newest first ([] when it only has its baseline)."""
        name = document_name(document)
        with self.store.transaction() as session:
            rows = session.scalars(select(ConfigRevision).where(ConfigRevision.document == name)
                                   .order_by(ConfigRevision.seq.desc())).all()
            found = [_revision(row) for row in rows]
        if not found:
            self.read(name)  # no revision, no baseline: no such document
        return found

    def diff(self, rev_a: int | None, rev_b: int) -> str:
        """A unified diff from revision ``rev_a`` (None: the baseline file of ``rev_b``'s document) to ``rev_b``."""
        after = self.revision(rev_b)
        if rev_a is None:
            before_text, label = self._baseline(after.document).text(), f"{after.document} (baseline)"
        else:
            before = self.revision(rev_a)
            if before.document != after.document:
                raise RevisionError(f"revisions {rev_a} and {rev_b} are of different documents "
                                    f"({before.document}, {after.document})", document=after.document)
            before_text, label = before.text, f"{before.document}@{before.id}"
        return "".join(difflib.unified_diff(before_text.splitlines(keepends=True), after.text.splitlines(keepends=True),
                                            label, f"{after.document}@{after.id}"))

    def _baseline(self, document: str) -> Baseline:
        return baselines(self.project_dir, self.bundled_dir).get(document) or Baseline(document, None, "none")

    # --- the active configuration ----------------------------------------------------------

    def _load(self, documents: dict[str, Document],
              proposed: Set[str] = frozenset()) -> tuple[Config | None, list[ConfigIssue]]:
        texts = {name: doc.text for name, doc in documents.items() if doc.origin != "none"}
        where = {name: (f"{name} (proposed)" if name in proposed else
                        f"{name} (revision {doc.revision_id})" if doc.revision_id is not None else
                        doc.path or name) for name, doc in documents.items()}
        return load_texts(texts, where, self.project_dir, self.bundled_dir)

    def active_config(self) -> Config:
        """The active configuration: baselines overlaid with the latest revisions; ConfigError with every issue."""
        if self.latest_id() is None:  # nothing edited: exactly the files, as before revisions existed
            return load_config(self.project_dir, self.bundled_dir)
        config, issues = self._load(self.documents())
        if config is None:
            raise ConfigError(issues)
        return config

    def trial(self, texts: Mapping[str, str]) -> Config:
        """The configuration these unsaved texts would make active, validated like an edit; stores nothing.

        For previews and validation as an editor types: ConfigError with every issue (the
        proposed documents named ``<name> (proposed)``), RevisionError for a bad document name.
        """
        documents = self.documents()
        for name, text in texts.items():
            name = document_name(name)
            documents[name] = Document(name, text, sha256(text), "proposed", None, None)
        config, issues = self._load(documents, proposed=set(texts))
        if config is None:
            raise ConfigError(issues)
        return config

    def check(self) -> list[ConfigIssue]:
        """Every issue of the active configuration (``lifesync config check``), schedule.yaml included."""
        from sync.config.schedule import schedule_issues

        if self.latest_id() is None:
            return check_config(self.project_dir, self.bundled_dir)
        try:
            documents = self.documents()
        except ConfigError as err:  # LIFESYNC_CONFIG_DIR is no directory
            return err.issues
        return self._load(documents)[1] + schedule_issues(self.project_dir, self.bundled_dir)

    # --- editing ---------------------------------------------------------------------------

    def propose(self, document: str, text: str, author: str | Principal, comment: str = "",
                base_revision: int | _Latest | None = LATEST) -> Revision | None:
        """Validate ``text`` as the new ``document`` and store it as a revision; None when it is the active text.

        Refused, storing nothing: ConfigError (every issue with file, line and key) when the
        active configuration with this text would not load; RevisionConflict when the document
        is no longer at ``base_revision``; RevisionError for a bad name, author or comment.
        """
        stored = self.propose_all({document: text}, author, comment, {document: base_revision})
        return stored[0] if stored else None

    def propose_all(self, texts: Mapping[str, str], author: str | Principal, comment: str = "",
                    bases: Mapping[str, int | _Latest | None] | None = None) -> list[Revision]:
        """``propose`` for several documents at once, validated together and stored in one transaction.

        A change spanning files (a new stage in lifecycle.yaml and the mapping that sets it) is
        judged as a whole; documents whose text is already active are left out of the result.
        """
        actor = author if isinstance(author, Principal) else None
        author, comment = _checked(actor.name if actor else author, comment, ", ".join(texts))
        actor = actor or Principal(name=author, role="admin", via="cli")
        names = {document_name(name): text for name, text in texts.items()}
        for _ in range(ATTEMPTS):
            seen = self.latest_id()
            documents = self.documents()
            changed: dict[str, tuple[str, int | None]] = {}  # name → (text, parent)
            for name, text in names.items():
                if not isinstance(text, str):
                    raise RevisionError(f"the text of {name} must be a string", document=name)
                current = documents.get(name)
                latest = current.revision_id if current is not None else None
                base = (bases or {}).get(name, LATEST)
                if not isinstance(base, _Latest) and base != latest:
                    raise RevisionConflict(name, base, latest)
                if current is None or current.text != text or current.origin == "none":
                    changed[name] = (text, latest)
                    documents[name] = Document(name, text, sha256(text), "proposed", None, None)
            if not changed:
                return []
            config, issues = self._load(documents, proposed=set(changed))
            if config is None:
                raise ConfigError(issues)
            try:
                return self._store(changed, actor, comment, seen)
            except _Moved:  # another edit was stored meanwhile: judge this one again, with it
                continue
        raise RevisionError("the configuration kept changing while this edit was being validated; try again",
                            document=", ".join(names))

    def rollback(self, document: str, revision_id: int | None, author: str | Principal, comment: str = "",
                 base_revision: int | _Latest | None = LATEST) -> Revision | None:
        """Make ``revision_id``'s text (None: the baseline file's) the document's newest revision.

        Validated like any edit (the other documents may have changed since); None when that
        text is already active.
        """
        name = document_name(document)
        if revision_id is None:
            base = self._baseline(name)
            if base.path is None:
                raise RevisionError(f"{name} has no baseline file to roll back to", document=name)
            text, what = base.text(), "the baseline file"
        else:
            old = self.revision(revision_id)
            if old.document != name:
                raise RevisionError(f"revision {revision_id} is of {old.document}, not {name}", document=name)
            text, what = old.text, f"revision {revision_id}"
        return self.propose(name, text, author, comment or f"roll back to {what}", base_revision)

    def _store(self, changed: Mapping[str, tuple[str, int | None]], actor: Principal, comment: str,
               seen: int | None) -> list[Revision]:
        """Insert each revision after its parent, provided no revision was stored since ``seen``; else _Moved.

        Writers take turns (PostgreSQL: a transaction advisory lock; SQLite: BEGIN IMMEDIATE), so
        what was validated is exactly what the revisions are stored on top of: two edits of
        different documents, each valid alone, can never make an active configuration that
        does not load.
        """
        try:
            with self.store.transaction() as session:
                if session.get_bind().dialect.name == "postgresql":
                    session.execute(sql("SELECT pg_advisory_xact_lock(hashtext('lifesync:config_revisions'))"))
                if session.scalar(select(func.max(ConfigRevision.id))) != seen:
                    raise _Moved
                rows = []
                for name, (body, parent) in changed.items():
                    seq = session.scalar(select(func.max(ConfigRevision.seq)).where(ConfigRevision.document == name))
                    rows.append(ConfigRevision(document=name, seq=(seq or 0) + 1, parent_id=parent, text=body,
                                               sha256=sha256(body), author=actor.name, comment=comment))
                session.add_all(rows)
                session.flush()
                for row in rows:  # audited in the transaction that stores the edit (sync.access.audit)
                    audit.record(session, actor, "config.edit", "config", row.document,
                                 before={"revision": row.parent_id}, after={"revision": row.id, "seq": row.seq,
                                                                             "sha256": row.sha256, "comment": comment})
                return [_revision(row) for row in rows]
        except IntegrityError:  # a writer that bypassed the lock: the (document, seq) constraint still holds
            raise _Moved from None


class _Moved(Exception):
    """A revision was stored after the edit's state was read: validate it again."""


def _checked(author: str, comment: str, document: str) -> tuple[str, str]:
    """Author and comment, trimmed; RevisionError when the author is empty or either is too long."""
    author = author.strip() if isinstance(author, str) else ""
    comment = comment.strip() if isinstance(comment, str) else ""
    if not author:
        raise RevisionError("an edit needs an author (a name or token name)", document=document)
    if len(author) > MAX_AUTHOR or len(comment) > MAX_COMMENT:
        raise RevisionError(f"the author may have at most {MAX_AUTHOR} characters and the comment "
                            f"{MAX_COMMENT}", document=document)
    for what, value in (("author", author), ("comment", comment)):
        if not _printable_lines(value):
            raise RevisionError(f"the {what} holds a character that cannot be stored (NUL, a control "
                                "character or a lone surrogate)", document=document)
    return author, comment


def _printable_lines(value: str) -> bool:
    """Printable text but for line breaks and tabs (a comment may have several lines), valid as UTF-8."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return value.replace("\n", "").replace("\t", "").replace("\r", "").isprintable()
