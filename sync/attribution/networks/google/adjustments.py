"""Google's retractions and restatements of conversions it was sent, for both of its transports.

Pure builders (facts + ``DestinationConfig`` → payload) and, for the Google Ads API, the
sender of ``uploadConversionAdjustments``. No ``NETWORK`` here: ``google_ads`` declares them.

**Google Ads API** — ``POST /{version}/customers/{id}:uploadConversionAdjustments`` with
``partialFailure: true`` (https://developers.google.com/google-ads/api/rest/reference/rest/v17/customers/
uploadConversionAdjustments). Each ``ConversionAdjustment`` names the conversion by its
``conversionAction`` and ``orderId`` — the id lifesync uploaded it with (the order id, else the
conversion's event id) — with ``adjustmentType`` ``RETRACTION`` or ``RESTATEMENT``,
``adjustmentDateTime`` (``yyyy-mm-dd hh:mm:ss+00:00``, after the conversion's time) and, for a
restatement only, ``restatementValue {adjustedValue, currencyCode}``: the whole new value, not
a difference (https://developers.google.com/google-ads/api/reference/rpc/v25/ConversionAdjustment,
https://developers.google.com/google-ads/api/reference/rpc/v25/RestatementValue). Per-adjustment
errors (``ConversionAdjustmentUploadError``, e.g. ``CONVERSION_NOT_FOUND``) come back in
``partialFailureError`` located at ``conversion_adjustments[i]``; ``CONVERSION_ALREADY_RETRACTED``
and ``RESTATEMENT_ALREADY_EXISTS`` mean Google holds this state already: delivered.

**Data Manager API** — no separate method: ``events:ingest`` with an event carrying the *same*
``transactionId``, destination and conversion action as the original, and the new
``conversionValue``/``currency``, restates it ("Google Ads matches events using transactionId
... If the transactionId matches an existing conversion for the same conversion action, Data
Manager API treats the request as a conversion adjustment"; ``conversionValue``, ``currency``
"Overwritten", other fields kept as recorded:
https://developers.google.com/data-manager/api/devguides/events/google-ads/conversion-adjustments).
That page lists two kinds of adjustment, restating a value and supplementing user data, and
no retraction; its upgrade guide
(https://developers.google.com/data-manager/api/devguides/events/google-ads/offline/upgrade)
moves adjustments to ``IngestEvents`` without naming one either. So a retraction is not sent
through the Data Manager API — a restatement to 0 would keep the conversion counted, which is
not what a cancellation means — and is recorded as not supported (``DATA_MANAGER_NO_RETRACTION``).
Checked 2026-12-06.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import requests

from sync.attribution.delivery import BatchSender, json_body
from sync.attribution.destination import BuiltEvent, DestinationConfig, EventResult, NormalizeCache, now_utc, utc
from sync.attribution.facts import AdjustmentFacts, ContactFacts, ConversionFacts, TouchpointFacts
from sync.attribution.network import Builder
from sync.attribution.networks.google.common import partial_results
from sync.errors import ValidationError
from sync.http import join_url

# google_ads declares these in its NETWORK, so it imports this module; this module is given google_ads's helpers
# (conversion action names, customer ids, error-body readers) as arguments and imports no network module.
Action = Callable[[DestinationConfig, str], str]  # (destination, kind) -> conversion action resource name
Errors = Callable[[Any], list[dict[str, Any]]]  # the GoogleAdsError items of a failure body
Describe = Callable[[Mapping[str, Any]], str]  # one GoogleAdsError as a message

log = logging.getLogger(__name__)

TYPES = {"retract": "RETRACTION", "restate": "RESTATEMENT"}
# Google holds this state already (an earlier upload of the same adjustment got through): delivered.
ALREADY = ("CONVERSION_ALREADY_RETRACTED", "RESTATEMENT_ALREADY_EXISTS", "DUPLICATE_ADJUSTMENT_IN_REQUEST")
DATA_MANAGER_NO_RETRACTION = (
    "not supported by the Data Manager API: it restates a conversion's value (the same transactionId sent again) but "
    "documents no retraction (https://developers.google.com/data-manager/api/devguides/events/google-ads/"
    "conversion-adjustments)")
# CONVERSION_EXPIRED: "Adjustment can't be made to a conversion that occurred more than 54 days ago"
# (https://developers.google.com/google-ads/api/reference/rpc/v25/ConversionAdjustmentUploadErrorEnum.
# ConversionAdjustmentUploadError): such adjustments are counted expired, not sent.
ADJUSTABLE_DAYS = 54
FIELD = "conversion_adjustments"  # the fieldName Google's partial-failure locations use for this method


def adjustment_date_time(adjustment: AdjustmentFacts, conversion: ConversionFacts, now: datetime) -> str:
    """When the adjustment happened, as Google wants it: after the conversion, not in the future."""
    at = min(max(utc(adjustment.at), utc(conversion.occurred_at) + timedelta(seconds=1)), now)
    return at.strftime("%Y-%m-%d %H:%M:%S+00:00")


def ads_adjustment(adjustment: AdjustmentFacts, conversion: ConversionFacts, contact: ContactFacts,
                   touchpoints: Sequence[TouchpointFacts], dest: DestinationConfig, *, action: Action,
                   now: datetime | None = None, cache: NormalizeCache | None = None) -> BuiltEvent:
    """The Google Ads API ``ConversionAdjustment`` telling ``conversion``'s new state (keyed by its event id).

    ``action``: the transport's conversion action of a kind (``google_ads.conversion_action``).
    """
    payload: dict[str, Any] = {
        "conversionAction": action(dest, conversion.kind),
        "adjustmentType": TYPES[adjustment.action],
        "orderId": conversion.order_id or conversion.event_id,  # what the conversion was uploaded with
        "adjustmentDateTime": adjustment_date_time(adjustment, conversion, now_utc(now)),
    }
    if adjustment.action == "restate":
        if adjustment.value is None or adjustment.value < 0:
            raise ValidationError(f"Google adjustment of {conversion.event_id}: a restatement needs the new value "
                                  f"(a non-negative number), got {adjustment.value!r}")
        payload["restatementValue"] = {"adjustedValue": adjustment.value}
        if adjustment.currency:
            payload["restatementValue"]["currencyCode"] = adjustment.currency.strip().upper()
    return BuiltEvent(conversion.event_id, payload)


def data_manager_restatement(adjustment: AdjustmentFacts, conversion: ConversionFacts, contact: ContactFacts,
                             touchpoints: Sequence[TouchpointFacts], dest: DestinationConfig, *, build: Builder,
                             now: datetime | None = None, cache: NormalizeCache | None = None) -> BuiltEvent:
    """The Data Manager ``events:ingest`` event restating ``conversion``: the original event, built again by the
    transport's own conversion ``build``, with the new value and currency (same ``transactionId``, destination
    and conversion action). A retraction raises ``ValidationError`` (see ``DATA_MANAGER_NO_RETRACTION``).
    """
    if adjustment.action != "restate":
        raise ValidationError(f"Google adjustment of {conversion.event_id}: {DATA_MANAGER_NO_RETRACTION}")
    restated = replace(conversion, value=adjustment.value, currency=adjustment.currency or conversion.currency)
    event = build(restated, contact, touchpoints, dest, now=now, cache=cache)
    expected = conversion.order_id or conversion.event_id
    if event.payload.get("transactionId") != expected:  # without it Google would count a new conversion
        raise ValidationError(f"Google adjustment of {conversion.event_id}: the restatement must carry "
                              f"transactionId {expected!r}, the original's")
    return event


def validate(adjustment: Mapping[str, Any]) -> str | None:
    """Why Google would refuse ``adjustment`` (which field, what was expected), or None."""
    kind = adjustment.get("adjustmentType")
    if kind not in TYPES.values():
        return "adjustmentType must be RETRACTION or RESTATEMENT"
    if not adjustment.get("orderId"):
        return "orderId must name the conversion to adjust"
    restatement = adjustment.get("restatementValue")
    if kind == "RETRACTION" and restatement is not None:
        return "restatementValue must not be set on a RETRACTION"
    if kind == "RESTATEMENT" and not isinstance((restatement or {}).get("adjustedValue"), int | float):
        return "a RESTATEMENT needs restatementValue.adjustedValue"
    return None


def located(container: Any, errors: Errors, describe: Describe) -> dict[int, str]:
    """{adjustment index: message} for the partial-failure errors that name an adjustment."""
    found: dict[int, str] = {}
    for error in errors(container):
        elements = (error.get("location") or {}).get("fieldPathElements") or []
        index = next((e["index"] for e in elements if isinstance(e, dict) and e.get("fieldName") == FIELD
                      and isinstance(e.get("index"), int)), None)
        if index is not None:
            found[index] = "; ".join(filter(None, (found.get(index), describe(error))))
    return found


def adjustment_sender(base: type[BatchSender], *, customer_id: Callable[[str], str], errors: Errors,
                      describe: Describe) -> type[BatchSender]:
    """The ``uploadConversionAdjustments`` sender: ``base`` (the Ads API's click-conversion sender, for its
    client, headers and error table) posting to the adjustments method; error bodies read by ``errors``/``describe``.
    """

    class AdjustmentSender(base):  # type: ignore[misc, valid-type]
        """Uploads conversion adjustments to ``dest``'s customer, ≤ 2,000 a request, with partial failure."""

        def __init__(self, dest: DestinationConfig, session: requests.Session | None = None, *,
                     sleep: Callable[[float], None] = time.sleep,
                     clock: Callable[[], datetime] | None = None) -> None:
            super().__init__(dest, session, sleep=sleep, clock=clock)
            self.url = join_url(dest.base_url, f"{dest.api_version}/customers/{customer_id(dest.account_id)}"
                                               f":uploadConversionAdjustments")

        def validate(self, payload: dict[str, Any], now: datetime) -> str | None:
            """Why Google would refuse the adjustment, or None."""
            return validate(payload)

        def post(self, events: Sequence[BuiltEvent]) -> list[EventResult]:
            """POST one batch with partial failure; failures are mapped back to their adjustments."""
            return post_adjustments(self, events, errors, describe)

    return AdjustmentSender


def post_adjustments(sender: Any, events: Sequence[BuiltEvent], errors: Errors, describe: Describe
                     ) -> list[EventResult]:
    """One ``uploadConversionAdjustments`` request of ``events`` through ``sender``; a result per adjustment."""
    body = {"conversionAdjustments": [event.payload for event in events], "partialFailure": True,
            "validateOnly": sender.dest.validate_only}
    reply = json_body(sender.client.request("POST", sender.url, headers=sender.headers, json=body))
    partial = (reply if isinstance(reply, dict) else {}).get("partialFailureError") or {}
    failures = {i: m for i, m in located(partial, errors, describe).items() if 0 <= i < len(events)}
    summary = {"validate_only": True} if sender.dest.validate_only else {}
    return partial_results(events, failures, ALREADY, summary, f"{sender.vendor} rejected the adjustment")
