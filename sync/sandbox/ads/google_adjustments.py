"""The Google sandbox's ``customers/{cid}:uploadConversionAdjustments``: retractions and restatements.

Kept apart from the click-conversion upload (``google_ads``), which routes the method here.
Google's rules, with its own codes (``ConversionAdjustmentUploadError``,
https://developers.google.com/google-ads/api/reference/rpc/v25/ConversionAdjustmentUploadErrorEnum.ConversionAdjustmentUploadError):

- request level (400, nothing recorded): unknown fields and bad enum values as Google's JSON
  parser refuses them; ``partialFailure`` not true (PARTIAL_FAILURE_MODE_REQUIRED); no
  adjustments, or more than 2,000 (TOO_MANY_ADJUSTMENTS_IN_REQUEST);
- per adjustment (``partialFailureError`` at ``conversion_adjustments[i]``): a missing or
  unknown conversion action (NO_CONVERSION_ACTION_FOUND); ``orderId`` and
  ``gclidDateTimePair`` both set (GCLID_DATE_TIME_PAIR_AND_ORDER_ID_BOTH_SET); a malformed
  ``adjustmentDateTime`` (dateError); ``restatementValue`` on a RETRACTION (VALUE_MUST_BE_UNSET)
  or missing on a RESTATEMENT (REQUIRED); no conversion uploaded with that action and order id
  (CONVERSION_NOT_FOUND); an adjustment dated before its conversion
  (ADJUSTMENT_PRECEDES_CONVERSION); a conversion older than 54 days (CONVERSION_EXPIRED); one
  already retracted (CONVERSION_ALREADY_RETRACTED); a restatement at the time of an earlier one
  (RESTATEMENT_ALREADY_EXISTS) or before a later one (MORE_RECENT_RESTATEMENT_FOUND); the same
  conversion twice in one request (DUPLICATE_ADJUSTMENT_IN_REQUEST).

Accepted adjustments change the conversion's state in ``AdjustmentLedger`` (retracted, or its
restated value) and are listed in ``adjustments``; ``validateOnly`` records nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sync.sandbox.ads.google_ads_parse import GoogleError, ads_error, failure, location, parse_error

MAX_ADJUSTMENTS = 2000
EXPIRY_DAYS = 54  # "Adjustment can't be made to a conversion that occurred more than 54 days ago"
REQUEST_FIELDS = frozenset({"customerId", "conversionAdjustments", "partialFailure", "validateOnly", "jobId"})
ADJUSTMENT_FIELDS = frozenset({"gclidDateTimePair", "orderId", "conversionAction", "adjustmentDateTime",
                               "adjustmentType", "restatementValue", "userIdentifiers", "userAgent"})
TYPES = ("RETRACTION", "RESTATEMENT", "ENHANCEMENT")
FIELD = "conversion_adjustments"


@dataclass
class AdjustmentLedger:
    """What Google holds of each uploaded conversion's adjustments, by (conversion action, order id)."""

    retracted: set[tuple[str, str]] = field(default_factory=set)
    restated: dict[tuple[str, str], tuple[float, float]] = field(default_factory=dict)  # -> (at, value)
    adjustments: list[dict[str, Any]] = field(default_factory=list)  # every accepted adjustment, in order

    def value(self, action: str, order_id: str) -> float | None:
        """The conversion's restated value (None: never restated)."""
        found = self.restated.get((action, order_id))
        return found[1] if found else None


def _error(code: str, message: str, index: int, at: str | None = None,
           family: str = "conversionAdjustmentUploadError") -> dict[str, Any]:
    error = ads_error(family, code, message, None, None)
    error["location"] = {"fieldPathElements": [{"fieldName": FIELD, "index": index},
                                               *([{"fieldName": at}] if at else [])]}
    return error


