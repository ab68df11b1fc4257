"""The privacy policy at a conversion destination: ``sync.privacy.policy.decide`` asked, its answer applied.

Both dispatchers (conversions, ``sync.attribution.dispatch``; adjustments, ``adjust_dispatch``)
build every event through ``build_under``, so a contact reaches a network only as the policy
allows: ``send`` as is; ``restricted`` with the network's restricted processing (the builders read
``ContactFacts.restricted``); ``strip`` without personal identifiers (``ContactFacts.under``) — and
not at all when what is left holds nothing the network can match; ``drop`` not at all. What is
not sent is ``skipped``, with the reason, and the Delivery records the policy. An event that could
not be built at all fails as it would without a policy (its data needs fixing), dropped or not.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from sync.attribution.destination import BuiltEvent, DestinationConfig, EventResult
from sync.attribution.facts import ContactFacts
from sync.config.privacy import bundled_privacy
from sync.errors import LifesyncError, ValidationError
from sync.privacy.policy import Decision, Exit, decide

PURPOSE = "ad_user_data"  # what sending a conversion's user data to an ad network needs consent for


def decision_for(dest: DestinationConfig, contact: ContactFacts) -> Decision:
    """The policy ``dest`` applies to ``contact`` (privacy.yaml's, else the bundled one)."""
    return decide(dest.privacy or bundled_privacy(), Exit(dest.name, dest.network), contact, PURPOSE)


def build_under(decision: Decision, key: str, contact: ContactFacts,
                build: Callable[[ContactFacts], BuiltEvent]) -> BuiltEvent | EventResult:
    """``build`` the event for ``contact`` as ``decision`` allows; a ``skipped`` result when it may not go.

    A ``ValidationError`` of a stripped event that the full event would not have raised means the
    policy left nothing to match: skipped, not failed (no replay can change it). Any other error
    is the builder's, raised as is.
    """
    if decision.policy == "drop":  # built all the same, never sent: a conversion no network could take (a purchase
        # without value) is a data problem to fix and fails, whoever it is kept from. Built as if consent were
        # unknown: a builder leaves out the identifiers of a contact who denied ad_user_data, and an event short
        # of identifiers for that reason is the policy's business (skipped), not a data problem
        build(replace(contact, consent={}))
        return EventResult(key, "skipped", f"not sent: privacy policy drop ({decision.reason})")
    try:
        return build(contact.under(decision.policy))
    except ValidationError as exc:
        if decision.policy != "strip":
            raise
        try:
            build(contact)
        except LifesyncError:
            raise exc from None
        return EventResult(key, "skipped", f"not sent: privacy policy strip ({decision.reason}) leaves nothing to "
                                           f"match ({exc})")
