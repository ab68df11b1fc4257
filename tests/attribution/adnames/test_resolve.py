"""The resolve step on a real database: stale ids only, batched, refusals kept, refresh age, failures contained."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from sync.attribution.adnames.lookup import AdInfo, Lookup
from sync.attribution.adnames.resolve import readers, resolve_ad_names
from sync.errors import RateLimited
from sync.settings import Settings
from sync.store import model

NOW = datetime(2026, 12, 6, 12, tzinfo=UTC)
SETTINGS = Settings.from_env({"LIFESYNC_AD_NAMES_REFRESH_DAYS": "7"})


class FakeReader:
    network, max_batch = "meta", 50

    def __init__(self, missing=(), fail_after=None):
        self.calls: list[list[str]] = []
        self.missing, self.fail_after = set(missing), fail_after

    def read(self, ad_ids):
        if self.fail_after is not None and len(self.calls) >= self.fail_after:
            raise RateLimited("Meta Marketing API: rate limit reached (HTTP 400, code 80004): too many calls")
        self.calls.append(list(ad_ids))
        found = Lookup(requests=1)
        for ad_id in ad_ids:
            if ad_id in self.missing:
                found.refused[ad_id] = "Meta code 100/33: Object does not exist"
            else:
                found.found[ad_id] = AdInfo(ad_id, f"ad {ad_id}", "s1", "Broad", "c1", "Spring Promo")
        return found


def touchpoints(store, ad_ids, network="meta"):
    with store.transaction() as s:
        contact = model.Contact()
        s.add(contact)
        s.flush()
        for n, ad_id in enumerate(ad_ids):
            for copy in range(2):  # two touches of one ad: one lookup
                s.add(model.Touchpoint(key=f"{network}-{ad_id}-{copy}-{n}", contact_id=contact.id,
                                       channel="whatsapp", network=network, ad_id=ad_id, source="t", record_id="r"))


def rows(store):
    with store.transaction() as s:
        return {r.ad_id: (r.campaign_name, r.error) for r in s.scalars(select(model.AdName))}


def test_every_stale_ad_is_asked_once_fifty_a_request_and_saved(store):
    touchpoints(store, [f"9{n:03d}" for n in range(120)])
    fake = FakeReader(missing={"9005"})
    done = resolve_ad_names(store, SETTINGS, enabled={"meta": fake}, now=NOW)
    assert [len(c) for c in fake.calls] == [50, 50, 20]
    assert (done.asked, done.named, done.refused, done.requests) == ({"meta": 120}, {"meta": 119}, {"meta": 1}, 3)
    saved = rows(store)
    assert saved["9001"] == ("Spring Promo", None)
    assert saved["9005"] == (None, "Meta code 100/33: Object does not exist")
    again = resolve_ad_names(store, SETTINGS, enabled={"meta": fake}, now=NOW + timedelta(days=6))
    assert again.requests == 0 and len(fake.calls) == 3  # the cache answers: no request per report or touchpoint


def test_after_the_refresh_age_named_and_refused_ads_are_asked_again(store):
    touchpoints(store, ["1", "2"])
    fake = FakeReader(missing={"2"})
    resolve_ad_names(store, SETTINGS, enabled={"meta": fake}, now=NOW)
    fake.missing = set()  # the token was granted the ad since
    later = resolve_ad_names(store, SETTINGS, enabled={"meta": fake}, now=NOW + timedelta(days=8))
    assert later.named == {"meta": 2} and rows(store)["2"] == ("Spring Promo", None)


def test_a_refused_request_stops_that_network_keeps_what_was_saved_and_never_raises(store):
    touchpoints(store, [f"{n:03d}" for n in range(80)])
    fake = FakeReader(fail_after=1)
    done = resolve_ad_names(store, SETTINGS, enabled={"meta": fake}, now=NOW)
    assert done.named == {"meta": 50} and done.later == {"meta": 30} and "code 80004" in done.errors["meta"]
    assert len(rows(store)) == 50  # the 30 not asked have no row: the next run asks them
    fake.fail_after = None
    assert resolve_ad_names(store, SETTINGS, enabled={"meta": fake}, now=NOW).asked == {"meta": 30}


def test_networks_without_a_reader_are_counted_not_asked(store):
    touchpoints(store, ["g1"], network="google")
    touchpoints(store, ["m1"])
    done = resolve_ad_names(store, SETTINGS, enabled={}, now=NOW)
    assert done.no_reader == {"google": 1, "meta": 1} and rows(store) == {}


def test_readers_follow_the_settings():
    assert readers(Settings.from_env({})) == {}
    assert set(readers(Settings.from_env({"LIFESYNC_META_MARKETING_ACCESS_TOKEN": "t",
                                          "LIFESYNC_TIKTOK_MARKETING_ACCESS_TOKEN": "t"}))) == {"meta"}
    both = readers(Settings.from_env({"LIFESYNC_META_MARKETING_ACCESS_TOKEN": "t",
                                      "LIFESYNC_TIKTOK_MARKETING_ACCESS_TOKEN": "t",
                                      "LIFESYNC_TIKTOK_MARKETING_ADVERTISER_ID": "7001",
                                      "LIFESYNC_META_API_VERSION": "v25.0"}))
    assert set(both) == {"meta", "tiktok"} and both["meta"].url.endswith("/v25.0/")


def test_a_refresh_age_outside_its_range_names_the_variable():
    import pytest

    from sync.errors import SettingsError

    with pytest.raises(SettingsError, match="LIFESYNC_AD_NAMES_REFRESH_DAYS must be between 1 and 365, got 0"):
        readers(Settings.from_env({"LIFESYNC_AD_NAMES_REFRESH_DAYS": "0"}))
