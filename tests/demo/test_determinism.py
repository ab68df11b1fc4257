import json
import random
from datetime import UTC, datetime

from sync.demo import generate_business, hubspot_contact_stream, people


def _dump(business) -> str:
    return json.dumps(business.batches(), ensure_ascii=False)


def test_same_seed_gives_byte_identical_records(business):
    assert _dump(generate_business(seed=7)) == _dump(business)


def test_different_seeds_give_different_records():
    a, b = generate_business(seed=7, people_count=300), generate_business(seed=8, people_count=300)
    assert _dump(a) != _dump(b)
    assert {c["id"] for c in a.hubspot_contacts}.isdisjoint(c["id"] for c in b.hubspot_contacts)
    assert [p.email for p in a.people] != [p.email for p in b.people]


def test_global_random_state_is_not_used():
    random.seed(1)
    first = _dump(generate_business(seed=3, people_count=400))
    random.seed(2)
    random.random()
    assert _dump(generate_business(seed=3, people_count=400)) == first


def test_now_defaults_to_a_fixed_date_not_the_clock():
    fixed = datetime(2026, 11, 1, tzinfo=UTC)
    assert _dump(generate_business(people_count=200)) == _dump(generate_business(people_count=200, now=fixed))
    naive = datetime(2026, 11, 1)
    assert _dump(generate_business(people_count=200, now=naive)) == _dump(generate_business(people_count=200))


def test_other_now_moves_every_timestamp_before_it():
    now = datetime(2024, 2, 29, 12, tzinfo=UTC)
    b = generate_business(seed=5, people_count=600, now=now)
    assert all(p.created_at < now for p in b.people)
    for c in b.hubspot_contacts:
        assert c["createdAt"] <= c["updatedAt"] <= "2024-02-29T12:00:00.000Z"
    assert all(int(v["messages"][0]["timestamp"]) <= now.timestamp() for v in b.whatsapp_messages)
    assert all(r["created_at"] <= now.timestamp() for r in b.respondio_contacts)


def test_people_are_prefix_stable_across_counts():
    assert list(people(11, 250)) == list(people(11, 1000))[:250]


def test_stream_is_deterministic():
    now = datetime(2026, 11, 1, tzinfo=UTC)
    assert list(hubspot_contact_stream(4, 300, now)) == list(hubspot_contact_stream(4, 300, now))
    assert list(hubspot_contact_stream(4, 50, now)) != list(hubspot_contact_stream(5, 50, now))


def test_summary_is_json_and_stable(business):
    assert json.dumps(business.summary()) == json.dumps(generate_business(seed=7).summary())
