"""An in-test audience destination (records every call, answers as told) and contacts to sync."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from sync.segments.destinations.base import Audience, AudienceMember, Entry, MemberResult, Unmatchable
from sync.store import model


@dataclass(frozen=True)
class Segment:
    """What the audience engine reads of a segment (segcore's ``Segment`` has the same fields)."""

    key: str
    label: str
    brand: str = "default"
    destinations: tuple = ()


class FakeDestination:
    """Hashes the first e-mail (like an ad network); ``answers`` maps contact id → (status, reason) per call."""

    kind: ClassVar[str] = "fake"
    max_batch: ClassVar[int] = 3
    purpose: ClassVar[str] = "ad_user_data"

    def __init__(self, max_batch: int = 3):
        self.max_batch = max_batch
        self.calls: list[tuple[str, list[int]]] = []
        self.held: dict[int, str] = {}  # contact -> hashed e-mail the "network" holds
        self.answers: dict[int, tuple[str, str | None]] = {}
        self.raise_on: str | None = None
        self.ensured: list[Audience] = []

    def keys(self, member: AudienceMember) -> dict[str, Any]:
        if not member.emails:
            raise Unmatchable("no e-mail")
        return {"em": hashlib.sha256(member.emails[0].strip().lower().encode()).hexdigest()}

    def ensure(self, audience: Audience) -> str:
        self.ensured.append(audience)
        return audience.remote_id or f"aud-{audience.key}"

    def _answer(self, op: str, remote_id: str, entries: Sequence[Entry]) -> list[MemberResult]:
        assert len(entries) <= self.max_batch, "batch above the vendor maximum"
        if self.raise_on == op:
            raise ConnectionError("network down")
        self.calls.append((op, [e.contact_id for e in entries]))
        out = []
        for e in entries:
            status, reason = self.answers.get(e.contact_id, ("done", None))
            if status == "done":
                if op == "add":
                    self.held[e.contact_id] = e.keys["em"]
                else:
                    assert self.held.get(e.contact_id) == e.keys["em"], "removed keys that were not added"
                    del self.held[e.contact_id]
            out.append(MemberResult(e.contact_id, status, reason))
        return out

    def add(self, remote_id: str, entries: Sequence[Entry]) -> list[MemberResult]:
        return self._answer("add", remote_id, entries)

    def remove(self, remote_id: str, entries: Sequence[Entry]) -> list[MemberResult]:
        return self._answer("remove", remote_id, entries)

    def sent(self, op: str) -> list[int]:
        return [c for o, ids in self.calls if o == op for c in ids]


def make_contacts(store, people: list[dict[str, Any]]) -> list[int]:
    """Contacts with e-mail identities and consent, e.g. ``{"email": "a@x.io", "consent": {...}}``."""
    with store.transaction() as s:
        made = []
        for p in people:
            c = model.Contact(attributes={"first_name": {"value": p.get("first_name", "Ana")}},
                              consent=p.get("consent", {}))
            s.add(c)
            made.append((c, p))
        s.flush()
        for c, p in made:
            if p.get("email"):
                s.add(model.Identity(contact_id=c.id, kind="email", value=p["email"], source="test"))
            if p.get("phone"):
                s.add(model.Identity(contact_id=c.id, kind="phone", value=p["phone"], source="test"))
        return [c.id for c, _ in made]


def change_email(store, contact_id: int, email: str) -> None:
    from sqlalchemy import update

    with store.transaction() as s:
        s.execute(update(model.Identity).where(model.Identity.contact_id == contact_id,
                                               model.Identity.kind == "email").values(value=email))


def set_consent(store, contact_id: int, consent: dict) -> None:
    with store.transaction() as s:
        s.get(model.Contact, contact_id).consent = consent


def patch_segments(store, monkeypatch, tmp_path) -> list[int]:
    """Segment ``lapsed`` (a CSV destination) of three contacts, one without an e-mail, and ``hot`` (none):
    the two seams to segment definitions (``run.configured_segments``, ``run.current_members``) patched."""
    from sync.segments.audiences import run
    from sync.segments.destinations.base import DestinationEntry

    ids = make_contacts(store, [{"email": "a@example.com"}, {"email": "b@example.com"}, {"email": None}])
    found = [Segment("lapsed", "Lapsed customers", destinations=(DestinationEntry("csv-lapsed", "csv",
                                                                                  {"columns": "email"}),)),
             Segment("hot", "Hot leads")]
    # the API module first: imported now, it takes run's own configured_segments (imported after run's patch,
    # it kept the patched one for good, and later tests' API saw these segments)
    monkeypatch.setattr("sync.web.api.audiences.configured_segments", lambda config: found)
    monkeypatch.setattr(run, "configured_segments", lambda config: found)
    monkeypatch.setattr(run, "current_members", lambda session, key: ids if key == "lapsed" else [])
    monkeypatch.setenv("LIFESYNC_AUDIENCE_CSV_DIR", str(tmp_path / "csv"))
    return ids
