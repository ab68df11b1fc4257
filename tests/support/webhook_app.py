"""The web app the receiver tests post to: its connection secrets, and an app built with extra settings."""

from __future__ import annotations

from sync.settings import Settings
from sync.web import create_app

ENV = {
    "LIFESYNC_WHATSAPP_APP_SECRET": "wa-secret",
    "LIFESYNC_WHATSAPP_VERIFY_TOKEN": "verify-me",
    "LIFESYNC_WHATSAPP_APP_SECRET__SALON2": "wa-secret-2",
    "LIFESYNC_WHATSAPP_PHONE_NUMBER_IDS__SALON2": "222000111",
    "LIFESYNC_GENERIC_SECRET__SHOP": "shop-secret",
    "LIFESYNC_GENERIC_MAPPING__SHOP": "shop/order",
    "LIFESYNC_MESSENGER_APP_SECRET": "fb-secret",
    "LIFESYNC_MESSENGER_VERIFY_TOKEN": "fb-verify",
    "LIFESYNC_MESSENGER_APP_SECRET__SHOP2": "fb-secret-2",
    "LIFESYNC_MESSENGER_PAGE_IDS__SHOP2": "333000111, 333000222",
    "LIFESYNC_INSTAGRAM_APP_SECRET": "ig-secret",
    "LIFESYNC_INSTAGRAM_VERIFY_TOKEN": "ig-verify",
    "LIFESYNC_INSTAGRAM_APP_SECRET__SHOP2": "ig-secret-2",
    "LIFESYNC_INSTAGRAM_PAGE_IDS__SHOP2": "17841400000000222",
    "LIFESYNC_TIKTOK_APP_SECRET": "tt-secret",
    "LIFESYNC_TIKTOK_APP_SECRET__BRAND2": "tt-secret-2",
    "LIFESYNC_TWILIO_AUTH_TOKEN": "tw-token",
    "LIFESYNC_TWILIO_AUTH_TOKEN__SALON2": "tw-token-2",
    "LIFESYNC_TWILIO_ACCOUNT_SID__SALON2": "AC00000000000000000000000000000002",
    "LIFESYNC_RESPONDIO_WEBHOOK_KEY": "rio-key-messages, rio-key-contacts",
    "LIFESYNC_RESPONDIO_WEBHOOK_KEY__AGENCY": "rio-key-agency",
    "LIFESYNC_WEBHOOK_MAX_BYTES": "4096",
}


def app_with(store, config, enqueued, database_url, **extra: str):
    """An app on the test store with ``ENV`` and ``extra`` settings, handing the ids it queues to ``enqueued``."""
    settings = Settings.from_env({"DATABASE_URL": database_url, **ENV, **extra})
    return create_app(settings, store=store, config=config, enqueue=enqueued.append)
