"""What every conversion destination shares: its config, built events, results, and delivery.

A network module (one per ad network in ``sync.attribution.networks``) has a pure ``build``
(facts → ``BuiltEvent``) and a ``Sender`` subclassing ``BatchSender``, which gives it:

* local validation of every event just before sending (``validate``); an event that fails
  gets a ``failed`` result naming the field and what was expected, and is never sent;
* batching to the network's maximum (``max_batch``), one ``EventResult`` per event, in order;
* bisection of a rejected batch (``sync.attribution.delivery``).

``NormalizeCache`` memoises ``hashing.normalize`` / ``hashing.wire_value`` for one batch, so
each distinct (network, field, value, region) is normalised and hashed once. Builders never
hash anything themselves.

Nothing here names a network: what differs between them is declared by each network's
``Network`` (``sync.attribution.network``) and its ``UserDataRules``.

Result statuses: ``sent``; ``failed`` (the network or local validation refused the event, or
the credentials/permissions were refused: retrying as is cannot help); ``retry`` (rate limit,
transient failure, or a rejected batch whose bad event was not isolated within the
bisection budget — the event itself was not proven bad).
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal, Protocol

from sync.attribution import hashing
from sync.attribution.facts import ContactFacts, ConversionFacts
from sync.attribution.hashing import UserDataRules
from sync.errors import SettingsError, ValidationError
from sync.utc import utc

if TYPE_CHECKING:
    from sync.config.privacy import PrivacyConfig

MAX_FUTURE = timedelta(minutes=1)
DEFAULT_BISECT_BUDGET = 64
MAX_SECONDS = 10**11  # a larger event_time is milliseconds (seconds would be past the year 5000)

@dataclass(frozen=True)
class DestinationConfig:
    """One configured conversion destination (the lead engineer wires settings to it)."""

    name: str  # the destination's name in conversions.yaml, e.g. meta-eu
    network: str  # the name of its network in sync.attribution.networks.NETWORKS
    base_url: str  # the network's API host (its Network.base_url unless a setting says otherwise)
    api_version: str  # e.g. v21.0 (its Network.api_version unless a setting says otherwise)
    credentials: Mapping[str, str] = field(repr=False)  # per network (Network.configure): tokens, secrets
    account_id: str  # meta: dataset/pixel id; tiktok: event_source_id; google: customer id
    event_names: Mapping[str, str] = field(default_factory=dict)  # kind -> name, over Network.event_names
    conversion_actions: Mapping[str, str] = field(default_factory=dict)  # google: kind -> conversion action id
    test_event_code: str | None = None  # meta/tiktok test mode
    validate_only: bool = False  # google dry run
    partner_agent: str | None = "lifesync"
    default_region: str = "US"  # phone/zip normalisation when the contact has no usable country
    max_event_age_days: int = 7  # meta: older events are refused locally (⚠ 62 for physical_store)
    event_source: str = "crm"  # tiktok: web|app|offline|crm
    # meta business messaging: channel -> kind -> name, over networks.meta.MESSAGING_EVENT_NAMES
    messaging_event_names: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    extra: Mapping[str, str] = field(default_factory=dict)  # waba_id, page_id, ig_account_id fallbacks; ⚠ field names
    action_source: str = "system_generated"  # meta: action source of events not attributed to a message ad
    max_bisect_requests: int = DEFAULT_BISECT_BUDGET  # extra requests one send may spend isolating bad events
    transport: str = ""  # which of its network's transports it uses ("": the network's only or default one)
    privacy: PrivacyConfig | None = None  # privacy.yaml's policies (None: the bundled ones; sync.privacy.policy)

    def credential(self, key: str) -> str:
        """The credential ``key``; ``SettingsError`` naming the destination when it is missing."""
        value = (self.credentials.get(key) or "").strip()
        if not value:
            raise SettingsError(f"conversion destination {self.name!r} ({self.network}) needs credential {key!r}")
        return value


@dataclass(frozen=True)
class BuiltEvent:
    """One event ready for a batch: ``key`` is the conversion's event_id, ``payload`` the network's JSON."""

    key: str
    payload: dict[str, Any]


# expired, duplicate, retracted: set by the dispatcher; unsupported: by the adjustment dispatcher; skipped: by both
# (not sent on purpose: nothing to adjust, or the privacy policy said drop)
Status = Literal["sent", "failed", "retry", "expired", "duplicate", "retracted", "unsupported", "skipped"]


@dataclass(frozen=True)
class EventResult:
    """What became of one event; ``error`` says why it failed or must be retried."""

    key: str
    status: Status
    error: str | None = None
    response: Mapping[str, Any] = field(default_factory=dict)
    retry_after: float | None = None

    @property
    def delivered_before(self) -> bool:
        """The network refused the event as one it already holds (``response["duplicate"]``, set by its sender).

        The network has the event, so it is recorded ``sent``, but counted apart: it was delivered by an
        earlier request (a send whose answer was lost to a crash, or a twin in the same request), not by this one.
        """
        return self.status == "sent" and bool(self.response.get("duplicate"))


class Sender(Protocol):
    """What the dispatcher needs from a network's sender."""

    max_batch: int

    def send(self, events: Sequence[BuiltEvent]) -> list[EventResult]:
        """Deliver ``events`` in batches; one result per event, in order."""


