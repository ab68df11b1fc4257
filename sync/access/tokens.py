"""API tokens: shown once at creation, stored as a SHA-256 digest, found by a public prefix, revocable.

A token reads ``lsk_<8 characters>_<43 characters>``. The first part (``lsk_`` and 8 characters)
is its public prefix: it is stored in clear, shown in listings and the audit log, and finds the
row; the whole token is checked against the stored digest in constant time. The secret part holds
256 random bits, so a plain SHA-256 (as GitHub and Stripe keep theirs) is enough: no brute force
of the digest can find a token, and a leaked table grants nothing.

``LIFESYNC_OPS_TOKEN`` keeps working as a bootstrap admin token (compared in constant time), so
a fresh installation can create its first tokens through the API as well as with
``lifesync tokens create``.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select, update

from sync.access import audit
from sync.access.roles import BOOTSTRAP_NAME, ROLES, Principal
from sync.connectors.signatures import matches
from sync.errors import Conflict, Invalid, NotFound
from sync.store.engine import Store
from sync.store.model import ApiToken, utcnow

PREFIX = "lsk_"
TOKEN_PATTERN = re.compile(r"^lsk_[a-z2-7]{8}_[A-Za-z0-9_-]{43}$")
NAME_PATTERN = re.compile(r"^[\w .@:-]{1,100}$")
BRAND_PATTERN = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")  # a brand key (sync.config.brands)
LAST_USED_RESOLUTION = timedelta(minutes=1)  # last_used_at is written at most once a minute per token
_B32 = "abcdefghijklmnopqrstuvwxyz234567"


def digest(token: str) -> str:
    """The stored form of a token."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def _new_token() -> str:
    public = "".join(secrets.choice(_B32) for _ in range(8))
    return f"{PREFIX}{public}_{secrets.token_urlsafe(32)}"


def public_prefix(token: str) -> str:
    """The part of a token that finds its row (``lsk_`` and 8 characters)."""
    return token[: len(PREFIX) + 8]


def describe(row: ApiToken, now: datetime | None = None) -> dict:
    """A token as listings show it (never its value or digest)."""
    now = now or utcnow()
    state = ("revoked" if row.revoked_at else
             "expired" if row.expires_at is not None and row.expires_at <= now else "active")
    return {"id": row.id, "name": row.name, "role": row.role, "prefix": row.prefix, "state": state,
            "created_by": row.created_by, "created_at": row.created_at, "expires_at": row.expires_at,
            "last_used_at": row.last_used_at, "revoked_at": row.revoked_at, "brands": row.brands}


def _validate(name: str, role: str, expires_at: datetime | None, brands: list[str] | None = None) -> None:
    errors: dict[str, str] = {}
    if brands is not None and (not brands or not all(isinstance(b, str) and BRAND_PATTERN.match(b) for b in brands)):
        errors["brands"] = ("a non-empty list of brand keys (lowercase letters, digits, _ and -), "
                            "or none for every brand")
    if not NAME_PATTERN.match(name or ""):
        errors["name"] = "1-100 letters, digits, spaces or . @ : _ -"
    if role not in ROLES:
        errors["role"] = f"one of {', '.join(ROLES)}"
    if expires_at is not None and (expires_at.tzinfo is None or expires_at <= utcnow()):
        errors["expires_at"] = "a future time with a timezone"
    if errors:
        raise Invalid("the token cannot be created as asked", errors)


