"""What a record may keep: each value a column cannot hold is named (never shown), before the database sees it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from sync.ingest.storable import unstorable
from sync.reconcile.patch import ActivityData, ConversionData, IdentityRef, Patch, TouchpointData

AT = datetime(2026, 3, 1, tzinfo=UTC)


def patch(**changes) -> Patch:
    base = {"source": "hubspot", "object": "contacts", "record_id": "51", "source_time": AT,
            "identities": (IdentityRef("email", "ana@example.com"),), "fields": (("first_name", "Ana"),)}
    return Patch(**{**base, **changes})


def test_a_plain_contact_is_storable():
    assert unstorable(patch()) is None
    assert unstorable(patch(fields=(("tags", {"a": ["b", 1, None]}), ("score", 3.5)))) is None


@pytest.mark.parametrize(("changes", "says"), [
    ({"record_id": "x" * 256},
     "record id is 256 characters long; its column (field_values.record_id) holds at most 255"),
    ({"identities": (IdentityRef("email", "a" * 300),)}, "email identity is 300 characters long"),
    ({"identities": (IdentityRef("phone", "+1\x00"),)}, "phone identity holds a NUL character"),
    ({"fields": (("first_name", "An\x00a"),)}, "field first_name holds a NUL character"),
    ({"fields": (("notes", {"k": ["ok", "bad \x00"]}),)}, "field notes holds a NUL character"),
    ({"fields": (("notes", {"bad \x00 key": 1}),)}, "field notes holds a NUL character"),
    ({"fields": (("first_name", "cut \ud83d"),)}, "field first_name holds a lone surrogate (no UTF-8 form)"),
    ({"fields": (("f" * 65, "x"),)}, "is 65 characters long; its column (field_values.field) holds at most 64"),
    ({"stage": "s" * 65}, "stage is 65 characters long"),
    ({"source_time": datetime(1, 1, 1, 2, tzinfo=timezone(timedelta(hours=5)))},
     "modified time is out of the range a timestamp can hold (years 1 to 9999 in UTC)"),
    ({"activities": (ActivityData("whatsapp", "inbound", AT, external_id="w" * 256),)},
     "activity external id is 256 characters long"),
    ({"touchpoints": (TouchpointData("ad", AT, campaign_id="c" * 65),)}, "touchpoint campaign id is 65 characters"),
    ({"touchpoints": (TouchpointData("ad", AT, click_ids=(("gclid", "g\x00"),)),)}, "touchpoint click ids holds a NUL"),
    ({"conversions": (ConversionData("purchase", AT, 10.0, "EURO"),)}, "conversion currency is 4 characters long"),
    ({"conversions": (ConversionData("purchase", datetime(9999, 12, 31, 23, tzinfo=timezone(-timedelta(hours=5)))),)},
     "conversion time is out of the range"),
])
def test_what_no_column_holds_is_named_with_its_record_and_never_shown(changes, says):
    reason = unstorable(patch(**changes))
    assert reason is not None and reason.startswith("hubspot contacts record ") and says in reason, reason
    assert "\x00" not in reason and "a" * 255 not in reason


def test_the_cleaned_identities_are_checked_too():
    assert "email identity is 256 characters long" in unstorable(patch(), [IdentityRef("email", "e" * 256)])
