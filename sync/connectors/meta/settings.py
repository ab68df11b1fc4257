"""The settings of Meta's messaging webhooks: one block each for WhatsApp, Messenger and Instagram.

Each connection has its Meta app secret (``X-Hub-Signature-256``; unset: the endpoint is 404),
the verify token of the GET handshake, and the ids it owns, by which a delivery to one
endpoint is filed under the connection owning all of its ids (several numbers or pages, one app).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from sync.settings import ConnectionSettings, comma_list, setting


@dataclass(frozen=True)
class WhatsAppSettings(ConnectionSettings):
    """A WhatsApp Cloud API connection: app secret, verify token, the phone_number_ids it owns."""

    platform: ClassVar[str] = "whatsapp"

    app_secret: str | None = setting("LIFESYNC_WHATSAPP_APP_SECRET")
    verify_token: str | None = setting("LIFESYNC_WHATSAPP_VERIFY_TOKEN")
    phone_number_ids: tuple[str, ...] = setting("LIFESYNC_WHATSAPP_PHONE_NUMBER_IDS", comma_list())


@dataclass(frozen=True)
class MessengerSettings(ConnectionSettings):
    """A Messenger connection: app secret, verify token, the Facebook Page ids it owns."""

    platform: ClassVar[str] = "messenger"

    app_secret: str | None = setting("LIFESYNC_MESSENGER_APP_SECRET")
    verify_token: str | None = setting("LIFESYNC_MESSENGER_VERIFY_TOKEN")
    page_ids: tuple[str, ...] = setting("LIFESYNC_MESSENGER_PAGE_IDS", comma_list())


@dataclass(frozen=True)
class InstagramSettings(ConnectionSettings):
    """An Instagram messaging connection: app secret, verify token, the professional account ids it owns."""

    platform: ClassVar[str] = "instagram"

    app_secret: str | None = setting("LIFESYNC_INSTAGRAM_APP_SECRET")
    verify_token: str | None = setting("LIFESYNC_INSTAGRAM_VERIFY_TOKEN")
    page_ids: tuple[str, ...] = setting("LIFESYNC_INSTAGRAM_PAGE_IDS", comma_list())


PLATFORMS: dict[str, type[WhatsAppSettings | MessengerSettings | InstagramSettings]] = {
    "whatsapp": WhatsAppSettings, "messenger": MessengerSettings, "instagram": InstagramSettings}
