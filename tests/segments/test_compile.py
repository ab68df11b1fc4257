"""Each condition compiled to SQL selects exactly the contacts it describes (SQLite and PostgreSQL)."""

from datetime import timedelta

import pytest
from support.segments import NOW, contact, segment

from sync.segments.compile import members_query

DAY = timedelta(days=1)


def members(store, text):
    seg = segment(text)
    with store.transaction() as session:
        return set(session.scalars(members_query(seg, store.dialect, NOW)))


def test_stage_lost_stage_and_phase(store):
    with store.transaction() as s:
        hot = contact(s, stage="Hot Lead")
        cold = contact(s, stage="Hot Lead", lost="Cold Lead")
        customer = contact(s, stage="Customer")
        none = contact(s)
    assert members(store, "{label: x, conditions: [{stage: Hot Lead}]}") == {hot}
    assert members(store, "{label: x, conditions: [{stage: [Hot Lead, Customer]}]}") == {hot, customer}
    assert members(store, "{label: x, conditions: [{lost_stage: Cold Lead}]}") == {cold}
    assert members(store, "{label: x, conditions: [{lost_stage: any}]}") == {cold}
    assert members(store, "{label: x, conditions: [{phase: retention}]}") == {customer}
    assert members(store, "{label: x, conditions: [{not: {stage: Hot Lead}}]}") == {cold, customer, none}


def test_time_in_stage(store):
    with store.transaction() as s:
        old = contact(s, stage="New Lead", changed=NOW - 20 * DAY)
        new = contact(s, stage="New Lead", changed=NOW - 2 * DAY)
        contact(s, stage="New Lead")
    assert members(store, "{label: x, conditions: [{in_stage_for: {more_than: 14d}}]}") == {old}
    assert members(store, "{label: x, conditions: [{in_stage_for: {less_than: 3d}}]}") == {new}


def test_fields(store):
    with store.transaction() as s:
        sa = contact(s, fields={"country": "SA", "city": "Riyadh", "score": 80, "vip": True})
        ae = contact(s, fields={"country": "AE", "city": "Dubai", "score": 12.5})
        bare = contact(s, fields={"country": None})
    q = "{label: x, conditions: [{field: {name: %s}}]}"
    assert members(store, q % "country, equals: SA") == {sa}
    assert members(store, q % "country, in: [SA, AE]") == {sa, ae}
    assert members(store, q % "country, exists: true") == {sa, ae}
    assert members(store, q % "country, exists: false") == {bare}
    assert members(store, q % "city, contains: UBA") == {ae}
    assert members(store, q % "city, prefix: riy") == {sa}
    assert members(store, q % "score, gt: 50") == {sa}
    assert members(store, q % "score, lte: 12.5") == {ae}
    assert members(store, q % "score, equals: 80") == {sa}
    assert members(store, q % "vip, equals: true") == {sa}
    assert members(store, q % "city, gt: 1") == set()  # text is no number: never compared
    assert members(store, "{label: x, conditions: [{not: {field: {name: score, gt: 50}}}]}") == {ae, bare}


def test_like_wildcards_in_values_are_literal(store):
    with store.transaction() as s:
        pct = contact(s, fields={"code": "10%_off"})
        contact(s, fields={"code": "10xyoff"})
    assert members(store, "{label: x, conditions: [{field: {name: code, contains: '%_'}}]}") == {pct}


def test_identities_and_consent(store):
    with store.transaction() as s:
        wa = contact(s, identities=(("whatsapp", "1"),), consent={"ad_user_data": True})
        mail = contact(s, identities=(("email", "a@x"),), consent={"ad_user_data": False})
        unknown = contact(s, consent={"ad_user_data": None})
    assert members(store, "{label: x, conditions: [{has_identity: whatsapp}]}") == {wa}
    assert members(store, "{label: x, conditions: [{has_identity: [whatsapp, email]}]}") == {wa, mail}
    assert members(store, "{label: x, conditions: [{consent: {ad_user_data: granted}}]}") == {wa}
    assert members(store, "{label: x, conditions: [{consent: {ad_user_data: denied}}]}") == {mail}
    assert members(store, "{label: x, conditions: [{consent: {ad_user_data: unknown}}]}") == {unknown}


def test_message_recency(store):
    with store.transaction() as s:
        recent = contact(s, messages=(("inbound", NOW - 40 * DAY), ("inbound", NOW - 2 * DAY)))
        stale = contact(s, messages=(("inbound", NOW - 40 * DAY), ("outbound", NOW - DAY)))
        never = contact(s)
    assert members(store, "{label: x, conditions: [{last_inbound: {within: 7d}}]}") == {recent}
    assert members(store, "{label: x, conditions: [{last_inbound: {older_than: 30d}}]}") == {stale, never}
    assert members(store, "{label: x, conditions: [{last_outbound: {within: 7d}}]}") == {stale}


