"""A portal's validation rules for CRM writes, which HubSpot enforces on API writes from version 2026-09.

"Starting with the /2026-09/ API version [...] HubSpot will enforce admin-configured validation
rules on all CRM API write paths": a property made required when another property has a value
(e.g. ``closedate`` once ``dealstage`` is ``closedwon``), and the fields the create form
requires; a write breaking one is a 400 ``VALIDATION_ERROR``
(https://developers.hubspot.com/changelog/crm-api-write-validation-enforcement). Earlier
versions and the legacy paths ignore these rules (they were UI-only).

A rule is checked against the record as the write would leave it (its stored values with the
input's on top; ``""`` clears), so an update need not repeat a required value the record
already has. A broken rule is reported in HubSpot's property-validation shape (an
``isValid: false`` result per property, serialised into the message), so a batch input with an
``objectWriteTraceId`` fails alone in a 207 and one without refuses the whole batch, as any
invalid property value does (``writes``). The user-level association permissions HubSpot also
enforces concern OAuth user tokens, which the sandbox does not issue.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sync.sandbox.hubspot.errors import invalid_property

CODE = "MISSING_REQUIRED_PROPERTY"


@dataclass(frozen=True)
class ValidationRule:
    """A portal rule: ``required`` must have a value.

    Always, or when property ``when[0]`` has value ``when[1]``; ``on_create`` limits it to
    creating records (the fields the create form requires).
    """

    required: str
    when: tuple[str, str] | None = None
    on_create: bool = False

    def broken(self, after: Mapping[str, str], creating: bool) -> dict[str, Any] | None:
        """The validation result when a record left with values ``after`` breaks this rule, else None."""
        if self.on_create and not creating:
            return None
        if self.when is not None and (after.get(self.when[0]) or "") != self.when[1]:
            return None
        if (after.get(self.required) or "").strip():
            return None
        reason = (f"{self.required} is required when {self.when[0]} is {self.when[1]}" if self.when
                  else f"{self.required} is required to create this record" if self.on_create
                  else f"{self.required} is required")
        return invalid_property(self.required, f"{reason} (a validation rule of this portal).", CODE)


def violations(rules: list[ValidationRule], stored: Mapping[str, str] | None,
               properties: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Each rule a write of ``properties`` breaks, on a record with ``stored`` values (None: a new record)."""
    after = {**(stored or {}), **{k: str(v) for k, v in properties.items() if v is not None}}
    found = [result for rule in rules if (result := rule.broken(after, stored is None)) is not None]
    return list({r["name"]: r for r in found}.values())  # one result per property
