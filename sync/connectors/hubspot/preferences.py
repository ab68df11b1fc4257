"""Marketing e-mail opt-outs written back to HubSpot: the Communication Preferences API's unsubscribe-all.

``hs_email_optout`` is read-only through the CRM objects API (HubSpot sets it when a contact
unsubscribes from all e-mail), so a withdrawal of marketing e-mail consent made elsewhere (the shop's
checkbox, Salesforce's ``HasOptedOutOfEmail``; a WhatsApp STOP withdraws ``marketing_messages``, which no
HubSpot mapping writes) reaches HubSpot through the Communication Preferences API instead. A mapping
asks for it declaratively: a consent spec with ``out_path: unsubscribe_all.<CHANNEL>``
(``config/mappings/hubspot_contacts.yaml`` writes ``marketing_email`` to ``unsubscribe_all.EMAIL``, through
the ``not`` transform, so ``true`` means opted out as in ``hs_email_optout``). The pusher then, for each
of the contact's e-mail addresses, sends::

    POST /communication-preferences/{version}/statuses/{email}/unsubscribe-all?channel=EMAIL

(``version``: ``LIFESYNC_HUBSPOT_COMMUNICATION_PREFERENCES_VERSION``, default 2026-09)

HubSpot answers ``{status, results: [{channel, status, subscriberIdString, timestamp, wideStatusType, …}],
startedAt, completedAt}`` (nothing in it is needed: a 2xx is success). Only an opt-out is ever sent:
HubSpot lets only the contact themself subscribe again (a double opt-in or the preferences page), so a
grant (``false`` here) sends nothing.

What is confirmed and what is assumed (docs/vendors/audiences-and-consent.md §4 and the API reference
pages it cites): HubSpot documents, for the dated Communication Preferences API,
``GET /communication-preferences/2026-03/statuses/{subscriberIdString}/unsubscribe-all`` (read the
unsubscribe-all status) and ``POST …/statuses/batch/unsubscribe-all`` ``{inputs: [subscriberIdString]}``,
and v4 has ``POST /communication-preferences/v4/statuses/{subscriberIdString}/unsubscribe-all?channel=EMAIL``.
The single ``POST`` on the dated path is **assumed** to mirror v4's (path, ``channel`` query parameter,
empty body, answer shape), as is its existence in 2026-09 (the version table: 2026-03 is supported only
until about 2027-09). The scope (``communication_preferences.statuses.write``; legacy apps
``subscriptions-status-write``) is HubSpot's; a token without it gets a 403 ``MISSING_SCOPES``, which
fails that contact's delivery with the reason (dead-lettered, replayable once the app has the scope).
``hubspot-api-client`` 12.0.0 (the oracle in the venv) models only the v3 status API
(``/communication-preferences/v3/unsubscribe`` per subscription), not v4's or the dated statuses, so
it cannot check these shapes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sync.connectors.hubspot.client import HubSpotApi
from sync.errors import PermanentError

UNSUBSCRIBE_ALL = "unsubscribe_all"  # the out_path root a mapping writes an opt-out to: unsubscribe_all.<CHANNEL>
WRITE_SCOPE = "communication_preferences.statuses.write"
CHANNELS = ("EMAIL",)  # the channels HubSpot's unsubscribe-all takes (EMAIL is the one documented)


def opt_outs(extra: Mapping[str, Any]) -> list[str]:
    """The channels a push item asks to unsubscribe from (``unsubscribe_all.<CHANNEL>: true``); grants are not sent."""
    asked = extra.get(UNSUBSCRIBE_ALL) or {}
    if not isinstance(asked, Mapping):
        raise PermanentError(f"the mapping writes {UNSUBSCRIBE_ALL} as a value; expected {UNSUBSCRIBE_ALL}.<CHANNEL>")
    unknown = sorted(set(asked) - set(CHANNELS))
    if unknown:
        raise PermanentError(f"HubSpot cannot unsubscribe from channel {', '.join(unknown)}; "
                             f"expected {UNSUBSCRIBE_ALL}.{' or '.join(CHANNELS)}")
    return [channel for channel, value in sorted(asked.items()) if value is True]


def unsubscribe_all(api: HubSpotApi, emails: Iterable[str], channel: str) -> list[dict[str, Any]]:
    """Unsubscribe each address from every subscription of ``channel``; HubSpot's answers (errors raise typed)."""
    answers = []
    for email in dict.fromkeys(e.strip().lower() for e in emails if e and e.strip()):
        _, answer = api.post(api.paths.unsubscribe_all(email), {}, params={"channel": channel})
        answers.append(answer)
    return answers
