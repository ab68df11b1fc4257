"""What the ad-network audience destinations share: settings, the HTTP client, contact facts, batched uploads.

``meta_audience``, ``google_customer_match`` and ``tiktok_audience`` hash with the conversion
networks' own ``UserDataRules`` (``sync.attribution.networks``) through ``NormalizeCache``, so a
member's identifiers are normalised and hashed exactly as the same network's conversions are
(``contact_facts`` hands a member to them as the ``ContactFacts`` they read). Their vendor error
tables are the conversion senders' too, judged by the same ``sync.http`` client.

``upload`` sends one ``add`` or ``remove`` call: its entries in requests of at most ``limit``
rows (a member may take several rows: Meta's one row per e-mail/phone), numbered ``Part(seq,
last, total)`` — Meta's upload session (``batch_seq`` counts the requests the vendor accepted, so
a refused request does not leave a gap; ``last`` is set on the request after which none is
planned). When the vendor refuses a request:

* naming the rows it refused (``located``): those members fail with its words, the rest go again;
* for a member's content (``bisect``): the request is split in halves until the bad members stand
  alone (``failed``) and the rest are delivered; when the left half goes through, the right half
  is known to hold the bad member and is split without being sent whole. At most ``budget``
  extra requests; members not isolated by then are ``retry``;
* for anything else (auth, rate limit, a blocked audience, a temporary failure): every member not
  yet delivered gets that result — ``retry`` for rate limits, temporary failures and refused
  credentials (fixed, they go through), ``failed`` otherwise — and nothing more is sent in this
  call (the next request would meet the same answer).

When the last planned request is refused, a Meta session stays open without its
``last_batch_flag``; Meta ends such sessions itself, and every batch it accepted counts.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import requests

from sync.attribution.delivery import BatchSender, ReadError, VendorError, result_for_error
from sync.attribution.destination import DEFAULT_BISECT_BUDGET, NormalizeCache
from sync.attribution.facts import ContactFacts
from sync.attribution.hashing import UserDataRules
from sync.errors import AuthError, PermanentError, SettingsError, SyncError
from sync.http import HttpClient, Rule
from sync.segments.destinations.base import Audience, AudienceDestinationConfig, AudienceMember, Entry, MemberResult
from sync.settings import Settings


class AdAudience:
    """What the three ad-network destinations share: consent purpose, an existing audience, add/remove as uploads.

    A subclass sets ``vendor``, ``actions`` (the vendor's words for add and remove), the option naming
    an existing audience, ``self.config``, and implements ``send``.
    """

    purpose: ClassVar[str] = "ad_user_data"
    vendor: ClassVar[str] = ""
    actions: ClassVar[tuple[str, str]] = ("add", "remove")
    existing_option: ClassVar[str] = "audience_id"
    config: AudienceDestinationConfig

    def add(self, remote_id: str, entries: Sequence[Entry]) -> list[MemberResult]:
        """Add ``entries`` to the vendor's audience ``remote_id``."""
        return self.send(self.actions[0], remote_id, entries)

    def remove(self, remote_id: str, entries: Sequence[Entry]) -> list[MemberResult]:
        """Remove ``entries`` (the keys they were added with) from the vendor's audience ``remote_id``."""
        return self.send(self.actions[1], remote_id, entries)

    def send(self, action: str, remote_id: str, entries: Sequence[Entry]) -> list[MemberResult]:
        """One add or remove call (``upload``)."""
        raise NotImplementedError

    def existing(self, audience: Audience) -> str | None:
        """The audience the entry names (its ``existing_option``), else the one kept from the last sync."""
        found = self.config.options.get(self.existing_option) or audience.remote_id
        return str(found) if found else None

    def created(self, reply: Any, audience: Audience, *path: str) -> str:
        """The id at ``path`` in the vendor's answer to a create; ``PermanentError`` when it holds none."""
        for key in path:
            reply = reply.get(key) if isinstance(reply, dict) else None
        if reply is None or not str(reply).strip():
            raise PermanentError(f"{self.vendor}: creating the audience of segment {audience.key!r} answered no id")
        return str(reply)


@dataclass(frozen=True)
class Part:
    """Where one request stands in its upload (Meta's ``session``)."""

    seq: int  # 1-based: the requests the vendor accepted before this one, plus one
    last: bool  # no further request is planned after this one
    total: int  # rows in the whole upload


Post = Callable[[Sequence[Entry], Part], list[MemberResult]]


def contact_facts(member: AudienceMember) -> ContactFacts:
    """The member as the conversion networks' user-data builders read a contact."""
    return ContactFacts(contact_id=member.contact_id, emails=member.emails, phones=member.phones,
                        first_name=member.first_name, last_name=member.last_name, zip=member.zip,
                        country=member.country, identities=member.identities, consent=member.consent)


@dataclass(frozen=True)
class MemberHashes:
    """A member's e-mails and phones as a network wants them on the wire (deduplicated), and its other fields."""

    emails: list[str]
    phones: list[str]
    wire: Callable[[str], str | None]  # a ContactFacts field (first_name, zip, ...) as the network wants it


def member_hashes(rules: UserDataRules, member: AudienceMember, config: AudienceDestinationConfig) -> MemberHashes:
    """Normalise and hash ``member`` once, by the network's ``rules`` (``NormalizeCache``, as conversions do)."""
    cache = NormalizeCache()
    facts = contact_facts(member)
    region = cache.region(rules, facts, config)  # type: ignore[arg-type]  # reads only default_region
    emails = dict.fromkeys(h for e in member.emails if (h := cache.wire(rules, "email", e, region)))
    phones = dict.fromkeys(h for p in member.phones if (h := cache.phone(rules, p, region)))
    return MemberHashes(list(emails), list(phones),
                        lambda field: cache.wire(rules, field, getattr(facts, field), region))


def connection_of(name: str, options: Mapping[str, str]) -> str:
    """The settings connection an entry names (``connection: eu`` reads ``…__EU``); ``default`` when none."""
    connection = str(options.get("connection") or "default").strip().lower().replace("-", "_")
    if not connection.replace("_", "").isalnum():
        raise SettingsError(f"audience destination {name!r}: connection {options.get('connection')!r} must be "
                            "letters, digits, '-' or '_'")
    return connection


def variable(platform: str, key: str, connection: str) -> str:
    """``LIFESYNC_<PLATFORM>_<KEY>``, with ``__<CONNECTION>`` for a named connection."""
    base = f"LIFESYNC_{platform.upper()}_{key.upper()}"
    return base if connection == "default" else f"{base}__{connection.upper()}"


def read(settings: Settings, platform: str, key: str, connection: str, *, shared: bool = False) -> str | None:
    """A connection's own setting; with ``shared``, the default connection's when it has none (API versions).

    Credentials, accounts and hosts never fall back: a second ad account must not send to the
    first one's account, or its token to the first one's proxy.
    """
    value = settings.connection_setting(platform, key, connection)
    if value is None and shared and connection != "default":
        value = settings.connection_setting(platform, key)
    return value.strip() if value else None


def require(settings: Settings, name: str, kind: str, platform: str, keys: Sequence[str],
            connection: str) -> dict[str, str]:
    """The connection's settings ``keys``; ``SettingsError`` naming the destination and every missing variable."""
    values = {key: read(settings, platform, key, connection) for key in keys}
    missing = [variable(platform, key, connection) for key, value in values.items() if not value]
    if missing:
        raise SettingsError(f"audience destination {name!r} ({kind}) needs {', '.join(missing)}",
                            variable=missing[0])
    return {key: value for key, value in values.items() if value}


def http_client(config: AudienceDestinationConfig, session: requests.Session | None, vendor: str, *,
                read_error: ReadError, codes: Mapping[str, Rule],
                bisect_when: Callable[[VendorError], bool] | None = None,
                sleep: Callable[[float], None] = time.sleep) -> HttpClient:
    """The conversion senders' client (retries, rate limits, the vendor's codes, credentials scrubbed).

    ``BatchSender.client_for`` reads only ``credentials`` and ``base_url``, which an audience
    destination's config has too.
    """
    return BatchSender.client_for(config, session, vendor, sleep=sleep, read_error=read_error,  # type: ignore[arg-type]
                                  codes=codes, bisect_when=bisect_when)


def _chunks(weights: Sequence[int], limit: int) -> list[list[int]]:
    """Positions in order, cut into runs of at most ``limit`` total weight."""
    chunks: list[list[int]] = []
    size = 0
    for position, weight in enumerate(weights):
        if not chunks or size + weight > limit:
            chunks.append([])
            size = 0
        chunks[-1].append(position)
        size += weight
    return chunks


def upload(entries: Sequence[Entry], post: Post, *, vendor: str, limit: int,
           weight: Callable[[Entry], int] = lambda _entry: 1,
           budget: int = DEFAULT_BISECT_BUDGET) -> list[MemberResult]:
    """Send ``entries`` in requests of ≤ ``limit`` rows; one result per entry, in order (see the module doc)."""
    weights = [max(1, weight(entry)) for entry in entries]
    # (positions, id of its split, True for the right half): a right half whose left went through holds the bad row
    queue: deque[tuple[list[int], int, bool]] = deque((chunk, 0, False) for chunk in _chunks(weights, limit))
    left_ok: dict[int, bool] = {}
    refused: dict[int, SyncError] = {}  # split id -> the refusal that split it
    results: dict[int, MemberResult] = {}
    accepted = extra = splits = 0
    while queue:
        chunk, split, right = queue.popleft()
        if right and left_ok.get(split):
            splits += 1
            refused[splits] = refused[split]
            _split(queue, chunk, splits, results, entries, refused[split], vendor)
            continue
        if split:
            if extra >= budget:
                for position in chunk:
                    results[position] = MemberResult(entries[position].contact_id, "retry", (
                        f"{vendor} refused the request holding this member and it was not isolated within "
                        f"{budget} extra requests; it will be tried again"))
                continue
            extra += 1
        part = Part(seq=accepted + 1, last=not queue, total=sum(weights))
        try:
            answered = post([entries[position] for position in chunk], part)
        except SyncError as error:
            if split:
                left_ok[split] = False
            located = {index: message for index, message in error.located.items() if 0 <= index < len(chunk)}
            if located:
                for index, message in located.items():
                    member = entries[chunk[index]].contact_id
                    results[chunk[index]] = MemberResult(member, "failed", f"{vendor} refused this member: {message}")
                rest = [position for index, position in enumerate(chunk) if index not in located]
                if rest:
                    queue.appendleft((rest, splits := splits + 1, False))
            elif error.bisect and len(chunk) > 1:
                splits += 1
                refused[splits] = error
                _split(queue, chunk, splits, results, entries, error, vendor)
            elif error.bisect:
                results[chunk[0]] = _result(entries[chunk[0]], error, vendor)
            else:  # about the request, not a member: the rest of this call would get the same answer
                for position in [p for c, _, _ in queue for p in c] + chunk:
                    results[position] = _result(entries[position], error, vendor)
                queue.clear()
            continue
        accepted += 1
        if split and not right:
            left_ok[split] = True
        results.update(zip(chunk, answered, strict=True))
    return [results[position] for position in range(len(entries))]


def _split(queue: deque[tuple[list[int], int, bool]], chunk: list[int], split: int, results: dict[int, MemberResult],
           entries: Sequence[Entry], error: SyncError, vendor: str) -> None:
    """Queue ``chunk``'s halves next (left first); a single member left is the one refused."""
    if len(chunk) == 1:
        results[chunk[0]] = _result(entries[chunk[0]], error, vendor)
        return
    middle = len(chunk) // 2
    queue.appendleft((chunk[middle:], split, True))
    queue.appendleft((chunk[:middle], split, False))


def _result(entry: Entry, error: SyncError, vendor: str) -> MemberResult:
    """What ``error`` means for one member (``retry`` for rate limits and temporary failures)."""
    found = result_for_error(str(entry.contact_id), error, vendor)
    if isinstance(error, AuthError):  # the destination's credentials, not the member: fixed, it goes through
        return MemberResult(entry.contact_id, "retry", f"{found.error} (fix the destination's credentials)")
    return MemberResult(entry.contact_id, "retry" if found.status == "retry" else "failed", found.error)


def as_int(value: Any) -> int:
    """A vendor's count as an int (0 when it is missing or not a number)."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0
