"""What Google's two transports share: the account's settings, its ids, user-data rules, touches, consent.

Both the Data Manager API (``data_manager``, the default) and the Google Ads API (``ads_api``)
send a conversion of kind ``k`` to the conversion action ``conversion_actions[k]`` of the
customer ``customer_id``, attribute it to the last Google click (gclid, else gbraid, else
wbraid: one only), normalise user data with Google's own rules (``USER_DATA``: those of
``google-ads-datamanager-util``'s ``Formatter``, which the conformance tests compare against),
and refuse clicks older than the 90-day click window.

Settings (``LIFESYNC_GOOGLE_ADS_<KEY>[__<DESTINATION>]``): ``transport`` (``data_manager`` |
``ads_api``), ``access_token`` and ``customer_id`` (required; Data Manager's token carries the
scope https://www.googleapis.com/auth/datamanager), ``developer_token`` (required by ``ads_api``
only), ``login_customer_id`` (a manager account), ``conversion_actions`` (``kind=id,...``),
``validate_only``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from sync.attribution.destination import BuiltEvent, DestinationConfig, EventResult
from sync.attribution.hashing import UserDataRules
from sync.attribution.network import Setting
from sync.attribution.touch import TouchRules
from sync.config.conversions import CANONICAL_KINDS
from sync.errors import SettingsError, ValidationError

NAME = "google"
SETTINGS_PLATFORM = "google_ads"
TRANSPORTS = ("data_manager", "ads_api")  # the first is the default
EVENT_NAMES: dict[str, str] = {kind: kind for kind in CANONICAL_KINDS}  # labels: conversion actions say the rest
# Google's Formatter (google.ads.datamanager_util.format): Gmail dots and "+tag" dropped, names only trimmed and
# lowercased, postal codes as written, region codes upper case; phones E.164 with "+". City/state are not sent.
USER_DATA = UserDataRules(NAME, plain_fields=frozenset({"city", "state", "country", "zip"}), drop_gmail_dots=True,
                          drop_gmail_plus=True, names_as_written=True, zip_as_written=True, country_upper=True)
TOUCHES = TouchRules(("gclid", "gbraid", "wbraid"))  # in order of preference; one only is sent
# Google Ads imports a click conversion only within 90 days of its click (the longest click-through window);
# older ones are "expired clicks": https://support.google.com/google-ads/answer/13321563
CLICK_WINDOW_DAYS = 90
_DIGITS = re.compile(r"\D")


def customer_id(value: str) -> str:
    """A customer id as Google wants it: digits only (``123-456-7890`` → ``1234567890``)."""
    return _DIGITS.sub("", value or "")


def action_id(dest: DestinationConfig, kind: str) -> str:
    """The id of ``kind``'s conversion action (from an id or a full resource name); ValidationError without one."""
    action = (dest.conversion_actions.get(kind) or "").strip()
    if not action:
        raise ValidationError(f"conversion kind {kind!r} has no Google conversion action on destination "
                              f"{dest.name!r}; set conversion_actions[{kind!r}] to the action's id")
    return action.rsplit("/", 1)[-1]


def consent(facts: Mapping[str, Any], granted: str, denied: str, *, restricted: bool = False) -> dict[str, str]:
    """``{adUserData, adPersonalization}`` from the contact's consent, each left out when unknown.

    ``restricted`` (the privacy policy's restricted processing): ``adPersonalization`` is denied
    whatever the contact said; ``adUserData`` stays the contact's.
    """
    wire = {"adUserData": facts.get("ad_user_data"),
            "adPersonalization": False if restricted else facts.get("ad_personalization")}
    return {key: granted if value else denied for key, value in wire.items() if isinstance(value, bool)}


def _pairs(text: str | None, what: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in (text or "").split(","):
        if not part.strip():
            continue
        kind, sep, value = part.partition("=")
        if not sep or not kind.strip() or not value.strip():
            raise SettingsError(f"{what} must be comma-separated kind=value pairs, e.g. purchase=111,lead=222; "
                                f"got {part.strip()!r}")
        out[kind.strip()] = value.strip()
    return out


def configure(setting: Setting, required: Mapping[str, str], name: str) -> dict[str, Any]:
    """A Google destination's tokens (+ login customer), customer id, conversion actions and dry-run mode."""
    login = setting("login_customer_id")
    validate_only = (setting("validate_only") or "").lower() == "true"
    actions = _pairs(setting("conversion_actions"), f"LIFESYNC_GOOGLE_ADS_CONVERSION_ACTIONS for destination {name!r}")
    credentials = {"access_token": required["access_token"]}
    developer = required.get("developer_token") or setting("developer_token")
    if developer:
        credentials["developer_token"] = developer
    if login:
        credentials["login_customer_id"] = login
    return {"credentials": credentials, "account_id": customer_id(required["customer_id"]),
            "conversion_actions": actions, "validate_only": validate_only}


def partial_results(events: Sequence[BuiltEvent], failures: Mapping[int, str], held: Sequence[str],
                    summary: Mapping[str, Any], refused: str) -> list[EventResult]:
    """One result per event of a ``partialFailure`` answer (Ads API conversions and adjustments alike).

    ``failures`` are Google's messages by event index; a message naming one of ``held`` (Google already
    holds this conversion or state) is ``sent`` with ``duplicate``; any other is ``failed`` as ``refused``.
    """
    results = []
    for index, event in enumerate(events):
        message = failures.get(index)
        if message is None:
            results.append(EventResult(event.key, "sent", response=dict(summary)))
        elif any(code in message for code in held):
            results.append(EventResult(event.key, "sent", response={**summary, "duplicate": True}))
        else:
            results.append(EventResult(event.key, "failed", f"{refused}: {message}", response=dict(summary)))
    return results