def _camel(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _object(raw: Any, allowed: frozenset[str], where: str) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise parse_error(where, f"Invalid value at '{where}', expected an object.")
    out = {}
    for key, value in raw.items():
        if _camel(key) not in allowed:
            raise parse_error(where, f"Invalid JSON payload received. Unknown name \"{key}\""
                                     f"{f' at {where!r}' if where else ''}: Cannot find field.")
        out[_camel(key)] = value
    return out


def parse(raw: Any, version: str) -> dict[str, Any]:
    """The request as Google's proto JSON parser reads it; GoogleError (400) when it would refuse it."""
    body = _object(raw if raw is not None else {}, REQUEST_FIELDS, "")
    items = body.get("conversionAdjustments", [])
    if not isinstance(items, list):
        raise parse_error(FIELD, f"Invalid value at '{FIELD}', expected a list.")
    parsed = []
    for index, item in enumerate(items):
        where = f"{FIELD}[{index}]"
        adjustment = _object(item, ADJUSTMENT_FIELDS, where)
        kind = adjustment.get("adjustmentType")
        if kind is not None and kind not in TYPES:
            raise parse_error(f"{where}.adjustment_type", f"Invalid value at '{where}.adjustment_type' (type.googleapis"
                                                          f".com/google.ads.googleads.{version}.enums."
                                                          f"ConversionAdjustmentTypeEnum.ConversionAdjustmentType), "
                                                          f"\"{kind}\"")
        if "restatementValue" in adjustment:
            adjustment["restatementValue"] = _object(adjustment["restatementValue"],
                                                     frozenset({"adjustedValue", "currencyCode"}),
                                                     f"{where}.restatement_value")
        parsed.append(adjustment)
    body["conversionAdjustments"] = parsed
    return body


def _instant(text: Any) -> float | None:
    try:
        return datetime.strptime(str(text), "%Y-%m-%d %H:%M:%S%z").timestamp()
    except ValueError:
        return None


def upload_adjustments(sandbox: Any, body: dict[str, Any], request_index: int, version: str) -> dict[str, Any]:
    """Validate every adjustment against the conversions ``sandbox`` holds, apply the valid ones; Google's response."""
    items, validate_only = body["conversionAdjustments"], body.get("validateOnly", False)
    if body.get("partialFailure") is not True:
        raise GoogleError(400, "Request contains an invalid argument.", [ads_error(
            "partialFailureError", "PARTIAL_FAILURE_MODE_REQUIRED", "The partial failure field was false in the "
            "request. This method requires this field be set to true.")])
    if not items or len(items) > MAX_ADJUSTMENTS:
        raise GoogleError(400, "Request contains an invalid argument.", [ads_error(
            "conversionAdjustmentUploadError", "TOO_MANY_ADJUSTMENTS_IN_REQUEST",
            f"Upload fewer than {MAX_ADJUSTMENTS + 1} adjustments in a single request.", None, FIELD)])
    ledger: AdjustmentLedger = sandbox.adjustment_ledger
    uploaded = {(c.get("conversionAction"), c.get("orderId")): c for c in sandbox.accepted if c.get("orderId")}
    now, seen, errors, results, keep = sandbox.clock(), set(), [], [], []
    for index, adjustment in enumerate(items):
        error = _check(sandbox, ledger, uploaded, adjustment, index, now)
        key = (adjustment.get("conversionAction"), adjustment.get("orderId"))
        if error is None and key in seen:
            error = _error("DUPLICATE_ADJUSTMENT_IN_REQUEST", "The request contained more than one adjustment for "
                           "the same conversion. Review your adjustments and try again.", index, "order_id")
        if error is not None:
            errors.append(error)
            results.append({})
            continue
        seen.add(key)
        keep.append(adjustment)
        results.append({"conversionAction": adjustment["conversionAction"], "orderId": adjustment["orderId"],
                        "adjustmentType": adjustment["adjustmentType"],
                        "adjustmentDateTime": adjustment["adjustmentDateTime"]})
    if not validate_only:
        for adjustment in keep:
            key = (adjustment["conversionAction"], adjustment["orderId"])
            if adjustment["adjustmentType"] == "RETRACTION":
                ledger.retracted.add(key)
            else:
                ledger.restated[key] = (_instant(adjustment["adjustmentDateTime"]) or 0.0,
                                        float(adjustment["restatementValue"]["adjustedValue"]))
            ledger.adjustments.append({"request": request_index, **adjustment})
    response: dict[str, Any] = {}
    if errors:
        response["partialFailureError"] = {
            "code": 3, "message": ", ".join(f"{e['message']}, at {location(e)}" for e in errors),
            "details": [failure(version, errors, f"sandboxReq{request_index:08d}")]}
    if not validate_only:
        response["results"] = results
    response["jobId"] = str(body.get("jobId", request_index))
    return response


def _check(sandbox: Any, ledger: AdjustmentLedger, uploaded: dict[tuple[Any, Any], dict[str, Any]],
           adjustment: dict[str, Any], index: int, now: float) -> dict[str, Any] | None:
    """The first GoogleAdsError of one adjustment (None when Google would apply it)."""
    action = adjustment.get("conversionAction")
    known = sandbox.CONVERSION_ACTIONS.values()
    if not action or not isinstance(action, str) or action.rsplit("/", 1)[-1] not in known:
        return _error("NO_CONVERSION_ACTION_FOUND", "The conversion action specified in the adjustment request cannot "
                      "be found. Make sure it's available in this account.", index, "conversion_action")
    kind = adjustment.get("adjustmentType")
    if kind not in ("RETRACTION", "RESTATEMENT"):
        return _error("REQUIRED" if kind is None else "CONVERSION_ACTION_NOT_ELIGIBLE_FOR_ENHANCEMENT",
                      "The required field was not present." if kind is None else
                      "Can't use enhanced conversions with the specified conversion action.", index, "adjustment_type",
                      family="fieldError" if kind is None else "conversionAdjustmentUploadError")
    if adjustment.get("orderId") and adjustment.get("gclidDateTimePair"):
        return _error("GCLID_DATE_TIME_PAIR_AND_ORDER_ID_BOTH_SET", "Both the conversion's gclid_date_time_pair and "
                      "order_id were provided. Use only 1 type and try again.", index, "order_id")
    when = _instant(adjustment.get("adjustmentDateTime"))
    if when is None:
        return _error("INVALID_STRING_DATE_TIME_SECONDS_WITH_OFFSET", "The string date time's format should be "
                      "yyyy-mm-dd hh:mm:ss+|-hh:mm.", index, "adjustment_date_time", family="dateError")
    restatement = adjustment.get("restatementValue")
    if kind == "RETRACTION" and restatement is not None:
        return _error("VALUE_MUST_BE_UNSET", "The field cannot be set.", index, "restatement_value",
                      family="fieldError")
    if kind == "RESTATEMENT" and not isinstance((restatement or {}).get("adjustedValue"), int | float):
        return _error("REQUIRED", "The required field was not present.", index, "restatement_value",
                      family="fieldError")
    key = (action, adjustment.get("orderId"))
    conversion = uploaded.get(key)
    if conversion is None:  # the sandbox identifies conversions by order id only (lifesync always sends one)
        return _error("CONVERSION_NOT_FOUND", "The conversion for this conversion action and conversion identifier "
                      "can't be found. Make sure your conversion identifiers are associated with the correct "
                      "conversion action and try again.", index, "order_id")
    converted = _instant(conversion.get("conversionDateTime")) or 0.0
    if when < converted:
        return _error("ADJUSTMENT_PRECEDES_CONVERSION", "Adjustment has an adjustment_date_time that occurred before "
                      "the associated conversion. Make sure your adjustment_date_time is correct and try again.",
                      index, "adjustment_date_time")
    if now - converted > EXPIRY_DAYS * 86400:
        return _error("CONVERSION_EXPIRED", "Adjustment can't be made to a conversion that occurred more than 54 days "
                      "ago.", index)
    if key in ledger.retracted:
        return _error("CONVERSION_ALREADY_RETRACTED", "The conversion was already retracted. This adjustment was not "
                      "processed.", index)
    earlier = ledger.restated.get(key)
    if kind == "RESTATEMENT" and earlier is not None and when == earlier[0]:
        return _error("RESTATEMENT_ALREADY_EXISTS", "A restatement with this timestamp already exists for this "
                      "conversion. To upload another adjustment, use a different timestamp.", index,
                      "adjustment_date_time")
    if kind == "RESTATEMENT" and earlier is not None and when < earlier[0]:
        return _error("MORE_RECENT_RESTATEMENT_FOUND", "Adjustment can't be made because a more recent restatement "
                      "has already been reported.", index, "adjustment_date_time")
    return None
