"""Environment → validated, immutable Settings (12-factor).

Every setting is listed in ``SETTINGS`` with its default and meaning; the README's table is
generated from the same list (``lifesync settings``), so the two never drift apart.

A connector declares its per-connection settings once, as a frozen ``ConnectionSettings``
dataclass whose fields name their variable in ``SETTINGS`` (which gives the default) and
their ``Kind`` (integer range, number range, boolean, choice, URL, pattern, comma list)::

    @dataclass(frozen=True)
    class HubSpotSettings(ConnectionSettings):
        platform: ClassVar[str] = "hubspot"
        rate_per_10s: int = setting("LIFESYNC_HUBSPOT_RATE_PER_10S", integer(1), fallback=True)

    HubSpotSettings.of(settings, "salon2").rate_per_10s

``of`` reads ``…__SALON2`` (with ``fallback``, the default connection's value when that is
unset), parses and validates every field once per ``Settings`` and connection, and raises
``SettingsError`` naming the exact variable that is wrong, e.g.
``LIFESYNC_HUBSPOT_RATE_PER_10S__SALON2 must be an integer, got 'abc'``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from functools import cache, cached_property
from pathlib import Path
from typing import Any, ClassVar, Self, TypeVar
from urllib.parse import urlsplit

from sync.errors import SettingsError

SETTINGS: tuple[tuple[str, str, str], ...] = (
    ("DATABASE_URL", "sqlite:///lifesync.db",
     "SQLAlchemy URL of the database; the default is a SQLite file in the working directory (WAL mode with "
     "synchronous=NORMAL, as Rails and Litestream run SQLite: a commit, and so an acknowledged webhook, survives a "
     "crash of lifesync but not a power cut; PostgreSQL survives both; web workers queue their webhook inserts on "
     "a lock file beside it, <file>-lifesync-lock). "
     "PostgreSQL: postgresql+psycopg://user@host/db (postgresql:// is accepted too)."),
    ("LIFESYNC_CONFIG_DIR", "(unset)",
     "Project config directory; its lifecycle.yaml and mappings/*.yaml override the bundled defaults."),
    ("LIFESYNC_BATCH_SIZE", "500", "Records per ingest transaction (1-10000)."),
    ("LIFESYNC_LOG_LEVEL", "INFO", "Log level: DEBUG, INFO, WARNING or ERROR."),
    ("REDIS_URL", "(unset)",
     "Redis for the rq job queues. Unset: `lifesync serve` runs web, worker and scheduler in one process "
     "against an embedded Redis-compatible store."),
    ("LIFESYNC_WEBHOOK_MAX_BYTES", "1048576", "Largest webhook body accepted; larger ones get 413."),
    ("LIFESYNC_WEBHOOK_TOLERANCE_SECONDS", "300",
     "Replay window for timestamped webhook signatures (older or further in the future: 401). HubSpot v3 "
     "keeps at most its documented 5 minutes."),
    ("LIFESYNC_WHATSAPP_APP_SECRET", "(unset)",
     "Meta app secret verifying `X-Hub-Signature-256` of WhatsApp webhooks. Unset: the endpoint answers 404."),
    ("LIFESYNC_WHATSAPP_VERIFY_TOKEN", "(unset)", "Token Meta echoes in the WhatsApp GET verification handshake."),
    ("LIFESYNC_WHATSAPP_PHONE_NUMBER_IDS", "(unset)",
     "Comma-separated phone_number_ids this connection owns (routing when several connections exist)."),
    ("LIFESYNC_GENERIC_SECRET", "(unset)",
     "HMAC-SHA256 key of the generic signed webhook `/webhooks/generic/<name>` (header `X-Lifesync-Signature`)."),
    ("LIFESYNC_GENERIC_MAPPING", "(unset)",
     "`source/object` of the mapping that turns generic webhook payloads into patches, e.g. `shop/order`."),
    ("LIFESYNC_MESSENGER_APP_SECRET", "(unset)",
     "Meta app secret verifying `X-Hub-Signature-256` of Messenger webhooks. Unset: the endpoint answers 404."),
    ("LIFESYNC_MESSENGER_VERIFY_TOKEN", "(unset)", "Token Meta echoes in the Messenger GET verification handshake."),
    ("LIFESYNC_MESSENGER_PAGE_IDS", "(unset)",
     "Comma-separated Facebook Page ids this connection owns (routing when several connections exist)."),
    ("LIFESYNC_INSTAGRAM_APP_SECRET", "(unset)",
     "Meta app secret verifying `X-Hub-Signature-256` of Instagram webhooks. Unset: the endpoint answers 404."),
    ("LIFESYNC_INSTAGRAM_VERIFY_TOKEN", "(unset)", "Token Meta echoes in the Instagram GET verification handshake."),
    ("LIFESYNC_INSTAGRAM_PAGE_IDS", "(unset)",
     "Comma-separated Instagram professional account ids this connection owns (routing, as for Messenger)."),
    ("LIFESYNC_TIKTOK_APP_SECRET", "(unset)",
     "TikTok app secret verifying `Tiktok-Signature` of Business Messaging webhooks. Unset: the endpoint answers 404."),
    ("LIFESYNC_HUBSPOT_CLIENT_SECRET", "(unset)",
     "HubSpot app client secret verifying webhook signatures (v3, or v1/v2). Unset: the endpoint answers 404."),
    ("LIFESYNC_HUBSPOT_PUBLIC_URL", "(unset)",
     "Base URL HubSpot calls (scheme, host, any prefix a proxy strips), used to rebuild the signed URL behind "
     "a proxy. Unset: the request's own scheme and host. A named connection falls back to the default's."),
    ("LIFESYNC_HUBSPOT_SIGNATURE_VERSIONS", "v1,v2,v3",
     "HubSpot signature versions accepted; `v3` alone refuses v1/v2, which carry no timestamp and can be "
     "replayed. A named connection falls back to the default's."),
    ("LIFESYNC_SALESFORCE_OUTBOUND_SECRET", "(unset)",
     "Shared secret of Salesforce Outbound Messages, as the basic-auth password or the last path segment of "
     "`/webhooks/salesforce/<connection>/<secret>`. Unset: the endpoint answers 404."),
    ("LIFESYNC_SALESFORCE_ORG_IDS", "(unset)",
     "Comma-separated Salesforce organisation ids (15 or 18 characters) allowed to send Outbound Messages. "
     "Unset: the endpoint answers 404."),
    ("LIFESYNC_TWILIO_AUTH_TOKEN", "(unset)",
     "Twilio auth token verifying `X-Twilio-Signature` of `/webhooks/twilio` (SMS and WhatsApp via Twilio). "
     "Unset: the endpoint answers 404."),
    ("LIFESYNC_TWILIO_ACCOUNT_SID", "(unset)",
     "Twilio account SID (AC...) of this connection: deliveries to `/webhooks/twilio` with this `AccountSid` "
     "are verified with this connection's token and stored under it."),
    ("LIFESYNC_TWILIO_NUMBERS", "(unset)",
     "Comma-separated numbers (E.164, `whatsapp:` optional) this connection owns: routes deliveries to "
     "`/webhooks/twilio` by their `To`, together with the account SID."),
    ("LIFESYNC_TWILIO_SIGNATURE_ALGORITHM", "sha1",
     "HMAC of `X-Twilio-Signature`: `sha1` (Twilio's default) or `sha256`. A named connection falls back to "
     "the default's."),
    ("LIFESYNC_TWILIO_PUBLIC_URL", "(unset)",
     "Base URL Twilio calls (scheme, host, any prefix a proxy strips), e.g. `https://hooks.example.com`, used to "
     "rebuild the signed URL behind a proxy. Unset: the request's own URL. A named connection falls back to "
     "the default's."),
    ("LIFESYNC_RESPONDIO_WEBHOOK_KEY", "(unset)",
     "Signing key(s) of respond.io webhooks verifying `X-Webhook-Signature`; comma-separated, since respond.io "
     "gives each webhook (event type) its own key. Unset: the endpoint answers 404."),
    ("LIFESYNC_RESPONDIO_API_URL", "https://api.respond.io/v2", "Base URL of the respond.io API for write-back."),
    ("LIFESYNC_RESPONDIO_API_TOKEN", "(unset)", "respond.io API access token (Bearer) for write-back."),
    ("LIFESYNC_HUBSPOT_BASE_URL", "https://api.hubapi.com",
     "Base URL of the HubSpot API (point it at `lifesync sandbox`, a proxy or a regional host)."),
    ("LIFESYNC_HUBSPOT_API_VERSION", "2026-09",
     "HubSpot API version: `2026-09` (date-based paths such as `/crm/objects/2026-09/contacts`; the portal's "
     "validation rules apply to every write, refusals are dead-lettered per record), `2026-03`, or `legacy` "
     "(`/crm/v3` objects and `/crm/v4` associations: `/crm/v4` ends 2027-03-30, every legacy path 2027-09). "
     "A named connection falls back to the default's."),
    ("LIFESYNC_HUBSPOT_COMMUNICATION_PREFERENCES_VERSION", "2026-09",
     "Version of HubSpot's Communication Preferences API, which carries a withdrawal of marketing e-mail "
     "consent back to HubSpot (`POST /communication-preferences/{v}/statuses/{email}/unsubscribe-all`; "
     "`hs_email_optout` cannot be written): `2026-09` or `2026-03` (supported until about 2027-09). Needs the "
     "scope `communication_preferences.statuses.write`. A named connection falls back to the default's."),
    ("LIFESYNC_HUBSPOT_TOKEN", "(unset)",
     "HubSpot access token (Bearer): a Service Key (Development > Keys > Service keys; what HubSpot offers "
     "instead of new legacy private apps since 2026-10) or a legacy private app's token. Enables "
     "`lifesync sync hubspot` and write-back to HubSpot."),
    ("LIFESYNC_HUBSPOT_OAUTH_CLIENT_ID", "(unset)",
     "HubSpot OAuth app client id; with `LIFESYNC_HUBSPOT_CLIENT_SECRET` and `LIFESYNC_HUBSPOT_REFRESH_TOKEN` "
     "instead of a private-app token (access tokens are refreshed before they expire; rotated tokens are kept "
     "encrypted in the database)."),
    ("LIFESYNC_HUBSPOT_REFRESH_TOKEN", "(unset)", "HubSpot OAuth refresh token (see the client id)."),
    ("LIFESYNC_HUBSPOT_RATE_PER_10S", "100",
     "Requests per ten seconds this connection may make (shared by all workers through Redis); learned "
     "downwards from HubSpot's rate-limit headers."),
    ("LIFESYNC_HUBSPOT_LOOKBACK_SECONDS", "300",
     "Incremental HubSpot syncs re-read this many seconds before the bookmark (the search index lags writes)."),
    ("LIFESYNC_SALESFORCE_LOGIN_URL", "https://login.salesforce.com",
     "Salesforce OAuth host (`https://test.salesforce.com` for sandboxes); API calls use the `instance_url` "
     "it returns."),
    ("LIFESYNC_SALESFORCE_API_VERSION", "v61.0", "Salesforce REST API version."),
    ("LIFESYNC_SALESFORCE_CLIENT_ID", "(unset)",
     "Salesforce connected-app consumer key. Enables `lifesync sync salesforce` and write-back."),
    ("LIFESYNC_SALESFORCE_USERNAME", "(unset)", "Salesforce user for the JWT bearer flow."),
    ("LIFESYNC_SALESFORCE_PRIVATE_KEY", "(unset)",
     "PEM private key (or a path to it) signing the JWT bearer assertion (RS256)."),
    ("LIFESYNC_SALESFORCE_CLIENT_SECRET", "(unset)", "Connected-app secret for the refresh-token flow."),
    ("LIFESYNC_SALESFORCE_REFRESH_TOKEN", "(unset)",
     "Refresh token for the refresh-token flow (used when no private key is set; rotated tokens are kept "
     "encrypted in the database)."),
    ("LIFESYNC_SALESFORCE_OVERLAP_SECONDS", "300",
     "Incremental Salesforce queries re-read this many seconds before the bookmark (rows committed late)."),
    ("LIFESYNC_SALESFORCE_QUOTA_SHARE", "0.25",
     "Share of the org's daily API quota one sync run may use; the run stops cleanly there and resumes later."),
    ("LIFESYNC_SALESFORCE_BULK_THRESHOLD", "50000",
     "A full Salesforce sync of more records than this uses a Bulk API 2.0 query instead of REST pages."),
    ("LIFESYNC_SALESFORCE_EXTERNAL_ID_FIELD", "Lifesync_Id__c",
     "External-id field that write-back upserts by (holds lifesync's contact id)."),
    ("LIFESYNC_META_ACCESS_TOKEN", "(unset)",
     "Meta Conversions API access token; with `LIFESYNC_META_DATASET_ID` it enables the `meta` destination of "
     "conversions.yaml. A destination named otherwise reads `..._ACCESS_TOKEN__<NAME>`."),
    ("LIFESYNC_META_DATASET_ID", "(unset)", "Meta dataset (pixel) id conversions are sent to."),
    ("LIFESYNC_META_APP_SECRET", "(unset)", "Meta app secret: when set, requests carry `appsecret_proof`."),
    ("LIFESYNC_META_BASE_URL", "https://graph.facebook.com", "Meta Graph API base URL."),
    ("LIFESYNC_META_API_VERSION", "v26.0",
     "Meta Graph API version of Conversions API calls; it ends on the Marketing API's schedule, and "
     "`lifesync config check` warns 90 days before that."),
    ("LIFESYNC_META_TEST_EVENT_CODE", "(unset)", "Meta test mode: events go to Events Manager's test tab."),
    ("LIFESYNC_META_WABA_ID", "(unset)",
     "WhatsApp Business Account id for business-messaging events when the click-to-WhatsApp referral lacks it."),
    ("LIFESYNC_META_PAGE_ID", "(unset)", "Facebook Page id for Messenger business-messaging events."),
    ("LIFESYNC_META_IG_ACCOUNT_ID", "(unset)", "Instagram account id for Instagram business-messaging events."),
    ("LIFESYNC_META_MARKETING_ACCESS_TOKEN", "(unset)",
     "Marketing API access token with `ads_read` on the ad accounts whose ads bring contacts (a system user's "
     "token). When set, the ad ids of Meta referrals are resolved to ad, ad set and campaign names for the "
     "attribution reports (cached, `LIFESYNC_AD_NAMES_REFRESH_DAYS`). The Conversions API token from Events "
     "Manager is not used for this: it is granted to the dataset, not to the ad account. Calls go to "
     "`LIFESYNC_META_BASE_URL` at `LIFESYNC_META_API_VERSION`."),
    ("LIFESYNC_META_AD_ACCOUNT_ID", "(unset)",
     "Meta ad account (`act_<id>` or the digits) that `meta_audience` destinations create their custom audiences "
     "in, with `LIFESYNC_META_MARKETING_ACCESS_TOKEN` (a system user's token with `ads_management`; the account "
     "must have accepted the Custom Audience terms). A segment's `connection: <name>` reads `...__<NAME>`; a "
     "destination with an `audience_id` option needs no ad account."),
    ("LIFESYNC_AD_NAMES_REFRESH_DAYS", "7",
     "Days an ad's resolved names (or a network's refusal to name it) are kept before the ad is looked up again "
     "(1-365)."),
    ("LIFESYNC_TIKTOK_EVENTS_ACCESS_TOKEN", "(unset)",
     "TikTok Events API access token; with `LIFESYNC_TIKTOK_EVENTS_SOURCE_ID` it enables the `tiktok` destination."),
    ("LIFESYNC_TIKTOK_EVENTS_SOURCE_ID", "(unset)", "TikTok event source id (CRM event set, pixel code or app id)."),
    ("LIFESYNC_TIKTOK_EVENTS_EVENT_SOURCE", "crm", "TikTok event_source: crm, web, app or offline."),
    ("LIFESYNC_TIKTOK_EVENTS_BASE_URL", "https://business-api.tiktok.com", "TikTok Business API base URL."),
    ("LIFESYNC_TIKTOK_EVENTS_API_VERSION", "v1.3", "TikTok Business API version."),
    ("LIFESYNC_TIKTOK_EVENTS_TEST_EVENT_CODE", "(unset)", "TikTok test mode code."),
    ("LIFESYNC_TIKTOK_MARKETING_ACCESS_TOKEN", "(unset)",
     "TikTok Marketing API access token (`Access-Token` header) able to read the advertiser's ads; with "
     "`LIFESYNC_TIKTOK_MARKETING_ADVERTISER_ID` the ad ids of TikTok touchpoints are resolved to ad, ad group "
     "and campaign names (`GET /open_api/v1.3/ad/get/` on `LIFESYNC_TIKTOK_EVENTS_BASE_URL`)."),
    ("LIFESYNC_TIKTOK_MARKETING_ADVERTISER_ID", "(unset)", "TikTok advertiser id whose ads are looked up."),
    ("LIFESYNC_GOOGLE_ADS_TRANSPORT", "data_manager",
     "How conversions reach Google: `data_manager` (Data Manager API `events:ingest`, no developer token) or "
     "`ads_api` (Google Ads API `uploadClickConversions`; its versions are sunset about a year after release)."),
    ("LIFESYNC_GOOGLE_ADS_ACCESS_TOKEN", "(unset)",
     "Google OAuth access token (Bearer); for `data_manager` with the scope "
     "`https://www.googleapis.com/auth/datamanager`. With the customer id it enables the `google` destination."),
    ("LIFESYNC_GOOGLE_ADS_CUSTOMER_ID", "(unset)",
     "Google Ads customer id conversions are sent to (the operating account; dashes allowed)."),
    ("LIFESYNC_GOOGLE_ADS_DEVELOPER_TOKEN", "(unset)",
     "Google Ads developer token; required by the `ads_api` transport only."),
    ("LIFESYNC_GOOGLE_ADS_LOGIN_CUSTOMER_ID", "(unset)",
     "Manager account id: the Data Manager `loginAccount`, or the Ads API `login-customer-id` header."),
    ("LIFESYNC_GOOGLE_ADS_CONVERSION_ACTIONS", "(unset)",
     "Conversion action id per kind, e.g. `purchase=111,qualified_lead=222`; kinds without one are not sent."),
    ("LIFESYNC_GOOGLE_ADS_VALIDATE_ONLY", "false", "`true`: Google validates requests without recording them."),
    ("LIFESYNC_GOOGLE_ADS_BASE_URL", "(per transport)",
     "API base URL: `https://datamanager.googleapis.com` (`data_manager`) or `https://googleads.googleapis.com` "
     "(`ads_api`)."),
    ("LIFESYNC_GOOGLE_ADS_API_VERSION", "v26",
     "Google Ads API version (`ads_api` only; Data Manager is `v1`). `lifesync config check` warns 90 days before "
     "its sunset."),
    ("LIFESYNC_AUDIENCE_CSV_DIR", "audiences",
     "Directory of the `csv` audience destinations' files (a segment's `csv` destination writes "
     "`<name>.csv` there unless its `path` option says otherwise; relative to the working directory)."),
    ("LIFESYNC_SECRET_KEY", "(unset)",
     "Fernet key encrypting rotated OAuth tokens in the database; required with PostgreSQL (every process must "
     "share it). Unset on the SQLite default: a key file `lifesync.key` (mode 0600) is created in the working "
     "directory."),
    ("LIFESYNC_OPS_TOKEN", "(unset)",
     "Bootstrap admin token of the ops API (`/api`, as `Authorization: Bearer`; then create real tokens with "
     "`lifesync tokens create`), and token for the ops surfaces: a Bearer header, or the basic-auth password a "
     "browser sends (its state "
     "changes are accepted only from this server's own Origin; no action by GET): rq-dashboard at `/rq` is "
     "mounted when this, `REDIS_URL` and the `dashboard` extra (`pip install -e '.[dashboard]'`) are all there."),
    ("LIFESYNC_ALERT_WEBHOOK_URL", "(unset)",
     "Notification webhook of the alert rules (`config/alerts.yaml`): each incident is posted once when it opens "
     "and once when it resolves, as Slack-compatible JSON `{\"text\": ...}` (a Slack or Mattermost incoming "
     "webhook). A credential: redacted from logs. Unset: incidents are kept, not posted (`lifesync alerts list`)."),
    ("PROMETHEUS_MULTIPROC_DIR", "(unset)",
     "prometheus-client's multiprocess mode: an empty directory shared by every lifesync process of one machine "
     "(gunicorn web workers, rq workers), wiped before they start. Set: `/metrics` sums the process counters "
     "(webhooks accepted/rejected, API calls, rate-limit waits, records pulled) of every process of the machine; "
     "unset: only those of the web process that answers. Figures from the database are complete either way. "
     "`/metrics` itself needs an API token (Bearer)."),
    ("LIFESYNC_RETAIN_RAW_EVENTS_DAYS", "30",
     "Days a processed webhook's raw body is kept in the inbox; the nightly `purge-personal-data` job (and "
     "`lifesync privacy purge`) then empties it, keeping the row (source, key, times, status) for counts and "
     "de-duplication. Events not yet processed, or dead, are never touched. 0 keeps bodies for ever (0-36500)."),
    ("LIFESYNC_RETAIN_DEAD_LETTERS_DAYS", "90",
     "Days a closed (replayed or dismissed) dead letter keeps its record payload, counted from the letter's "
     "creation; then the payload is replaced by a redaction marker, the reason, stage, source and times kept. "
     "Open letters are kept whole: they still need triage. 0 keeps payloads for ever (0-36500)."),
    ("LIFESYNC_RETAIN_DELIVERY_RESPONSES_DAYS", "90",
     "Days a finished (sent or dead) delivery keeps what the destination answered (which may echo personal "
     "data) and its last error; then both are redacted, keeping status, attempts, times and the keys the "
     "delivery report counts. 0 keeps them for ever (0-36500)."),
    ("<NAME>__<CONNECTION>", "(unset)",
     "Any connection setting above for a named connection, e.g. `LIFESYNC_WHATSAPP_APP_SECRET__SALON2`, "
     "served at `/webhooks/whatsapp/salon2`; for generic webhooks the connection is the endpoint name."),
)
UNSET = "(unset)"  # the default of a setting that has none
# Settings whose value is a credential: their values (every connection's) are blanked in every log line
# (``sync.http.redact``). A variable counts when its name says token, secret, key or password.
# A webhook URL that is its own credential (Slack's) counts too.
SECRET_VARIABLES = frozenset(name for name, _, _ in SETTINGS
                             if re.search(r"(?:TOKEN|SECRET|KEY|PASSWORD)(?:_|$)", name.rsplit("LIFESYNC_", 1)[-1])
                             ) | {"LIFESYNC_ALERT_WEBHOOK_URL"}
_DEFAULTS = {name: default for name, default, _ in SETTINGS}


@dataclass(frozen=True)
class Settings:
    """Validated settings of one lifesync process."""

    database_url: str
    config_dir: Path | None
    batch_size: int
    log_level: str
    redis_url: str | None = None
    webhook_max_bytes: int = 1_048_576
    webhook_tolerance: int = 300
    # every LIFESYNC_* variable, for per-connection secrets; never printed (repr=False)
    connection_env: tuple[tuple[str, str], ...] = field(default=(), repr=False)

    def connection_setting(self, platform: str, name: str, connection: str = "default") -> str | None:
        """``LIFESYNC_<PLATFORM>_<NAME>`` for the default connection, ``…__<CONNECTION>`` for others (raw text).

        Connectors read their typed ``ConnectionSettings`` instead; this stays for settings
        without one (the ad-network destinations, presence checks).
        """
        key = f"LIFESYNC_{platform.upper()}_{name.upper()}"
        if connection != "default":
            key += f"__{connection.upper()}"
        return self._value(key)

    def connections(self, platform: str, name: str) -> list[str]:
        """Connections that define ``LIFESYNC_<PLATFORM>_<NAME>`` (``default`` first)."""
        return self._connections_of(f"LIFESYNC_{platform.upper()}_{name.upper()}")

    def block(self, kind: type[Block], connection: str = "default") -> Block:
        """``kind``'s settings of ``connection``: parsed and validated on first use, then cached."""
        key = (kind, connection)
        found = self._blocks.get(key)
        if found is None:
            found = self._blocks[key] = _parse_block(kind, self, connection)
        return found

    def secret_values(self) -> tuple[str, ...]:
        """Every configured credential: ``SECRET_VARIABLES`` of every connection, URL passwords (for redaction)."""
        found = [v for k, v in self.connection_env if v and k.partition("__")[0] in SECRET_VARIABLES]
        for url in (self.database_url, self.redis_url):
            try:
                password = urlsplit(url).password if url else None
            except ValueError:
                password = None
            if password:
                found.append(password)
        return tuple(dict.fromkeys(found))

    def _value(self, variable: str) -> str | None:
        """The variable's text, or None when it is unset or empty."""
        return self._connection_map.get(variable) or None

    def _connections_of(self, variable: str) -> list[str]:
        out = ["default"] if self._value(variable) else []
        prefix = variable + "__"
        out += sorted(k.split("__", 1)[1].lower() for k, v in self.connection_env if k.startswith(prefix) and v)
        return out

    @cached_property
    def _connection_map(self) -> dict[str, str]:
        """``connection_env`` as a dict, built once (a webhook request reads several secrets)."""
        return dict(self.connection_env)

    @cached_property
    def _blocks(self) -> dict[tuple[type, str], Any]:
        """Parsed ``ConnectionSettings`` by (class, connection): each is validated once per Settings."""
        return {}

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read and validate settings from the environment (or a given mapping)."""
        env = os.environ if env is None else env
        url = env.get("DATABASE_URL") or "sqlite:///lifesync.db"
        if url.startswith("postgresql://") or url.startswith("postgres://"):
            url = "postgresql+psycopg://" + url.split("://", 1)[1]
        if not (url.startswith("sqlite") or url.startswith("postgresql")):
            raise SettingsError(
                "DATABASE_URL must be a sqlite:/// or postgresql:// URL (got a URL with scheme "
                f"{url.split(':', 1)[0]!r})", variable="DATABASE_URL",
            )
        batch = _env_setting(env, "LIFESYNC_BATCH_SIZE", integer(1, 10000))
        level = _env_setting(env, "LIFESYNC_LOG_LEVEL", choice("DEBUG", "INFO", "WARNING", "ERROR"))
        max_bytes = _env_setting(env, "LIFESYNC_WEBHOOK_MAX_BYTES", integer(1024, 64 * 1_048_576))
        tolerance = _env_setting(env, "LIFESYNC_WEBHOOK_TOLERANCE_SECONDS", integer(1, 86_400))
        cfg = env.get("LIFESYNC_CONFIG_DIR")
        config_dir = Path(cfg) if cfg else None
        if config_dir is not None and not config_dir.is_dir():
            raise SettingsError(f"LIFESYNC_CONFIG_DIR {cfg!r} is not a directory", variable="LIFESYNC_CONFIG_DIR")
        return cls(
            database_url=url,
            config_dir=config_dir,
            batch_size=batch,
            log_level=level,
            redis_url=env.get("REDIS_URL") or None,
            webhook_max_bytes=max_bytes,
            webhook_tolerance=tolerance,
            connection_env=tuple(sorted((_connection_key(k), v) for k, v in env.items() if k.startswith("LIFESYNC_"))),
        )


def _env_setting(env: Mapping[str, str], variable: str, kind: Kind) -> Any:
    """A process-wide setting: its text (else the table's default) parsed by ``kind``."""
    raw = env.get(variable) or _DEFAULTS[variable]
    try:
        return kind.parse(raw)
    except ValueError as exc:
        raise SettingsError(f"{variable} {exc}", variable=variable) from None


def settings_table() -> str:
    """The settings as a Markdown table (for the README)."""
    rows = ["| variable | default | meaning |", "| --- | --- | --- |"]
    rows += [f"| `{name}` | `{default}` | {meaning} |" for name, default, meaning in SETTINGS]
    return "\n".join(rows)


def _connection_key(key: str) -> str:
    """A setting's name with its connection suffix in capitals: ``…__Shop`` is connection ``shop``, as ``…__SHOP``."""
    base, sep, connection = key.partition("__")
    return base + sep + connection.upper()


# --- typed settings: kinds of value ---------------------------------------------------------------


@dataclass(frozen=True)
class Kind:
    """How a setting's text becomes a typed value.

    ``parse`` gets the raw text and returns the value, or raises ``ValueError("must be …, got …")``
    (the caller puts the variable's name in front); ``unset`` is the value when the variable is
    unset and the table gives no default.
    """

    parse: Callable[[str], Any]
    unset: Any = None


TEXT = Kind(str)


def integer(low: int, high: int | None = None) -> Kind:
    """A whole number within [low, high] (no upper bound when ``high`` is None)."""
    return Kind(lambda raw: _in_range(int, "an integer", low, high, raw))


def number(low: float, high: float | None = None) -> Kind:
    """A decimal number within [low, high] (no upper bound when ``high`` is None)."""
    return Kind(lambda raw: _in_range(float, "a number", low, high, raw))


def _in_range(convert: Callable[[str], Any], what: str, low: float, high: float | None, raw: str) -> Any:
    try:
        value = convert(raw)
    except ValueError:
        raise ValueError(f"must be {what}, got {raw!r}") from None
    if not (low <= value and (high is None or value <= high)):  # written so that NaN fails too
        bounds = f"between {_show(low)} and {_show(high)}" if high is not None else f"at least {_show(low)}"
        raise ValueError(f"must be {bounds}, got {raw.strip()}")
    return value


def _show(bound: float) -> str:
    return str(int(bound)) if float(bound).is_integer() else str(bound)


def _boolean(raw: str) -> bool:
    word = raw.strip().lower()
    if word in ("true", "yes", "on", "1"):
        return True
    if word in ("false", "no", "off", "0"):
        return False
    raise ValueError(f"must be true or false, got {raw!r}")


BOOLEAN = Kind(_boolean)


def choice(*options: str) -> Kind:
    """One of ``options``, in any case; the value is the option as written here."""
    by_key = {option.lower(): option for option in options}

    def parse(raw: str) -> str:
        found = by_key.get(raw.strip().lower())
        if found is None:
            raise ValueError(f"must be {_either(options)}, got {raw!r}")
        return found

    return Kind(parse)


def _either(options: tuple[str, ...]) -> str:
    return options[0] if len(options) == 1 else ", ".join(options[:-1]) + f" or {options[-1]}"


def _url(raw: str) -> str:
    value = raw.strip()
    try:
        parts = urlsplit(value)
        ok = parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:  # e.g. an unclosed [IPv6 bracket
        ok = False
    if not ok:
        raise ValueError(f"must be an http:// or https:// URL with a host, got {raw!r}")
    return value


URL = Kind(_url)


def matching(pattern: str, what: str) -> Kind:
    """Text matching ``pattern`` in full (surrounding spaces dropped); ``what`` describes it in errors."""
    compiled = re.compile(pattern)

    def parse(raw: str) -> str:
        value = raw.strip()
        if not compiled.fullmatch(value):
            raise ValueError(f"must be {what}, got {raw!r}")
        return value

    return Kind(parse)


def comma_list(item: Kind = TEXT, *, required: bool = False) -> Kind:
    """Comma-separated values, each trimmed and parsed by ``item``; a tuple, empty when unset.

    ``required``: a value that lists nothing (only commas and spaces) is an error.
    """
    def parse(raw: str) -> tuple[Any, ...]:
        values = []
        for part in (p.strip() for p in raw.split(",")):
            if part:
                try:
                    values.append(item.parse(part))
                except ValueError as exc:
                    raise ValueError(f"items {exc}") from None
        if required and not values:
            raise ValueError(f"must list at least one value, got {raw!r}")
        return tuple(values)

    return Kind(parse, unset=())


# --- typed settings: one frozen block per connector ----------------------------------------------

_VARIABLE = "lifesync.variable"  # key of a field's _Variable in its dataclass metadata


@dataclass(frozen=True)
class _Variable:
    """Where a ``ConnectionSettings`` field comes from."""

    name: str  # the default connection's variable, e.g. LIFESYNC_HUBSPOT_RATE_PER_10S
    kind: Kind
    fallback: bool  # a named connection without its own value takes the default connection's

    def read(self, settings: Settings, connection: str) -> tuple[str, str | None]:
        """(the variable the value comes from, its text or None when unset)."""
        own = self.name if connection == "default" else f"{self.name}__{connection.upper()}"
        raw = settings._value(own)
        if raw is None and self.fallback and connection != "default":
            return self.name, settings._value(self.name)
        return own, raw


def setting(variable: str, kind: Kind = TEXT, *, fallback: bool = False) -> Any:
    """A ``ConnectionSettings`` field read from ``variable``, whose default is the ``SETTINGS`` table's.

    ``fallback``: a named connection that leaves ``variable__<CONNECTION>`` unset takes the
    default connection's value (one app or proxy shared by several accounts). Fields are left
    out of ``repr``: many are secrets.
    """
    if variable not in _DEFAULTS:
        raise LookupError(f"{variable} is not in sync.settings.SETTINGS (the README table is made from it: add it)")
    text = _DEFAULTS[variable]
    default = kind.unset if text == UNSET else kind.parse(text)
    return field(default=default, repr=False, metadata={_VARIABLE: _Variable(variable, kind, fallback)})


@dataclass(frozen=True)
class ConnectionSettings:
    """One connection's settings of one connector (subclass it, declare fields with ``setting``)."""

    platform: ClassVar[str] = ""  # for messages: "no <platform> connection 'x' is configured"
    connection: str = "default"

    @classmethod
    def of(cls, settings: Settings, connection: str = "default") -> Self:
        """The settings of ``connection``, parsed and validated once per Settings (SettingsError names the variable)."""
        return settings.block(cls, connection)

    @classmethod
    def variable(cls, name: str, connection: str = "default") -> str:
        """The environment variable of field ``name`` for ``connection`` (``…__<CONNECTION>`` unless default)."""
        base = _variables(cls)[name].name
        return base if connection == "default" else f"{base}__{connection.upper()}"

    @classmethod
    def connections(cls, settings: Settings, name: str) -> list[str]:
        """Connections that set field ``name`` themselves (``default`` first)."""
        return settings._connections_of(_variables(cls)[name].name)

    @classmethod
    def configured_connections(cls, settings: Settings) -> list[str]:
        """Connections that set any of this block's variables themselves (``default`` first)."""
        found = {c for name in _variables(cls) for c in settings._connections_of(_variables(cls)[name].name)}
        return sorted(found, key=lambda c: (c != "default", c))

    @classmethod
    def is_set(cls, settings: Settings, name: str, connection: str = "default") -> bool:
        """Whether field ``name`` has a value for ``connection`` (with its fallback), without parsing anything."""
        return _variables(cls)[name].read(settings, connection)[1] is not None


Block = TypeVar("Block", bound=ConnectionSettings)


@cache
def _variables(cls: type[ConnectionSettings]) -> dict[str, _Variable]:
    return {f.name: f.metadata[_VARIABLE] for f in fields(cls) if _VARIABLE in f.metadata}


def _parse_block(cls: type[Block], settings: Settings, connection: str) -> Block:
    values = {}
    for name, spec in _variables(cls).items():
        variable, raw = spec.read(settings, connection)
        if raw is not None:
            try:
                values[name] = spec.kind.parse(raw)
            except ValueError as exc:
                raise SettingsError(f"{variable} {exc}", variable=variable) from None
    return cls(connection=connection, **values)
