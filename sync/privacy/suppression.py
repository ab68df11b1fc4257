"""Suppression: salted digests of a forgotten person's identifiers, so a source re-sending them recreates no one.

``digest(salt, kind, value)`` is HMAC-SHA256 of ``kind:value`` — the identity as identity
resolution stores it (normalised, namespaced by connection: ``identity.patch_refs``) — under
the installation's salt, a random secret made with :mod:`secrets` on first use and kept in
``privacy_keys`` (``SALT_KEY``). The ``suppressions`` table therefore holds no personal data,
and its digests cannot be matched against hashes of guessed values made elsewhere.

``lift(store, identity, actor)`` takes one identity off the list (``lifesync privacy unsuppress``,
``POST /api/privacy/suppressions/lift``): the person came back and asked to be known again.

``suppressed(session, refs_per_patch)`` is what the two places patches reach the workspace ask —
``sync.ingest.pipeline.ingest_patches`` (pulls, webhooks, files) and a dead letter's replay
(``sync.ingest.deadletter``): the indexes of the patches holding a suppressed identity. While
nothing is suppressed it costs one indexed probe a batch.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

if TYPE_CHECKING:
    from sync.store.engine import Store

from sync.access import audit
from sync.access.roles import Principal
from sync.errors import NotFound
from sync.reconcile.identity import normalise
from sync.reconcile.patch import IdentityRef
from sync.store import model
from sync.store.sql import chunks, one_of

SALT_KEY = "suppression_salt"


def digest(salt: str, kind: str, value: str) -> str:
    """The suppression digest of one stored identity (hex)."""
    return hmac.new(salt.encode(), f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()


def salt(session: Session, *, create: bool) -> str | None:
    """The installation's suppression salt: made and kept on first use when ``create``; else None while none exists."""
    found = session.get(model.PrivacyKey, SALT_KEY)
    if found is not None or not create:
        return found.value if found is not None else None
    try:
        with session.begin_nested():
            session.add(model.PrivacyKey(name=SALT_KEY, value=secrets.token_hex(32)))
    except IntegrityError:  # another process made it first: theirs is the salt
        pass
    return session.get(model.PrivacyKey, SALT_KEY, populate_existing=True).value


def suppress(session: Session, identities: Iterable[tuple[str, str]], erasure_id: int | None) -> int:
    """Record a digest per (kind, value) identity; returns how many were new."""
    key = salt(session, create=True)
    assert key is not None
    rows = {digest(key, kind, value): kind for kind, value in identities}
    known = set(_known(session, list(rows)))
    for d, kind in sorted(rows.items()):
        if d not in known:
            session.add(model.Suppression(digest=d, kind=kind, erasure_id=erasure_id))
    session.flush()
    return len(rows) - len(known)


def _known(session: Session, digests: Sequence[str]) -> Iterable[str]:
    s = model.Suppression
    for part in chunks(list(digests), 5000):
        yield from session.scalars(select(s.digest).where(one_of(session, s.digest, part)))


def suppressed(session: Session, refs: Sequence[Sequence[IdentityRef]]) -> set[int]:
    """Indexes into ``refs`` (each patch's stored identities) of the patches holding a suppressed identity."""
    if not refs or session.execute(select(model.Suppression.digest).limit(1)).first() is None:
        return set()
    key = salt(session, create=False)
    if key is None:
        return set()
    owners: dict[str, set[int]] = {}
    for i, patch_refs in enumerate(refs):
        for ref in patch_refs:
            owners.setdefault(digest(key, ref.kind, ref.value), set()).add(i)
    return {i for d in _known(session, list(owners)) for i in owners[d]}


def is_suppressed(session: Session, kind: str, value: str) -> bool:
    """Whether the stored identity (kind, value) belongs to a forgotten person."""
    return bool(suppressed(session, [[IdentityRef(kind, value)]]))


def lift(store: Store, identity: str, actor: Principal) -> dict[str, str]:
    """Lift the suppression of ``identity`` (``kind:value``, normalised as identities are stored).

    Records naming it are taken again from then on. ValueError when malformed, NotFound when the
    identity is not suppressed (its digest is not held). Audited with the kind only: the value
    is the personal data the suppression exists to keep out.
    """
    ref = normalise(IdentityRef.parse(identity))
    with store.transaction() as session:
        key = salt(session, create=False)
        row = session.get(model.Suppression, digest(key, ref.kind, ref.value)) if key is not None else None
        if row is None:
            raise NotFound(f"no suppression holds the {ref.kind} identity given")
        session.delete(row)
        audit.record(session, actor, "suppression.lift", "suppression", after={"kind": ref.kind},
                     summary=f"suppression lifted: one {ref.kind} identity")
    return {"lifted": ref.kind}
