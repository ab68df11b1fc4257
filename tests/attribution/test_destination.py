"""Shared destination pieces: event names, the per-batch normalise cache, validation helpers, touch selection,
sender_for, and the bisection algorithm on its own (no HTTP)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest

from sync.attribution import hashing, touch
from sync.attribution.delivery import BatchSender
from sync.attribution.destination import (
    BuiltEvent,
    DestinationConfig,
    EventResult,
    NormalizeCache,
    event_name,
    event_time_problem,
    value_problem,
)
from sync.attribution.facts import ContactFacts, ConversionFacts, TouchpointFacts
from sync.attribution.networks import meta as meta_capi
from sync.attribution.networks import network, sender_for, tiktok
from sync.attribution.networks.google import ads_api, common, data_manager
from sync.errors import RateLimited, SettingsError, ValidationError

NOW = datetime(2025, 3, 11, 12, 0, 0, tzinfo=UTC)


def dest(network="meta", **overrides) -> DestinationConfig:
    values = dict(name=network, network=network, base_url="https://example.test", api_version="v1",
                  credentials={"access_token": "token-123456", "developer_token": "dev-123456"},
                  account_id="123", event_names={})
    values.update(overrides)
    return DestinationConfig(**values)


def test_default_event_names_cover_every_canonical_kind():
    for name in ("meta", "tiktok", "google"):
        names = network(name).event_names
        assert set(names) == {"lead", "qualified_lead", "booking", "add_to_cart", "initiate_checkout", "purchase"}
    assert network("meta").event_names["purchase"] == "Purchase"
    assert network("tiktok").event_names["lead"] == "Lead"
    with pytest.raises(ValueError, match="unknown ad network"):
        network("snap")


def test_configured_event_names_win_and_unmapped_kinds_are_refused():
    config = dest(event_names={"lead": "CRMLead", "demo": "DemoBooked"})
    defaults = meta_capi.EVENT_NAMES
    assert event_name(config, "lead", defaults) == "CRMLead"
    assert event_name(config, "demo", defaults) == "DemoBooked"
    assert event_name(config, "purchase", defaults) == "Purchase"
    with pytest.raises(ValidationError, match="conversion kind 'trial' has no meta event name"):
        event_name(config, "trial", defaults)


@pytest.mark.parametrize(("network", "module"), [("meta", meta_capi), ("tiktok", tiktok), ("google", data_manager),
                                                ("google", ads_api)])
def test_normalises_each_distinct_value_once_per_batch(monkeypatch, network, module):
    calls: list[tuple[str, str]] = []
    real = hashing.wire_value

    def counting(net, field, value, *, region=None):
        calls.append((field, value))
        return real(net, field, value, region=region)

    monkeypatch.setattr(hashing, "wire_value", counting)
    cache = NormalizeCache()
    cities = ["Austin", "Boston", "Chicago"]
    config = dest(network, conversion_actions={"lead": "1"})
    for i in range(300):
        person = ContactFacts(i, emails=(f"p{i}@example.com",), city=cities[i % 3], state="Texas",
                              country="United States", phones=("+14155550100",))
        facts = ConversionFacts(f"ev-{i}", "lead", NOW - timedelta(hours=1))
        module.build(facts, person, [], config, now=NOW, cache=cache)
    by_field = {field: sum(1 for f, _ in calls if f == field) for field, _ in calls}
    assert by_field["email"] == 300  # all distinct
    assert "phone" not in by_field  # canonical E.164 identities take the direct route (NormalizeCache.phone)
    if network != "google":  # Google gets no address fields
        assert by_field["city"] == 3 and by_field["state"] == 1 and by_field["country"] == 1


@pytest.mark.parametrize("name", ["meta", "tiktok", "google"])
@pytest.mark.parametrize("phone", ["+16505551212", "+447911123456", "+525512345678", "(650) 555-1212"])
def test_the_direct_phone_route_gives_exactly_what_hashing_gives(name, phone):
    cache, rules = NormalizeCache(), network(name).user_data
    assert cache.phone(rules, phone, "US") == hashing.wire_value(rules, "phone", phone, region="US")
    assert cache.phone(rules, phone, "US") == cache.phone(rules, phone, "US")
    assert cache.phone(rules, None) is None


def test_cache_returns_what_hashing_returns():
    cache = NormalizeCache()
    meta, email = meta_capi.USER_DATA, "John_Smith@gmail.com"
    assert cache.wire(meta, "email", email) == hashing.hashed(meta, "email", email)
    assert cache.wire(tiktok.USER_DATA, "city", "San Francisco") == "sanfrancisco"
    assert cache.wire(meta, "email", None) is None
    person = ContactFacts(1, country="44")
    assert cache.region(meta, person, dest()) == "GB"
    assert cache.region(meta, ContactFacts(1, country="Atlantis"), dest(default_region="de")) == "DE"


@pytest.mark.parametrize(("seconds", "max_age", "says"), [
    (int((NOW - timedelta(days=6, hours=23)).timestamp()), 7, None),
    (int((NOW - timedelta(days=7, hours=1)).timestamp()), 7, "7 days old"),
    (int((NOW - timedelta(days=70)).timestamp()), None, None),
    (int((NOW + timedelta(seconds=59)).timestamp()), 7, None),
    (int((NOW + timedelta(seconds=90)).timestamp()), 7, "90 s in the future"),
    (1741694400.5, 7, "whole Unix seconds"),
    (True, 7, "whole Unix seconds"),
    (int(NOW.timestamp() * 1000), 7, "looks like milliseconds"),
])
def test_event_time_problem(seconds, max_age, says):
    problem = event_time_problem(seconds, NOW, max_age)
    assert problem == says if says is None else says in problem


@pytest.mark.parametrize(("value", "currency", "required", "upper", "says"), [
    (10.0, "usd", False, False, None),
    (0, "USD", True, True, None),
    (None, None, False, True, None),
    (None, "USD", True, True, "purchase needs value and currency"),
    (-1.0, "USD", False, True, "non-negative"),
    (float("nan"), "USD", False, True, "non-negative"),
    ("10", "USD", False, True, "non-negative"),
    (10.0, None, False, True, "needs a currency"),
    (10.0, "usd", False, True, "upper case"),
    (10.0, "US", False, False, "3-letter"),
])
def test_value_problem(value, currency, required, upper, says):
    problem = value_problem(value, currency, required=required, upper=upper)
    assert problem == says if says is None else says in problem


def test_sender_for_refuses_unknown_networks_and_missing_credentials():
    with pytest.raises(SettingsError, match="unknown network 'snap'"):
        sender_for(dest("snap"))
    with pytest.raises(SettingsError, match="needs credential 'access_token'"):
        sender_for(dest("tiktok", credentials={}))
    with pytest.raises(SettingsError, match="needs credential 'developer_token'"):
        sender_for(dest("google", transport="ads_api", credentials={"access_token": "x"}))
    with pytest.raises(SettingsError, match="needs credential 'access_token'"):  # Data Manager: no developer token
        sender_for(dest("google", credentials={"developer_token": "dev-123456"}))
    assert isinstance(sender_for(dest("google", credentials={"access_token": "x"})), data_manager.Sender)


# -- touch selection ------------------------------------------------------------------------------------------

def tp(days_ago, channel="web", network="meta", **kwargs) -> TouchpointFacts:
    at = None if days_ago is None else NOW - timedelta(days=days_ago)
    return TouchpointFacts(channel, network, at, **kwargs)


def test_attributed_is_the_last_usable_touch_before_the_conversion():
    first = tp(9, click_ids={"fbclid": "a"})
    untimed = tp(None, click_ids={"fbclid": "untimed"})
    message_ad = tp(3, "messenger", ad_id="6011")
    plain = tp(2, "whatsapp")  # no ad: not usable
    later = tp(-1, click_ids={"fbclid": "after"})
    touches = [later, plain, message_ad, first, untimed]
    assert touch.attributed(touches, meta_capi.TOUCHES, before=NOW) is message_ad
    assert touch.attributed(touches, tiktok.TOUCHES, before=NOW) is None
    assert touch.first_touch(touches, before=NOW) is untimed
    assert touch.last_touch(touches, before=NOW) is plain
    assert touch.last_touch(touches) is later


def test_click_id_preference_and_message_ads():
    both = tp(1, network="google", click_ids={"wbraid": "w", "gclid": "g"})
    assert touch.click_id(both, common.TOUCHES) == ("gclid", "g")
    assert meta_capi.is_message_ad(tp(1, "whatsapp", network=None, click_ids={"ctwa_clid": "c"}))
    assert not meta_capi.is_message_ad(tp(1, "web", click_ids={"ctwa_clid": "c"}))
    with pytest.raises(ValueError, match="unknown ad network"):
        touch.attributed([both], network("snap").touches)


# -- bisection on its own -------------------------------------------------------------------------------------

class Refused(ValidationError):
    """A batch refusal about an event's content."""

    def __init__(self, message):
        super().__init__(message, bisect=True, vendor_code="100", vendor_message="bad event")