def create(store: Store, actor: Principal, name: str, role: str,
           expires_at: datetime | None = None, brands: list[str] | None = None) -> tuple[dict, str]:
    """Create a token; returns its description and its value, which is never shown again.

    Names are unique among tokens that are not revoked, so the audit log's "who" is unambiguous.
    ``brands`` limits the token to those brands' data (None: every brand; ``sync.access.brands``);
    a token limited to brands cannot create one that sees more.
    """
    _validate(name, role, expires_at, brands)
    if actor.brands is not None and (brands is None or not set(brands) <= set(actor.brands)):
        raise Invalid("the token cannot be created as asked",
                      {"brands": f"this token may only give brands it sees: {', '.join(actor.brands)}"})
    brands = sorted(set(brands)) if brands is not None else None
    token = _new_token()
    with store.transaction() as session:
        taken = session.scalar(select(ApiToken.id).where(ApiToken.name == name, ApiToken.revoked_at.is_(None)))
        if taken is not None:
            raise Conflict(f"a token named {name!r} exists; revoke it first or choose another name",
                           {"name": "already used by a token that is not revoked"})
        row = ApiToken(prefix=public_prefix(token), digest=digest(token), name=name, role=role,
                       created_by=actor.name[:120], created_at=utcnow(), expires_at=expires_at, brands=brands)
        session.add(row)
        session.flush()
        described = describe(row)
        audit.record(session, actor, "token.create", "token", row.id,
                     after={"name": name, "role": role, "prefix": row.prefix, "expires_at": expires_at,
                            **({"brands": brands} if brands is not None else {})})
    return described, token


def listed(store: Store) -> list[dict]:
    """Every token, newest first, as :func:`describe` shows it."""
    now = utcnow()
    with store.sessions() as session:
        return [describe(row, now) for row in session.scalars(select(ApiToken).order_by(ApiToken.id.desc()))]


def revoke(store: Store, actor: Principal, token_id: int) -> dict:
    """Revoke a token (it stops working at once); revoking a revoked token changes nothing."""
    with store.transaction() as session:
        row = session.get(ApiToken, token_id)
        if row is None:
            raise NotFound(f"no token with id {token_id}")
        if row.revoked_at is None:
            row.revoked_at = utcnow()
            audit.record(session, actor, "token.revoke", "token", row.id,
                         before={"state": "active", "name": row.name, "role": row.role},
                         after={"state": "revoked", "name": row.name, "role": row.role})
        return describe(row)


def authenticate(store: Store, presented: str | None, bootstrap: str | None, via: str = "api") -> Principal | None:
    """The principal a presented token stands for, or None (unknown, malformed, revoked or expired)."""
    if not presented:
        return None
    if bootstrap and matches(bootstrap, presented):
        return Principal(name=BOOTSTRAP_NAME, role="admin", via=via)
    if not TOKEN_PATTERN.match(presented):
        return None
    return _active(store, public_prefix(presented), digest(presented), via)


def credential(presented: str, bootstrap: str | None) -> tuple[str, str]:
    """What a console session keeps of a token it signed in with: (public prefix, digest), never the token."""
    if bootstrap and matches(bootstrap, presented):
        return BOOTSTRAP_NAME, digest(presented)
    return public_prefix(presented), digest(presented)


def resume(store: Store, prefix: str, token_digest: str, bootstrap: str | None,
           via: str = "console") -> Principal | None:
    """The principal of a :func:`credential` kept in a session, or None once that token stopped working.

    Checked on every request, so revoking a token (or changing ``LIFESYNC_OPS_TOKEN``) ends the
    console sessions signed in with it at once.
    """
    if prefix == BOOTSTRAP_NAME:
        if bootstrap and hmac.compare_digest(digest(bootstrap), token_digest):
            return Principal(name=BOOTSTRAP_NAME, role="admin", via=via)
        return None
    return _active(store, prefix, token_digest, via)


def _active(store: Store, prefix: str, token_digest: str, via: str) -> Principal | None:
    now = utcnow()
    with store.sessions() as session:
        row = session.scalar(select(ApiToken).where(ApiToken.prefix == prefix))
    if row is None or not hmac.compare_digest(row.digest, token_digest):
        return None
    if row.revoked_at is not None or (row.expires_at is not None and row.expires_at <= now):
        return None
    if row.last_used_at is None or now - row.last_used_at >= LAST_USED_RESOLUTION:
        with store.transaction() as session:
            session.execute(update(ApiToken).where(ApiToken.id == row.id).values(last_used_at=now))
    return Principal(name=row.name, role=row.role, via=via, token_id=row.id,
                     brands=tuple(row.brands) if row.brands is not None else None)
