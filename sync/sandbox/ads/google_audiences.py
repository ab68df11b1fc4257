"""The Data Manager sandbox's Customer Match: user lists, ``audienceMembers:ingest`` and ``audienceMembers:remove``.

Served by the Google sandbox app for the account ``GoogleAdsSandbox.CUSTOMER_ID`` (its manager
``MANAGER_ID`` may log in) with the bearer token ``ACCESS_TOKEN``, under the IngestionService's
rate limit (``rate_limit`` per minute: Google's is 300 per Cloud project; 429 RESOURCE_EXHAUSTED
with a ``RetryInfo``).

* ``POST /v1/accountTypes/GOOGLE_ADS/accounts/{account}/userLists`` (UserListService.CreateUserList):
  the account, or the ``login-account`` header naming its manager (else 403 PERMISSION_DENIED);
  a ``displayName`` (REQUIRED_FIELD_MISSING) not used by another list of the account (the
  sandbox's ``DUPLICATE_USER_LIST_NAME``: Google's reason for this is not published);
  ``ingestedUserListInfo.uploadKeyTypes`` with ``CONTACT_ID`` (e-mails, phones, addresses) →
  the ``UserList`` with ``name`` and ``id``.
* ``POST /v1/audienceMembers:ingest`` / ``:remove``: fast-fail like ``events:ingest`` — one invalid
  record refuses the whole request, 400 INVALID_ARGUMENT, nothing recorded: the JSON parser
  (``google_data_manager_parse``); 1..10 destinations (TOO_MANY_DESTINATIONS) on our account
  (``check_accounts``), each ``productDestinationId`` a user list of it (INVALID_USER_LIST_ID);
  1..10,000 members (TOO_MANY_AUDIENCE_MEMBERS); one data type per request
  (MULTIPLE_DATA_TYPES_NOT_ALLOWED; the sandbox serves ``userData`` only: INVALID_AUDIENCE_MEMBER
  for the others); 1..10 identifiers a member (TOO_MANY_USER_IDENTIFIERS), each hashed as the
  request's ``encoding`` says (required: REQUIRED_FIELD_MISSING) and an address complete
  (``identifier_problems``, as for events); on ingest, ``termsOfService.customerMatchTermsOfServiceStatus``
  ACCEPTED (TERMS_AND_CONDITIONS_NOT_SIGNED). Field paths name ``audience_members[i]``.

Members: a list keeps each identifier it was given (with the consent of its last ingest);
``remove`` drops the identifiers it names. ``GoogleAdsSandbox.user_lists[id]["members"]`` is what
tests read. ``validateOnly`` validates and records nothing.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from flask import Flask, Response, g, request

from sync.sandbox.ads.google_data_manager import check_accounts, identifier_problems, serve_json
from sync.sandbox.ads.google_data_manager_parse import AUDIENCE_DATA, DataManagerError, Violation, invalid, parse

if TYPE_CHECKING:
    from sync.sandbox.ads.google_ads import GoogleAdsSandbox

MAX_MEMBERS, MAX_DESTINATIONS, MAX_IDENTIFIERS = 10_000, 10, 10
FIRST_LIST_ID = 8_800_000_001


def _request_id(index: int) -> str:
    return f"dm-sandbox-{index:08d}"


def create_user_list(sandbox: GoogleAdsSandbox, account_type: str, account: str, body: dict[str, Any]) -> dict:
    """A new Customer Match list of the account (``UserList`` as Google answers it)."""
    login = request.headers.get("login-account", "")
    allowed = {"", f"accountTypes/GOOGLE_ADS/accounts/{sandbox.CUSTOMER_ID}",
               f"accountTypes/GOOGLE_ADS/accounts/{sandbox.MANAGER_ID}"}
    if account_type != "GOOGLE_ADS" or account != sandbox.CUSTOMER_ID or login not in allowed:
        raise DataManagerError(403, "The caller does not have permission", "PERMISSION_DENIED")
    user_list = parse(body, "UserList")
    name = (user_list.get("displayName") or "").strip()
    if not name:
        raise invalid([("user_list.display_name", "The display name is required.", "REQUIRED_FIELD_MISSING")])
    if any(found["displayName"] == name for found in sandbox.user_lists.values()):
        raise invalid([("user_list.display_name", "A user list with this name already exists.",
                        "DUPLICATE_USER_LIST_NAME")])
    keys = (user_list.get("ingestedUserListInfo") or {}).get("uploadKeyTypes") or []
    if "CONTACT_ID" not in keys:
        raise invalid([("user_list.ingested_user_list_info.upload_key_types", "A Customer Match list of e-mails, "
                        "phones and addresses needs the upload key type CONTACT_ID.", "INVALID_USER_LIST_TYPE")])
    list_id = str(FIRST_LIST_ID + len(sandbox.user_lists))
    stored = {**user_list, "name": f"accountTypes/GOOGLE_ADS/accounts/{account}/userLists/{list_id}", "id": list_id,
              "members": {}}
    sandbox.user_lists[list_id] = stored
    return {k: v for k, v in stored.items() if k != "members"}


def _member_problems(member: dict[str, Any], index: int, encoding: str) -> list[Violation]:
    where = f"audience_members[{index}]"
    kinds = [name for name in AUDIENCE_DATA if name in member]
    if kinds != ["userData"]:
        return [(where, "The sandbox takes Customer Match user data (userData) only.", "INVALID_AUDIENCE_MEMBER")]
    identifiers = member["userData"].get("userIdentifiers", [])
    if not identifiers:
        return [(f"{where}.user_data.user_identifiers", "At least one user identifier is required.",
                 "REQUIRED_FIELD_MISSING")]
    if len(identifiers) > MAX_IDENTIFIERS:
        return [(f"{where}.user_data.user_identifiers", f"At most {MAX_IDENTIFIERS} user identifiers.",
                 "TOO_MANY_USER_IDENTIFIERS")]
    if encoding not in ("HEX", "BASE64"):
        return [("encoding", "The encoding is required with user data.", "REQUIRED_FIELD_MISSING")]
    bad: list[Violation] = []
    for position, identifier in enumerate(identifiers):
        bad += identifier_problems(identifier, encoding, f"{where}.user_data.user_identifiers[{position}]")
    return bad


def members(sandbox: GoogleAdsSandbox, raw: Any, removing: bool, request_index: int) -> dict[str, Any]:
    """Validate an ingest / remove request (fast fail), then apply it; Google's answer."""
    body = parse(raw, "RemoveAudienceMembersRequest" if removing else "IngestAudienceMembersRequest")
    destinations, audience = body.get("destinations", []), body.get("audienceMembers", [])
    if not destinations:
        raise invalid([("destinations", "At least one destination is required.", "REQUIRED_FIELD_MISSING")])
    if len(destinations) > MAX_DESTINATIONS:
        raise invalid([("destinations", f"At most {MAX_DESTINATIONS} destinations.", "TOO_MANY_DESTINATIONS")])
    if not audience:
        raise invalid([("audience_members", "At least one audience member is required.", "REQUIRED_FIELD_MISSING")])
    if len(audience) > MAX_MEMBERS:
        raise invalid([("audience_members", f"Too many audience members: at most {MAX_MEMBERS} in one request.",
                        "TOO_MANY_AUDIENCE_MEMBERS")])
    if len({next((k for k in AUDIENCE_DATA if k in m), None) for m in audience}) > 1:
        raise invalid([("audience_members", "All audience members of a request must hold one data type.",
                        "MULTIPLE_DATA_TYPES_NOT_ALLOWED")])
    check_accounts(sandbox, destinations)
    bad: list[Violation] = [(f"destinations[{i}].product_destination_id", "The user list ID is not valid.",
                             "INVALID_USER_LIST_ID") for i, d in enumerate(destinations)
                            if d.get("productDestinationId") not in sandbox.user_lists]
    status = (body.get("termsOfService") or {}).get("customerMatchTermsOfServiceStatus")
    if not removing and status != "ACCEPTED":
        bad.append(("terms_of_service", "The Customer Match terms of service must be accepted.",
                    "TERMS_AND_CONDITIONS_NOT_SIGNED"))
    encoding = body.get("encoding", "ENCODING_UNSPECIFIED")
    for index, member in enumerate(audience):
        bad += _member_problems(member, index, encoding)
    if bad:
        raise invalid(bad)
    if body.get("validateOnly"):
        return {}
    for dest in destinations:
        stored = sandbox.user_lists[dest["productDestinationId"]]["members"]
        for member in audience:
            for identifier in member["userData"]["userIdentifiers"]:
                key = json.dumps(identifier, sort_keys=True)
                if removing:
                    stored.pop(key, None)
                else:
                    stored[key] = member.get("consent") or body.get("consent") or {}
    return {"requestId": _request_id(request_index)}


def register(app: Flask, sandbox: GoogleAdsSandbox) -> None:
    """Serve user-list creation and ``/v1/audienceMembers:ingest`` / ``:remove`` on the Google sandbox app."""

    def answer(work: Any) -> Response:
        return serve_json(sandbox, work, "audienceMembers")

    @app.post("/v1/accountTypes/<account_type>/accounts/<account>/userLists")
    def user_lists(account_type: str, account: str) -> Response:
        return answer(lambda raw: create_user_list(sandbox, account_type, account, raw))

    @app.post("/v1/audienceMembers:ingest")
    def ingest_members() -> Response:
        return answer(lambda raw: members(sandbox, raw, False, g.request_index))

    @app.post("/v1/audienceMembers:remove")
    def remove_members() -> Response:
        return answer(lambda raw: members(sandbox, raw, True, g.request_index))