def event_name(dest: DestinationConfig, kind: str, defaults: Mapping[str, str], *,
               configured: Mapping[str, str] | None = None) -> str:
    """The event name for ``kind``: configured names over the network's ``defaults``; ValidationError when unmapped.

    ``configured`` is ``dest.event_names`` unless given (Meta's per-channel business-messaging names).
    """
    table = {**defaults, **(dest.event_names if configured is None else configured)}
    name = table.get(kind)
    if not name:
        raise ValidationError(f"conversion kind {kind!r} has no {dest.network} event name on destination "
                              f"{dest.name!r}; map it in event_names (known: {sorted(table)})")
    return name


_E164 = re.compile(r"\+[1-9]\d{6,14}")


class NormalizeCache:
    """Per-batch memo of ``hashing`` results keyed by (op, network, field, value, region).

    ``rules`` is the network's ``UserDataRules``; its ``network`` name is the memo key.
    """

    def __init__(self) -> None:
        self._values: dict[tuple[str, str, str, str, str | None], str | None] = {}
        self.misses = 0

    def _get(self, op: str, rules: UserDataRules, field_: str, value: str, region: str | None) -> str | None:
        key = (op, rules.network, field_, value, region)
        if key not in self._values:
            self.misses += 1
            compute = hashing.wire_value if op == "wire" else hashing.normalize
            self._values[key] = compute(rules, field_, value, region=region)
        return self._values[key]

    def wire(self, rules: UserDataRules, field_: str, value: str | None, region: str | None = None) -> str | None:
        """``hashing.wire_value`` (hashed or plain, as the network wants), computed once per distinct input."""
        return self._get("wire", rules, field_, value, region) if value else None

    def phone(self, rules: UserDataRules, value: str | None, region: str | None = None) -> str | None:
        """A contact's phone as the network wants it on the wire.

        ``ContactFacts.phones`` are lifesync identities, validated to E.164 by the mapping's
        ``e164`` transform when they were ingested; parsing them again with ``phonenumbers``
        (~80 µs each, and every phone is distinct) would only repeat that check. Such values
        take the direct route — E.164, without its ``+`` when the network says ``phone_plus``
        is off — and are hashed; anything else goes through ``hashing`` like any raw input.
        """
        if not value:
            return None
        if not _E164.fullmatch(value):
            return self.wire(rules, "phone", value, region)
        key = ("e164", rules.network, "phone", value, None)
        found = self._values.get(key)
        if found is None:
            self.misses += 1
            wire = value if rules.phone_plus else value.removeprefix("+")
            found = hashlib.sha256(wire.encode()).hexdigest() if hashing.should_hash(rules, "phone") else wire
            self._values[key] = found
        return found

    def normalize(self, rules: UserDataRules, field_: str, value: str | None,
                  region: str | None = None) -> str | None:
        """``hashing.normalize``, computed once per distinct input."""
        return self._get("norm", rules, field_, value, region) if value else None

    def region(self, rules: UserDataRules, contact: ContactFacts, dest: DestinationConfig) -> str:
        """The contact's ISO region: its country (code, name or calling code such as ``44``), else the default."""
        code = self.normalize(rules, "country", contact.country)
        if code:
            return code.upper()
        raw = (contact.country or "").strip().removeprefix("+")
        if raw.isdigit():  # a calling code: hashing knows its region
            key = ("region", rules.network, "country", raw, None)
            if key not in self._values:
                self._values[key] = hashing.resolve_region(raw)
            return self._values[key] or dest.default_region.upper()
        return dest.default_region.upper()


# -- local validation helpers (messages name the field and what was expected; never personal data)

def now_utc(now: datetime | None = None) -> datetime:
    """``now`` in UTC, or the current time."""
    return utc(now) if now is not None else datetime.now(UTC)


def event_time_problem(seconds: Any, now: datetime, max_age_days: int | None) -> str | None:
    """Why an event_time (Unix seconds) cannot be sent: not an int, too old, or in the future."""
    if not isinstance(seconds, int) or isinstance(seconds, bool):
        return "event_time must be whole Unix seconds"
    if seconds > MAX_SECONDS:
        return "event_time must be Unix seconds; this looks like milliseconds"
    age = now - datetime.fromtimestamp(seconds, UTC)
    if age < -MAX_FUTURE:
        return f"event_time is {math.ceil(-age.total_seconds())} s in the future; at most 60 s ahead is accepted"
    if max_age_days is not None and age > timedelta(days=max_age_days):
        return f"event_time is {age.days} days old; the network accepts events up to {max_age_days} days old"
    return None


def value_problem(value: Any, currency: Any, *, required: bool, upper: bool) -> str | None:
    """Why value/currency are not sendable: value not a non-negative number, currency not 3 letters."""
    case = "upper" if upper else "lower"
    if required and (value is None or currency is None):
        return "a purchase needs value and currency"
    if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)
                              or not math.isfinite(value) or value < 0):
        return "value must be a non-negative number"
    if value is not None and currency is None:
        return "value needs a currency (3-letter ISO 4217 code)"
    if currency is not None and not (isinstance(currency, str) and len(currency) == 3 and currency.isalpha()
                                     and currency == (currency.upper() if upper else currency.lower())):
        return f"currency must be a 3-letter ISO 4217 code in {case} case"
    return None


def require_purchase_value(conversion: ConversionFacts) -> None:
    """A purchase without value and currency cannot be sent to any network."""
    if conversion.kind == "purchase" and (conversion.value is None or not conversion.currency):
        raise ValidationError(f"conversion {conversion.event_id}: a purchase needs value and currency")


def currency_code(currency: str | None, *, upper: bool) -> str | None:
    """The currency trimmed and cased as the network wants (validated later)."""
    if currency is None:
        return None
    code = currency.strip()
    return code.upper() if upper else code.lower()

