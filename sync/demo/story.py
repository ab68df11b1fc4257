"""The demo's world: every sandbox on one loopback server, and the traffic lifesync receives.

``demo_world`` seeds the HubSpot and Salesforce sandboxes with the business's CRM records,
starts them with the Meta, TikTok and Google Ads sandboxes, and builds the settings that
point lifesync at all of them (with demo webhook secrets). ``receive_webhooks`` posts the
business's click-to-WhatsApp and click-to-Messenger conversations and its shop orders,
signed, to lifesync's own web app — verification, inbox and all — then processes the inbox
the way the drain job does. ``dispatch_everything`` sends the conversions that queued up to
the three ad-network sandboxes.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography.fernet import Fernet

from sync.attribution.configure import destination_configs
from sync.attribution.dispatch import dispatch_all
from sync.attribution.network import Network
from sync.attribution.networks import network_for, sender_for
from sync.connectors.generic import sign
from sync.demo import second_brand
from sync.demo.crm_load import load_hubspot, load_salesforce
from sync.demo.messaging import (
    MESSENGER_AD_NAMES,
    MESSENGER_DELETED_ADS,
    agent_replies,
    messenger_deliveries,
    shop_orders,
    shop_refunds,
    this_weeks_whatsapp_leads,
    whatsapp_opt_outs,
)
from sync.demo.people import ad_catalogue
from sync.http.redact import secrets_redacted
from sync.ingest.inbox import process_events
from sync.ingest.pipeline import IngestResult
from sync.outbox.effects import Effects
from sync.sandbox.ads.google_ads import GoogleAdsSandbox
from sync.sandbox.ads.meta import MetaSandbox
from sync.sandbox.ads.tiktok import TikTokSandbox
from sync.sandbox.hubspot.sandbox import HubSpotSandbox
from sync.sandbox.salesforce.sandbox import SalesforceSandbox
from sync.sandbox.server import SandboxServer
from sync.settings import Settings

if TYPE_CHECKING:
    from sync.config import Config
    from sync.store.engine import Store

SECRETS = {"LIFESYNC_WHATSAPP_APP_SECRET": "demo-whatsapp-app-secret",
           "LIFESYNC_MESSENGER_APP_SECRET": "demo-messenger-app-secret",
           "LIFESYNC_GENERIC_SECRET__SHOP": "demo-shop-secret"}


@dataclass
class World:
    """The running sandboxes and the settings that reach them."""

    server: SandboxServer
    settings: Settings
    hubspot: HubSpotSandbox
    salesforce: SalesforceSandbox
    meta: MetaSandbox
    tiktok: TikTokSandbox
    google: GoogleAdsSandbox
    refused_values: Any = None
    second_brand: dict[str, Any] = field(default_factory=dict)  # Lumen's ad sandboxes by network (second_brand)

    def ad_sandboxes(self) -> dict[str, MetaSandbox | TikTokSandbox | GoogleAdsSandbox]:
        """The ad-network sandboxes by the name of the network each emulates (its ``Network.name``)."""
        # sandbox wiring, like SandboxServer's: a new network brings its sandbox and its line here
        return {"meta": self.meta, "tiktok": self.tiktok, "google": self.google}

    def sandbox_of(self, destination: str, network_name: str) -> Any:
        """The sandbox a destination sends to: the second brand's own, or the salons'."""
        if destination in second_brand.DESTINATIONS:
            return self.second_brand.get(network_name)
        return self.ad_sandboxes().get(network_name)


@contextmanager
def demo_world(business: Any, database_url: str, batch_size: int, audiences: Path | None = None) -> Iterator[World]:
    """Every sandbox seeded and serving on loopback, for the duration of the block.

    ``audiences``: the folder the demo's CSV audiences are written to (``LIFESYNC_AUDIENCE_CSV_DIR``).
    """
    hubspot, salesforce = HubSpotSandbox(rate_per_10s=None), SalesforceSandbox(daily_limit=1_000_000)
    load_hubspot(hubspot, business)
    refused = load_salesforce(salesforce, business)
    meta, tiktok, google = MetaSandbox(), TikTokSandbox(), GoogleAdsSandbox()
    seed_meta_ads(meta, business.seed)
    lumen = second_brand.sandboxes()
    with SandboxServer(hubspot=hubspot, salesforce=salesforce, meta=meta, tiktok=tiktok, google=google) as server, \
            SandboxServer(**lumen) as lumen_server:
        env = {k: v for k, v in os.environ.items() if not k.startswith("LIFESYNC_")}
        env.update(server.env())
        env.update(second_brand.settings_env(lumen_server))
        env.update(SECRETS, DATABASE_URL=database_url, LIFESYNC_BATCH_SIZE=str(batch_size),
                   LIFESYNC_SECRET_KEY=Fernet.generate_key().decode(), LIFESYNC_GENERIC_MAPPING__SHOP="shop/order")
        if audiences is not None:
            env["LIFESYNC_AUDIENCE_CSV_DIR"] = str(audiences)
        settings = Settings.from_env(env)
        with secrets_redacted(settings.secret_values()):  # the sandboxes' credentials are this run's secrets
            yield World(server, settings, hubspot, salesforce, meta, tiktok, google, refused, lumen)


def seed_meta_ads(meta: MetaSandbox, seed: int) -> None:
    """The business's ad account: its click-to-WhatsApp and click-to-Messenger ads (not the deleted one)."""
    for ad in ad_catalogue(seed):
        meta.ads.add(ad.ad_id, ad.name, ad.adset_id, ad.adset_name, ad.campaign_id, ad.campaign_name)
    for ad_id, names in MESSENGER_AD_NAMES.items():
        if ad_id not in MESSENGER_DELETED_ADS:
            meta.ads.add(ad_id, *names)


