"""The attribution report on a real database: first- and last-touch credit per campaign, ad, channel, network."""

from __future__ import annotations

from support.report_data import CONFIG, at

from sync.reports import attribution


def credit(breakdown, dimension):
    return [(r.key, r.conversions, r.value) for r in breakdown.rows(dimension)]


def test_attribution_first_and_last_touch(attribution_data):
    report = attribution(attribution_data, CONFIG)
    assert (report.conversions, report.value) == (6, {"EUR": 170.0, "USD": 30.0, "XXX": 10.0})
    assert (report.unattributed, report.unattributed_value) == (2, {"EUR": 20.0, "XXX": 10.0})
    first, last = report.first_touch, report.last_touch
    assert credit(first, "campaign") == [("C1", 4, {"EUR": 150.0, "USD": 30.0})]
    assert credit(first, "ad") == [("A1", 3, {"EUR": 150.0}), (None, 1, {"USD": 30.0})]
    assert credit(first, "channel") == [("whatsapp", 3, {"EUR": 150.0}), ("messenger", 1, {"USD": 30.0})]
    assert credit(last, "campaign") == [("C1", 2, {"USD": 30.0}), ("C2", 1, {"EUR": 100.0}), ("C3", 1, {"EUR": 50.0})]
    assert credit(last, "network") == [("meta", 2, {"USD": 30.0}), ("google", 1, {"EUR": 100.0}),
                                       ("tiktok", 1, {"EUR": 50.0})]
    assert report.as_dict()["last_touch"]["campaign"][1] == {"key": "C2", "conversions": 1, "value": {"EUR": 100.0},
                                                             "name": None, "unresolved": False}


def test_attribution_window(attribution_data):
    report = attribution(attribution_data, CONFIG, start=at(5), end=at(35))
    assert (report.conversions, report.unattributed) == (2, 0)
    assert credit(report.first_touch, "campaign") == [("C1", 2, {"EUR": 150.0})]
    assert credit(report.last_touch, "campaign") == [("C2", 1, {"EUR": 100.0}), ("C3", 1, {"EUR": 50.0})]


def test_campaigns_and_ad_sets_are_named_from_the_ad_names_cache_and_unresolved_is_not_none(attribution_data):
    from support.report_data import contact, convert, touch

    from sync.store import model

    with attribution_data.transaction() as s:
        p5, p6 = contact(s, ("New Lead", 0)), contact(s, ("New Lead", 0))
        touch(s, p5, 60, "meta", None, "A5", "whatsapp")  # a referral: an ad id, no campaign id
        convert(s, p5, 61, "purchase", 40.0, "EUR")
        touch(s, p6, 60, "meta", None, "A6", "messenger")  # an ad Meta refused to name (deleted)
        convert(s, p6, 62, "purchase", 5.0, "EUR")
        s.add(model.AdName(network="meta", ad_id="A5", ad_name="Spring | Image", adset_id="S5", adset_name="Broad",
                           campaign_id="C5", campaign_name="Spring Promo"))
        s.add(model.AdName(network="meta", ad_id="A6", error="Meta code 100/33: Object does not exist"))
        s.add(model.AdName(network="meta", ad_id="A1", campaign_id="C9", campaign_name="Other"))  # touch's own id wins
    report = attribution(attribution_data, CONFIG, start=at(55))
    campaign = {r.label: r.conversions for r in report.last_touch.campaign}
    assert campaign == {"Spring Promo (C5)": 1, "(unresolved)": 1}
    assert {r.label for r in report.last_touch.adset} == {"Broad (S5)", "(unresolved)"}
    assert {r.label for r in report.last_touch.ad} == {"Spring | Image (A5)", "A6"}
    full = attribution(attribution_data, CONFIG)
    labels = [r.label for r in full.first_touch.campaign]
    assert "C1" in labels and "Other (C9)" not in labels  # A1's touch carries C1 itself
    first_ad = {r.label for r in full.first_touch.ad}
    assert "(unresolved)" in first_ad and "(none)" not in first_ad  # p2's Meta touch has no ad id: unresolved
    as_json = full.as_dict()["last_touch"]["campaign"]
    assert {"key": "C5", "name": "Spring Promo", "unresolved": False, "conversions": 1,
            "value": {"EUR": 40.0}} in as_json


def test_a_touch_from_no_ad_network_is_none(store):
    from support.report_data import contact, convert

    from sync.store import model

    with store.transaction() as s:
        p = contact(s, ("New Lead", 0))
        s.add(model.Touchpoint(key="organic", contact_id=p, channel="web", network=None, occurred_at=at(0),
                               source="t", record_id="r"))
        convert(s, p, 1, "lead")
    report = attribution(store, CONFIG)
    assert [(r.label, r.unresolved) for r in report.last_touch.campaign] == [("(none)", False)]
