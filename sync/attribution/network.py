"""What an ad-network plug-in declares: one frozen ``Network``, exported as ``NETWORK`` by its module.

Each module of ``sync.attribution.networks`` (``meta``, ``tiktok``, ``google_ads``) builds its
payloads, sends them, and declares here everything the shared code needs to know about it:
the settings it reads and their defaults, the versions of its API with their published end
dates (``versions``, a ``sync.http.versions.VersionTable`` that ``lifesync config check`` and
the network's sandbox read), its event names, how its user data is normalised
and hashed (``UserDataRules``), which touches it attributes (``TouchRules``), how old an event
it still accepts, and what the delivery report and the demo read from its payloads. The
registry (``sync.attribution.networks``) holds them by name; shared modules (configure,
dispatch, the demo) ask it and never name a network themselves.

A network reached through more than one API (Google: the Data Manager API, or the Google Ads
API) declares each as a ``transport``: a ``Network`` of its own under ``transports``, the first
being the default. A destination's ``transport`` setting picks one (``Network.transport``);
shared code asks the registry's ``network_for(dest)`` and gets the one the destination uses.

Adding a network: one module (or package) in ``sync/attribution/networks/`` exporting ``NETWORK``
(the registry finds it), its sandbox (``sync/sandbox/ads/``) and its tests. This module imports no
network (nor, at run time, anything else of lifesync's).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:  # a declaration only: at run time this module imports nothing of lifesync's
    from datetime import datetime

    from requests import Session

    from sync.attribution.delivery import BatchSender
    from sync.attribution.destination import BuiltEvent, DestinationConfig, NormalizeCache
    from sync.attribution.facts import AdjustmentFacts, ContactFacts, ConversionFacts, TouchpointFacts
    from sync.attribution.hashing import UserDataRules
    from sync.attribution.touch import TouchRules
    from sync.http.versions import VersionTable

# One of the destination's own settings by key (LIFESYNC_<PLATFORM>_<KEY>[__<DESTINATION>]), or None.
Setting = Callable[[str], str | None]


class Builder(Protocol):
    """A network's pure payload builder: facts in, one ``BuiltEvent`` out (``ValidationError`` saying why not)."""

    def __call__(self, conversion: ConversionFacts, contact: ContactFacts, touchpoints: Sequence[TouchpointFacts],
                 dest: DestinationConfig, *, now: datetime | None = None,
                 cache: NormalizeCache | None = None) -> BuiltEvent:
        """The network's event for ``conversion``."""


class AdjustmentBuilder(Protocol):
    """A network's pure builder of an adjustment: the conversion's new state in, one ``BuiltEvent`` out."""

    def __call__(self, adjustment: AdjustmentFacts, conversion: ConversionFacts, contact: ContactFacts,
                 touchpoints: Sequence[TouchpointFacts], dest: DestinationConfig, *, now: datetime | None = None,
                 cache: NormalizeCache | None = None) -> BuiltEvent:
        """The network's adjustment of ``conversion`` (sent earlier) to ``adjustment``'s state."""


@dataclass(frozen=True)
class Adjusts:
    """How a network takes retractions and restatements of conversions it was sent (``Network.adjust``).

    ``sender`` is the batch sender of the adjustment requests when they go to another endpoint
    than conversions (Google Ads API: ``uploadConversionAdjustments``); None: the network's own
    sender (a restatement is the same event sent again, as the Data Manager API takes it).
    ``retracts`` False: restatements only; a retraction is recorded as not supported.
    """

    build: AdjustmentBuilder
    sender: type[BatchSender] | None = None
    max_age_days: int | None = None  # a conversion older than this can no longer be adjusted (None: no such limit)
    retracts: bool = True
    unsupported: str = ""  # why a retraction is not supported, with the vendor's page (when ``retracts`` is False)


class Check(Protocol):
    """A network's connection test: one cheap authenticated read of ``dest`` (a ``SyncError`` when refused)."""

    def __call__(self, dest: DestinationConfig, session: Session | None = None) -> str:
        """What the read showed, for the OK line (e.g. ``dataset 123 "Shop"``)."""


class Diagnose(Protocol):
    """A network's asynchronous diagnostics: what the vendor later said about one accepted request."""

    def __call__(self, dest: DestinationConfig, request_id: str, session: Session | None = None) -> dict[str, Any]:
        """The vendor's status of request ``request_id`` (a ``SyncError`` when it cannot be read)."""


class Configure(Protocol):
    """A network's own part of a destination's config, read from its settings."""

    def __call__(self, setting: Setting, required: Mapping[str, str], name: str) -> dict[str, Any]:
        """``DestinationConfig`` fields (credentials, account_id, ...) from ``required`` and further settings."""


@dataclass(frozen=True)
class Network:
    """Everything shared code needs to know about one ad network."""

    name: str  # conversions.yaml's ``network:``; also the name of its default destination
    vendor: str  # the API as messages and logs name it
    settings_platform: str  # settings prefix: LIFESYNC_<PLATFORM>_<KEY>, e.g. google_ads
    required_settings: tuple[str, ...]  # a destination without all of these is not enabled
    base_url: str  # default API host (a destination's base_url setting wins)
    api_version: str  # default API version (an api_version setting wins)
    versions: VersionTable  # every version of its API with release and end dates, and their source
    event_names: Mapping[str, str]  # canonical conversion kind -> the network's event name
    user_data: UserDataRules  # how user data is normalised and which fields are hashed
    touches: TouchRules  # which touches it attributes a conversion to
    build: Builder
    sender: type[BatchSender]  # constructed as sender(dest, session, sleep=...)
    configure: Configure
    max_event_age: Callable[[DestinationConfig], int | None]  # days; None: no limit lifesync knows of
    delivery_summary: Callable[[Mapping[str, Any]], dict[str, Any]]  # {click_id, keys} the delivery report reads
    event_label: Callable[[Mapping[str, Any]], str]  # the name an accepted payload is counted under (demo)
    business_messaging: bool = False  # sends click-to-message ad conversions as business messaging (demo)
    # ``lifesync connections check``: one cheap authenticated read proving the destination's credentials work;
    # returns what it saw (e.g. the dataset's name), raises the vendor's ``SyncError``. None: no such call known.
    check: Check | None = None
    # asynchronous diagnostics of accepted requests by the request id their delivery response holds
    # (``sync.attribution.diagnostics``); None: the network answers synchronously
    diagnose: Diagnose | None = None
    version_setting: bool = True  # False: the API version is the transport's own (no api_version setting applies)
    # other ways of reaching the same network, by the ``transport`` setting's value; the first is the default
    transports: Mapping[str, Network] = field(default_factory=dict)
    # retractions and restatements of sent conversions (``sync.attribution.adjust_dispatch``). None: the network has
    # no way to change an event it received; ``no_adjust`` says so, with the vendor's page, in the delivery report.
    adjust: Adjusts | None = None
    no_adjust: str = ""

    def transport(self, name: str | None) -> Network:
        """The network as transport ``name`` declares it (the default for None); ``KeyError`` for an unknown one."""
        if not self.transports:
            return self
        return self.transports[name or next(iter(self.transports))]

    @property
    def max_batch(self) -> int:
        """Most events one request of its API takes."""
        return self.sender.max_batch
