"""``lifesync config export|import|history|diff|rollback``: configuration revisions from a shell.

The same service functions as the ops API (``sync.config.revisions``): an import is validated
as a whole and refused, changing nothing, when the configuration it makes would not load.
"""

from __future__ import annotations

import getpass
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import click

from sync.cli import context
from sync.errors import ConfigError, RevisionError

if TYPE_CHECKING:
    from sync.config import Config
    from sync.config.revisions import Revisions
    from sync.errors import ConfigIssue
    from sync.settings import Settings


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name and no passwd entry (a bare container)
        return "shell"


_author = click.option("--author", default=_os_user, show_default="the OS user",
                       help="Who made the change, recorded with each revision.")


@contextmanager
def _revisions() -> Iterator[Revisions]:
    """The environment's revisions; a refused edit printed as its issues (exit 1), never a traceback."""
    from sync.config.revisions import Revisions

    settings = context.settings()
    with context.opened_store(settings) as store:
        try:
            yield Revisions(store, settings.config_dir)
        except ConfigError as exc:
            for issue in exc.issues:
                click.echo(str(issue), err=True)
            click.echo(f"refused, nothing stored: {len(exc.issues)} error(s)", err=True)
            sys.exit(1)
        except RevisionError as exc:
            raise click.ClickException(str(exc)) from None


def checked_config(settings: Settings) -> tuple[list[ConfigIssue], Config | None, str | None]:
    """``config check``'s view: the active configuration's issues, its Config when there are none, and a note.

    A database that does not answer leaves the files to check, with a note saying so (a CI
    job checking a repository's files needs no database).
    """
    from sqlalchemy.exc import SQLAlchemyError

    from sync.config import check_config, load_config
    from sync.config.revisions import Revisions

    try:
        with context.opened_store(settings) as store:
            revisions = Revisions(store, settings.config_dir)
            issues = revisions.check()
            return issues, None if issues else revisions.active_config(), None
    except SQLAlchemyError as exc:
        note = (f"the database does not answer ({type(exc).__name__}): revisions were not checked, "
                "only the files")
        issues = check_config(settings.config_dir)
        return issues, None if issues else load_config(settings.config_dir), note


def _read_dir(directory: Path) -> dict[str, str]:
    """The documents a directory holds (lifecycle.yaml, conversions.yaml, mappings/ and segments/*.yaml), by name."""
    from sync.config.documents import NAMING, document_name
    from sync.config.yamlload import yaml_files

    files, misnamed = yaml_files(directory / "mappings")
    segments, misnamed_segments = yaml_files(directory / "segments")
    files, misnamed = files + segments, misnamed + misnamed_segments
    if misnamed:
        raise ConfigError(misnamed)
    paths = [directory / name for name in ("lifecycle.yaml", "conversions.yaml") if (directory / name).is_file()]
    texts = {}
    for path in paths + files:
        name = path.relative_to(directory).as_posix()
        try:
            document_name(name)
        except RevisionError:
            raise click.ClickException(f"{path}: not a configuration document; expected {NAMING}") from None
        data = path.read_bytes()
        try:
            texts[name] = data.decode("utf-8")
        except UnicodeDecodeError:  # the loader names the line: validated like any text
            texts[name] = data.decode("utf-8", "surrogateescape")
    return texts


def register(config: click.Group) -> None:
    """Add the revision commands to ``lifesync config``."""

    @config.command("export")
    @context.demo_option
    @click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
    def export_cmd(directory: Path) -> None:
        """Write the active configuration (files overlaid with revisions) to DIRECTORY, one file per document."""
        with _revisions() as revisions:
            documents = [d for d in revisions.list_documents() if d.origin != "none"]
        for doc in documents:
            path = directory / doc.name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(doc.text, encoding="utf-8")
        click.echo(f"wrote {len(documents)} document(s) to {directory}")

    @config.command("import")
    @click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
    @_author
    @click.option("--comment", default="", help="Why (stored with each revision).")
    def import_cmd(directory: Path, author: str, comment: str) -> None:
        """Store every document of DIRECTORY that differs from the active one as a revision, validated together.

        Files that are absent leave their document as it is; schedule.yaml stays a file.
        """
        with _revisions() as revisions:
            texts = _read_dir(directory)
            stored = revisions.propose_all(texts, author, comment or f"imported from {directory.name or directory}")
        for rev in stored:
            click.echo(f"revision {rev.id}: {rev.document}")
        click.echo(f"{len(stored)} document(s) changed, {len(texts) - len(stored)} unchanged")

    @config.command("history")
    @context.demo_option
    @click.argument("document")
    def history_cmd(document: str) -> None:
        """List DOCUMENT's revisions, newest first (e.g. lifecycle.yaml, mappings/hubspot_contacts.yaml)."""
        with _revisions() as revisions:
            found = revisions.history(document)
            current = revisions.read(document)
        for rev in found:
            click.echo(f"{rev.id}\t{rev.created_at:%Y-%m-%d %H:%M:%S}Z\t{rev.author}\t{rev.sha256[:12]}\t"
                       f"{rev.comment.splitlines()[0] if rev.comment else ''}")
        click.echo(f"active: {'revision ' + str(current.revision_id) if current.revision_id else current.origin}"
                   + (f" ({current.path})" if current.revision_id is None and current.path else ""))

    @config.command("diff")
    @context.demo_option
    @click.argument("revision_a")
    @click.argument("revision_b", type=int)
    def diff_cmd(revision_a: str, revision_b: int) -> None:
        """A unified diff from REVISION_A (an id, or "baseline") to REVISION_B."""
        with _revisions() as revisions:
            click.echo(revisions.diff(_revision_id(revision_a), revision_b), nl=False)

    @config.command("rollback")
    @click.argument("document")
    @click.argument("revision")
    @_author
    @click.option("--comment", default="", help="Why (default: which revision it returns to).")
    def rollback_cmd(document: str, revision: str, author: str, comment: str) -> None:
        """Make REVISION's text (an id from config history, or "baseline" for the file) DOCUMENT's newest revision."""
        with _revisions() as revisions:
            stored = revisions.rollback(document, _revision_id(revision), author, comment)
        click.echo(f"revision {stored.id}: {document} as {revision}" if stored else f"{document} already is that text")


def _revision_id(text: str) -> int | None:
    """A revision id from the command line; None for "baseline"."""
    if text == "baseline":
        return None
    if not text.isdigit():
        raise click.BadParameter(f"{text!r} is neither a revision id nor 'baseline'")
    return int(text)
