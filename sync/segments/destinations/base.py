"""What every audience destination shares: the member it is given, its config, its results, its protocol.

A segment (``sync.segments``) is kept in sync with one or more *audience destinations*: a
respond.io tag, a HubSpot list, a Salesforce campaign, a Meta custom audience, a Google
Customer Match user list (Data Manager API), a TikTok custom audience, a CSV file. The
segment engine owns membership and the diff; a destination module owns only the vendor:

* ``keys(member)`` — the member's identifiers as they go on the wire (hashed exactly once
  here, with ``sync.attribution.hashing`` and the network's own ``UserDataRules``, where the
  network wants hashes; a CRM's record id where it wants ids). The engine stores these keys
  per destination and contact, so a member whose keys did not change is never uploaded again,
  and a removal sends exactly the keys that were added (a contact whose e-mail changed is
  removed under the old hash and added under the new). ``Unmatchable`` when the member has no
  identifier this destination can use: the engine records it as skipped with that reason.
  Keys are plain JSON values (text, numbers, lists, objects): they are stored as given and
  compared with the next sync's keys; they must be the same for the same member data.
* ``ensure(audience)`` — find or create the remote audience / list / tag / campaign and return
  its remote id (idempotent: the engine calls it before every sync and stores the id).
* ``add(remote_id, entries)`` / ``remove(remote_id, entries)`` — one batch of at most
  ``max_batch`` entries (the vendor's maximum per request); one ``MemberResult`` per entry, in
  order. ``done``: the vendor accepted it; ``failed``: the vendor refused this member, retrying
  cannot help (the engine dead-letters it with the reason); ``retry``: rate limit or transient
  failure (the engine tries again on its next run, with backoff). A refused *batch* is split by
  the destination (bisection, as ``sync.attribution.delivery`` does) or reported as ``retry``
  for every entry — never silently dropped.

``purpose`` names the consent purpose a destination needs (``ad_user_data`` for ad networks,
``marketing_messages`` for messaging and CRM lists). The engine asks privacy.yaml's policy
(``sync.privacy.policy.decide``, with that purpose) for every member: ``drop`` and ``strip`` (an
audience is identifiers) leave the member out, and remove it where it was added; ``restricted``
is given to a destination whose ``restricts`` is True as ``AudienceMember.policy`` (its keys carry
the restriction), and leaves the member out of any other. A member that denied the destination's
purpose is always left out.

The engine (``sync.segments.audiences.engine.sync_audience``) is the only caller: it decides
what to add and remove, batches, retries with backoff and dead-letters; a destination never
retries a member on its own beyond its HTTP layer's transient retries, and raises only when it
cannot answer at all (the engine then treats the whole batch as ``retry`` and stops that sync).

Destinations never touch the database; they are built by ``sync.segments.destinations.build``
from a ``AudienceDestinationConfig`` and a ``requests.Session``. A destination class reads its
own settings: ``from_settings(name, options, settings)`` makes its config from a segment file's
destination entry (``options``: the entry's keys other than ``name`` and ``kind``) and the
environment (credentials per connection, as conversion destinations read theirs:
``LIFESYNC_META_MARKETING_ACCESS_TOKEN`` for ``connection: default``, ``..._TOKEN__<NAME>`` for a
named one), and raises ``SettingsError`` naming the destination and what is missing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Protocol

if TYPE_CHECKING:
    from sync.settings import Settings

Status = Literal["done", "failed", "retry"]


@dataclass(frozen=True)
class AudienceMember:
    """One contact of a segment, as a destination sees it (every value as lifesync stores it)."""

    contact_id: int
    emails: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()  # E.164
    first_name: str | None = None
    last_name: str | None = None
    country: str | None = None  # as stored (name or code); also the phone region hint
    zip: str | None = None
    identities: tuple[tuple[str, str], ...] = ()  # (kind, value), e.g. ("hubspot", "501"), ("respondio", "88")
    consent: Mapping[str, Any] = field(default_factory=dict)  # purpose -> True / False / None (unknown)
    state: str | None = None  # as stored; with the country, where privacy.yaml's regions place the member
    # the privacy policy the engine applies (sync.privacy.policy): ``send``, or ``restricted`` for a destination that
    # ``restricts`` (Meta: Limited Data Use on the member's rows; Google: adPersonalization denied)
    policy: str = "send"

    def identity(self, kind: str) -> str | None:
        """The first identity value of ``kind``, or None."""
        return next((v for k, v in self.identities if k == kind), None)


@dataclass(frozen=True)
class Audience:
    """The segment a destination holds: its key (file name), label shown to people, and brand."""

    key: str  # e.g. lapsed-customers
    label: str  # e.g. "Lapsed customers"
    brand: str = "default"
    remote_id: str | None = None  # what ensure() returned last time (None: never synced)


@dataclass(frozen=True)
class DestinationEntry:
    """One entry of a segment file's ``destinations:`` list, as written (validated by the segment parser)."""

    name: str  # unique in the installation, e.g. meta-lapsed
    kind: str  # a registered kind (``sync.segments.destinations.KINDS``)
    options: Mapping[str, str] = field(default_factory=dict)  # every other key of the entry, e.g. connection, tag


@dataclass(frozen=True)
class AudienceDestinationConfig:
    """One configured audience destination (from the segment file and the settings)."""

    name: str  # the destination's name, unique in the installation, e.g. meta-lapsed
    kind: str  # a registered kind: respondio_tag, hubspot_list, salesforce_campaign, meta_audience, ...
    base_url: str
    api_version: str
    credentials: Mapping[str, str] = field(repr=False, default_factory=dict)
    options: Mapping[str, str] = field(default_factory=dict)  # kind-specific: audience_id, ad_account_id, tag, ...
    default_region: str = "US"  # phone normalisation when the contact has no usable country


@dataclass(frozen=True)
class Entry:
    """One member in a batch: its contact and the keys ``keys()`` made (or stored, for a removal)."""

    contact_id: int
    keys: Mapping[str, Any]


@dataclass(frozen=True)
class MemberResult:
    contact_id: int
    status: Status
    reason: str | None = None  # why failed / retry (no personal data: never the e-mail or phone)


class Unmatchable(Exception):
    """The member has no identifier this destination can use (the message says which it needs)."""


class AudienceDestination(Protocol):
    kind: ClassVar[str]
    max_batch: ClassVar[int]  # the vendor's maximum members per add/remove request
    purpose: ClassVar[str]  # consent purpose: ad_user_data or marketing_messages
    restricts: ClassVar[bool]  # honours the ``restricted`` policy (AudienceMember.policy); False: restricted = left out

    @classmethod
    def from_settings(cls, name: str, options: Mapping[str, str], settings: Settings) -> AudienceDestinationConfig: ...

    def keys(self, member: AudienceMember) -> dict[str, Any]: ...

    def ensure(self, audience: Audience) -> str: ...

    def add(self, remote_id: str, entries: Sequence[Entry]) -> list[MemberResult]: ...

    def remove(self, remote_id: str, entries: Sequence[Entry]) -> list[MemberResult]: ...
