"""``meta_audience``: a segment as a Meta customer-list Custom Audience (Marketing API).

* ``ensure``: the ``audience_id`` option, else the audience kept from the last sync, else a new one:
  ``POST /{v}/act_{ad_account}/customaudiences`` with ``name``, ``subtype=CUSTOM``,
  ``customer_file_source=USER_PROVIDED_ONLY`` (lifesync holds the data its users gave) and a
  description naming the segment (developers.facebook.com/docs/marketing-api/reference/custom-audience).
* ``keys``: Meta's multi-key schema (``SCHEMA``: EMAIL, PHONE, FN, LN, ZIP, COUNTRY), one row per
  e-mail / phone of the member (at most ``MAX_ROWS_PER_MEMBER``), names, zip and country on each;
  every value SHA-256 (lowercase hex) after Meta's normalisation — the Conversions API's rules
  (``sync.attribution.networks.meta.USER_DATA``: phones as digits with the country code and no
  ``+``). Without an e-mail or a phone the member is ``Unmatchable``.
* Limited Data Use: a member the privacy policy restricts (privacy.yaml; by default California, the only
  state where Meta applies LDU to customer lists — docs/vendors/audiences-and-consent.md §1) goes with
  ``DATA_PROCESSING_OPTIONS ["LDU"]`` on its rows; a batch holding one adds the column to its schema,
  the other rows saying ``[]``. A member restricted in another state is sent with the flag too, as
  configured: Meta may ignore it there.
* ``add`` / ``remove``: ``POST`` / ``DELETE /{v}/{audience_id}/users`` with
  ``payload {schema, is_raw: true, data}`` — what ``facebook_business``'s
  ``CustomAudience.add_users(schema, users, is_raw=True)`` sends (tests compare the two) — and
  ``session {session_id, batch_seq, last_batch_flag, estimated_num_total}``: one add/remove call
  is one session, split into requests of ≤ 10,000 rows (Meta's maximum per call,
  …/reference/custom-audience/users). ``access_token`` and ``appsecret_proof`` (when the app secret
  is set) go in the body, as the Conversions API sender sends them; Meta's PHP SDK sends a
  DELETE's parameters in the body as well.

Meta answers ``{audience_id, session_id, num_received, num_invalid_entries,
invalid_entry_samples}``: a member whose hash Meta names among the invalid samples fails, the rest
are done (matching happens later, within 24 h). Refusals: Meta's error table
(``sync.attribution.networks.meta.CODES``) with code 100 subcode 1713230 "Audience Upload Blocked"
(an audience flagged for integrity restrictions: nothing is retried until it is resolved in
Audience Manager) and code 100 about the payload bisected. Settings: see ``from_settings``.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

import requests

from sync.attribution.delivery import json_body
from sync.attribution.networks import meta
from sync.errors import PermanentError, SettingsError, ValidationError
from sync.http import Action, Rule, join_url
from sync.segments.destinations import ad_delivery
from sync.segments.destinations.base import (
    Audience,
    AudienceDestinationConfig,
    AudienceMember,
    Entry,
    MemberResult,
    Unmatchable,
)
from sync.settings import Settings

KIND = "meta_audience"
VENDOR = "Meta Custom Audiences"
MAX_ROWS = 10_000  # rows per /users call
MAX_ROWS_PER_MEMBER = 10
SCHEMA = ("EMAIL", "PHONE", "FN", "LN", "ZIP", "COUNTRY")
LDU_KEY = "DATA_PROCESSING_OPTIONS"  # a row's Limited Data Use: ["LDU"], or [] (none)
_FIELDS = {"FN": "first_name", "LN": "last_name", "ZIP": "zip", "COUNTRY": "country"}
CUSTOMER_FILE_SOURCE = "USER_PROVIDED_ONLY"
BLOCKED = "1713230"
CODES: dict[str, Rule] = {
    **meta.CODES,
    "100": Rule(Action.FAIL, ValidationError, "the upload was refused"),
    "100/33": Rule(Action.FAIL, PermanentError, "the custom audience or ad account does not exist, or the token "
                                                "cannot use it"),
    f"100/{BLOCKED}": Rule(Action.FAIL, PermanentError, "Audience Upload Blocked: the audience is flagged for "
                                                        "integrity restrictions; resolve them in Audience Manager or "
                                                        "use a new audience"),
}


def _bisect_when(error: Any) -> bool:
    return error.code == "100" and error.subcode not in ("33", BLOCKED)


class MetaAudience(ad_delivery.AdAudience):
    """A Meta Custom Audience kept equal to a segment."""

    kind: ClassVar[str] = KIND
    max_batch: ClassVar[int] = MAX_ROWS
    vendor: ClassVar[str] = VENDOR
    actions: ClassVar[tuple[str, str]] = ("POST", "DELETE")

    def __init__(self, config: AudienceDestinationConfig, session: requests.Session | None = None, *,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.config = config
        self.client = ad_delivery.http_client(config, session, VENDOR, read_error=meta.read_error, codes=CODES,
                                              bisect_when=_bisect_when, sleep=sleep)
        token = (config.credentials.get("access_token") or "").strip()
        if not token:
            raise SettingsError(f"audience destination {config.name!r} ({KIND}) has no access token")
        self.auth = {"access_token": token}
        secret = (config.credentials.get("app_secret") or "").strip()
        if secret:
            self.auth["appsecret_proof"] = meta.appsecret_proof(secret, token)

    @classmethod
    def from_settings(cls, name: str, options: Mapping[str, str], settings: Settings) -> AudienceDestinationConfig:
        """Token ``LIFESYNC_META_MARKETING_ACCESS_TOKEN[__<CONNECTION>]`` (+ ``LIFESYNC_META_APP_SECRET``), ad account.

        The ad account is the ``ad_account_id`` option, else ``LIFESYNC_META_AD_ACCOUNT_ID[__<CONNECTION>]``;
        it is not needed when the entry names an existing ``audience_id``. Host ``LIFESYNC_META_BASE_URL``
        and version ``LIFESYNC_META_API_VERSION`` (the Conversions API's: the same Marketing API; v26.0 by default).
        """
        connection = ad_delivery.connection_of(name, options)
        token = ad_delivery.require(settings, name, KIND, "meta", ("marketing_access_token",), connection)
        credentials = {"access_token": token["marketing_access_token"]}
        if secret := ad_delivery.read(settings, "meta", "app_secret", connection):
            credentials["app_secret"] = secret
        account = (options.get("ad_account_id") or ad_delivery.read(settings, "meta", "ad_account_id", connection)
                   or "").strip()
        if not account and not options.get("audience_id"):
            raise SettingsError(f"audience destination {name!r} ({KIND}) needs an ad account: set "
                                f"{ad_delivery.variable('meta', 'ad_account_id', connection)} or the option "
                                "ad_account_id, or name an existing audience_id",
                                variable="LIFESYNC_META_AD_ACCOUNT_ID")
        if account and not account.removeprefix("act_").isdigit():
            raise SettingsError(f"audience destination {name!r} ({KIND}): ad account {account!r} must be act_<digits> "
                                "or the digits")
        audience_id = str(options.get("audience_id") or "").strip()
        if audience_id and not audience_id.isdigit():
            raise SettingsError(f"audience destination {name!r} ({KIND}): audience_id {audience_id!r} must be digits")
        return AudienceDestinationConfig(
            name=name, kind=KIND, credentials=credentials,
            base_url=ad_delivery.read(settings, "meta", "base_url", connection) or meta.NETWORK.base_url,
            api_version=ad_delivery.read(settings, "meta", "api_version", connection, shared=True)
            or meta.NETWORK.api_version,
            options={**({"ad_account_id": f"act_{account.removeprefix('act_')}"} if account else {}),
                     **({"audience_id": audience_id} if audience_id else {})})

    restricts: ClassVar[bool] = True  # Limited Data Use per row

    def keys(self, member: AudienceMember) -> dict[str, Any]:
        """``{"rows": [{EMAIL, PHONE, FN, LN, ZIP, COUNTRY}, ...]}`` hashed; ``Unmatchable`` without e-mail or phone.

        A member under the ``restricted`` policy has ``DATA_PROCESSING_OPTIONS: ["LDU"]`` on each row (Meta
        geolocates it: no country/state columns are sent for it).
        """
        hashes = ad_delivery.member_hashes(meta.USER_DATA, member, self.config)
        emails, phones = hashes.emails, hashes.phones
        if not emails and not phones:
            raise Unmatchable("Meta Custom Audiences need an e-mail or a phone number Meta can read")
        common = {key: value for key, field in _FIELDS.items() if (value := hashes.wire(field))}
        rows = []
        for index in range(min(max(len(emails), len(phones)), MAX_ROWS_PER_MEMBER)):
            row = {"EMAIL": emails[index] if index < len(emails) else "",
                   "PHONE": phones[index] if index < len(phones) else "", **common}
            rows.append({key: value for key, value in row.items() if value})
        if member.policy == "restricted":
            rows = [{**row, LDU_KEY: ["LDU"]} for row in rows]
        return {"rows": rows}

    def ensure(self, audience: Audience) -> str:
        """The audience's id: the ``audience_id`` option, the one kept, or a new customer-list audience."""
        given = self.existing(audience)
        if given:
            return given
        account = self.config.options.get("ad_account_id")
        if not account:
            raise SettingsError(f"audience destination {self.config.name!r} ({KIND}) needs an ad account to create "
                                f"the audience of segment {audience.key!r}")
        body = {**self.auth, "name": audience.label, "subtype": "CUSTOM", "customer_file_source": CUSTOMER_FILE_SOURCE,
                "description": f"lifesync segment {audience.key} (brand {audience.brand})"}
        reply = json_body(self.client.request("POST", self._url(f"{account}/customaudiences"), json=body))
        return self.created(reply, audience, "id")

    def _url(self, path: str) -> str:
        return join_url(self.config.base_url, f"{self.config.api_version}/{path}")

    def send(self, method: str, remote_id: str, entries: Sequence[Entry]) -> list[MemberResult]:
        """``POST`` (add) or ``DELETE`` (remove) ``entries`` on audience ``remote_id``: one session."""
        session_id = secrets.randbits(62) + 1  # Meta's session id is the caller's int64

        def post(batch: Sequence[Entry], part: ad_delivery.Part) -> list[MemberResult]:
            body = {**self.auth, **request_params(batch, session_id, part)}
            reply = json_body(self.client.request(method, self._url(f"{remote_id}/users"), json=body))
            return results(batch, reply if isinstance(reply, dict) else {})

        return ad_delivery.upload(entries, post, vendor=VENDOR, limit=self.max_batch, weight=lambda e: len(rows_of(e)))


def rows_of(entry: Entry) -> list[dict[str, str]]:
    """The entry's hashed rows as ``keys`` made them."""
    rows = entry.keys.get("rows") if isinstance(entry.keys, Mapping) else None
    return [row for row in rows if isinstance(row, Mapping)] if isinstance(rows, list) else []


def request_params(batch: Sequence[Entry], session_id: int, part: ad_delivery.Part) -> dict[str, Any]:
    """``payload`` and ``session`` of one ``/users`` request (the parameters besides the token).

    When a row of the batch is under Limited Data Use, the schema gains ``DATA_PROCESSING_OPTIONS``
    and every row says ``["LDU"]`` or ``[]`` (developers.facebook.com/docs/marketing-apis/data-processing-options).
    """
    rows = [row for entry in batch for row in rows_of(entry)]
    ldu = any(row.get(LDU_KEY) for row in rows)
    schema = [*SCHEMA, LDU_KEY] if ldu else list(SCHEMA)
    data: list[list[Any]] = [[str(row.get(key) or "") for key in SCHEMA]
                             + ([list(row.get(LDU_KEY) or [])] if ldu else []) for row in rows]
    return {"payload": {"schema": schema, "is_raw": True, "data": data},
            "session": {"session_id": session_id, "batch_seq": part.seq, "last_batch_flag": part.last,
                        "estimated_num_total": part.total}}


def results(batch: Sequence[Entry], reply: Mapping[str, Any]) -> list[MemberResult]:
    """Done for each member, except one with a row whose value Meta names among ``invalid_entry_samples``."""
    samples = reply.get("invalid_entry_samples") if ad_delivery.as_int(reply.get("num_invalid_entries")) else None
    invalid = {str(value) for value in samples} if isinstance(samples, dict | list) else set()
    out = []
    for entry in batch:
        bad = sorted(key for row in rows_of(entry) for key, value in row.items()
                     if isinstance(value, str) and value in invalid)
        reason = f"{VENDOR} counted this member's {', '.join(bad)} invalid" if bad else None
        out.append(MemberResult(entry.contact_id, "failed" if bad else "done", reason))
    return out


DESTINATION = MetaAudience
