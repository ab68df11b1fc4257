"""Connection tests: one cheap authenticated read per configured connection and destination.

``lifesync connections check`` (and, later, the ops API) calls ``check_all``: like the "test
connection" button of the tools ops teams know, each configured CRM connection (``default``
and every named ``__<NAME>`` one) and each enabled conversion destination makes one read that
proves its credentials work, and answers OK with what it saw or FAILED with the vendor's own
message. The calls go through each connector's own HTTP client (``sync.http``: the vendor's
error table and body reader, redaction), so a token is never part of a message. One failing
never stops the others.

The reads, per vendor:

- HubSpot: ``GET /account-info/2026-03/details`` (legacy ``/account-info/v3/details``), the
  portal's id, type and time zone. 2026-03 is the newest dated version of the account
  information API (https://developers.hubspot.com/docs/api-reference/latest/account/
  account-information/get-account-details), so a connection on 2026-09 reads it there too.
- Salesforce: ``GET /services/data/vXX.X/limits`` (the org's limits, any API user with "View
  Setup and Configuration"; https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/
  api_rest/resources_limits.htm), after the OAuth refresh the connector does anyway.
- respond.io: ``GET /v2/space/user`` (list the workspace's users; ``{items, pagination}``), the
  cheapest read of its Developer API (https://docs.respond.io/developer-api, Bearer token; the
  list-users call: https://learn.integray.app/connectoracademy/connectors/RespondioListUsers/3.0/).
- Ad networks: their ``Network.check`` (``sync.attribution.networks``); a network without one
  is reported as not checked.
- Ad-name lookups (``sync.attribution.adnames``), when a Marketing API token is set: Meta
  ``GET /{version}/me/adaccounts?fields=id,name&limit=1`` with ``LIFESYNC_META_MARKETING_ACCESS_TOKEN``
  (the first ad account it reads; https://developers.facebook.com/docs/graph-api/reference/user/adaccounts/);
  TikTok's ad lookups are reported as not checked.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sync.errors import LifesyncError, SyncError, TransientError
from sync.http.errors import describe_failure, failure_text

if TYPE_CHECKING:
    from sync.attribution.destination import DestinationConfig
    from sync.config import Config
    from sync.settings import Settings

OK, FAILED, SKIPPED = "ok", "failed", "skipped"
HUBSPOT_ACCOUNT_INFO = {"legacy": "/account-info/v3/details", "dated": "/account-info/2026-03/details"}


@dataclass(frozen=True)
class CheckResult:
    """One connection's answer: ``hubspot/default`` OK with what it saw, or FAILED with the vendor's message."""

    kind: str  # hubspot, salesforce, or the destination's network (meta, tiktok, google_ads)
    name: str  # the CRM connection (default, salon2) or the destination's name in conversions.yaml
    status: str  # OK, FAILED or SKIPPED
    detail: str

    @property
    def label(self) -> str:
        """``kind/name``, e.g. ``hubspot/default`` or ``meta/meta-eu``."""
        return f"{self.kind}/{self.name}"

    @property
    def failed(self) -> bool:
        """Whether the call was refused or could not be made."""
        return self.status == FAILED

    def line(self) -> str:
        """``hubspot/default  OK (portal 123456)`` or ``meta/meta  FAILED: <vendor's message>``."""
        if self.status == OK:
            return f"{self.label}  OK ({self.detail})"
        return f"{self.label}  {self.status.upper()}: {self.detail}"

    def as_dict(self) -> dict[str, str]:
        """The JSON form (``--json``)."""
        return {"connection": self.label, "kind": self.kind, "name": self.name, "status": self.status,
                "detail": self.detail}


def run_check(kind: str, name: str, probe: Callable[[], str]) -> CheckResult:
    """``probe()`` as a result: OK with its text, FAILED with the vendor's message (never raised)."""
    try:
        return CheckResult(kind, name, OK, probe())
    except Exception as exc:  # one connection's surprise must not stop the others' checks
        return CheckResult(kind, name, FAILED, describe_failure(exc))


def check_hubspot(settings: Settings, connection: str, **kwargs: Any) -> str:
    """The portal's account details with the connection's credentials: ``portal 123 (STANDARD, US/Eastern)``."""
    from sync.connectors.hubspot import HubSpotConnector
    from sync.connectors.hubspot.endpoints import LEGACY

    connector = HubSpotConnector(settings, connection, **kwargs)
    version = "legacy" if connector.api.paths.version == LEGACY else "dated"
    body = connector.api.get(HUBSPOT_ACCOUNT_INFO[version])
    extra = ", ".join(str(body[k]) for k in ("accountType", "timeZone") if body.get(k))
    return f"portal {body.get('portalId')}" + (f", {extra}" if extra else "")


def check_salesforce(settings: Settings, connection: str, **kwargs: Any) -> str:
    """The org's limits with the connection's credentials: ``API requests today: 14,900 of 15,000 left``."""
    from sync.connectors.salesforce import SalesforceConnector

    client = SalesforceConnector(settings, connection, **kwargs).client
    body = client.get_json(client.data_path("limits"))
    daily = body.get("DailyApiRequests") if isinstance(body, dict) else None
    if not isinstance(daily, dict):
        return f"limits read (API {client.api_version})"
    return f"API requests today: {daily.get('Remaining', 0):,} of {daily.get('Max', 0):,} left"