def _meta_signed(secret: str, body: bytes) -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {"X-Hub-Signature-256": f"sha256={digest}", "Content-Type": "application/json"}


def receive_webhooks(world: World, store: Store, config: Config, business: Any,
                     row: Callable[[str, str, IngestResult], None]) -> dict[str, int]:
    """Post the business's messaging and shop traffic to lifesync's webhooks; process the inbox."""
    from sync.web.app import create_app

    stored: list[int] = []
    app = create_app(world.settings, store=store, config=config, enqueue=stored.extend)
    client = app.test_client()
    posted = {"whatsapp": 0, "replies": 0, "opt_outs": 0, "messenger": 0, "shop": 0, second_brand.BRAND: 0}
    refused = 0

    def post(path: str, body: bytes, headers: dict[str, str], kind: str) -> None:
        nonlocal refused
        response = client.post(path, data=body, headers=headers)
        posted[kind] += 1
        refused += response.status_code != 200

    fresh, bookings = this_weeks_whatsapp_leads(business.seed, business.people, business.now,
                                                max(5, len(business.people) // 50))
    inbound = [*business.whatsapp_messages, *fresh]
    replies = list(agent_replies(business.seed, business.people, inbound, business.now))
    opt_outs = list(whatsapp_opt_outs(business.seed, inbound, business.now))
    for value, kind in [*((v, "whatsapp") for v in inbound), *((v, "replies") for v in replies),
                        *((v, "opt_outs") for v in opt_outs)]:
        field_name = "user_preferences" if kind == "opt_outs" else "messages"
        body = json.dumps({"object": "whatsapp_business_account", "entry": [
            {"id": MetaSandbox.WABA_ID, "changes": [{"field": field_name, "value": value}]}]}).encode()
        post("/webhooks/whatsapp", body, _meta_signed(SECRETS["LIFESYNC_WHATSAPP_APP_SECRET"], body), kind)
    for delivery in messenger_deliveries(business.seed, business.people, MetaSandbox.PAGE_ID):
        body = json.dumps(delivery).encode()
        post("/webhooks/messenger", body, _meta_signed(SECRETS["LIFESYNC_MESSENGER_APP_SECRET"], body), "messenger")
    for order in [*shop_orders(business.seed, business.people), *bookings]:
        body, stamp = json.dumps(order).encode(), str(int(time.time()))
        post("/webhooks/generic/shop", body, _shop_signed(body, stamp), "shop")
    for order in second_brand.orders(business.seed, business.people, business.now):  # the sister brand's own shop
        body, stamp = json.dumps(order).encode(), str(int(time.time()))
        post(f"/webhooks/generic/{second_brand.CONNECTION}", body,
             _shop_signed(body, stamp, second_brand.SECRET), second_brand.BRAND)
    effects = Effects.of(world.settings, config)
    total = IngestResult()
    for start in range(0, len(stored), world.settings.batch_size):  # as the drain job does, a batch at a time
        total.add(process_events(store, config, stored[start:start + world.settings.batch_size], effects))
    row("webhooks", "inbox", total)
    return {**posted, "refused": refused, "stored": len(stored)}


def _shop_signed(body: bytes, stamp: str, secret: str = SECRETS["LIFESYNC_GENERIC_SECRET__SHOP"]) -> dict[str, str]:
    return {"Content-Type": "application/json", "X-Lifesync-Timestamp": stamp,
            "X-Lifesync-Signature": sign(secret, body, stamp)}


def receive_refunds(world: World, store: Store, config: Config, business: Any,
                    row: Callable[[str, str, IngestResult], None]) -> int:
    """Post the shop's refunds and cancellations of paid orders (after their purchases went out); process them."""
    from sync.web.app import create_app

    stored: list[int] = []
    client = create_app(world.settings, store=store, config=config, enqueue=stored.extend).test_client()
    posted = 0
    for refund in shop_refunds(business.seed, business.people, business.now):
        body = json.dumps(refund).encode()
        posted += client.post("/webhooks/generic/shop", data=body,
                              headers=_shop_signed(body, str(int(time.time())))).status_code == 200
    row("shop", "refunds", process_events(store, config, stored, Effects.of(world.settings, config)))
    return posted


def dispatch_everything(world: World, store: Store, config: Config) -> dict[str, dict[str, Any]]:
    """Send every queued conversion to its ad-network sandbox; what each network then holds."""
    out: dict[str, dict[str, Any]] = {}
    for name, dest in sorted(destination_configs(world.settings, config).items()):
        counts = dispatch_all(store, dest, sender_for(dest))
        box = world.sandbox_of(name, dest.network)
        accepted = list(box.accepted) if box is not None else []
        out[name] = {**counts.as_dict(), "network": dest.network, "vendor": network_for(dest).vendor,
                     "accepted": len(accepted),
                     "duplicates": getattr(box, "duplicates", 0),
                     "business_messaging": sum(1 for e in accepted if e.get("action_source") == "business_messaging"),
                     "with_ctwa_clid": sum(1 for e in accepted if (e.get("user_data") or {}).get("ctwa_clid")),
                     "events": _names(network_for(dest), accepted)}
    return out


def _names(net: Network, accepted: list[dict[str, Any]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for event in accepted:
        name = net.event_label(event)
        counts[name] = counts.get(name, 0) + 1
    return dict(sorted(counts.items()))