def test_purchases_net_of_retractions(store):
    with store.transaction() as s:
        loyal = contact(s, purchases=((100.0, NOW - 90 * DAY), (50.0, NOW - 70 * DAY)))
        once = contact(s, purchases=((500.0, NOW - 5 * DAY),), retracted=(300.0, 300.0))
        never = contact(s)
    assert members(store, "{label: x, conditions: [{purchases: {count: {gte: 2}}}]}") == {loyal}
    assert members(store, "{label: x, conditions: [{purchases: {total: {gt: 400}}}]}") == {once}
    assert members(store, "{label: x, conditions: [{purchases: {count: {equals: 0}}}]}") == {never}
    assert members(store, "{label: x, conditions: [{purchases: {last: {older_than: 60d}}}]}") == {loyal, never}
    assert members(store, "{label: x, conditions: [{purchases: {count: {gte: 1}, last: {within: 30d}}}]}") == {once}


def test_first_and_last_touch(store):
    with store.transaction() as s:
        ctwa = contact(s, touches=({"network": "meta", "campaign_id": "7", "occurred_at": NOW - 9 * DAY},
                                   {"network": "google", "channel": "web", "occurred_at": NOW - DAY}))
        undated_first = contact(s, touches=({"network": "google", "channel": "web", "occurred_at": NOW},
                                            {"network": "tiktok", "ad_id": "55"}))
    assert members(store, "{label: x, conditions: [{first_touch: {network: meta, campaign: 7}}]}") == {ctwa}
    assert members(store, "{label: x, conditions: [{last_touch: {network: google, channel: web}}]}") == \
        {ctwa, undated_first}
    assert members(store, "{label: x, conditions: [{first_touch: {network: tiktok, ad: '55'}}]}") == {undated_first}


@pytest.mark.parametrize("match, expected", [("all", "both"), ("any", "either")])
def test_match_all_or_any_and_nesting(store, match, expected):
    with store.transaction() as s:
        both = contact(s, stage="Hot Lead", identities=(("whatsapp", "1"),))
        stage_only = contact(s, stage="Hot Lead")
        wa_only = contact(s, identities=(("whatsapp", "2"),))
        contact(s)
    got = members(store, f"{{label: x, match: {match}, conditions: [{{stage: Hot Lead}}, {{has_identity: whatsapp}}]}}")
    assert got == ({both} if expected == "both" else {both, stage_only, wa_only})
    nested = ("{label: x, conditions: [{any: [{stage: Customer}, "
              "{all: [{stage: Hot Lead}, {not: {has_identity: whatsapp}}]}]}]}")
    assert members(store, nested) == {stage_only}


def test_numbers_past_an_integer_column_compare_as_floats(store):
    with store.transaction() as s:
        big = contact(s, fields={"score": 2e30})
        contact(s, fields={"score": 80})
    q = "{label: x, conditions: [{field: {name: score, %s}}]}"
    assert members(store, q % "gt: 123456789012345678901234567890") == {big}
    assert members(store, q % "in: [123456789012345678901234567890, 2000000000000000000000000000000]") == {big}


def test_a_long_in_list_is_one_in_per_type_not_an_expression_past_sqlites_depth(store):
    with store.transaction() as s:
        text = contact(s, fields={"zip": "v1499"})
        number = contact(s, fields={"zip": 5})
        yes = contact(s, fields={"zip": True})
        contact(s, fields={"zip": "w1"})
    values = ",".join(f"v{i}" for i in range(1500))
    q = "{label: x, conditions: [{field: {name: zip, in: [%s]}}]}"
    assert members(store, q % values) == {text}
    assert members(store, q % f"{values}, 5.0, true") == {text, number, yes}
    assert members(store, q % "'5'") == {number}  # text matches a number's text, as equals does


def test_a_thousand_conditions_in_one_list_stay_within_sqlites_expression_depth(store):
    with store.transaction() as s:
        wa = contact(s, identities=(("k1000", "1"),))
        bare = contact(s)
    kinds = [f"k{i}" for i in range(1001)]
    anyone = ", ".join(f"{{has_identity: {k}}}" for k in kinds)
    assert members(store, f"{{label: x, conditions: [{{any: [{anyone}]}}]}}") == {wa}
    nobody = ", ".join(f"{{not: {{has_identity: {k}}}}}" for k in kinds)
    assert members(store, f"{{label: x, conditions: [{nobody}]}}") == {bare}