def check_respondio(settings: Settings, connection: str, **_: Any) -> str:
    """The workspace's users with the connection's API token: ``3 workspace user(s) on the first page``.

    A refusal keeps respond.io's own message (its client's ``raise_for`` names the setting on a
    401/403 but leaves the body out, which a connection test should show).
    """
    import requests

    from sync.connectors.respondio.client import RespondioClient, raise_for, vendor_message

    client = RespondioClient.from_settings(settings, connection)
    try:
        response = client.session.get(f"{client.base_url}/space/user", timeout=client.timeout)
    except (requests.ConnectionError, requests.Timeout) as exc:
        raise TransientError(f"could not reach respond.io ({type(exc).__name__})") from None
    try:
        raise_for(response, client.token_setting)
    except SyncError as exc:
        said = vendor_message(response)
        if said and said not in str(exc):
            raise type(exc)(f"{exc}: {said}", status=exc.status, vendor_message=said) from None
        raise
    body = response.json() if response.content else {}
    items = body.get("items") if isinstance(body, dict) else None
    return f"{len(items) if isinstance(items, list) else 0} workspace user(s) on the first page"


CRM_CHECKS: dict[str, Callable[..., str]] = {"hubspot": check_hubspot, "salesforce": check_salesforce}


def check_destination(dest: DestinationConfig, session: Any = None) -> CheckResult:
    """One destination through its network's ``check`` (SKIPPED when the network declares none)."""
    from sync.attribution.networks import network_for

    network = network_for(dest)
    if network.check is None:
        return CheckResult(dest.network, dest.name, SKIPPED, f"no connection test is known for {network.vendor}")
    check = network.check
    return run_check(dest.network, dest.name, lambda: check(dest, session))


def check_ad_names(settings: Settings) -> list[CheckResult]:
    """One read per ad-name reader the settings enable (``meta-ads/default``); settings that do not parse: FAILED."""
    from sync.attribution.adnames.resolve import readers

    try:
        enabled = readers(settings)
    except LifesyncError as exc:
        return [CheckResult("ad-names", "default", FAILED, failure_text(exc))]
    results = []
    for network, reader in sorted(enabled.items()):
        check = getattr(reader, "check", None)
        if check is None:
            results.append(CheckResult(f"{network}-ads", "default", SKIPPED,
                                       f"no connection test is known for {network}'s ad lookups"))
        else:
            results.append(run_check(f"{network}-ads", "default", check))
    return results


def check_all(settings: Settings, config: Config | None, **crm_kwargs: Any) -> list[CheckResult]:
    """Every configured CRM connection, respond.io workspace, then enabled destination (with ``config``), in order.

    ``crm_kwargs`` go to the connectors (``tokens=``, ``sleep=``); a connection whose settings do
    not parse is a FAILED line naming the variable, like any other refusal.
    """
    from sync.crm.run import CRM_SYSTEMS, configured_connections

    results = []
    for system in CRM_SYSTEMS:
        for connection in configured_connections(settings, system):
            check = CRM_CHECKS[system]
            results.append(run_check(system, connection, lambda c=check, n=connection: c(settings, n, **crm_kwargs)))
    from sync.connectors.respondio.settings import RespondioSettings

    for connection in RespondioSettings.configured_connections(settings):
        if RespondioSettings.is_set(settings, "api_token", connection):  # webhook keys alone: nothing to call
            results.append(run_check("respondio", connection, lambda n=connection: check_respondio(settings, n)))
    results += check_ad_names(settings)
    if config is not None:
        from sync.attribution.configure import destination_configs

        try:
            destinations = destination_configs(settings, config)
        except LifesyncError as exc:  # a destination's own settings do not parse: say so, checked or not
            return [*results, CheckResult("destinations", "*", FAILED, failure_text(exc))]
        results += [check_destination(dest) for dest in destinations.values()]
    return results


def check_connection(settings: Settings, config: Config, kind: str, name: str, **crm_kwargs: Any) -> CheckResult:
    """The check of one connection of ``sync.connectors.health`` (``hubspot/default``, ``destination/meta-eu``).

    The same calls as ``check_all``; a webhook channel (its vendor calls lifesync, lifesync calls
    nothing), an unconfigured connection or respond.io without an API token is SKIPPED, saying why.
    """
    from sync.attribution.configure import destination_configs
    from sync.connectors.health import DESTINATION, find

    conn = find(settings, config, kind, name)
    if not conn.configured:
        return CheckResult(kind, name, SKIPPED, "not configured: no credentials are set for it")
    if kind in CRM_CHECKS:
        return run_check(kind, name, lambda: CRM_CHECKS[kind](settings, name, **crm_kwargs))
    if kind == DESTINATION:  # configured: its settings parsed and it is enabled (sync.connectors.health)
        result = check_destination(destination_configs(settings, config)[name])
        return CheckResult(kind, name, result.status, result.detail)
    if kind == "respondio":
        from sync.connectors.respondio.settings import RespondioSettings

        if RespondioSettings.is_set(settings, "api_token", name):
            return run_check(kind, name, lambda: check_respondio(settings, name))
        return CheckResult(kind, name, SKIPPED, "webhook keys only: no API token to call respond.io with")
    return CheckResult(kind, name, SKIPPED, f"{kind} calls lifesync (webhooks); lifesync makes no call to test")
