"""The Meta sandbox's reads: the dataset node, ad nodes, ``me/adaccounts`` and Graph batch requests.

What it enforces, as Meta does: the token (104 missing, 190 unknown; ``appsecret_proof`` when
given), the version table on every path (2635 ended, 2500 unknown), which objects a token
sees — the Conversions API token the dataset, the Marketing API token (``ads_read``) the ad
account's ads — and an object it does not see, or that does not exist, refused with code 100,
subcode 33: "Unsupported get request. Object with ID '...' does not exist, cannot be loaded due
to missing permissions, or does not support this operation." ``fields`` with field expansion
(``adset{id,name}``); a field the Ad node lacks is refused with "(#100) Tried accessing
nonexisting field (...) on node type (Ad)" (the message form of
https://developers.facebook.com/docs/graph-api/advanced).

Batches (``POST /{version}/`` with ``batch``; https://developers.facebook.com/docs/graph-api/batch-requests):
at most 50 calls ("Too many requests in batch message. Maximum batch size is 50", type
``GraphBatchException``; ⚠ code 1 is the sandbox's choice, the message and type are Meta's), one
answer per call ``{code, headers?, body}`` with ``include_headers=false`` dropping the headers.
Each call counts against the rate limit on its own: when not even the first fits, the whole
request is refused with code 80004 (subcode 2446079, "There have been too many calls to this
ad-account. Wait a bit and try again.", ads management's Business Use Case throttle;
https://developers.facebook.com/docs/marketing-api/overview/rate-limiting) and the
``X-Business-Use-Case-Usage`` header; calls past the limit inside a batch get that error as
their own answer. The multi-ID read ``GET /?ids=`` is not served (Meta closed it to new uses
in 2026; see ``sync.attribution.adnames.meta``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from flask import Flask, Response, g

from sync.sandbox.ads.common import json_response
from sync.sandbox.ads.graph import MetaError, params_of, trace

if TYPE_CHECKING:
    from sync.sandbox.ads.meta import MetaSandbox

MAX_BATCH = 50
AD_FIELDS = {"id": None, "name": None, "adset_id": None, "campaign_id": None, "adset": ("id", "name"),
             "campaign": ("id", "name")}
_FIELD = re.compile(r"\s*([a-z_]+)\s*(?:\{([^{}]*)\})?\s*(?:,|$)")
_VERSION = re.compile(r"v\d+\.\d+")


@dataclass(frozen=True)
class AdNode:
    """One ad with its ad set and campaign."""

    ad_id: str
    name: str
    adset_id: str
    adset_name: str
    campaign_id: str
    campaign_name: str

    def node(self) -> dict[str, Any]:
        """Every field the sandbox serves for the ad."""
        return {"id": self.ad_id, "name": self.name, "adset_id": self.adset_id, "campaign_id": self.campaign_id,
                "adset": {"id": self.adset_id, "name": self.adset_name},
                "campaign": {"id": self.campaign_id, "name": self.campaign_name}}


class AdCatalogue:
    """The ads of the sandbox's ad account, by id (ads not added do not exist, like deleted ones)."""

    def __init__(self) -> None:
        self.by_id: dict[str, AdNode] = {}
        self.reads = 0  # ad nodes read (alone or in a batch): what a test counts to see lookups batched

    def add(self, ad_id: str, name: str, adset_id: str, adset_name: str, campaign_id: str, campaign_name: str) -> None:
        """Add (or replace) an ad."""
        self.by_id[str(ad_id)] = AdNode(str(ad_id), name, str(adset_id), adset_name, str(campaign_id), campaign_name)


def no_object(node_id: str, method: str = "get") -> MetaError:
    """Meta's 100/33 for an object that does not exist or that the token may not see."""
    return MetaError(100, f"Unsupported {method} request. Object with ID '{node_id}' does not exist, cannot be "
                          "loaded due to missing permissions, or does not support this operation.",
                     subcode=33, kind="GraphMethodException")


def ad_account_throttled(sandbox: MetaSandbox) -> MetaError:
    """Ads management's throttle (80004), with the usage header saying when access returns."""
    wait = max(sandbox.rate.retry_after(), 1.0)
    return MetaError(80004, "There have been too many calls to this ad-account. Wait a bit and try again. For more "
                            "info, please refer to https://developers.facebook.com/docs/graph-api/overview/rate-limiting.",
                     subcode=2446079, status=sandbox.rate_limit_status, transient=True,
                     headers=sandbox.usage_header(wait))


def parse_fields(text: str | None) -> dict[str, tuple[str, ...] | None]:
    """``id,name,adset{id,name}`` → {"id": None, "name": None, "adset": ("id", "name")}."""
    found: dict[str, tuple[str, ...] | None] = {}
    for match in _FIELD.finditer(text or "id"):
        if match.group(1):
            sub = match.group(2)
            found[match.group(1)] = tuple(f.strip() for f in sub.split(",") if f.strip()) if sub is not None else None
    return found


