"""HubSpot's API paths per API version: the one place the connector's calls get their paths from.

Since 2026-03-30 HubSpot's REST APIs are date-versioned: ``/api-name/YYYY-MM/resource``, e.g.
``GET /crm/objects/2026-09/contacts``; a version ships every March and September and each is
supported for at least 18 months. The numeric paths (``/crm/v3/``, ``/crm/v4/``) are *legacy*:
``/crm/v4/`` is supported until 2027-03-30 and every ``/v1``–``/v4`` path until 2027-09.
Sources: https://developers.hubspot.com/docs/api-reference/latest/overview,
https://developers.hubspot.com/docs/api-reference/legacy/migration-guide,
https://developers.hubspot.com/docs/developer-tooling/platform/versioning.md.

Every call lifesync makes, per version (``LIFESYNC_HUBSPOT_API_VERSION``)::

    endpoint      legacy                                          2026-09 (any dated version)
    objects       /crm/v3/objects/{object}                         /crm/objects/2026-09/{object}
    search        /crm/v3/objects/{object}/search                  /crm/objects/2026-09/{object}/search
    batch         /crm/v3/objects/{object}/batch/{operation}       /crm/objects/2026-09/{object}/batch/{operation}
    property      /crm/v3/properties/{object}/{name}               /crm/properties/2026-09/{object}/{name}
    associations  /crm/v4/associations/{from}/{to}/batch/{op}      /crm/associations/2026-09/{from}/{to}/batch/{op}

Request and response bodies are the same in both (HubSpot ported v3 objects and v4
associations to the dated paths with feature parity: the 2026-03 reference pages show the
same ``inputs``/``results``/``paging``/``errors`` shapes, e.g.
https://developers.hubspot.com/docs/api-reference/latest/crm/associations/associate-records/batch/get-associations,
where ``toObjectId`` is documented as a string; the connector reads it as text either way).
What differs is behaviour: from ``2026-09`` HubSpot enforces the portal's validation rules
(conditionally required properties, required fields of the create form) on every CRM write
(https://developers.hubspot.com/changelog/crm-api-write-validation-enforcement), which
``push`` reports per record.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

LEGACY = "legacy"
# Dated versions lifesync speaks, newest first. 2026-09 shipped on 2026-09-08; 2026-03 (the first dated
# version, 2026-03-30) is supported until at least 2027-09. The default is the newest one.
DATED = ("2026-09", "2026-03")
VERSIONS = (*DATED, LEGACY)
DEFAULT_VERSION = DATED[0]
VALIDATING_SINCE = "2026-09"  # the first version enforcing portal validation rules on writes
# Communication Preferences API versions (LIFESYNC_HUBSPOT_COMMUNICATION_PREFERENCES_VERSION), newest first: its
# own setting, as it is not a CRM path (and 2026-03 ends about 2027-09, inside a year of today).
PREFERENCES_VERSIONS = ("2026-09", "2026-03")

_LEGACY_PATHS = {
    "objects": "/crm/v3/objects/{object}",
    "search": "/crm/v3/objects/{object}/search",
    "batch": "/crm/v3/objects/{object}/batch/{operation}",
    "property": "/crm/v3/properties/{object}/{name}",
    "associations": "/crm/v4/associations/{from_object}/{to_object}/batch/{operation}",
}
_DATED_PATHS = {
    "objects": "/crm/objects/{version}/{object}",
    "search": "/crm/objects/{version}/{object}/search",
    "batch": "/crm/objects/{version}/{object}/batch/{operation}",
    "property": "/crm/properties/{version}/{object}/{name}",
    "associations": "/crm/associations/{version}/{from_object}/{to_object}/batch/{operation}",
}


@dataclass(frozen=True)
class Endpoints:
    """The paths of one API version (``legacy`` or a dated one such as ``2026-09``)."""

    version: str = DEFAULT_VERSION
    preferences_version: str = PREFERENCES_VERSIONS[0]

    def __post_init__(self) -> None:
        if self.version not in VERSIONS:
            raise ValueError(f"unknown HubSpot API version {self.version!r}; expected one of {', '.join(VERSIONS)}")
        if self.preferences_version not in PREFERENCES_VERSIONS:
            raise ValueError(f"unknown HubSpot Communication Preferences API version {self.preferences_version!r}; "
                             f"expected one of {', '.join(PREFERENCES_VERSIONS)}")

    @property
    def validates_writes(self) -> bool:
        """Whether HubSpot applies the portal's validation rules to writes in this version (2026-09 on)."""
        return self.version != LEGACY and self.version >= VALIDATING_SINCE

    def _path(self, endpoint: str, **parts: str) -> str:
        template = (_LEGACY_PATHS if self.version == LEGACY else _DATED_PATHS)[endpoint]
        return template.format(version=self.version, **parts)

    def objects(self, obj: str) -> str:
        """List (``GET``) the records of ``obj``."""
        return self._path("objects", object=obj)

    def search(self, obj: str) -> str:
        """Search (``POST``) the records of ``obj``."""
        return self._path("search", object=obj)

    def batch(self, obj: str, operation: str) -> str:
        """A batch ``read``, ``create``, ``update``, ``upsert`` or ``archive`` (``POST``) of ``obj``."""
        return self._path("batch", object=obj, operation=operation)

    def property(self, obj: str, name: str) -> str:
        """One property definition (``GET``) of ``obj``, with its options."""
        return self._path("property", object=obj, name=name)

    def associations(self, from_object: str, to_object: str, operation: str = "read") -> str:
        """A batch ``read`` (``POST``) of the associations from ``from_object`` records to ``to_object``."""
        return self._path("associations", from_object=from_object, to_object=to_object, operation=operation)

    def unsubscribe_all(self, subscriber: str) -> str:
        """Unsubscribe ``subscriber`` (an e-mail address) from every subscription of a channel (``POST``,
        ``?channel=EMAIL``): ``/communication-preferences/{preferences_version}/statuses/{subscriber}/unsubscribe-all``.

        The address is one path segment, percent-encoded (``@`` and ``+`` included).
        """
        return (f"/communication-preferences/{self.preferences_version}/statuses/"
                f"{quote(subscriber, safe='')}/unsubscribe-all")
