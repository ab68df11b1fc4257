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
