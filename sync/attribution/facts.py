"""What a conversion destination is given: plain, frozen facts loaded from the canonical model.

Payload builders (each network's ``build``, ``sync.attribution.networks``) are pure functions of
(``ConversionFacts``, ``ContactFacts``, touchpoints, destination config); the dispatcher
loads these from the database, so builders never touch I/O. Values are raw canonical values
(e-mails, E.164 phones, names as stored): normalising and hashing is the builders' job, done
exactly once through ``sync.attribution.hashing``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class ContactFacts:
    """The contact a conversion belongs to."""

    contact_id: int
    emails: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()  # E.164
    first_name: str | None = None
    last_name: str | None = None
    city: str | None = None
    state: str | None = None
    zip: str | None = None
    country: str | None = None  # as stored (name or code); also the phone region hint
    date_of_birth: str | None = None
    gender: str | None = None
    identities: tuple[tuple[str, str], ...] = ()  # (kind, value): whatsapp wa_id, messenger psid, instagram igsid...
    consent: Mapping[str, Any] = field(default_factory=dict)  # purpose -> True / False (absent: unknown)
    # the privacy policy the exit applies (sync.privacy.policy): send, restricted (the network's restricted processing:
    # Meta / TikTok Limited Data Use, Google adPersonalization DENIED) or strip (see ``under``)
    policy: str = "send"

    @property
    def external_id(self) -> str:
        """The contact's id in lifesync (sent as external_id, hashed where the network asks); none when stripped."""
        return "" if self.policy == "strip" else str(self.contact_id)

    @property
    def restricted(self) -> bool:
        """True when the exit must ask the network for restricted processing."""
        return self.policy == "restricted"

    def under(self, policy: str) -> ContactFacts:
        """The contact as an exit applying ``policy`` may see it: ``strip`` keeps no personal identifier.

        A stripped contact has no e-mail, phone, name, address, birth date, gender, identity or
        external id: what a builder still sends is the touch's click id and the event's own data.
        """
        if policy == "strip":
            return ContactFacts(contact_id=self.contact_id, consent=self.consent, policy="strip")
        return replace(self, policy=policy)

    def identity(self, kind: str) -> str | None:
        """The first identity value of ``kind``, or None."""
        return next((v for k, v in self.identities if k == kind), None)


@dataclass(frozen=True)
class TouchpointFacts:
    """One ad touch of the contact (click-to-message referral, ad click with a click id, ...)."""

    channel: str | None  # whatsapp, messenger, instagram, tiktok, web, ...
    network: str | None  # meta, tiktok, google
    occurred_at: datetime | None
    campaign_id: str | None = None
    adset_id: str | None = None
    ad_id: str | None = None
    click_ids: Mapping[str, str] = field(default_factory=dict)  # ctwa_clid, fbclid, fbc, ttclid, gclid, gbraid, wbraid
    referral_url: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)  # e.g. waba_id, page_id, ig_account_id


@dataclass(frozen=True)
class ConversionFacts:
    """One conversion event, with its deterministic ``event_id``."""

    event_id: str
    kind: str  # lead, qualified_lead, booking, add_to_cart, initiate_checkout, purchase, or a custom kind
    occurred_at: datetime
    value: float | None = None
    currency: str | None = None
    order_id: str | None = None
    source: str = ""
    object: str = ""
    record_id: str = ""
    # its adjustments' verdict (``sync.attribution.adjustments``): ``value``/``currency`` above are the current ones
    # (a restatement's), ``recorded_value`` what the conversion first said; a retracted conversion no longer counts
    retracted_at: datetime | None = None
    adjusted_at: datetime | None = None
    recorded_value: float | None = None


@dataclass(frozen=True)
class AdjustmentFacts:
    """What to tell a network that was sent a conversion: its state now (the conversion's adjustments decided it)."""

    key: str  # the adjustment that queued this telling
    action: str  # "retract" (it no longer counts) or "restate" (its value is now ``value``)
    at: datetime  # when the deciding adjustment happened (after the conversion)
    value: float | None = None
    currency: str | None = None
