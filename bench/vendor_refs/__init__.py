"""Checks of recorded sandbox requests against references the vendors wrote (their SDKs and protos).

``check(request)`` sends one ``sync.sandbox.recording.RecordedRequest`` to the checker of the
vendor whose sandbox received it and returns a ``Verdict``: ``accepted`` by the vendor's
reference, ``refused`` (with the reasons the reference gave), or ``unchecked`` when no reference
the vendor wrote covers that request (the reason says which and why). The vendor libraries are
test dependencies (``pip install -e '.[test]'``), never runtime ones.
"""

from __future__ import annotations

import importlib
import json
import re
from dataclasses import dataclass
from importlib import metadata
from typing import Any

ACCEPTED, REFUSED, UNCHECKED = "accepted", "refused", "unchecked"
# sandbox mount -> checker module (imported on first use: the Google protos take a second to load)
CHECKERS = {"hubspot": "hubspot", "salesforce": "salesforce", "meta": "meta", "tiktok": "tiktok",
            "google": "google", "datamanager": "google"}


@dataclass(frozen=True)
class Verdict:
    """What a vendor's reference said of one request."""

    vendor: str
    endpoint: str  # method and path template, e.g. "POST /crm/objects/{version}/{type}/batch/update"
    outcome: str  # ACCEPTED, REFUSED or UNCHECKED
    reference: str  # the reference that decided (package and version, message), or why there is none
    reasons: tuple[str, ...] = ()  # why refused / unchecked
    notes: tuple[str, ...] = ()  # what an accepting reference could not see (fields it has no model for)
    items: int = 0  # events, records or inputs the body carried


def version_of(package: str) -> str:
    """``package`` and its installed version, as the output names a reference."""
    return f"{package} {metadata.version(package)}"


def json_body(raw: bytes) -> Any:
    """The body as JSON; ValueError with a short message when it is not."""
    try:
        return json.loads(raw or b"null")
    except ValueError as error:
        raise ValueError(f"the body is not JSON ({error})") from error


def template(path: str) -> str:
    """A path with ids replaced, for grouping: digits-only and Salesforce-id segments become ``{id}``."""
    return re.sub(r"/(?:\d+|[0-9A-Za-z]{15}|[0-9A-Za-z]{18})(?=/|:|$)",
                  lambda m: "/{id}" if any(c.isdigit() for c in m.group(0)) else m.group(0), path)


def check(request: Any) -> Verdict:
    """The verdict of the vendor reference for one recorded request (dispatch by the sandbox it reached)."""
    module = CHECKERS.get(request.sandbox) or next(
        (CHECKERS[name] for name in ("google", "datamanager") if name in request.sandbox), None)
    if module is None:
        return Verdict(request.sandbox, f"{request.method} {template(request.path)}", UNCHECKED,
                       "no checker", (f"no checker for the {request.sandbox!r} sandbox",))
    try:
        return importlib.import_module(f"bench.vendor_refs.{module}").check(request)
    except Exception as error:  # a checker bug must not hide the rest of the table
        return Verdict(request.sandbox, f"{request.method} {template(request.path)}", UNCHECKED,
                       "checker error", (f"the checker failed: {type(error).__name__}: {error}",))
