"""``respondio_tag``: a segment as a respond.io tag (or custom field), so respond.io broadcasts can target it.

Options (a segment file's destination entry)::

    connection  the respond.io connection (default: ``default``): LIFESYNC_RESPONDIO_API_TOKEN[__<NAME>],
                LIFESYNC_RESPONDIO_API_URL[__<NAME>]
    tag         the tag (default: the segment's key), at most 255 characters
    field       instead of a tag, set this contact custom field (it must exist in the workspace) ...
    value       ... to this value (default ``true``); removal clears it

respond.io API v2 has no bulk tag endpoint: one call tags one contact (``POST
/contact/{identifier}/tag`` with up to 10 tags; ``DELETE`` with the same body removes them), so
``max_batch`` is 1. The contact is named by its respond.io id (``id:<n>``, from the ``respondio``
identity) when lifesync knows it, else by ``email:`` or ``phone:+E.164``. Calls go through the
connector's ``RespondioClient`` (Bearer token, bounded retries, Retry-After and the per-method
``X-RateLimit-Remaining`` budget). An unknown contact (404) fails that member when adding and is
done when removing (no contact, no tag); a refused identifier or field (400) fails it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import requests

from sync.connectors.respondio.client import MAX_TAG_LENGTH, NotFound, RespondioClient, encode_identifier
from sync.connectors.respondio.settings import RespondioSettings
from sync.errors import PermanentError, SettingsError, SyncError
from sync.segments.destinations.base import (
    Audience,
    AudienceDestinationConfig,
    AudienceMember,
    Entry,
    MemberResult,
    Unmatchable,
)
from sync.segments.destinations.connection import (
    check_options,
    connection_env,
    connection_of,
    connection_settings,
    option,
    outcome,
)
from sync.settings import Settings

OPTIONS = frozenset({"connection", "tag", "field", "value"})
NO_CONTACT = "respond.io has no contact with this identifier (HTTP 404)"


class RespondioTag:
    """Tags (or sets a custom field on) the respond.io contacts of a segment."""

    kind: ClassVar[str] = "respondio_tag"
    max_batch: ClassVar[int] = 1  # one contact per call: respond.io has no bulk tag endpoint
    purpose: ClassVar[str] = "marketing_messages"

    def __init__(self, config: AudienceDestinationConfig, session: requests.Session | None = None):
        self.config = config
        connection = connection_of(config.name, config.options)
        self.client = RespondioClient.from_settings(connection_settings(config.credentials), connection,
                                                    session=session)
        self.field = option(config.name, config.options, "field")
        self.value = option(config.name, config.options, "value") or "true"

    @classmethod
    def from_settings(cls, name: str, options: Mapping[str, str], settings: Settings) -> AudienceDestinationConfig:
        """The config of destination ``name``: the connection's token and URL, the tag or field options."""
        check_options(name, cls.kind, options, OPTIONS)
        connection = connection_of(name, options)
        conf = RespondioSettings.of(settings, connection)
        if not conf.api_token:
            variable = RespondioSettings.variable("api_token", connection)
            raise SettingsError(f"audience destination {name!r} ({cls.kind}) needs {variable}", variable=variable)
        tag = option(name, options, "tag")
        if tag is not None and len(tag) > MAX_TAG_LENGTH:
            raise SettingsError(f"audience destination {name!r} ({cls.kind}): tag is {len(tag)} characters; "
                                f"respond.io takes at most {MAX_TAG_LENGTH}")
        if option(name, options, "value") is not None and option(name, options, "field") is None:
            raise SettingsError(f"audience destination {name!r} ({cls.kind}): value needs field (the custom field "
                                f"to set)")
        return AudienceDestinationConfig(name=name, kind=cls.kind, base_url=conf.api_url, api_version="v2",
                                         credentials=connection_env(RespondioSettings, settings, connection),
                                         options=dict(options))

    def keys(self, member: AudienceMember) -> dict[str, Any]:
        """``{"identifier": "id:<n>" | "email:<address>" | "phone:+<E.164>"}``: the first respond.io accepts."""
        candidates = [f"id:{v}" for k, v in member.identities if k == "respondio"]
        candidates += [f"email:{e.strip().lower()}" for e in member.emails]
        candidates += [f"phone:{p.strip()}" for p in member.phones]
        for identifier in candidates:
            try:
                encode_identifier(identifier)
            except PermanentError:
                continue
            return {"identifier": identifier}
        raise Unmatchable("respond.io needs the contact's respond.io id, an e-mail address or an E.164 phone number")

    def ensure(self, audience: Audience) -> str:
        """The tag (``tag`` option, else the segment's key), or the custom field's name: nothing to create."""
        if self.field:
            return self.field
        tag = option(self.config.name, self.config.options, "tag") or audience.key
        if len(tag) > MAX_TAG_LENGTH:
            raise SettingsError(f"audience destination {self.config.name!r}: the tag {tag[:40]!r}… is longer than "
                                f"respond.io's {MAX_TAG_LENGTH} characters; set the tag option")
        return tag

    def add(self, remote_id: str, entries: Sequence[Entry]) -> list[MemberResult]:
        """Tag (or set the field of) each entry's contact: one call each."""
        return [self._one(remote_id, entry, adding=True) for entry in entries]

    def remove(self, remote_id: str, entries: Sequence[Entry]) -> list[MemberResult]:
        """Remove the tag (or clear the field) of each entry's contact: one call each."""
        return [self._one(remote_id, entry, adding=False) for entry in entries]

    def _one(self, remote_id: str, entry: Entry, *, adding: bool) -> MemberResult:
        identifier = str(entry.keys.get("identifier") or "")
        try:
            if self.field:
                value = self.value if adding else None
                self.client.update_contact(identifier, {"custom_fields": [{"name": remote_id, "value": value}]})
            elif adding:
                self.client.add_tags(identifier, [remote_id])
            else:
                self.client.remove_tags(identifier, [remote_id])
        except NotFound:
            return MemberResult(entry.contact_id, "failed", NO_CONTACT) if adding else \
                MemberResult(entry.contact_id, "done", "the contact no longer exists in respond.io")
        except SyncError as exc:
            return outcome([entry], exc)[0]
        return MemberResult(entry.contact_id, "done")


DESTINATION = RespondioTag

__all__ = ["DESTINATION", "RespondioTag"]
