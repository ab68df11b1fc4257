"""A local emulator of the respond.io API v2 endpoints lifesync uses (contacts, tags, custom fields)."""

from sync.sandbox.respondio.sandbox import RespondioSandbox, create_app

__all__ = ["RespondioSandbox", "create_app"]
