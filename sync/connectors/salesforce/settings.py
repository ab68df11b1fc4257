"""``SalesforceSettings``: one Salesforce connection's settings (``LIFESYNC_SALESFORCE_*``), parsed once.

Each named connection is its own org: nothing falls back to the default connection's values.
The credentials pick the OAuth flow (see ``sync.connectors.salesforce.auth``); the numbers
bound a sync run (overlap, quota share, bulk threshold); the Outbound Message receiver needs
both its shared secret and its organisation ids (either unset: the endpoint is 404).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from sync.settings import URL, ConnectionSettings, comma_list, integer, matching, number, setting

ORG_ID = matching(r"[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?", "an organisation id of 15 or 18 letters and digits")


@dataclass(frozen=True)
class SalesforceSettings(ConnectionSettings):
    """The settings of one Salesforce connection (org)."""

    platform: ClassVar[str] = "salesforce"

    login_url: str = setting("LIFESYNC_SALESFORCE_LOGIN_URL", URL)
    # the client adds a missing "v" (61.0 → v61.0)
    api_version: str = setting("LIFESYNC_SALESFORCE_API_VERSION", matching(r"v?\d+\.\d+", "a version like v61.0"))
    client_id: str | None = setting("LIFESYNC_SALESFORCE_CLIENT_ID")
    username: str | None = setting("LIFESYNC_SALESFORCE_USERNAME")
    private_key: str | None = setting("LIFESYNC_SALESFORCE_PRIVATE_KEY")  # PEM text or a path: auth reads it
    client_secret: str | None = setting("LIFESYNC_SALESFORCE_CLIENT_SECRET")
    refresh_token: str | None = setting("LIFESYNC_SALESFORCE_REFRESH_TOKEN")
    overlap_seconds: float = setting("LIFESYNC_SALESFORCE_OVERLAP_SECONDS", number(0, 86_400))
    quota_share: float = setting("LIFESYNC_SALESFORCE_QUOTA_SHARE", number(0.01, 1.0))
    bulk_threshold: int = setting("LIFESYNC_SALESFORCE_BULK_THRESHOLD", integer(0, 10**9))
    external_id_field: str = setting("LIFESYNC_SALESFORCE_EXTERNAL_ID_FIELD",
                                     matching(r"[A-Za-z]\w*", "a field's API name, e.g. Lifesync_Id__c"))
    outbound_secret: str | None = setting("LIFESYNC_SALESFORCE_OUTBOUND_SECRET")
    org_ids: tuple[str, ...] = setting("LIFESYNC_SALESFORCE_ORG_IDS", comma_list(ORG_ID))
