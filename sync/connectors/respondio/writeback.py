"""respond.io stage write-back: what ``sync.outbox.stage_dispatch`` sends, and how it reaches respond.io."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sync.connectors.respondio.client import NotFound, RespondioClient
from sync.errors import LifesyncError, PermanentError, ValidationError
from sync.http.redact import redact
from sync.settings import Settings

if TYPE_CHECKING:
    from sync.config import Config
    from sync.mappings import Mapping

log = logging.getLogger(__name__)

CONTACT_MAPPING = ("respondio", "contact")  # its out/both fields are what respond.io's contact is told
_LANGUAGE = re.compile(r"^([a-z]{2})(?:[-_][a-z0-9]+)*$")  # ISO 639-1, a region suffix tolerated and dropped
_COUNTRY = re.compile(r"^[A-Z]{2}$")  # ISO 3166-1 alpha-2


@lru_cache(maxsize=4)
def contact_mapping(config_dir: Path | None = None) -> Mapping | None:
    """The effective respond.io contact mapping of a config directory (bundled when None); loaded once."""
    from sync.config import load_config

    return load_config(config_dir).mappings.get(CONTACT_MAPPING)


def contact_fields(contact: dict[str, Any], identifier: str, mapping: Mapping | None) -> dict[str, Any]:
    """What respond.io's contact should hold, vendor-shaped (firstName, lastName, email, phone, ...).

    The fields are those ``mapping`` writes out (``respondio_contact.yaml``: first_name,
    last_name, email, phone, language, country), from the contact's winning values, as the CRM
    write-backs pick theirs. E-mail and phone fall back to the contact's identities; the
    identifier's own kind always carries the identifier's value, so the contact stays findable
    by it. Blanks are left out (lifesync never erases respond.io's data), and so are a language
    or country that is not an ISO code respond.io accepts: a bad optional field must not cost
    the stage (a "es-MX" language is sent as "es").
    """
    if mapping is None:
        return {}
    values = {k: v for k, v in (contact.get("values") or {}).items()
              if v is not None and not (isinstance(v, str) and not v.strip())}
    identities = contact.get("identities") or {}
    for kind in ("email", "phone"):
        if kind not in values and identities.get(kind):
            values[kind] = identities[kind][0]
    kind, _, value = identifier.partition(":")
    if kind in ("email", "phone"):
        values[kind] = value
    try:
        from sync.mappings.engine import reverse

        fields = reverse(mapping, {k: v for k, v in values.items() if k in mapping.out_fields()})
    except LifesyncError as exc:  # a mapping that cannot write a value back is a configuration error
        raise PermanentError(f"respond.io contact fields: {exc}") from None
    if "language" in fields:
        match = _LANGUAGE.match(str(fields["language"]).strip().lower())
        fields["language"] = match.group(1) if match else None
    if "countryCode" in fields:
        code = str(fields["countryCode"]).strip().upper()
        fields["countryCode"] = code if _COUNTRY.match(code) else None
    return {k: v for k, v in fields.items() if v is not None}


def respondio_stage(client: RespondioClient, mapping: Mapping | None = None,
                    ) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """Tell respond.io a contact's lifecycle stage (None clears it), creating or updating the contact first.

    The payload is an outbox row's (``identifier`` as ``sync.outbox.targets`` chose it: ``id:`` before
    ``email:`` before ``phone:``, and ``stage``) plus ``contact``, the contact's current facts
    (see ``sync.outbox.stage_dispatch``). ``mapping`` defaults to the bundled respond.io contact mapping.

    - Setting a stage: ``create_or_update`` with ``contact_fields`` first. respond.io requires
      ``firstName`` there (every public client of the API marks it required), so without a
      known first name there is no upsert: inventing one (the e-mail, the phone number) would
      overwrite the real name of a contact respond.io already has. The lifecycle update alone
      then reaches an existing contact; a contact respond.io does not have is dead-lettered
      saying so (replayable once a first name is known). A refused upsert (HTTP 400/422:
      respond.io rejected a field) does not hold the stage back: the lifecycle is still set,
      and the response summary records the refusal.
    - Clearing: no upsert (creating a contact only to give it no stage helps nobody); a contact
      respond.io does not have has nothing to clear, which counts as done.
    """
    mapping = mapping if mapping is not None else contact_mapping(None)

    def send(payload: dict[str, Any]) -> dict[str, Any]:
        identifier, stage = payload["identifier"], payload.get("stage")
        summary: dict[str, Any] = {"lifecycle": stage}
        missing = None  # why the contact may be missing in respond.io when no upsert made it
        if stage is not None:
            fields = contact_fields(payload.get("contact") or {}, identifier, mapping)
            if not fields.get("firstName"):
                missing = "lifesync knows no first name to create it with (respond.io requires firstName)"
                summary["contact"] = "not created or updated: no first name known"
            else:
                try:
                    client.upsert_contact(identifier, fields)
                    summary["contact"] = sorted(fields)
                except ValidationError as exc:  # the vendor's words may quote a field: redacted
                    log.warning("respond.io refused the contact fields; setting the lifecycle anyway: %s",
                                redact(str(exc)))
                    missing = f"its contact fields were refused: {redact(str(exc))}"
                    summary["contact"] = f"refused: {redact(str(exc))}"[:300]
        try:
            client.update_lifecycle(identifier, stage)
        except NotFound as exc:
            if stage is None:
                return {**summary, "contact": "absent: nothing to clear"}
            if missing is None:
                raise
            raise NotFound(f"respond.io has no contact with this {identifier.partition(':')[0]} and {missing}; "
                           f"{exc}") from None
        return summary

    return send


def stage_sender(settings: Settings, config: Config | None = None,
                 connection: str = "default") -> Callable[[dict[str, Any]], dict[str, Any]]:
    """respond.io's stage write-back sender for ``connection``, from its settings and the active ``config``
    (``sync.outbox.targets``).
    """
    mapping = config.mappings.get(CONTACT_MAPPING) if config is not None else contact_mapping(settings.config_dir)
    return respondio_stage(RespondioClient.from_settings(settings, connection), mapping)