class FakeSender(BatchSender):
    """Refuses any batch holding a poisoned key; records batch sizes."""

    max_batch = 8
    vendor = "Fake"

    def __init__(self, poisoned=(), budget=64, refusal=Refused):
        super().__init__(dest(max_bisect_requests=budget), client=None, clock=lambda: NOW)  # type: ignore[arg-type]
        self.poisoned, self.batches, self.refusal = set(poisoned), [], refusal

    def post(self, events: Sequence[BuiltEvent]) -> list[EventResult]:
        self.batches.append([e.key for e in events])
        if self.poisoned & {e.key for e in events}:
            raise self.refusal("refused")
        return [EventResult(e.key, "sent") for e in events]


def built(n: int) -> list[BuiltEvent]:
    return [BuiltEvent(str(i), {}) for i in range(n)]


def test_results_stay_in_order_across_batches_and_bisection():
    sender = FakeSender(poisoned={"3", "12"})
    results = sender.send(built(20))
    assert [r.key for r in results] == [str(i) for i in range(20)]
    assert [r.status for r in results] == ["failed" if i in (3, 12) else "sent" for i in range(20)]
    assert results[3].error == "Fake rejected the event (code 100): bad event"
    assert sender.batches[:3] == [[str(i) for i in range(8)], ["0", "1", "2", "3"], ["0", "1"]]


def test_every_event_poisoned_costs_at_most_two_requests_per_event():
    sender = FakeSender(poisoned={str(i) for i in range(8)})
    results = sender.send(built(8))
    assert all(r.status == "failed" for r in results)
    assert len(sender.batches) == 15  # 1 + 2 + 4 + 8: a full binary tree, no request repeated
    assert len({tuple(b) for b in sender.batches}) == 15


def test_a_refusal_that_is_not_about_an_event_is_not_bisected():
    class Throttled(RateLimited):
        def __init__(self, message):
            super().__init__(message, retry_after=30.0)

    sender = FakeSender(poisoned={"1"}, refusal=Throttled)
    results = sender.send(built(4))
    assert len(sender.batches) == 1
    assert [r.status for r in results] == ["retry"] * 4 and results[0].retry_after == 30.0


def test_zero_budget_means_no_bisection():
    sender = FakeSender(poisoned={"1"}, budget=0)
    results = sender.send(built(4))
    assert len(sender.batches) == 1 and [r.status for r in results] == ["retry"] * 4