def read_node(sandbox: MetaSandbox, node_id: str, fields: str | None, token: str) -> dict[str, Any]:
    """The node ``node_id`` as ``token`` may read it, with the requested fields (``MetaError`` otherwise)."""
    if node_id == sandbox.DATASET_ID and token == sandbox.ACCESS_TOKEN:
        node = {"id": node_id, "name": "lifesync sandbox dataset"}
        return {k: node[k] for k in parse_fields(fields) if k in node} | {"id": node_id}
    ad = sandbox.ads.by_id.get(node_id)
    if ad is None or token != sandbox.MARKETING_TOKEN:
        raise no_object(node_id)
    full, out = ad.node(), {}
    for name, sub in parse_fields(fields).items():
        allowed = AD_FIELDS.get(name, ())
        unknown = name if name not in AD_FIELDS else next((f for f in sub or () if f not in (allowed or ())), None)
        if unknown is not None:
            node_type = "Ad" if unknown == name else name.title()
            raise MetaError(100, f"(#100) Tried accessing nonexisting field ({unknown}) on node type ({node_type})")
        value = full[name]
        out[name] = {k: value[k] for k in (sub or ("id",))} if isinstance(value, dict) else value
    sandbox.ads.reads += 1
    return out | {"id": node_id}


def _batch_call(sandbox: MetaSandbox, version: str, call: Any, token: str, index: int) -> dict[str, Any]:
    """One call of a batch: its answer ``{code, body}`` (an error as its own answer, never raised)."""
    try:
        if not isinstance(call, dict) or str(call.get("method", "GET")).upper() != "GET":
            raise MetaError(100, "(#100) The sandbox answers GET calls in a batch only")
        url = urlsplit(str(call.get("relative_url") or ""))
        parts = [p for p in url.path.split("/") if p]
        if parts and _VERSION.fullmatch(parts[0]):
            sandbox.check_version(parts.pop(0), "/".join(parts))
        if len(parts) != 1:
            raise MetaError(2500, f"Unknown path components: /{'/'.join(parts)}")
        fields = (parse_qs(url.query).get("fields") or [None])[0]
        if not sandbox.rate.admit():
            raise ad_account_throttled(sandbox)
        return {"code": 200, "body": json.dumps(read_node(sandbox, parts[0], fields, token))}
    except MetaError as error:
        return {"code": error.status, "body": json.dumps(error.body(trace(index)))}


def _opened(sandbox: MetaSandbox, version: str, rest: str) -> tuple[dict[str, Any], str]:
    """The request's parameters and token, after the version and token checks (hold ``sandbox.lock``)."""
    params = params_of()
    sandbox.check_version(version, rest)
    return params, sandbox.check_token(params)


def register_reads(app: Flask, sandbox: MetaSandbox) -> None:
    """The read routes: ``GET /{version}/{node}``, ``GET /{version}/me/adaccounts``, ``POST /{version}/`` (batch)."""

    @app.get("/<version>/<node_id>")
    @app.get("/<version>/<node_id>/")  # the SDKs ask for "/{id}/"; Graph answers both
    def node(version: str, node_id: str) -> Response:
        with sandbox.lock:
            params, token = _opened(sandbox, version, node_id)
            if not sandbox.rate.admit():
                raise sandbox.throttled() if node_id == sandbox.DATASET_ID else ad_account_throttled(sandbox)
            body = read_node(sandbox, node_id, params.get("fields"), token)
        return json_response(200, body, sandbox.usage_header())

    @app.get("/<version>/me/adaccounts")
    def ad_accounts(version: str) -> Response:
        with sandbox.lock:
            params, token = _opened(sandbox, version, "me/adaccounts")
        accounts = [{"id": sandbox.AD_ACCOUNT_ID, "name": sandbox.AD_ACCOUNT_NAME}] \
            if token == sandbox.MARKETING_TOKEN else []
        wanted = parse_fields(params.get("fields"))
        return json_response(200, {"data": [{k: a[k] for k in a if k in wanted} | {"id": a["id"]} for a in accounts]})

    @app.post("/<version>/")
    def batch(version: str) -> Response:
        with sandbox.lock:
            params, token = _opened(sandbox, version, "")
            calls = params.get("batch")
            if isinstance(calls, str):
                try:
                    calls = json.loads(calls)
                except ValueError:
                    calls = None
            if not isinstance(calls, list) or not calls:
                raise MetaError(100, "(#100) The parameter batch is required and must be a JSON array of calls")
            if len(calls) > MAX_BATCH:
                raise MetaError(1, f"Too many requests in batch message. Maximum batch size is {MAX_BATCH}",
                                kind="GraphBatchException")
            if sandbox.rate.retry_after() > 0:
                raise ad_account_throttled(sandbox)
            answers = [_batch_call(sandbox, version, call, token, g.request_index) for call in calls]
        if str(params.get("include_headers", "true")).lower() != "false":
            for answer in answers:
                answer["headers"] = [{"name": "Content-Type", "value": "text/javascript; charset=UTF-8"}]
        return json_response(200, answers, sandbox.usage_header())
