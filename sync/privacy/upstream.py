"""Upstream erasure: ask the CRMs holding a forgotten person to delete them too (``contacts forget --upstream``).

Per connection of each CRM, from the person's identities (read before the local erasure):

- HubSpot (identity kind ``hubspot``): the GDPR delete of each contact id
  (``HubSpotApi.gdpr_delete``; permanent, HubSpot blocklists the e-mail). It is documented only
  under HubSpot's *legacy* reference (``/crm/v3/objects/contacts/gdpr-delete``); no dated
  equivalent is documented (docs/vendors/audiences-and-consent.md §4), so lifesync calls that
  path on every API version — it goes unsupported with the legacy APIs (Sept 2027) unless
  HubSpot ships one. A plain ``DELETE`` of the object is restorable for 90 days: no erasure.
- Salesforce (kinds ``salesforce``: Contact, ``salesforce_lead``: Lead): ``DELETE
  /sobjects/<Contact|Lead>/<id>`` (``SalesforceClient.delete_record``). This moves the record to
  the Recycle Bin (permanent removal needs Bulk API hard delete and its permission: not done).

A connection's id ``<connection>:<id>`` (``identity.namespaced``) goes to that connection; a
bare id to ``default``. Results are ``{"hubspot": {"status", "detail"}, "salesforce/eu": ...}``,
status ``deleted``, ``partial`` or ``failed``; the detail counts records and names error types and
HTTP statuses, never an id or a value (the ``erasures`` row and the API answer show it).
A failure never raises: the local erasure stands either way.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

log = logging.getLogger(__name__)

# identity kind -> (system, object deleted)
KINDS = {"hubspot": ("hubspot", "contacts"), "salesforce": ("salesforce", "Contact"),
         "salesforce_lead": ("salesforce", "Lead")}

Deleter = Callable[[str, str], None]  # (object, record id) -> None, raising on failure


def _hubspot(settings: Any, connection: str) -> Deleter:
    from sync.connectors.hubspot.connector import HubSpotConnector

    api = HubSpotConnector(settings, connection).api
    return lambda obj, record_id: api.gdpr_delete(record_id)


def _salesforce(settings: Any, connection: str) -> Deleter:
    from sync.connectors.salesforce.connector import SalesforceConnector

    client = SalesforceConnector(settings, connection).client
    return client.delete_record


BUILDERS: dict[str, Callable[[Any, str], Deleter]] = {"hubspot": _hubspot, "salesforce": _salesforce}


def targets(identities: list[tuple[str, str, str]]) -> dict[tuple[str, str], list[tuple[str, str]]]:
    """(system, connection) → [(object, record id)] of the person's CRM identities."""
    out: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for kind, value, _ in identities:
        if kind not in KINDS:
            continue
        system, obj = KINDS[kind]
        connection, sep, record_id = value.rpartition(":")
        out.setdefault((system, connection if sep else "default"), []).append((obj, record_id))
    return out


def _why(exc: BaseException) -> str:
    status = getattr(exc, "status", None)
    return f"{type(exc).__name__}" + (f" (HTTP {status})" if status else "")


def delete_upstream(settings: Any, person: Any, systems: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Delete the person in each CRM connection holding them; ``{system[/connection]: {status, detail}}``.

    ``systems``: deleters by ``system`` or ``system/connection`` to use instead of building them
    from the settings (tests).
    """
    results: dict[str, Any] = {}
    for (system, connection), records in sorted(targets(person.identities).items()):
        name = system if connection == "default" else f"{system}/{connection}"
        try:
            found = (systems or {}).get(name) or (systems or {}).get(system)
            deleter = found or BUILDERS[system](settings, connection)
        except Exception as exc:  # its settings: reported, the others go on
            results[name] = {"status": "failed", "detail": f"not configured: {_why(exc)}"}
            continue
        done, errors = 0, []
        for obj, record_id in records:
            try:
                deleter(obj, record_id)
                done += 1
            except Exception as exc:  # the vendor refused or could not be reached: reported, not raised
                log.warning("upstream delete in %s failed: %s", name, _why(exc))
                errors.append(_why(exc))
        status = "deleted" if not errors else ("partial" if done else "failed")
        detail = f"{done} of {len(records)} record(s) deleted" + (f"; {', '.join(sorted(set(errors)))}"
                                                                  if errors else "")
        results[name] = {"status": status, "detail": detail}
    return results
