"""Senders for ``sync.dispatch``: how an outbox payload reaches each destination's API."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sync.connectors.respondio_client import RespondioClient
from sync.settings import Settings


def respondio_stage(client: RespondioClient) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """Make sure the contact exists in respond.io (by e-mail or phone), then set its lifecycle."""

    def send(payload: dict[str, Any]) -> dict[str, Any]:
        identifier, stage = payload["identifier"], payload["stage"]
        kind, _, value = identifier.partition(":")
        if kind in ("email", "phone"):
            client.upsert_contact(identifier, {kind: value})
        client.update_lifecycle(identifier, stage)
        return {"lifecycle": stage}

    return send


def sender_for(destination: str, settings: Settings) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """The sender of a destination, built from its settings."""
    if destination == "respondio":
        return respondio_stage(RespondioClient.from_settings(settings))
    raise ValueError(f"no sender for destination {destination!r}")
