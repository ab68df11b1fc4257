"""A batch's reconcile and writes, isolated record by record: one bad record never holds back the rest.

The batch write path of ``ingest``, CRM sync pulls, the inbox drain and dead-letter replay
(``reconcile_batch``). First every patch is checked against the columns it will fill
(``sync.ingest.storable``): what cannot be stored is refused with its reason before the
database sees it. The rest is reconciled and written inside a savepoint; when the database
still refuses the writes (a constraint or a value no check foresaw), the savepoint is rolled
back and the batch split in halves, each reconciled and written again in its own savepoint,
down to the single record the database refuses — which comes back as its reason. The
caller's transaction goes on: it stores the dead letters and the sync cursor with the rest.

Database trouble that is not the record's (``OperationalError``: unreachable, deadlock,
serialization, a locked SQLite file) is raised, for the whole batch to be retried. Rows go in
through SQLAlchemy (its ``DBAPIError``) and, on PostgreSQL, COPY (psycopg's own errors): both count.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import psycopg
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session

from sync.config.types import LifecycleConfig
from sync.errors import RecordError
from sync.ingest.persist import flush, load_workspace
from sync.ingest.storable import record_label, unstorable
from sync.outbox.effects import Effects
from sync.reconcile.patch import IdentityRef, Patch
from sync.reconcile.state import Outcome

log = logging.getLogger(__name__)

Result = Outcome | str  # what applying one patch did, or why it was refused


def reconcile_batch(session: Session, config: LifecycleConfig, patches: list[Patch],
                    cleaned: list[list[IdentityRef]], effects: Effects | None = None) -> list[Result]:
    """Reconcile and write ``patches`` (identities ``cleaned``) in ``session``; per patch, its outcome or reason."""
    results: list[Result | None] = [None] * len(patches)
    keep: list[int] = []
    for n, (patch, refs) in enumerate(zip(patches, cleaned, strict=True)):
        reason = unstorable(patch, refs)
        if reason is None:
            keep.append(n)
        else:
            results[n] = reason
    _isolating(session, config, effects, patches, cleaned, keep, results)
    assert all(r is not None for r in results)
    return results  # type: ignore[return-value]


def _isolating(session: Session, config: LifecycleConfig, effects: Effects | None, patches: list[Patch],
               cleaned: list[list[IdentityRef]], positions: list[int], results: list[Result | None]) -> None:
    if not positions:
        return
    try:
        with session.begin_nested():
            done = _reconcile(session, config, effects, [patches[n] for n in positions],
                              [cleaned[n] for n in positions])
    except (OperationalError, psycopg.OperationalError):
        raise
    except (DBAPIError, psycopg.Error) as exc:  # the database refused something of these records: find which
        if len(positions) == 1:
            patch = patches[positions[0]]
            results[positions[0]] = refused(patch, exc)
            log.warning("the database refused %s; dead-lettered, the rest of its batch goes on",
                        record_label(patch))
            return
        mid = len(positions) // 2
        _isolating(session, config, effects, patches, cleaned, positions[:mid], results)
        _isolating(session, config, effects, patches, cleaned, positions[mid:], results)
        return
    for n, result in zip(positions, done, strict=True):
        results[n] = result


def _reconcile(session: Session, config: LifecycleConfig, effects: Effects | None, patches: list[Patch],
               cleaned: list[list[IdentityRef]]) -> list[Result]:
    ws = load_workspace(session, {r for refs in cleaned for r in refs}, config, effects)
    done: list[Result] = []
    for patch, refs in zip(patches, cleaned, strict=True):
        try:
            done.append(ws.apply(patch, refs))
        except RecordError as exc:
            done.append(str(exc))
    flush(session, ws)
    return done


_QUOTED = re.compile(r"\"([^\"]*)\"|'([^']*)'")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.]{0,62}")


def refused(patch: Patch, exc: DBAPIError | psycopg.Error) -> str:
    """The reason of a record the database refused: which record, and the database's words without values.

    PostgreSQL's primary message (``value too long for type character varying(255)``) names no
    value, but some quote one (``invalid input syntax for type integer: "…"``): quoted text is
    kept only when it looks like a name (a constraint, a column).
    """
    orig: Any = exc.orig if isinstance(exc, DBAPIError) else exc  # COPY raises psycopg's own
    diag = getattr(orig, "diag", None)
    message = (getattr(diag, "message_primary", None) or str(orig) or "").splitlines()[0] if orig else ""
    message = _QUOTED.sub(lambda m: m.group() if _NAME.fullmatch(m.group(1) or m.group(2) or "") else '"…"',
                          message)[:300]
    kind = type(orig).__name__ if orig is not None else type(exc).__name__
    return f"{record_label(patch)}: the database refused it ({kind}: {message})"
