"""The retention report on a small hand-checkable dataset (``support.report_data.retention_data``).

Window January–March 2026, as of 1 April, 30 days of inactivity = no activity since 2 March:

- Ana: EUR 100 on 5 Jan (first touch C1), EUR 50 on 10 Feb, wrote on 20 Mar;
- Ben: EUR 80 on 20 Jan (C2), EUR 40 on 25 Jan cancelled (retracted) — churned since;
- Cem: EUR 60 on 3 Feb cancelled, EUR 30 on 15 Feb refunded to 20 (restated); his only touch and an
  agent's message come later (no first touch; the message is after as of) — churned;
- Dia (brand lumen): USD 200 on 8 Jan (C3, lumen), USD 100 on 8 Mar;
- Eve's only purchase was cancelled (no customer); Fay first bought in December 2025 (not acquired).
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from support.lifecycle_fixtures import make_config

from sync.config.brands import Brand, Brands
from sync.reports.csv_export import to_csv
from sync.reports.retention import retention
from sync.reports.text import format_report

START, END = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC)


def test_every_figure_over_all_brands(retention_data):
    r = retention(retention_data, start=START, end=END, inactive_days=30)
    assert (r.customers, r.purchases, r.retracted, r.value) == (4, 6, 2, {"EUR": 250.0, "USD": 300.0})
    assert (r.repeat_customers, r.repeat_rate) == (2, 0.5)  # Ana, Dia
    assert r.clv == {"EUR": 62.5, "USD": 75.0}
    assert (r.churned, r.churn_rate, r.as_of) == (2, 0.5, END)  # Ben, Cem
    [jan, feb] = r.cohorts
    assert (jan.cohort, jan.customers, jan.repeat_customers, jan.purchases, jan.value) == (
        "2026-01", 3, 2, 5, {"EUR": 230.0, "USD": 300.0})
    assert jan.clv == pytest.approx({"EUR": 230 / 3, "USD": 100.0})
    assert (jan.buyers, jan.retention) == ((3, 1, 1), (1.0, 1 / 3, 1 / 3))
    assert (feb.cohort, feb.customers, feb.value, feb.clv, feb.buyers, feb.retention) == (
        "2026-02", 1, {"EUR": 20.0}, {"EUR": 20.0}, (1, 0), (1.0, 0.0))
    assert [(c.label, c.customers, c.purchases, c.value, c.clv) for c in r.campaigns] == [
        ("C1", 1, 2, {"EUR": 150.0}, {"EUR": 150.0}), ("C2", 1, 1, {"EUR": 80.0}, {"EUR": 80.0}),
        ("C3", 1, 2, {"USD": 300.0}, {"USD": 300.0}), ("(none)", 1, 1, {"EUR": 20.0}, {"EUR": 20.0})]


def test_one_brand_counts_its_own_purchases_and_touches(retention_data):
    config = make_config()
    brands = Brands((Brand("default", "Glow"), Brand("lumen", "Lumen", ("tiktok:lumen",))))
    config = type("Config", (), {"lifecycle": config, "brands": brands})()
    lumen = retention(retention_data, config, start=START, end=END, brand="lumen", inactive_days=30)
    assert (lumen.customers, lumen.repeat_rate, lumen.value, lumen.churned) == (1, 1.0, {"USD": 300.0}, 0)
    assert [(c.cohort, c.buyers) for c in lumen.cohorts] == [("2026-01", (1, 0, 1))]
    assert [c.label for c in lumen.campaigns] == ["C3"]
    glow = retention(retention_data, config, start=START, end=END, brand="default", inactive_days=30)
    assert (glow.customers, glow.repeat_customers, glow.value, glow.churned) == (3, 1, {"EUR": 250.0}, 2)
    with pytest.raises(ValueError, match="unknown brand 'nope'; configured brands: default, lumen"):
        retention(retention_data, config, brand="nope")


def test_the_window_picks_the_customers_acquired_in_it(retention_data):
    r = retention(retention_data, start=datetime(2026, 2, 1, tzinfo=UTC), end=END, inactive_days=30)
    assert (r.customers, [c.cohort for c in r.cohorts]) == (1, ["2026-02"])  # Cem: his cancelled 3 Feb is no start
    early = retention(retention_data, start=START, end=datetime(2026, 2, 1, tzinfo=UTC), inactive_days=30)
    assert (early.customers, early.purchases, early.repeat_customers) == (3, 3, 0)  # as of 1 Feb: one purchase each
    assert early.churned == 0  # as of 1 Feb every one of them bought after 2 Jan
    ever = retention(retention_data, end=END, inactive_days=30)
    assert ever.customers == 5 and ever.cohorts[0].cohort == "2025-12"  # Fay joins


def test_a_window_ending_in_year_one_is_an_empty_report_not_a_date_overflow(retention_data):
    r = retention(retention_data, end=datetime(1, 1, 2, tzinfo=UTC), inactive_days=3650)
    assert (r.customers, r.churned, r.churn_rate, r.cohorts) == (0, 0, None, ())


def test_a_longer_inactivity_window_churns_fewer(retention_data):
    assert retention(retention_data, start=START, end=END, inactive_days=60).churned == 1  # Ben (25 Jan)
    with pytest.raises(ValueError, match="inactive days must be a whole number from 1 to 3650"):
        retention(retention_data, inactive_days=0)


def test_text_and_csv(retention_data):
    r = retention(retention_data, start=START, end=END, inactive_days=30)
    text = format_report(r)
    assert "repeat-purchase rate 50.0% (2 bought again)" in text and "churn 50.0% (2 with no activity" in text
    lines = to_csv(r).splitlines()
    assert lines[0].startswith("measure,cohort,months_since,campaign")
    assert lines[1] == "all,,,,,4,2,0.5,,,6,2,0.5,250.0,300.0,62.5,75.0"
    assert "cohort_month,2026-01,1,,,3,,,1,0.333333,,,,,,," in lines
